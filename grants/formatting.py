"""How amounts and instants read on screen: euros the French way, times in Europe/Paris."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from flask_babel import (
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    get_locale,
    get_timezone,
)
from flask_babel import gettext as _


def fold(text: str) -> str:
    """Lower case without accents, for matching what people type (« ecole » finds « École »)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def money(amount: Decimal | None) -> str:
    """``Decimal("1234.5")`` → ``1 234,50 €`` in French, ``€1,234.50`` in English."""
    if amount is None:
        return "—"
    return format_currency(amount, "EUR")  # Flask-Babel uses the request's locale


def millions(amount: Decimal | None) -> str:
    """Budget-presentation style: ``4076000`` → ``4,076 M€``."""
    if amount is None:
        return "—"
    return f"{format_decimal(Decimal(amount) / Decimal(1_000_000), format='#,##0.000')} M€"


def local_datetime(instant: datetime | None, fmt: str = "medium") -> str:
    """An aware instant shown in the configured time zone (Europe/Paris). ``fmt`` is a Babel format
    name or pattern, or "day_at_time" for a sentence-ready "26 novembre 2026 à 12:00"."""
    if instant is None:
        return "—"
    if fmt == "day_at_time":
        # The pattern holds a word ("à", "at"), so it is translated with the interface.
        fmt = _("d MMMM y 'à' HH:mm")
    return _formatted_datetime(instant, fmt, str(get_locale()), str(get_timezone()))


@lru_cache(maxsize=4096)
def _formatted_datetime(instant: datetime, fmt: str, locale: str, zone: str) -> str:
    """Babel's formatting is slow and the scans format the same deadline for thousands of messages:
    remembered by instant, format, language and time zone (all that the result depends on)."""
    return format_datetime(instant, fmt)


def local_date(day: date | datetime | None, fmt: str = "medium") -> str:
    if day is None:
        return "—"
    return format_date(day, fmt)


def register_filters(app) -> None:
    from grants.bank_details import masked_iban
    from grants.form_fields import error_messages

    app.jinja_env.filters.update(
        money=money, millions=millions, local_datetime=local_datetime, local_date=local_date,
        error_messages=error_messages, masked_iban=masked_iban,
    )
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
