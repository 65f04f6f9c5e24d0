"""The envelope dashboard: right figures, a constant number of queries, well-formed pages with an SVG
chart and its table, access."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import html5lib
import pytest
import sqlalchemy as sa

from grants.awards import figures, services
from grants.database import db
from grants.local_time import local_today
from grants.models import BudgetSection, CallFunder, PaymentTranche
from tests.awards.conftest import INVESTMENT, OPERATING, under_review
from tests.factories import (
    CallEnvelopeFactory,
    CallFactory,
    ProgrammeFactory,
    ReviewerFactory,
    member_of,
)


def parse(html: str):
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(html)


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, *args, **kwargs):
        self.count += 1

    def __enter__(self):
        sa.event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        sa.event.remove(db.engine, "before_cursor_execute", self)


def fill(call, manager, count: int) -> None:
    """``count`` applications, a third awarded (some paid), a third rejected, the rest under review."""
    for index in range(count):
        application = under_review(call, Decimal("100.00"))
        if index % 3 == 0:
            decision = services.award_grant(application, amount="100", section=OPERATING, actor=manager)
            if index % 2 == 0:
                services.record_payment(decision, amount="40", tranche=PaymentTranche.ADVANCE, actor=manager,
                                        paid_on=local_today())
        elif index % 3 == 1:
            services.reject_application(application, reason="Hors champ", actor=manager)
    db.session.commit()


def test_figures_by_programme_call_and_section(call, manager):
    fill(call, manager, 9)  # awards at 0, 3, 6 (paid at 0 and 6)
    services.award_grant(under_review(call, Decimal("1500.00")), amount="1500", section=INVESTMENT, actor=manager)
    db.session.add_all([CallFunder(call_id=call.id, name="Région", share=Decimal("0.6")),
                        CallFunder(call_id=call.id, name="ADEME", share=Decimal("0.4"))])
    db.session.commit()
    board = figures.envelope_dashboard(2026)
    (programme,) = board.programmes
    (call_figures,) = programme.calls
    by_section = {s.section: s for s in call_figures.sections}
    assert (by_section[OPERATING].envelope, by_section[OPERATING].committed, by_section[OPERATING].paid) == (
        Decimal("10000.00"), Decimal("300.00"), Decimal("80.00"))
    assert by_section[INVESTMENT].remaining == Decimal("2500.00")
    assert call_figures.total.committed == Decimal("1800.00")
    assert call_figures.states[figures.ApplicationState.DECIDED] == 7
    assert call_figures.outcomes == {figures.Outcome.AWARDED: 4, figures.Outcome.REJECTED: 3}
    region, ademe = call_figures.funders
    assert (region.name, region.envelope, region.committed, region.paid) == (
        "Région", Decimal("8400.00"), Decimal("1080.00"), Decimal("48.00"))
    assert ademe.committed + region.committed == Decimal("1800.00")
    assert board.consumption[-1].committed == Decimal("1800.00") and board.consumption[-1].paid == Decimal("80.00")
    assert figures.envelope_dashboard(2025).programmes == []


def queries_for(client, url: str) -> int:
    db.session.expire_all()  # the tests' session is the requests' session: start each from nothing cached
    with QueryCounter() as counter:
        assert client.get(url).status_code == 200
    return counter.count


def test_the_dashboard_costs_the_same_whatever_the_number_of_applications(app, manager, login_as):
    client = login_as(manager)
    small = CallFactory()
    CallEnvelopeFactory(call=small, section=OPERATING, amount=Decimal("10000.00"))
    fill(small, manager, 3)
    few, few_call = queries_for(client, "/gestion/enveloppes?annee=2026"), queries_for(
        client, f"/gestion/appels/{small.id}/enveloppe")
    big = CallFactory(programme=small.programme)
    CallEnvelopeFactory(call=big, section=OPERATING, amount=Decimal("10000.00"))
    fill(big, manager, 30)
    fill(small, manager, 12)
    assert queries_for(client, "/gestion/enveloppes?annee=2026") == few
    assert queries_for(client, f"/gestion/appels/{big.id}/enveloppe") == few_call
    assert few <= 12


def test_the_pages_parse_and_draw_an_svg_chart_with_a_table(call, manager, login_as):
    fill(call, manager, 6)
    other = CallFactory(programme=ProgrammeFactory(name="Jeunesse"))
    CallEnvelopeFactory(call=other, section=BudgetSection.OPERATING, amount=Decimal("2000.00"))
    client = login_as(manager)
    html = client.get("/gestion/enveloppes").get_data(as_text=True)
    parse(html)
    assert "<svg" in html and "<polyline" in html and "chart-committed" in html and "<rect" in html
    assert "style=" not in html  # the CSP forbids inline styles
    assert "Les chiffres du graphique" in html and call.title in html and "Jeunesse" in html
    page = client.get(f"/gestion/appels/{call.id}/enveloppe")
    parse(page.get_data(as_text=True))
    assert "200,00" in page.get_data(as_text=True)
    assert client.get("/gestion/enveloppes?annee=2025").status_code == 200
    assert client.get("/gestion/appels/987654/enveloppe").status_code == 404


@pytest.mark.parametrize("path", ["/gestion/enveloppes", "/gestion/appels/{id}/enveloppe"])
def test_only_managers_see_the_dashboard(call, client, login_as, path):
    target = path.format(id=call.id)
    assert client.get(target).status_code == 302
    login_as(member_of())
    assert client.get(target).status_code == 403
    login_as(ReviewerFactory())
    assert client.get(target).status_code == 403


def test_chart_geometry_stays_in_the_drawing():
    points = [figures.ConsumptionPoint(date(2026, 3, 1), Decimal("400"), Decimal("0")),
              figures.ConsumptionPoint(date(2026, 4, 1), Decimal("1000"), Decimal("300"))]
    chart = figures.consumption_chart(points, Decimal("1000"), until=date(2026, 6, 30))
    for pair in chart.committed_points.split():
        x, y = map(float, pair.split(","))
        assert chart.left <= x <= chart.width and 0 <= y <= chart.bottom
    assert chart.envelope_y == pytest.approx(12.0)  # the envelope is the top of the scale here
    assert figures.consumption_chart([], Decimal("1000")) is None


def test_consumption_counts_each_movement_on_its_paris_day(call, manager):
    """The ledger is summed by hour in the database; an award at 22:30 UTC on 30 June is on 1 July in
    Paris (UTC+2), one at 21:30 UTC still on 30 June."""
    from datetime import UTC, datetime

    import time_machine

    for instant, amount in ((datetime(2026, 6, 30, 21, 30, tzinfo=UTC), "100"),
                            (datetime(2026, 6, 30, 22, 30, tzinfo=UTC), "200"),
                            (datetime(2026, 6, 30, 22, 45, tzinfo=UTC), "300")):
        with time_machine.travel(instant, tick=False):
            services.award_grant(under_review(call, Decimal("1000.00")), amount=amount, section=OPERATING,
                                 actor=manager)
            db.session.commit()
    points = figures.envelope_dashboard(2026).consumption
    assert [(p.day, p.committed) for p in points] == [
        (date(2026, 6, 30), Decimal("100.00")), (date(2026, 7, 1), Decimal("600.00"))]
