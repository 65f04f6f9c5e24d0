"""Notifications as users and managers see them: each user's list (the bell), what a user may turn
off, and the managers' view of deliveries. The outbox itself (queueing, delivery) is grants.outbox."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from grants.accounts.models import User
from grants.audit.services import record_event
from grants.database import db, utcnow
from grants.keyset import PER_PAGE, Page, TimeKey, newest_first
from grants.outbox.models import Notification, NotificationStatus
from grants.outbox.services import deliver_after_commit

# --- In-app list, preferences ----------------------------------------------------------


def unread_count(user) -> int:
    """The bell's count: a column of the user that the database keeps (see ``User.unread_notifications``),
    loaded with the user, so no query."""
    return user.unread_notifications


def notifications_page(user, *, before: TimeKey | None = None, after: TimeKey | None = None,
                       per_page: int = PER_PAGE) -> Page:
    """One page of ``user``'s notifications, newest first (grants.keyset): one statement reading at most a
    page and one row through ix_notifications_recipient_created, however many he has received; only his
    own, whatever key a link carries (the key only says where the page starts)."""
    return newest_first(
        sa.select(Notification).where(Notification.recipient_id == user.id),
        Notification.created_at, Notification.id, lambda row: TimeKey(row.created_at, row.id),
        before=before, after=after, per_page=per_page,
    )


def mark_read(notification: Notification, *, now: datetime | None = None) -> None:
    if notification.read_at is None:
        notification.read_at = now or utcnow()
        db.session.flush()
        _forget_loaded_count(notification.recipient_id)


def mark_all_read(user, *, now: datetime | None = None) -> int:
    """Mark every unread notification of ``user`` read; returns how many were."""
    count = db.session.execute(
        db.update(Notification)
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
    ).rowcount
    _forget_loaded_count(user.id)
    return count


def recount_unread() -> list[tuple[int, int, int]]:
    """Set every user's unread count from the notifications themselves; returns the ``(user id,
    stored, actual)`` of those that differed (none, while the triggers keep them)."""
    actual = (sa.select(sa.func.count(Notification.id))
              .where(Notification.recipient_id == User.id, Notification.read_at.is_(None))
              .scalar_subquery())
    wrong = db.session.execute(
        sa.select(User.id, User.unread_notifications, actual).where(User.unread_notifications != actual)
        .order_by(User.id)
    ).all()
    if wrong:
        db.session.execute(sa.update(User).where(User.id.in_([row[0] for row in wrong]))
                           .values(unread_notifications=actual))
        for user_id, _stored, _actual in wrong:
            _forget_loaded_count(user_id)
    return [tuple(row) for row in wrong]


def _forget_loaded_count(user_id: int | None) -> None:
    # The trigger changed the row behind the ORM's back: a user loaded in this session reads it again.
    user = db.session.identity_map.get(db.session.identity_key(User, user_id)) if user_id else None
    if user is not None:
        db.session.expire(user, ["unread_notifications"])


def set_preferences(user, *, wants_digest: bool, wants_call_news: bool) -> None:
    """What a user may turn off: the managers' digest and "call opening" news. Receipts, decisions and
    deadline reminders have no switch: they concern the user's own files. Only managers receive the
    digest, so only their digest setting can change."""
    if not user.is_manager:
        wants_digest = user.wants_digest
    changes = {}
    if user.wants_digest != wants_digest:
        changes["wants_digest"] = wants_digest
    if user.wants_call_news != wants_call_news:
        changes["wants_call_news"] = wants_call_news
    if changes:
        user.wants_digest, user.wants_call_news = wants_digest, wants_call_news
        record_event("notifications.preferences_changed", actor=user, subject=user, **changes)
        db.session.flush()


# --- Managers' monitor ----------------------------------------------------------------------------


def delivery_counts() -> dict[NotificationStatus, int]:
    rows = db.session.execute(
        db.select(Notification.status, db.func.count(Notification.id)).group_by(Notification.status)
    ).all()
    counts = dict.fromkeys(NotificationStatus, 0)
    counts.update({NotificationStatus(status): count for status, count in rows})
    return counts


def failed_notifications(limit: int = 200) -> list[Notification]:
    return db.session.scalars(
        db.select(Notification).where(Notification.status == NotificationStatus.FAILED)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    ).all()


class NotRetriable(Exception):
    pass


def retry_failed(notification: Notification, *, actor=None) -> Notification:
    """Put a FAILED row back to PENDING with a fresh count of attempts; it is delivered after the
    commit. Only a failed row can be retried: a sent one is never sent again."""
    done = db.session.execute(
        db.update(Notification)
        .where(Notification.id == notification.id, Notification.status == NotificationStatus.FAILED)
        .values(status=NotificationStatus.PENDING, attempts=0, claimed_at=None)
    ).rowcount
    if not done:
        raise NotRetriable(notification.id)
    db.session.refresh(notification)
    record_event("notification.retried", actor=actor, subject=notification,
                 event=notification.event, last_error=notification.last_error)
    deliver_after_commit(notification)
    db.session.flush()
    return notification
