"""Charts that tell the truth: the paid line never rises above the committed one (a commitment counts on
its decision's day, a payment never before it), the axes fit the figures with round steps, and the
committee prints scores the French way, as the ranking does."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from grants.awards import committee, figures, services
from grants.database import db
from grants.errors import DomainError
from grants.models import PaymentTranche
from tests.awards.conftest import OPERATING, under_review
from tests.factories import ReviewerFactory
from tests.reviews.conftest import grid, review


def eligible(call, amount="3000.00"):
    application = under_review(call, Decimal(amount))
    application.eligible = True
    db.session.commit()
    return application


def assert_paid_never_above_committed(points):
    assert points, "nothing drawn"
    for point in points:
        assert point.paid <= point.committed, point


def test_a_committee_award_counts_on_the_committee_day_before_its_advance(call, manager):
    """As the demo data: a committee held on 2 June, recorded on 10 June, an advance paid on 5 June."""
    application = eligible(call)
    with time_machine.travel(datetime(2026, 6, 10, 9, 0, tzinfo=UTC), tick=False):
        session = committee.confirm_committee(
            call, section=OPERATING, held_on=date(2026, 6, 2), actor=manager,
            lines=[committee.CommitteeLine(application.id, "award", Decimal("3000.00"))])
        db.session.commit()
        services.record_payment(session.decisions[0], amount="900", tranche=PaymentTranche.ADVANCE, actor=manager,
                                paid_on=date(2026, 6, 5))
        db.session.commit()
    points = figures.envelope_dashboard(2026).consumption
    assert [(p.day, p.committed, p.paid) for p in points] == [
        (date(2026, 6, 2), Decimal("3000.00"), Decimal("0.00")),
        (date(2026, 6, 5), Decimal("3000.00"), Decimal("900.00"))]


def test_a_payment_is_dated_between_its_award_and_today(call, manager):
    """The ledger's dates stay in the award's life: nothing paid before the decision, nothing planned
    ahead; the refusal writes nothing, and the days at both ends are accepted."""
    with time_machine.travel(datetime(2026, 6, 10, 9, 0, tzinfo=UTC), tick=False):
        decision = services.award_grant(under_review(call, Decimal("1000.00")), amount="1000", section=OPERATING,
                                        actor=manager)
        db.session.commit()
        for day in (date(2026, 6, 9), date(2026, 6, 11), date(1, 1, 1)):
            with pytest.raises(DomainError) as refused:
                services.record_payment(decision, amount="400", tranche=PaymentTranche.ADVANCE, actor=manager,
                                        paid_on=day)
            db.session.rollback()
            assert refused.value.field == "paid_on"
            assert "10 juin 2026" in str(refused.value)
        assert decision.paid == Decimal("0.00")
        services.record_payment(decision, amount="400", tranche=PaymentTranche.ADVANCE, actor=manager,
                                paid_on=date(2026, 6, 10))
        db.session.commit()
        with pytest.raises(DomainError) as refused:
            services.record_recovery(decision, amount="100", actor=manager, reason="Titre n° 1",
                                     recovered_on=date(2026, 6, 11))
        db.session.rollback()
        assert refused.value.field == "recovered_on" and decision.paid == Decimal("400.00")
    points = figures.envelope_dashboard(2026).consumption
    assert [(p.day, p.committed, p.paid) for p in points] == [(date(2026, 6, 10), Decimal("1000.00"), Decimal("400.00"))]


@pytest.mark.parametrize("value, top, step", [
    (Decimal("1000"), Decimal("1000"), Decimal("250")),
    (Decimal("1800"), Decimal("2000"), Decimal("500")),
    (Decimal("300"), Decimal("300"), Decimal("100")),
    (Decimal("7300000"), Decimal("8000000"), Decimal("2000000")),
    (Decimal("0"), Decimal("1"), Decimal("0.25")),
])
def test_the_amount_axis_has_round_steps_that_reach_the_figures(value, top, step):
    assert figures._nice_scale(value) == (top, step)


def chart_of(committed, envelope, days=((2026, 3, 1), (2026, 4, 1)), until=date(2026, 6, 30)):
    points = [figures.ConsumptionPoint(date(*day), Decimal(committed) * (n + 1) / len(days), Decimal(0))
              for n, day in enumerate(days)]
    return figures.consumption_chart(points, Decimal(envelope), until=until)


def test_an_envelope_that_dwarfs_the_figures_leaves_the_scale():
    fitted = chart_of("300", "10000")
    assert fitted.envelope_y is None
    assert [tick.label for tick in fitted.y_ticks] == [0, 100, 200, 300]  # the highest figure is the top
    top_y = min(float(pair.split(",")[1]) for pair in fitted.committed_points.split())
    assert top_y == pytest.approx(12.0)  # the committed line reaches the top of the drawing
    on_scale = chart_of("3000", "10000")
    assert on_scale.envelope_y == pytest.approx(12.0) and on_scale.y_ticks[-1].label == 10000


def test_day_ticks_never_repeat_on_a_short_span():
    chart = chart_of("300", "1000", days=((2026, 6, 2),), until=date(2026, 6, 3))
    labels = [tick.label for tick in chart.x_ticks]
    assert labels == [date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 3)]
    long = chart_of("300", "1000")
    assert len({t.label for t in long.x_ticks}) == len(long.x_ticks) == 5


def test_the_dashboard_names_an_envelope_off_the_scale(call, manager, login_as):
    services.award_grant(under_review(call, Decimal("100.00")), amount="100", section=OPERATING, actor=manager)
    db.session.commit()
    html = login_as(manager).get(f"/gestion/appels/{call.id}/enveloppe").get_data(as_text=True)
    assert "hors de l&#39;échelle" in html or "hors de l'échelle" in html
    assert 'class="chart-envelope"' not in html


def test_the_committee_shows_scores_as_the_ranking_does(call, manager, login_as):
    grid(call, (1, 100))
    db.session.refresh(call)
    application = eligible(call)
    review(application, ReviewerFactory(), [63])
    client = login_as(manager)
    committee_page = client.get(f"/gestion/appels/{call.id}/commission").get_data(as_text=True)
    ranking_page = client.get(f"/gestion/appels/{call.id}/classement").get_data(as_text=True)
    assert "63,00" in committee_page and "63.00" not in committee_page
    assert "63,00" in ranking_page
