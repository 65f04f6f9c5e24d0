"""The demo awards: a committee on half of a closed call's dossiers, advances paid, idempotent."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from grants.awards import services
from grants.database import db
from grants.demo import content
from grants.demo.awards import seed_awards
from grants.models import CallEnvelope, CommitteeSession, Decision, EnvelopeMovement, MovementKind
from tests.awards.conftest import OPERATING, under_review
from tests.factories import ManagerFactory


class FakeSeed:
    def __init__(self, manager):
        self.users = {content.MANAGER_EMAIL: manager}
        self.today = date(2026, 6, 30)
        self.report = type("Report", (), {"created": Counter()})()

    def day(self, days: int) -> date:
        return self.today + timedelta(days=days)


def test_half_the_dossiers_go_to_a_committee_and_the_advances_are_paid_once(call):
    applications = [under_review(call, Decimal("2000.00")) for _ in range(5)]
    for application in applications:
        application.eligible = True
    db.session.commit()
    seed = FakeSeed(ManagerFactory())
    seed_awards(seed)
    db.session.commit()
    assert seed.report.created == Counter(committee_sessions=1, decisions=2, payments=2)
    envelope = db.session.scalar(db.select(CallEnvelope).filter_by(call_id=call.id, section=OPERATING))
    assert envelope.committed == Decimal("4000.00") and envelope.paid == Decimal("1200.00")
    payment = db.session.scalar(db.select(EnvelopeMovement).where(EnvelopeMovement.kind == MovementKind.PAYMENT))
    assert payment.effective_on == date(2026, 6, 27)
    assert services.ledger_discrepancies() == []
    again = FakeSeed(seed.users[content.MANAGER_EMAIL])
    seed_awards(again)
    db.session.commit()
    assert sum(again.report.created.values()) == 0
    assert db.session.scalar(db.select(db.func.count(CommitteeSession.id))) == 1
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 2
