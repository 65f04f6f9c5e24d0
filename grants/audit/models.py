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
    __table_args__ = (sa.Index("ix_audit_events_subject", "subject_type", "subject_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(sa.String(60), index=True)  # "auth.login", "application.submitted"
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    subject_type: Mapped[str | None] = mapped_column(sa.String(40))
    subject_id: Mapped[int | None]
    from_state: Mapped[str | None] = mapped_column(sa.String(40))
    to_state: Mapped[str | None] = mapped_column(sa.String(40))
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    actor = relationship("User")
