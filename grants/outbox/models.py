from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grants.database import UTCDateTime, db, enum_type, utcnow


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by one delivery; nobody else sends it
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry


class Notification(db.Model):
    """The transactional outbox: a message is a row written in the same transaction as the event it
    reports, delivered by a task only after that transaction commits. ``dedup_key`` makes a reminder
    impossible to queue twice."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("dedup_key"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_has_time"),
        sa.Index("ix_notifications_status_created", "status", "created_at"),
        # Each user's list (the bell's page), newest first, by keyset pagination (grants.keyset).
        sa.Index("ix_notifications_recipient_created", "recipient_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(sa.String(60))  # e.g. "password_reset", "application_submitted"
    recipient_email: Mapped[str] = mapped_column(sa.String(254))
    recipient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    subject: Mapped[str] = mapped_column(sa.String(250))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    dedup_key: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[NotificationStatus] = mapped_column(
        enum_type(NotificationStatus, "notification_status"), default=NotificationStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a delivery last claimed the row (pending → sending): a claim older than the sending lease
    # belongs to a delivery that died, and may be taken over.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The in-app list (the bell) shows a user's notifications; reading one there sets this.
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The page the message is about (a path on this site), which the bell links to; None for
    # messages about no page of the recipient's (an invitation to someone without an account).
    link: Mapped[str | None] = mapped_column(sa.String(300))
