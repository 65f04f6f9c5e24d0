"""The envelope is never overspent under real concurrency on PostgreSQL (threads, one connection each)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from grants.awards import services
from grants.awards.services import EnvelopeExceeded
from grants.database import db
from grants.local_time import local_today
from grants.models import Application, CallEnvelope, Decision, EnvelopeMovement, User
from tests.awards.conftest import OPERATING, under_review
from tests.factories import CallEnvelopeFactory, CallFactory, ManagerFactory

THREADS = 45


@pytest.fixture
def app_overrides():
    # One connection per thread, all at once: the race is real only if no thread waits for the pool.
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": THREADS + 2, "max_overflow": 0}}


def race(pg_app, work, items):
    """Run ``work(item)`` in one thread per item, released together; collect what each returned."""
    barrier = threading.Barrier(len(items))
    outcomes = []

    def run(item):
        with pg_app.app_context():
            try:
                outcomes.append(work(item, barrier))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def test_45_concurrent_awards_of_100_on_an_envelope_of_1000_commit_exactly_1000(pg_app):
    call = CallFactory()
    envelope = CallEnvelopeFactory(call=call, section=OPERATING, amount=Decimal("1000.00"))
    manager_id = ManagerFactory().id
    application_ids = [under_review(call, Decimal("100.00")).id for _ in range(THREADS)]
    envelope_id = envelope.id
    db.session.remove()

    def award(application_id, barrier):
        application = db.session.get(Application, application_id)
        actor = db.session.get(User, manager_id)
        application.applicant.organisation.memberships  # noqa: B018 — loaded before the race, as a request would
        barrier.wait(timeout=60)
        try:
            services.award_grant(application, amount=Decimal("100.00"), section=OPERATING, actor=actor)
            db.session.commit()
            return "ok"
        except EnvelopeExceeded as refused:
            db.session.rollback()
            return refused

    outcomes = race(pg_app, award, application_ids)
    assert len(outcomes) == THREADS
    assert outcomes.count("ok") == 10
    refusals = [o for o in outcomes if o != "ok"]
    assert len(refusals) == THREADS - 10
    assert all(r.remaining == 0 and r.message == "Enveloppe dépassée : 0,00\xa0€ restants" for r in refusals)
    stored = db.session.get(CallEnvelope, envelope_id)
    assert stored.committed == Decimal("1000.00")
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 10
    assert db.session.scalar(db.select(db.func.count(EnvelopeMovement.id))) == 10
    assert services.ledger_discrepancies() == []


def test_concurrent_payments_never_pay_more_than_awarded(pg_app):
    """12 tranches of 300 on an award of 3 000 recorded at once: exactly 10 pass."""

    from grants.models import PaymentTranche

    call = CallFactory()
    CallEnvelopeFactory(call=call, section=OPERATING, amount=Decimal("5000.00"))
    manager = ManagerFactory()
    decision = services.award_grant(under_review(call, Decimal("3000.00")), amount="3000", section=OPERATING,
                                    actor=manager)
    db.session.commit()
    decision_id, manager_id = decision.id, manager.id
    db.session.remove()

    def pay(_, barrier):
        decision = db.session.get(Decision, decision_id)
        actor = db.session.get(User, manager_id)
        decision.application.applicant.organisation.memberships  # noqa: B018
        barrier.wait(timeout=60)
        try:
            services.record_payment(decision, amount="300", tranche=PaymentTranche.INSTALMENT, actor=actor,
                                    paid_on=local_today())
            db.session.commit()
            return "ok"
        except services.DomainError as refused:
            db.session.rollback()
            return refused.message

    outcomes = race(pg_app, pay, list(range(12)))
    assert outcomes.count("ok") == 10
    assert db.session.get(Decision, decision_id).paid == Decimal("3000.00")
    assert services.ledger_discrepancies() == []
