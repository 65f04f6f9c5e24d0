"""grants/formatting.py writes sums, dates and translated strings as Babel and Flask-Babel do, to the
character, while looking up the language once per process (sums, dates) or once per render (strings)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import flask_babel
from babel import dates, numbers
from flask import render_template_string
from flask_babel import force_locale
from hypothesis import given, settings
from hypothesis import strategies as st

from grants.formatting import formats_for, local_date, local_datetime, local_time, millions, money

LOCALES = ("fr", "en")
ZONE = "Europe/Paris"

amounts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**12, max_value=10**12),
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-10**15, max_value=10**15),
    st.integers(min_value=-10**12, max_value=10**12),
    st.sampled_from([Decimal("0"), Decimal("-0"), Decimal("-0.004"), Decimal("0.005"), Decimal("0.015"),
                     Decimal("999.995"), Decimal("1E+3"), Decimal("12345678901234567890.125")]),
)
instants = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))


@settings(max_examples=400, deadline=None)
@given(amount=amounts)
def test_money_is_babels_to_the_character(amount):
    for locale in LOCALES:
        assert formats_for(locale, ZONE).money(amount) == numbers.format_currency(amount, "EUR", locale=locale)


@settings(max_examples=200, deadline=None)
@given(instant=instants, pattern=st.sampled_from(["short", "medium", "long", "full", "EEEE d MMMM y, HH:mm",
                                                  "d MMMM y 'à' HH:mm", "dd/MM/y HH:mm"]))
def test_dates_are_babels_in_the_time_zone(instant, pattern):
    for locale in LOCALES:
        formats = formats_for(locale, ZONE)
        zone = formats.zone
        assert formats.datetime(instant, pattern) == dates.format_datetime(instant, pattern, tzinfo=zone, locale=locale)
        assert formats.time(instant, "HH:mm") == dates.format_time(instant, "HH:mm", tzinfo=zone, locale=locale)
        if pattern in ("short", "medium", "long", "full"):
            day = zone.normalize(instant.astimezone(zone)).date()
            assert formats.date(instant, pattern) == dates.format_date(day, pattern, locale=locale)
            assert formats.date(day, pattern) == dates.format_date(day, pattern, locale=locale)


def test_the_functions_write_as_flask_babel_did(app):
    """In a request, in each language: what the helpers gave when they called Flask-Babel per value."""
    instant = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)  # 12:00 in Paris
    with app.test_request_context("/"):
        for locale in LOCALES:
            with force_locale(locale):
                assert money(Decimal("1000")) == flask_babel.format_currency(Decimal("1000"), "EUR")
                assert local_datetime(instant, "short") == flask_babel.format_datetime(instant, "short")
                assert local_date(instant, "long") == flask_babel.format_date(instant, "long")
                assert local_date(date(2026, 3, 1)) == flask_babel.format_date(date(2026, 3, 1))
                assert local_time(instant) == flask_babel.format_time(instant, "HH:mm")
                assert millions(Decimal("4076000")) == flask_babel.format_decimal(Decimal("4.076"), "#,##0.000") + " M€"
        assert money(Decimal("1000")) == "1\u202f000,00\xa0€"  # narrow no-break space, then a no-break space
        assert money(Decimal("-1234.5")) == "-1\u202f234,50\xa0€"
        assert local_datetime(instant, "day_at_time") == "26 novembre 2026 à 12:00"
        assert money(None) == local_datetime(None) == local_date(None) == millions(None) == "—"


TEMPLATE = """{{ amount|money }}|{{ amount|millions }}|{{ instant|local_datetime('day_at_time') }}|\
{{ instant|local_date('long') }}|{{ _('Ouverts') }}|{{ _('de %(min)s à %(max)s', min='<b>', max=amount|money) }}|\
{{ ngettext('clôture dans %(num)d jour', 'clôture dans %(num)d jours', 3) }}"""


def test_templates_bind_the_language_of_each_render(app):
    """Filters and strings in a page, and in an email rendered in another language inside the same
    request (force_locale, as the outbox does): each in its own language; arguments escaped."""
    instant = datetime(2026, 11, 26, 11, 0, tzinfo=UTC) + timedelta(days=0)
    with app.test_request_context("/"):
        french = render_template_string(TEMPLATE, amount=Decimal("4076000"), instant=instant)
        with force_locale("en"):
            english = render_template_string(TEMPLATE, amount=Decimal("4076000"), instant=instant)
        again = render_template_string(TEMPLATE, amount=Decimal("4076000"), instant=instant)
    assert french == again == ("4\u202f076\u202f000,00\xa0€|4,076 M€|26 novembre 2026 à 12:00|26 novembre 2026|"
                               "Ouverts|de &lt;b&gt; à 4\u202f076\u202f000,00\xa0€|clôture dans 3 jours")
    assert english == ("€4,076,000.00|4.076 M€|26 November 2026 at 12:00|November 26, 2026|Open|"
                       "from &lt;b&gt; to €4,076,000.00|closes in 3 days")
