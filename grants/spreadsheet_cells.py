"""The CSV files the app writes (the ranking, the decisions, the SCDL open-data file), through one
writer: every text cell is one a spreadsheet cannot run as a formula (CSV injection: an applicant's
title or an association's name starting with "=" or "@" stays text), whoever opens the file. The
files made for French spreadsheets also use decimal commas (and semicolons for that reason)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def decimal_cell(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}".replace(".", ",")


def csv_text(header: Sequence[str], rows: Iterable[Sequence], *, delimiter: str = ",", byte_order_mark: bool = False) -> str:
    """A CSV document (CRLF line ends). Every ``str`` cell goes through ``text_cell``; numbers and
    already-formatted cells (``decimal_cell``) are written as given. The byte-order mark makes
    spreadsheets read the UTF-8 accents right."""
    return "".join(csv_chunks(header, rows, delimiter=delimiter, byte_order_mark=byte_order_mark))


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence], *, delimiter: str = ",",
               byte_order_mark: bool = False, rows_per_chunk: int = 500) -> Iterator[str]:
    """The same document as :func:`csv_text`, in pieces of ``rows_per_chunk`` rows, for a streamed
    response: ``rows`` is consumed as the pieces are sent."""
    buffer = io.StringIO()
    if byte_order_mark:
        buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow([text_cell(cell) if isinstance(cell, str) else cell for cell in row])
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
