"""Following a programme: a user who opts in hears when one of its calls opens."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from grants.accounts.models import User
from grants.calls.models import ProgrammeFollow
from grants.database import db
from grants.outbox.models import Notification
from grants.outbox.services import queue_emails_once


def follows(user, programme_id: int) -> bool:
    return db.session.scalar(
        db.select(ProgrammeFollow.id).where(ProgrammeFollow.user_id == user.id,
                                            ProgrammeFollow.programme_id == programme_id)
    ) is not None


def set_follow(user, programme_id: int, follow: bool) -> None:
    """Follow or stop following a programme's call openings; idempotent (the pair is UNIQUE)."""
    existing = db.session.scalar(
        db.select(ProgrammeFollow).where(ProgrammeFollow.user_id == user.id,
                                         ProgrammeFollow.programme_id == programme_id)
    )
    if follow and existing is None:
        try:
            with db.session.begin_nested():
                db.session.add(ProgrammeFollow(user_id=user.id, programme_id=programme_id))
        except IntegrityError:  # followed meanwhile from another tab
            pass
    elif not follow and existing is not None:
        db.session.delete(existing)
        db.session.flush()


def announce_call_opened(call) -> list[Notification]:
    """Tell the followers of the call's programme that it is open (once per call and user, and only
    to those who want such news). Called in the transaction that opens the call."""
    followers = db.session.scalars(
        db.select(User)
        .join(ProgrammeFollow, ProgrammeFollow.user_id == User.id)
        .where(ProgrammeFollow.programme_id == call.programme_id, User.active.is_(True),
               User.wants_call_news.is_(True))
        .order_by(User.id)
    ).all()
    return queue_emails_once([
        ("call_opened", user, f"call_opened:{call.id}:{user.id}", {"call": call, "user": user})
        for user in followers
    ])
