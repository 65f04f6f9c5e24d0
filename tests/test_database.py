"""The database foundations: money is exact, instants are aware, constraints are named."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from grants.database import constraint_violated, db, to_money
from grants.models import AuditEvent, CallEnvelope
from tests.factories import CallEnvelopeFactory, CallFactory, UserFactory


def test_money_round_trips_exactly(app):
    envelope = CallEnvelopeFactory(amount=Decimal("860000.10"))
    envelope.committed = Decimal("0.20")
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(CallEnvelope, envelope.id)
    assert stored.amount == Decimal("860000.10")
    assert stored.remaining == Decimal("859999.90")
    assert isinstance(stored.committed, Decimal)


def test_money_refuses_floats_and_sub_cents():
    with pytest.raises(TypeError):
        to_money(0.1)
    with pytest.raises(ValueError):
        to_money("10.005")
    assert to_money("10.5") == Decimal("10.50")


def test_datetimes_come_back_aware_in_utc(app):
    paris_noon = datetime(2026, 3, 29, 12, 0, tzinfo=UTC) + timedelta(hours=0)
    call = CallFactory(opens_at=paris_noon, closes_at=paris_noon + timedelta(days=30))
    db.session.expire_all()
    assert call.opens_at == paris_noon
    assert call.opens_at.tzinfo is not None


def test_naive_datetimes_are_refused(app):
    with pytest.raises(sa.exc.StatementError):
        CallFactory(opens_at=datetime(2026, 1, 1), closes_at=datetime(2026, 2, 1))
    db.session.rollback()


def test_check_constraint_violation_is_named(app):
    envelope = CallEnvelopeFactory(amount=Decimal("1000.00"))
    envelope.committed = Decimal("1000.01")
    with pytest.raises(IntegrityError) as excinfo:
        db.session.commit()
    db.session.rollback()
    assert constraint_violated(excinfo.value) == "ck_call_envelopes_committed_within_envelope"


def test_unique_violation_is_named(app):
    UserFactory(email="same@example.org")
    with pytest.raises(IntegrityError) as excinfo:
        UserFactory(email="same@example.org")
    db.session.rollback()
    assert constraint_violated(excinfo.value) == "uq_users_email"


def test_audit_log_is_append_only(app):
    db.session.add(AuditEvent(action="test.event"))
    db.session.commit()
    with pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.update(AuditEvent).values(action="rewritten"))
        db.session.commit()
    db.session.rollback()
    with pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.delete(AuditEvent))
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(AuditEvent.action)) == "test.event"
