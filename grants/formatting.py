"""How amounts and instants read on screen: euros the French way, times in Europe/Paris.

Babel is exact but slow when called per value through Flask-Babel (each call looks up the request's
locale, time zone and translations again: ~60 µs a sum, ~35 µs a translated string in a template).
So each language's formats are prepared once per process (:func:`formats_for`), and each template
render binds them, with its translations, once (:func:`template_formatting`): a page with 100 sums
and 150 strings then costs what Babel's arithmetic costs, not its lookups. The output is Babel's to
the character (tests/test_formatting.py compares them).
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

import pytz
from babel import Locale, dates, numbers
from flask_babel import (
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    format_time,
    get_locale,
    get_timezone,
    get_translations,
)
from flask_babel import gettext as _
from jinja2 import pass_context
from markupsafe import Markup

CURRENCY = "EUR"


def fold(text: str) -> str:
    """Lower case without accents, for matching what people type (« ecole » finds « École »)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Formats:
    """One language's way of writing euros, numbers and instants (in one time zone), read from Babel's
    locale data once. Every method gives what the Babel function it stands for gives."""

    def __init__(self, locale: str, zone: str):
        self.locale = Locale.parse(locale)
        self.zone = pytz.timezone(zone)  # what Flask-Babel's get_timezone() hands to Babel
        pattern = self.locale.currency_formats["standard"]
        symbol = numbers.get_currency_symbol(CURRENCY, self.locale)
        pieces = (*pattern.prefix, *pattern.suffix)
        # NumberPattern.apply, for a plain currency pattern: the only one French and English have.
        if pattern.scale or pattern.exp_prec or "@" in pattern.pattern or any("'" in p or "¤¤" in p for p in pieces):
            raise ValueError(f"unsupported currency pattern {pattern.pattern!r} for {locale}")
        self._prefix = tuple(p.replace("¤", symbol) for p in pattern.prefix)
        self._suffix = tuple(p.replace("¤", symbol) for p in pattern.suffix)
        self._group = numbers.get_group_symbol(self.locale)
        self._decimal = numbers.get_decimal_symbol(self.locale)
        self._grouping = pattern.grouping
        self._int_min = pattern.int_prec[0]
        self._digits = numbers.get_currency_precision(CURRENCY)
        self._quantum = numbers.get_decimal_quantum(self._digits)
        self.datetime = lru_cache(maxsize=4096)(self._datetime)
        self.date = lru_cache(maxsize=4096)(self._date)
        self.time = lru_cache(maxsize=4096)(self._time)

    def money(self, amount) -> str:
        """``babel.numbers.format_currency(amount, "EUR", locale=…)``, without its per-call lookups."""
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
        if not value.is_finite():
            return numbers.format_currency(value, CURRENCY, locale=self.locale)
        negative = int(value.is_signed())
        whole, _point, fraction = f"{abs(value).normalize().quantize(self._quantum):f}".partition(".")
        if len(whole) < self._int_min:
            whole = "0" * (self._int_min - len(whole)) + whole
        size, grouped = self._grouping[0], ""
        while len(whole) > size:
            grouped = self._group + whole[-size:] + grouped
            whole = whole[:-size]
            size = self._grouping[1]
        fraction = (fraction or "0").ljust(self._digits, "0")
        text = whole + grouped + (self._decimal + fraction if self._digits else "")
        return self._prefix[negative] + text + self._suffix[negative]

    def decimal(self, number, pattern: str | None = None) -> str:
        return numbers.format_decimal(number, format=pattern, locale=self.locale)

    def _datetime(self, instant: datetime, pattern: str) -> str:
        # Remembered by instant and pattern: the scans format the same deadline for thousands of messages.
        return dates.format_datetime(instant, pattern, tzinfo=self.zone, locale=self.locale)

    def _date(self, day: date | datetime, pattern: str) -> str:
        if isinstance(day, datetime):  # the day it is in the time zone, as Flask-Babel rebases it
            day = self.zone.normalize((day if day.tzinfo else day.replace(tzinfo=pytz.UTC)).astimezone(self.zone))
        return dates.format_date(day, pattern, locale=self.locale)

    def _time(self, instant: datetime, pattern: str) -> str:
        return dates.format_time(instant, pattern, tzinfo=self.zone, locale=self.locale)


@lru_cache(maxsize=16)
def formats_for(locale: str, zone: str) -> Formats:
    return Formats(locale, zone)


def current_formats() -> Formats | None:
    """The request's (or the forced locale's) formats; None outside an application context."""
    locale = get_locale()
    return None if locale is None else formats_for(str(locale), str(get_timezone()))


# --- The functions Python code calls (services, exports, flash messages) --------------------------


def money(amount: Decimal | None) -> str:
    """``Decimal("1234.5")`` → ``1 234,50 €`` in French, ``€1,234.50`` in English."""
    if amount is None:
        return "—"
    formats = current_formats()
    return format_currency(amount, CURRENCY) if formats is None else formats.money(amount)


def millions(amount: Decimal | None) -> str:
    """Budget-presentation style: ``4076000`` → ``4,076 M€``."""
    if amount is None:
        return "—"
    formats = current_formats()
    if formats is None:
        return f"{format_decimal(Decimal(amount) / Decimal(1_000_000), format='#,##0.000')} M€"
    return _millions(formats, amount)


def _millions(formats: Formats, amount) -> str:
    return f"{formats.decimal(Decimal(amount) / Decimal(1_000_000), '#,##0.000')} M€"


def local_datetime(instant: datetime | None, fmt: str = "medium") -> str:
    """An aware instant shown in the configured time zone (Europe/Paris). ``fmt`` is a Babel format
    name or pattern, or "day_at_time" for a sentence-ready "26 novembre 2026 à 12:00"."""
    if instant is None:
        return "—"
    if fmt == "day_at_time":
        # The pattern holds a word ("à", "at"), so it is translated with the interface.
        fmt = _("d MMMM y 'à' HH:mm")
    formats = current_formats()
    return format_datetime(instant, fmt) if formats is None else formats.datetime(instant, fmt)


def local_date(day: date | datetime | None, fmt: str = "medium") -> str:
    if day is None:
        return "—"
    formats = current_formats()
    return format_date(day, fmt) if formats is None else formats.date(day, fmt)


def local_time(instant: datetime, fmt: str = "HH:mm") -> str:
    formats = current_formats()
    return format_time(instant, fmt) if formats is None else formats.time(instant, fmt)


# --- Templates: bound once per render ------------------------------------------------------------


def template_formatting() -> dict:
    """A context processor: the render's formats, and gettext/ngettext bound to its translations
    (they behave as Jinja's "newstyle" ones that Flask-Babel installs: autoescaped, always
    %-formatted). Computed at each render, so an email rendered under ``force_locale`` gets its own
    language. A template imported without context falls back to the global ones, slower but equal."""
    translations = get_translations()
    ugettext, ungettext = translations.ugettext, translations.ungettext

    @pass_context
    def gettext(context, string, /, **variables):
        text = ugettext(string)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    @pass_context
    def ngettext(context, singular, plural, num, /, **variables):
        variables.setdefault("num", num)
        text = ungettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext, "_formats": current_formats(),
            "_translate": ugettext}


def _formats_in(context) -> Formats:
    return context.get("_formats") or current_formats()


@pass_context
def money_filter(context, amount) -> str:
    return "—" if amount is None else _formats_in(context).money(amount)


@pass_context
def millions_filter(context, amount) -> str:
    return "—" if amount is None else _millions(_formats_in(context), amount)


@pass_context
def local_datetime_filter(context, instant, fmt: str = "medium") -> str:
    if instant is None:
        return "—"
    if fmt == "day_at_time":
        translate = context.get("_translate") or _
        fmt = translate("d MMMM y 'à' HH:mm")
    return _formats_in(context).datetime(instant, fmt)


@pass_context
def local_date_filter(context, day, fmt: str = "medium") -> str:
    return "—" if day is None else _formats_in(context).date(day, fmt)


def register_filters(app) -> None:
    from grants.bank_details import masked_iban
    from grants.form_fields import error_messages

    app.jinja_env.filters.update(
        money=money_filter, millions=millions_filter, local_datetime=local_datetime_filter,
        local_date=local_date_filter, error_messages=error_messages, masked_iban=masked_iban,
    )
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
    app.context_processor(template_formatting)
