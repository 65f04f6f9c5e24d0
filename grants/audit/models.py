from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.database import UTCDateTime, db, utcnow


class AuditEvent(db.Model):
    """The append-only audit log: sign-ins, failed sign-ins, refused accesses and every state change,
    written in the same transaction as what it records. Triggers refuse UPDATE and DELETE.

    An application's status timeline is read from here (subject "application"), so the history the
    association sees and the one an auditor sees cannot disagree.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_subject", "subject_type", "subject_id", "occurred_at"),
        # The log's pages, newest first, whole or of one action (keyset pagination, grants.keyset).
        sa.Index("ix_audit_events_occurred", "occurred_at", "id"),
        sa.Index("ix_audit_events_action_occurred", "action", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(sa.String(60))  # "auth.login", "application.submitted"
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    subject_type: Mapped[str | None] = mapped_column(sa.String(40))
    subject_id: Mapped[int | None]
    from_state: Mapped[str | None] = mapped_column(sa.String(40))
    to_state: Mapped[str | None] = mapped_column(sa.String(40))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    actor = relationship("User")
    # Where the request came from, kept apart so that the address can be forgotten (erasure,
    # retention) without touching the append-only row.
    origin = relationship("AuditEventOrigin", uselist=False, lazy="joined", passive_deletes=True)

    @property
    def ip_address(self) -> str | None:
        return self.origin.ip_address if self.origin is not None else None


class AuditEventOrigin(db.Model):
    """The client address of an audited request: personal data (a connection log) with a shorter
    retention than the event itself, deleted on its own by retention and by an account's erasure."""

    __tablename__ = "audit_event_origins"

    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("audit_events.id", ondelete="CASCADE"), primary_key=True
    )
    ip_address: Mapped[str] = mapped_column(sa.String(45))
    # Copied from the event so that retention finds old addresses without reading the log.
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AuditPurgeHorizon(db.Model):
    """One row: audit events that occurred before ``purge_before`` may be deleted (their retention is
    over). The database trigger that keeps the log append-only refuses every UPDATE, and every DELETE
    of an event at or after this instant; only the retention job moves it forward."""

    __tablename__ = "audit_purge_horizons"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    purge_before: Mapped[datetime] = mapped_column(UTCDateTime)
