"""The CSV files the app writes (the ranking, the decisions, the SCDL open-data file), through one
writer: every text cell is one a spreadsheet cannot run as a formula (CSV injection: an applicant's
title or an association's name starting with "=" or "@" stays text), whoever opens the file. The
files made for French spreadsheets also use decimal commas (and semicolons for that reason)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
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
    buffer = io.StringIO()
    if byte_order_mark:
        buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([text_cell(cell) if isinstance(cell, str) else cell for cell in row])
    return buffer.getvalue()
