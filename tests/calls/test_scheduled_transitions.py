"""Calls open and close by themselves, and the deadline is enforced to the second, DST days included."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from grants.calls.services import open_and_close_due_calls
from grants.database import db
from grants.errors import InvalidTransition
from grants.models import AuditEvent, CallState
from tests.factories import CallFactory

PARIS = ZoneInfo("Europe/Paris")


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def test_deadline_is_exclusive_to_the_second_across_spring_forward(app):
    # 29 March 2026: clocks go from 02:00 to 03:00 in Paris; 03:30 CEST is 01:30 UTC.
    call = CallFactory(opens_at=paris(2026, 3, 1, 9, 0), closes_at=paris(2026, 3, 29, 3, 30))
    assert call.closes_at.utcoffset() == timedelta(0)
    assert call.closes_at == datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("UTC"))
    assert call.accepts_submissions_at(paris(2026, 3, 29, 3, 29, 59))
    assert not call.accepts_submissions_at(paris(2026, 3, 29, 3, 30, 0))
    # One hour "before" on the wall clock is two real hours before, across the change.
    assert call.accepts_submissions_at(paris(2026, 3, 29, 1, 45))


def test_deadline_in_autumn_uses_winter_time(app):
    # 25 October 2026: 03:00 CEST becomes 02:00 CET; noon that day is 11:00 UTC.
    call = CallFactory(opens_at=paris(2026, 10, 1, 9, 0), closes_at=paris(2026, 10, 25, 12, 0))
    assert call.closes_at == datetime(2026, 10, 25, 11, 0, tzinfo=ZoneInfo("UTC"))
    assert not call.accepts_submissions_at(datetime(2026, 10, 25, 11, 0, tzinfo=ZoneInfo("UTC")))
    assert call.accepts_submissions_at(datetime(2026, 10, 25, 10, 59, 59, tzinfo=ZoneInfo("UTC")))


def test_scheduled_calls_open_and_open_calls_close(app):
    scheduled = CallFactory(state=CallState.SCHEDULED, opens_at=paris(2026, 3, 29, 9, 0),
                            closes_at=paris(2026, 4, 30, 12, 0))
    ending = CallFactory(state=CallState.OPEN, opens_at=paris(2026, 3, 1, 9, 0),
                         closes_at=paris(2026, 3, 29, 3, 30))
    changed = open_and_close_due_calls(now=paris(2026, 3, 29, 3, 29, 59))
    assert changed == {"opened": [], "closed": []}
    changed = open_and_close_due_calls(now=paris(2026, 3, 29, 3, 30))
    assert changed == {"opened": [], "closed": [ending.slug]}
    changed = open_and_close_due_calls(now=paris(2026, 3, 29, 9, 0))
    db.session.commit()
    assert changed == {"opened": [scheduled.slug], "closed": []}
    assert scheduled.state == CallState.OPEN and ending.state == CallState.CLOSED
    actions = db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["call.closed", "call.opened"]


def test_a_scheduled_call_whose_window_passed_is_closed_through_open(app):
    missed = CallFactory(state=CallState.SCHEDULED, opens_at=paris(2026, 1, 1, 9, 0),
                         closes_at=paris(2026, 2, 1, 12, 0))
    open_and_close_due_calls(now=paris(2026, 3, 1, 0, 0))
    assert missed.state == CallState.CLOSED


def test_illegal_call_transitions_are_refused(app):
    call = CallFactory(state=CallState.CLOSED)
    with pytest.raises(InvalidTransition):
        call.move_to(CallState.OPEN)
    with pytest.raises(InvalidTransition):
        CallFactory(state=CallState.DRAFT).move_to(CallState.CLOSED)
