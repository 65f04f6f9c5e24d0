"""Read-only queries behind the public pages of calls: the list, by what a visitor can do, and one
call's page. Each issues a fixed number of statements, related rows loaded with ``selectinload``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from grants.calls.models import Call, CallState
from grants.database import db, utcnow


@dataclass
class PublicCalls:
    open: list[Call]
    upcoming: list[Call]
    closed: list[Call]

    def __bool__(self) -> bool:
        return bool(self.open or self.upcoming or self.closed)


def public_calls(now: datetime | None = None) -> PublicCalls:
    """Published calls, by what a visitor can do with them. Drafts are never public and archived calls
    are no longer listed. A call still marked open after its deadline (the scheduled task has not run
    yet) is already shown as closed: the deadline is the instant, not the task."""
    now = now or utcnow()
    calls = db.session.scalars(
        sa.select(Call)
        .where(Call.state.in_([CallState.SCHEDULED, CallState.OPEN, CallState.CLOSED]))
        .options(selectinload(Call.programme))
        .order_by(Call.closes_at, Call.id)
    ).all()
    listing = PublicCalls(open=[], upcoming=[], closed=[])
    for call in calls:
        if call.state == CallState.CLOSED or call.closes_at <= now:
            listing.closed.append(call)
        elif call.state == CallState.OPEN:
            listing.open.append(call)
        else:
            listing.upcoming.append(call)
    listing.upcoming.sort(key=lambda c: c.opens_at)
    listing.closed.sort(key=lambda c: c.closes_at, reverse=True)
    return listing


def call_for_page(slug: str) -> Call | None:
    """One call with everything its public page shows, in a fixed number of statements."""
    return db.session.scalar(
        sa.select(Call)
        .where(Call.slug == slug)
        .options(
            selectinload(Call.programme),
            selectinload(Call.envelopes),
            selectinload(Call.funders),
            selectinload(Call.criteria),
            selectinload(Call.required_documents),
        )
    )
