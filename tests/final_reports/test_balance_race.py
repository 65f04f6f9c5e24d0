"""Two managers paying the balance at once on PostgreSQL: one balance is paid, never two, never above
the award (threads, one connection each)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from grants.awards import services as awards
from grants.database import db
from grants.errors import DomainError
from grants.final_reports import services
from grants.local_time import local_today
from grants.models import Decision, EnvelopeMovement, PaymentTranche, User
from tests.awards.test_concurrency import race
from tests.factories import CallEnvelopeFactory, CallFactory, ManagerFactory
from tests.final_reports.conftest import OPERATING, awarded, filled, member

THREADS = 8


@pytest.fixture
def app_overrides():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": THREADS + 2, "max_overflow": 0}}


def test_racing_balances_pay_one_balance_only(pg_app):
    call = CallFactory()
    CallEnvelopeFactory(call=call, section=OPERATING, amount=Decimal("10000.00"))
    manager = ManagerFactory()
    decision = awarded(call, manager)
    report = filled(decision)
    services.submit_report(report, actor=member(decision))
    services.accept_report(report, actor=manager)
    db.session.commit()
    decision_id, manager_id = decision.id, manager.id
    db.session.remove()

    def pay(amount, barrier):
        current = db.session.get(Decision, decision_id)
        actor = db.session.get(User, manager_id)
        current.application.applicant.organisation  # noqa: B018 — loaded before the race, as a request would
        barrier.wait(timeout=60)
        try:
            awards.record_payment(current, amount=amount, tranche=PaymentTranche.BALANCE, actor=actor,
                                  paid_on=local_today())
            db.session.commit()
            return "ok"
        except DomainError:
            db.session.rollback()
            return "refused"

    outcomes = race(pg_app, pay, [Decimal("2500.00")] * THREADS)
    assert outcomes.count("ok") == 1 and outcomes.count("refused") == THREADS - 1
    stored = db.session.get(Decision, decision_id)
    assert stored.paid == stored.amount == Decimal("5000.00") and stored.balance_paid_at is not None
    balances = db.session.scalar(db.select(db.func.count(EnvelopeMovement.id)).where(
        EnvelopeMovement.tranche == PaymentTranche.BALANCE))
    assert balances == 1
    assert awards.ledger_discrepancies() == []
