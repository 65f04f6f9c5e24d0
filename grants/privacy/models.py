from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.database import UTCDateTime, db, enum_type, utcnow


class ExportStatus(StrEnum):
    PENDING = "pending"  # asked; the worker has not built it yet
    READY = "ready"  # the archive is stored; downloadable until expires_at
    FAILED = "failed"
    EXPIRED = "expired"  # the archive is deleted


class DataExport(db.Model):
    """A person's request for their data (GDPR articles 15 and 20), made by them or, for a written
    request, by an administrator on their behalf. The worker builds the ZIP archive and stores it
    under ``archive_storage_key``; retention deletes it when the link expires."""

    __tablename__ = "data_exports"
    __table_args__ = (
        sa.UniqueConstraint("archive_storage_key"),
        sa.CheckConstraint("(status = 'ready') = (archive_storage_key IS NOT NULL)", name="ready_has_archive"),
        sa.CheckConstraint("size_bytes IS NULL OR size_bytes >= 0", name="size_not_negative"),
        sa.Index("ix_data_exports_user_requested", "user_id", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[ExportStatus] = mapped_column(
        enum_type(ExportStatus, "export_status"), default=ExportStatus.PENDING
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archive_storage_key: Mapped[str | None] = mapped_column(sa.String(100))
    size_bytes: Mapped[int | None]

    user = relationship("User", foreign_keys=[user_id])
    requested_by = relationship("User", foreign_keys=[requested_by_id])

    def is_downloadable(self, now: datetime) -> bool:
        return self.status == ExportStatus.READY and self.expires_at is not None and now < self.expires_at


class ClosureStatus(StrEnum):
    DONE = "done"  # personal data erased or pseudonymised; the account is closed
    DEFERRED = "deferred"  # a legal duty (a payment still due) holds it; the reason says which


class AccountClosure(db.Model):
    """A person's request to close their account (GDPR article 17) and what came of it. The user row
    survives pseudonymised (the grant files kept for the archives point at it)."""

    __tablename__ = "account_closures"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    status: Mapped[ClosureStatus] = mapped_column(enum_type(ClosureStatus, "closure_status"))
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")
