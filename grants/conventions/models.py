"""Conventions (grant agreements): one row per version of an award's agreement. Version 1 is the
convention; each later version is an avenant (amendment), generated when the award's amount changed.
Rows are never deleted: the history of an award's agreement is its rows in version order.

A version is signed once, either online by the association's legal representative (or the individual
beneficiary) — the SHA-256 of the PDF they signed, the instant and the signer recorded — or by a scan of
the paper copy signed by hand, uploaded by a manager; then a manager countersigns it. The database
refuses a countersignature before the signature, and a signature without its signer and hash."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.database import Money, UTCDateTime, db, enum_type, utcnow


class SignatureMethod(StrEnum):
    ONLINE = "online"  # signed in the app by the legal representative
    SCAN = "scan"  # a scan of the paper copy signed by hand, uploaded by a manager


class Convention(db.Model):
    __tablename__ = "conventions"
    __table_args__ = (
        sa.UniqueConstraint("decision_id", "version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("advance >= 0 AND advance <= amount", name="advance_within_amount"),
        sa.CheckConstraint("length(pdf_sha256) = 64", name="pdf_sha256_length"),
        sa.CheckConstraint(
            "(signed_at IS NULL) = (signed_by_id IS NULL) AND (signed_at IS NULL) = (signature_method IS NULL)"
            " AND (signed_at IS NULL) = (signed_sha256 IS NULL)",
            name="signature_complete",
        ),
        sa.CheckConstraint("signature_method IS NULL OR signature_method <> 'scan' OR scan_storage_key IS NOT NULL",
                           name="scan_signature_has_scan"),
        sa.CheckConstraint("(countersigned_at IS NULL) = (countersigned_by_id IS NULL)",
                           name="countersignature_complete"),
        sa.CheckConstraint("countersigned_at IS NULL OR signed_at IS NOT NULL", name="countersigned_after_signature"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("decisions.id"), index=True)
    version: Mapped[int]
    amount: Mapped[Decimal] = mapped_column(Money)  # the award's amount this version states
    previous_amount: Mapped[Decimal | None] = mapped_column(Money)  # an avenant: the amount it replaces
    advance: Mapped[Decimal] = mapped_column(Money)  # paid on countersignature
    pdf_storage_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    pdf_sha256: Mapped[str] = mapped_column(sa.String(64))
    generated_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signature_method: Mapped[SignatureMethod | None] = mapped_column(enum_type(SignatureMethod, "signature_method"))
    signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_sha256: Mapped[str | None] = mapped_column(sa.String(64))  # of the PDF (or scan) signed
    scan_storage_key: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    countersigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    countersigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    decision = relationship("Decision")
    generated_by = relationship("User", foreign_keys=[generated_by_id])
    signed_by = relationship("User", foreign_keys=[signed_by_id])
    countersigned_by = relationship("User", foreign_keys=[countersigned_by_id])

    @property
    def is_amendment(self) -> bool:
        return self.version > 1

    @property
    def signed(self) -> bool:
        return self.signed_at is not None

    @property
    def countersigned(self) -> bool:
        return self.countersigned_at is not None
