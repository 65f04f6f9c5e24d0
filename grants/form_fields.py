"""Form fields shared by every domain area, one per kind of value, each with its bounds; text filters and
the email field.

Every number, date and identifier a form (or the API, grants.api.inputs) accepts is bounded here, in one
place: a value outside its range is refused with a message under its field before any query, so the
database never sees a value it would refuse (an amount beyond a BIGINT of cents, an id beyond a
PostgreSQL ``integer``, a date whose conversion to UTC overflows).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, DateTimeLocalField, EmailField, Field, StringField
from wtforms.validators import DataRequired, Email, Length, StopValidation, ValidationError
from wtforms.widgets import NumberInput, TextInput

from grants.bank_details import IBAN_MAX_LENGTH, bic_error, compact_bic, compact_iban, iban_error
from grants.local_time import AmbiguousLocalTime, NonexistentLocalTime, from_local, to_local

MAX_AMOUNT = Decimal("999999999.99")  # under a billion euros: anything above is a typing error
MAX_RECORD_ID = 2**31 - 1  # the largest PostgreSQL ``integer``, the type of every primary key
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)  # dates of a grant's life: budget years 2000–2100
MAX_NUMBER_LENGTH = 30  # characters of a number as typed, spaces included

_SPACES = re.compile(r"[\s\u00a0\u202f]")
_DECIMAL = re.compile(r"-?[0-9]+([.,][0-9]+)?")
_WHOLE = re.compile(r"-?[0-9]+")
_ID = re.compile(r"[0-9]{1,10}")


def strip(value):
    return value.strip() if isinstance(value, str) else value


def email_filter(value):
    """Emails are compared case-insensitively: the database stores them lower-cased."""
    return value.strip().lower() if isinstance(value, str) else value


def without_spaces(value):
    return "".join(value.split()) if isinstance(value, str) else value


def email_field(label, **kwargs):
    return EmailField(
        label,
        filters=[email_filter],
        validators=[DataRequired(), Length(max=254), Email(message=_l("Saisissez une adresse e-mail valide."))],
        **kwargs,
    )


def parse_amount(text: str) -> Decimal:
    """``"1 234,50"``, ``"1234.5"`` or ``"1 234 €"`` → Decimal("1234.50"); refuses sub-cents and
    anything above :data:`MAX_AMOUNT`."""
    cleaned = _SPACES.sub("", text).removesuffix("€").replace(",", ".")
    if len(cleaned) > MAX_NUMBER_LENGTH or not re.fullmatch(r"-?\d+(\.\d+)?", cleaned, re.ASCII):
        raise ValueError(_l("Saisissez un montant en euros, par exemple 12 500 ou 12 500,50."))
    try:
        amount = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(_l("Montant illisible.")) from exc
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(_l("Un montant a au plus deux décimales (les centimes)."))
    if abs(amount) > MAX_AMOUNT:
        raise ValueError(_l("Un montant ne dépasse pas %(max)s €.", max=format_decimal(MAX_AMOUNT, format="#,##0.00")))
    return amount.quantize(Decimal("0.01"))


def parse_number(text: str, *, low: Decimal, high: Decimal, places: int) -> Decimal:
    """A decimal number typed with a comma or a point, at most ``places`` decimals, from low to high."""
    cleaned = _SPACES.sub("", text)
    if len(cleaned) > MAX_NUMBER_LENGTH or not _DECIMAL.fullmatch(cleaned):
        raise ValueError(_("Saisissez un nombre, par exemple 12 ou 12,5."))
    number = Decimal(cleaned.replace(",", "."))
    if not low <= number <= high:
        raise ValueError(_("Un nombre de %(low)s à %(high)s.", low=format_decimal(low), high=format_decimal(high)))
    step = Decimal(1).scaleb(-places)
    if number != number.quantize(step):
        raise ValueError(_("Un nombre a au plus %(places)d décimales.", places=places))
    return number.quantize(step)


def parse_whole_number(text: str, *, low: int, high: int) -> int:
    """A whole number from low to high ("1 200" is read as 1200)."""
    cleaned = _SPACES.sub("", text)
    if len(cleaned) > MAX_NUMBER_LENGTH or not _WHOLE.fullmatch(cleaned):
        raise ValueError(_("Saisissez un nombre entier, par exemple 12."))
    number = int(cleaned)
    if not low <= number <= high:
        raise ValueError(_("Un nombre entier de %(low)s à %(high)s.", low=format_decimal(low),
                           high=format_decimal(high)))
    return number


def record_id(text) -> int:
    """A row's id sent by a form or a query string (a select's value, a hidden field): ValueError when it
    cannot be one, so that ``request.args.get(name, type=record_id)`` gives the default and a
    ``SelectField(coerce=record_id)`` an error, before any query. 0 names no row (a placeholder choice)."""
    text = str(text).strip()
    if not _ID.fullmatch(text) or int(text) > MAX_RECORD_ID:
        raise ValueError(_l("Choix invalide."))
    return int(text)


def year_number(text) -> int:
    """A budget year from a query string (``?annee=2026``): ValueError outside the years of :data:`FIRST_DAY`
    to :data:`LAST_DAY`."""
    return parse_whole_number(str(text), low=FIRST_DAY.year, high=LAST_DAY.year)


def page_number(text) -> int:
    """A page of a list from a query string (``?page=3``)."""
    return parse_whole_number(str(text), low=1, high=1_000_000)


def error_messages(errors) -> list[str]:
    """A field's errors as a flat list of messages: a FieldList or FormField nests them in lists and
    dicts, which the error summary must not print as Python reprs."""
    if isinstance(errors, dict):
        return [m for nested in errors.values() for m in error_messages(nested)]
    if isinstance(errors, list | tuple):
        return [m for nested in errors for m in error_messages(nested)]
    return [str(errors)] if errors else []


class _TypedNumberField(Field):
    """A number typed as text and parsed by :meth:`parse`. Blank is None; a blank required field (the
    ``required`` flag of InputRequired/DataRequired) is refused, since a space passes InputRequired."""

    widget = TextInput()
    blank_message = _l("Ce champ est obligatoire.")

    def __init__(self, label=None, validators=None, **kwargs):
        render_kw = {"inputmode": "decimal", "autocomplete": "off"} | (kwargs.pop("render_kw", None) or {})
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    def parse(self, text: str):
        """How each kind of number is read and bounded: every subclass (MoneyField, PercentField…) says."""
        raise NotImplementedError(f"{type(self).__name__} must say how its text is read")

    def format(self, value) -> str:
        return str(value)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else self.format(self.data)

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0].strip():
            self.data = self.parse(valuelist[0])

    def pre_validate(self, form):
        if self.data is None and not self.process_errors and self.flags.required:
            raise StopValidation(self.blank_message)


class MoneyField(_TypedNumberField):
    """An amount in euros, never negative, at most two decimals and :data:`MAX_AMOUNT`; French or English
    notation."""

    blank_message = _l("Indiquez un montant.")

    def __init__(self, label=None, validators=None, allow_zero=True, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.allow_zero = allow_zero

    def format(self, value) -> str:
        return f"{value:.2f}".replace(".", ",")

    def parse(self, text: str) -> Decimal:
        amount = parse_amount(text)
        if amount < 0 or (amount == 0 and not self.allow_zero):
            raise ValueError(_l("Le montant doit être positif."))
        return amount


class BoundedDecimalField(_TypedNumberField):
    """A decimal number such as a weight or a percentage, typed with a decimal comma ("12,5") or a point,
    within the class's bounds."""

    low, high, places = Decimal("0"), Decimal("1000"), 2

    def format(self, value) -> str:
        return f"{value:.{self.places}f}".replace(".", ",")

    def parse(self, text: str) -> Decimal:
        return parse_number(text, low=self.low, high=self.high, places=self.places)


class PercentField(BoundedDecimalField):
    """A share in percent, from 0,01 to 100, two decimals."""

    low, high = Decimal("0.01"), Decimal("100")


class WeightField(BoundedDecimalField):
    """A criterion's weight in a scoring grid, from 0,01 to 1 000, two decimals."""

    low, high = Decimal("0.01"), Decimal("1000")


class WholeNumberField(_TypedNumberField):
    """A whole number from ``low`` to ``high`` (counts, a number of reviewers, a scale)."""

    widget = NumberInput()

    def __init__(self, label=None, validators=None, *, low: int, high: int, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "numeric", "min": low, "max": high})
        super().__init__(label, validators, **kwargs)
        self.low, self.high = low, high

    def parse(self, text: str) -> int:
        return parse_whole_number(text, low=self.low, high=self.high)


class YearField(WholeNumberField):
    """A budget year."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, low=FIRST_DAY.year, high=LAST_DAY.year, **kwargs)


def _check_day(day: date) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(_("Une date entre le %(first)s et le %(last)s.", first=format_date(FIRST_DAY),
                           last=format_date(LAST_DAY)))


class DayField(DateField):
    """A calendar day between :data:`FIRST_DAY` and :data:`LAST_DAY`."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None:
            day, self.data = self.data, None
            _check_day(day)
            self.data = day


class RecordIdField(Field):
    """A row's id carried by a hidden input; :func:`record_id` bounds it."""

    widget = TextInput(input_type="hidden")

    def _value(self):
        return "" if self.data is None else str(self.data)

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0].strip():
            self.data = record_id(valuelist[0])


class LocalDateTimeField(DateTimeLocalField):
    """A wall-clock date and time in the service's zone, turned into an aware UTC instant."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], **kwargs)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return to_local(self.data).strftime("%Y-%m-%dT%H:%M") if self.data else ""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is None:
            return
        wall_clock, self.data = self.data, None
        _check_day(wall_clock.date())
        try:
            self.data = from_local(wall_clock)
        except NonexistentLocalTime as exc:
            raise ValueError(_l("Cette heure n'existe pas ce jour-là (passage à l'heure d'été).")) from exc
        except AmbiguousLocalTime as exc:
            raise ValueError(
                _l("Cette heure existe deux fois ce jour-là (passage à l'heure d'hiver) : choisissez-en une autre.")
            ) from exc


def row_version(text) -> int:
    """The version counter of a row, echoed by a form opened on it (optimistic locking)."""
    return parse_whole_number(str(text), low=0, high=MAX_RECORD_ID)


class IbanField(StringField):
    """An IBAN typed with or without spaces, kept compact ("FR7630006…"); empty is None. Checked by
    grants.bank_details (country format, check digits, the French RIB key)."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"autocomplete": "off", "spellcheck": "false",
                                        "autocapitalize": "characters", "maxlength": IBAN_MAX_LENGTH + 9})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        # Bounded before it is parsed: 34 characters, and the spaces of one group of 4 each.
        self.data = (compact_iban(valuelist[0][:IBAN_MAX_LENGTH + 9]) or None) if valuelist else None

    def pre_validate(self, form):
        if self.data and (message := iban_error(self.data)):
            raise ValidationError(message)


class BicField(StringField):
    """A BIC (SWIFT code) of 8 or 11 characters, upper-cased without spaces; empty is None."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"autocomplete": "off", "spellcheck": "false",
                                        "autocapitalize": "characters", "maxlength": 14})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        self.data = (compact_bic(valuelist[0][:14]) or None) if valuelist else None

    def pre_validate(self, form):
        if self.data and (message := bic_error(self.data)):
            raise ValidationError(message)
