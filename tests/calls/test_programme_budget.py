"""A programme's budget line is never over-carved, by envelopes or direct grants, even concurrently."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from grants.calls import services
from grants.database import db
from grants.errors import DomainError
from grants.models import BudgetSection, ProgrammeBudget
from tests.factories import CallFactory, ManagerFactory, ProgrammeBudgetFactory, ProgrammeFactory

OPERATING = BudgetSection.OPERATING


@pytest.fixture
def line(app):
    """Relations internationales, 'appels à projets': 0,860 M€ in 2026."""
    return ProgrammeBudgetFactory(authorised=Decimal("860000.00"), year=2026, section=OPERATING)


def test_envelopes_carve_the_line_and_give_back_when_lowered(line):
    manager = ManagerFactory()
    sisa = CallFactory(programme=line.programme, year=2026)
    services.set_envelope(sisa, OPERATING, "560000.00", actor=manager)
    dcp = CallFactory(programme=line.programme, year=2026)
    services.set_envelope(dcp, OPERATING, Decimal("300000.00"), actor=manager)
    db.session.commit()
    assert line.carved == Decimal("860000.00") and line.free == Decimal("0.00")
    services.set_envelope(dcp, OPERATING, Decimal("250000.00"), actor=manager)
    db.session.commit()
    assert line.carved == Decimal("810000.00")
    assert dcp.envelope_for(OPERATING).amount == Decimal("250000.00")


def test_an_envelope_above_what_is_free_is_refused_and_nothing_moves(line):
    manager = ManagerFactory()
    call = CallFactory(programme=line.programme, year=2026)
    services.set_envelope(call, OPERATING, Decimal("800000.00"), actor=manager)
    db.session.commit()
    other = CallFactory(programme=line.programme, year=2026)
    with pytest.raises(DomainError, match="libre") as refused:
        services.set_envelope(other, OPERATING, Decimal("60000.01"), actor=manager)
    assert refused.value.field == "envelope_fonctionnement"
    db.session.rollback()
    db.session.refresh(line)
    assert line.carved == Decimal("800000.00")
    assert other.envelope_for(OPERATING) is None


def test_an_envelope_never_goes_below_what_is_committed(line):
    manager = ManagerFactory()
    call = CallFactory(programme=line.programme, year=2026)
    envelope = services.set_envelope(call, OPERATING, Decimal("100000.00"), actor=manager)
    envelope.committed = Decimal("40000.00")
    db.session.commit()
    with pytest.raises(DomainError, match="engagé"):
        services.set_envelope(call, OPERATING, Decimal("39999.99"), actor=manager)
    db.session.rollback()
    services.set_envelope(call, OPERATING, Decimal("40000.00"), actor=manager)
    db.session.commit()
    assert line.carved == Decimal("40000.00")


def test_no_authorisation_for_the_year_is_a_clear_error(app):
    call = CallFactory(year=2027)
    with pytest.raises(DomainError, match="autorisation"):
        services.set_envelope(call, BudgetSection.INVESTMENT, Decimal("1000.00"), actor=ManagerFactory())


def test_authorisation_cannot_fall_below_what_is_used(line):
    manager = ManagerFactory()
    services.set_envelope(CallFactory(programme=line.programme, year=2026), OPERATING, Decimal("500000.00"), actor=manager)
    db.session.commit()
    with pytest.raises(DomainError, match="réparti"):
        services.set_authorisation(line.programme, 2026, OPERATING, Decimal("499999.99"), actor=manager)
    db.session.rollback()
    budget = services.set_authorisation(line.programme, 2026, OPERATING, Decimal("500000.00"), actor=manager)
    db.session.commit()
    assert budget.free == Decimal("0.00")


def test_direct_grants_draw_on_the_same_line(line):
    manager = ManagerFactory()
    services.set_envelope(CallFactory(programme=line.programme, year=2026), OPERATING, Decimal("800000.00"), actor=manager)
    grant = services.record_direct_grant(line, beneficiary_name="Région de Kayes", purpose="Accord de coopération 2026",
                                         amount=Decimal("50000.00"), actor=manager)
    db.session.commit()
    assert grant.id and line.direct_committed == Decimal("50000.00") and line.free == Decimal("10000.00")
    with pytest.raises(DomainError, match="libre"):
        services.record_direct_grant(line, beneficiary_name="Analanjirofo", purpose="Accord",
                                     amount=Decimal("10000.01"), actor=manager)
    db.session.rollback()
    figures = {f.section: f for f in services.programme_figures(line.programme_id, 2026)}
    assert figures[OPERATING].authorised == Decimal("860000.00")
    assert figures[OPERATING].carved == Decimal("800000.00")
    assert figures[OPERATING].committed == Decimal("50000.00")
    assert figures[OPERATING].free == Decimal("10000.00")


def test_the_database_itself_refuses_over_carving(line):
    line.carved = Decimal("860000.01")
    with pytest.raises(Exception) as refused:
        db.session.commit()
    db.session.rollback()
    from grants.database import constraint_violated

    assert constraint_violated(refused.value) == "ck_programme_budgets_carved_within_authorised"


def test_concurrent_envelopes_never_over_carve_on_postgresql(pg_app):
    """12 managers each carve 100 000 € at once from a 860 000 € line: exactly 8 succeed."""
    programme = ProgrammeFactory()
    budget = ProgrammeBudgetFactory(programme=programme, authorised=Decimal("860000.00"), year=2026)
    manager = ManagerFactory()
    call_ids = [CallFactory(programme=programme, year=2026).id for _ in range(12)]  # within the pool size
    budget_id, manager_id = budget.id, manager.id
    db.session.remove()
    barrier = threading.Barrier(len(call_ids))
    outcomes = []

    def carve(call_id):
        from grants.models import Call, User

        with pg_app.app_context():
            call = db.session.get(Call, call_id)
            actor = db.session.get(User, manager_id)
            call.envelopes  # noqa: B018 — loaded before the race, as a request would
            barrier.wait(timeout=30)
            try:
                services.set_envelope(call, OPERATING, Decimal("100000.00"), actor=actor)
                db.session.commit()
                outcomes.append("ok")
            except DomainError as error:
                db.session.rollback()
                outcomes.append(error.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=carve, args=(call_id,)) for call_id in call_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count("ok") == 8
    assert all("libre" in outcome for outcome in outcomes if outcome != "ok")
    stored = db.session.get(ProgrammeBudget, budget_id)
    assert stored.carved == Decimal("800000.00")
    from grants.models import CallEnvelope

    assert db.session.scalar(db.select(db.func.sum(CallEnvelope.amount))) == Decimal("800000.00")
