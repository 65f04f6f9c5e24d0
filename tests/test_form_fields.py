"""Amounts typed the French way and Paris wall-clock instants, DST days included."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from grants.form_fields import (
    MAX_AMOUNT,
    MAX_RECORD_ID,
    DayField,
    LocalDateTimeField,
    MoneyField,
    PercentField,
    WholeNumberField,
    YearField,
    parse_amount,
    record_id,
)
from grants.local_time import AmbiguousLocalTime, NonexistentLocalTime, from_local, to_local


class AmountForm(Form):
    amount = MoneyField()


class InstantForm(Form):
    closes_at = LocalDateTimeField()


@pytest.mark.parametrize("typed, expected", [
    ("12 500", "12500.00"), ("12 500,50", "12500.50"), ("1\u202f234,5 €", "1234.50"), ("860000.00", "860000.00"),
    ("0", "0.00"),
])
def test_amounts_in_french_or_english_notation(typed, expected):
    assert parse_amount(typed) == Decimal(expected)


@pytest.mark.parametrize("typed, message", [
    ("12,345", "deux décimales"), ("douze", "montant"), ("-5", "positif"), ("1e5", "montant"),
])
def test_bad_amounts_get_a_clear_error_and_keep_the_input(app, typed, message):
    form = AmountForm(MultiDict({"amount": typed}))
    assert not form.validate()
    assert message in form.amount.errors[0]
    assert form.amount._value() == typed  # re-rendered as typed, nothing lost


@given(st.decimals(min_value=0, max_value=MAX_AMOUNT, places=2, allow_nan=False, allow_infinity=False))
def test_any_amount_shown_in_french_reads_back_the_same(amount):
    french = f"{amount:,.2f}".replace(",", "\u202f").replace(".", ",")
    assert parse_amount(french) == amount


def test_a_paris_instant_becomes_utc(app):
    assert from_local(datetime(2026, 7, 14, 12, 0)) == datetime(2026, 7, 14, 10, 0, tzinfo=UTC)
    assert from_local(datetime(2026, 12, 24, 12, 0)) == datetime(2026, 12, 24, 11, 0, tzinfo=UTC)
    assert to_local(datetime(2026, 12, 24, 11, 0, tzinfo=UTC)) == datetime(2026, 12, 24, 12, 0)


def test_missing_and_doubled_wall_clock_times_are_refused(app):
    with pytest.raises(NonexistentLocalTime):
        from_local(datetime(2026, 3, 29, 2, 30))
    with pytest.raises(AmbiguousLocalTime):
        from_local(datetime(2026, 10, 25, 2, 30))
    form = InstantForm(MultiDict({"closes_at": "2026-03-29T02:30"}))
    assert not form.validate() and "heure d'été" in form.closes_at.errors[0]
    form = InstantForm(MultiDict({"closes_at": "2026-10-25T02:30"}))
    assert not form.validate() and "heure d'hiver" in form.closes_at.errors[0]
    form = InstantForm(MultiDict({"closes_at": "2026-10-25T03:30"}))
    assert form.validate() and form.closes_at.data == datetime(2026, 10, 25, 2, 30, tzinfo=UTC)


def test_error_messages_flattens_the_nested_errors_of_field_lists():
    from grants.form_fields import error_messages

    nested = [{"name": ["Nommez le cofinanceur."]}, {}, {"share": ["Part trop grande.", "Deux décimales."]}]
    assert error_messages(nested) == ["Nommez le cofinanceur.", "Part trop grande.", "Deux décimales."]
    assert error_messages(["Champ requis."]) == ["Champ requis."]
    assert error_messages([]) == []


class BoundsForm(Form):
    amount = MoneyField(validators=[InputRequired()])
    share = PercentField()
    count = WholeNumberField(low=0, high=10)
    year = YearField()
    day = DayField()
    instant = LocalDateTimeField()
    applicant = SelectField(coerce=record_id, choices=[SelectChoice(0, "—"), SelectChoice(1, "A")], validate_choice=False)


@pytest.mark.parametrize("name, typed, message", [
    ("amount", "99999999999999999999", "ne dépasse pas"),
    ("amount", "1e309", "Saisissez un montant"),
    ("amount", "NaN", "Saisissez un montant"),
    ("amount", "-Infinity", "Saisissez un montant"),
    ("amount", "12,345", "deux décimales"),
    ("amount", " ", "Indiquez un montant"),
    ("share", "150", "de 0,01 à 100"),
    ("share", "1e309", "Saisissez un nombre"),
    ("share", "NaN", "Saisissez un nombre"),
    ("share", "12,345", "au plus 2 décimales"),
    ("count", "99999999999999999999", "de 0 à 10"),
    ("count", "1" * 5000, "Saisissez un nombre entier"),
    ("year", "99999", "de 2"),
    ("day", "0001-01-01", "Une date entre"),
    ("day", "2026-02-30", "date"),
    ("instant", "0001-01-01T00:30", "Une date entre"),
    ("applicant", str(MAX_RECORD_ID + 1), "could not coerce"),  # WTForms' own message (translated in a FlaskForm)
])
def test_every_kind_of_value_is_bounded_with_a_message(app, name, typed, message):
    with app.test_request_context():
        form = BoundsForm(MultiDict({"amount": "10", name: typed}))
        assert not form.validate()
        assert message in " ".join(str(e) for e in form[name].errors)
        assert form[name].data in (None, form[name].default)


def test_values_within_the_bounds_are_read(app):
    with app.test_request_context():
        form = BoundsForm(MultiDict({"amount": "999 999 999,99", "share": "0,01", "count": "10", "year": "2100",
                                     "day": "2100-12-31", "instant": "2026-07-14T12:00", "applicant": str(MAX_RECORD_ID)}))
        assert form.validate(), form.errors
        assert (form.amount.data, form.share.data, form.count.data, form.year.data, form.applicant.data) == (
            MAX_AMOUNT, Decimal("0.01"), 10, 2100, MAX_RECORD_ID)
