"""Cells of the CSV files made for French spreadsheets (the ranking, the decisions): decimal commas
(the files are ;-separated for the same reason), and text that a spreadsheet cannot run as a formula
(CSV injection: an applicant's title starting with "=" must stay text)."""

from __future__ import annotations

from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def decimal_cell(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}".replace(".", ",")
