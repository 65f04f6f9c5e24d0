"""Business operations on programmes and calls."""

from __future__ import annotations

from datetime import datetime

from grants.audit.services import record_transition
from grants.calls.models import Call, CallState
from grants.database import db, utcnow


def open_and_close_due_calls(now: datetime | None = None) -> dict:
    """Move scheduled calls whose opens_at has passed to open, and open calls whose closes_at has
    passed to closed. Flushes; the caller commits. Submissions never depend on this having run:
    ``Call.accepts_submissions_at`` checks the instant itself."""
    now = now or utcnow()
    opened = db.session.scalars(
        db.select(Call).where(Call.state == CallState.SCHEDULED, Call.opens_at <= now, Call.closes_at > now)
    ).all()
    for call in opened:
        call.move_to(CallState.OPEN)
        record_transition("call.opened", call, CallState.SCHEDULED, CallState.OPEN)
    closed = db.session.scalars(
        db.select(Call).where(Call.state.in_([CallState.OPEN, CallState.SCHEDULED]), Call.closes_at <= now)
    ).all()
    for call in closed:
        before = call.state
        if before == CallState.SCHEDULED:
            call.move_to(CallState.OPEN)
        call.move_to(CallState.CLOSED)
        record_transition("call.closed", call, before, CallState.CLOSED)
    db.session.flush()
    return {"opened": [c.slug for c in opened], "closed": [c.slug for c in closed]}
