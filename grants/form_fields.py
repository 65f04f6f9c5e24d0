"""Form fields shared by several domain areas: text filters, email addresses, euro amounts typed the
French way, and local instants."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, DecimalField, EmailField, Field
from wtforms.validators import DataRequired, Email, Length
from wtforms.widgets import TextInput

from grants.local_time import AmbiguousLocalTime, NonexistentLocalTime, from_local, to_local

_SPACES = re.compile(r"[\s\u00a0\u202f]")


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
    """``"1 234,50"``, ``"1234.5"`` or ``"1 234 €"`` → Decimal("1234.50"); refuses sub-cents."""
    cleaned = _SPACES.sub("", text).removesuffix("€").replace(",", ".")
    if not re.fullmatch(r"-?\d+(\.\d+)?", cleaned):
        raise ValueError(_l("Saisissez un montant en euros, par exemple 12 500 ou 12 500,50."))
    try:
        amount = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(_l("Montant illisible.")) from exc
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(_l("Un montant a au plus deux décimales (les centimes)."))
    return amount.quantize(Decimal("0.01"))


def error_messages(errors) -> list[str]:
    """A field's errors as a flat list of messages: a FieldList or FormField nests them in lists and
    dicts, which the error summary must not print as Python reprs."""
    if isinstance(errors, dict):
        return [m for nested in errors.values() for m in error_messages(nested)]
    if isinstance(errors, list | tuple):
        return [m for nested in errors for m in error_messages(nested)]
    return [str(errors)] if errors else []


class MoneyField(Field):
    """An amount in euros, never negative, at most two decimals; French or English notation."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, allow_zero=True, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)
        self.allow_zero = allow_zero

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{self.data:.2f}".replace(".", ",")

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            amount = parse_amount(valuelist[0])
        except ValueError as exc:
            self.data = None
            raise ValueError(str(exc)) from exc
        if amount < 0 or (amount == 0 and not self.allow_zero):
            self.data = None
            raise ValueError(_l("Le montant doit être positif."))
        self.data = amount


class FrenchDecimalField(DecimalField):
    """A number such as a weight or a percentage, typed with a decimal comma ("12,5") or a point."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [_SPACES.sub("", valuelist[0]).replace(",", "."), *valuelist[1:]]
        super().process_formdata(valuelist)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return super()._value().replace(".", ",")


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
        try:
            self.data = from_local(self.data)
        except NonexistentLocalTime as exc:
            self.data = None
            raise ValueError(_l("Cette heure n'existe pas ce jour-là (passage à l'heure d'été).")) from exc
        except AmbiguousLocalTime as exc:
            self.data = None
            raise ValueError(
                _l("Cette heure existe deux fois ce jour-là (passage à l'heure d'hiver) : choisissez-en une autre.")
            ) from exc
