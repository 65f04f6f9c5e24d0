"""The final report of an award (compte rendu financier, Cerfa n° 15059 logic): what the beneficiary
really spent and received, line by line against its forecast budget, and its activity report.

One report per award (``uq_final_reports_decision_id``). States: a draft the association saves as often
as it likes, submitted once, sent back for corrections (with the reason) or accepted by a manager.
Accepting it is what makes the balance payable (``decisions.report_accepted_at``, set in the same
transaction)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.applications.models import BudgetLineKind
from grants.database import Money, UTCDateTime, db, enum_type, utcnow
from grants.lifecycle import checked_transition


class ReportState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CORRECTIONS_REQUESTED = "corrections_requested"
    ACCEPTED = "accepted"


REPORT_TRANSITIONS = {
    ReportState.DRAFT: {ReportState.SUBMITTED},
    ReportState.SUBMITTED: {ReportState.CORRECTIONS_REQUESTED, ReportState.ACCEPTED},
    ReportState.CORRECTIONS_REQUESTED: {ReportState.SUBMITTED},
    ReportState.ACCEPTED: set(),
}


class FinalReport(db.Model):
    __tablename__ = "final_reports"
    __table_args__ = (
        sa.UniqueConstraint("decision_id"),
        sa.CheckConstraint("state = 'draft' OR submitted_at IS NOT NULL", name="submitted_has_date"),
        sa.CheckConstraint("(state = 'accepted') = (accepted_at IS NOT NULL)", name="accepted_has_date"),
        sa.CheckConstraint("state <> 'corrections_requested' OR correction_reason IS NOT NULL",
                           name="corrections_have_reason"),
        sa.CheckConstraint("total_expenses >= 0 AND total_resources >= 0", name="totals_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("decisions.id"))
    state: Mapped[ReportState] = mapped_column(enum_type(ReportState, "report_state"), default=ReportState.DRAFT)
    version: Mapped[int] = mapped_column(default=1)
    activity_report: Mapped[str] = mapped_column(sa.Text, default="")
    # Recomputed by the server from the lines on every save (never taken from the browser).
    total_expenses: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    total_resources: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    correction_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    decision = relationship("Decision")
    created_by = relationship("User", foreign_keys=[created_by_id])
    lines = relationship("FinalReportLine", back_populates="report", order_by="FinalReportLine.position",
                         cascade="all, delete-orphan")
    documents = relationship("FinalReportDocument", back_populates="report", order_by="FinalReportDocument.id",
                             cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    def move_to(self, target: ReportState) -> None:
        self.state = checked_transition("final_report", REPORT_TRANSITIONS, self.state, target)

    @property
    def is_editable(self) -> bool:
        return self.state in (ReportState.DRAFT, ReportState.CORRECTIONS_REQUESTED)


class FinalReportLine(db.Model):
    """One Cerfa line of the report: the forecast copied from the application's budget line and the
    actual amount, with the explanation a gap above the threshold needs."""

    __tablename__ = "final_report_lines"
    __table_args__ = (
        sa.CheckConstraint("forecast >= 0", name="forecast_not_negative"),
        sa.CheckConstraint("actual IS NULL OR actual >= 0", name="actual_not_negative"),
        sa.UniqueConstraint("report_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("final_reports.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    kind: Mapped[BudgetLineKind] = mapped_column(enum_type(BudgetLineKind, "budget_line_kind"))
    account: Mapped[str] = mapped_column(sa.String(4))
    label: Mapped[str] = mapped_column(sa.String(200))
    forecast: Mapped[Decimal] = mapped_column(Money)
    actual: Mapped[Decimal | None] = mapped_column(Money)
    explanation: Mapped[str] = mapped_column(sa.Text, default="")

    report = relationship("FinalReport", back_populates="lines")


class FinalReportDocument(db.Model):
    """A document attached to the final report (accounts, invoices, activity photos …), stored under a
    generated key behind the storage interface, like an application's attachments."""

    __tablename__ = "final_report_documents"
    __table_args__ = (sa.CheckConstraint("size_bytes > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("final_reports.id", ondelete="CASCADE"), index=True)
    original_filename: Mapped[str] = mapped_column(sa.String(255))
    storage_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report = relationship("FinalReport", back_populates="documents")
