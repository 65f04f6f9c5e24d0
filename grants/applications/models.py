from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.calls.models import BudgetSection
from grants.database import Money, UTCDateTime, db, enum_type, utcnow
from grants.lifecycle import checked_transition


class ApplicationState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CORRECTIONS_REQUESTED = "corrections_requested"  # demande de compléments
    UNDER_REVIEW = "under_review"  # instruction, after eligibility screening
    INELIGIBLE = "ineligible"
    DECIDED = "decided"
    WITHDRAWN = "withdrawn"


APPLICATION_TRANSITIONS = {
    ApplicationState.DRAFT: {ApplicationState.SUBMITTED, ApplicationState.WITHDRAWN},
    ApplicationState.SUBMITTED: {
        ApplicationState.CORRECTIONS_REQUESTED,
        ApplicationState.UNDER_REVIEW,
        ApplicationState.INELIGIBLE,
        ApplicationState.WITHDRAWN,
    },
    ApplicationState.CORRECTIONS_REQUESTED: {ApplicationState.SUBMITTED, ApplicationState.WITHDRAWN},
    ApplicationState.UNDER_REVIEW: {ApplicationState.DECIDED, ApplicationState.WITHDRAWN},
    ApplicationState.INELIGIBLE: set(),
    ApplicationState.DECIDED: set(),
    ApplicationState.WITHDRAWN: set(),
}


YOUNG_PEOPLE_MAX = 1_000_000  # far above any one project's reach: a typo, not a count


class Application(db.Model):
    """A dossier: one applicant's request to one call, with its budget and attachments.

    ``version`` is SQLAlchemy's optimistic lock: two members saving the same draft from two browsers
    cannot silently overwrite each other (the second save raises StaleDataError).
    """

    __tablename__ = "applications"
    __table_args__ = (
        sa.UniqueConstraint("reference"),
        sa.CheckConstraint("amount_requested IS NULL OR amount_requested > 0", name="amount_requested_positive"),
        sa.CheckConstraint("starts_on IS NULL OR ends_on IS NULL OR starts_on <= ends_on", name="starts_before_end"),
        sa.CheckConstraint(
            "beneficiaries_count IS NULL OR beneficiaries_count >= 0", name="beneficiaries_not_negative"
        ),
        sa.CheckConstraint(
            f"young_people_count IS NULL OR young_people_count BETWEEN 0 AND {YOUNG_PEOPLE_MAX}",
            name="young_people_count_bounded",
        ),
        sa.CheckConstraint(
            "(state = 'draft') OR (reference IS NOT NULL AND submitted_at IS NOT NULL)"
            " OR (state = 'withdrawn' AND submitted_at IS NULL)",
            name="submitted_has_reference",
        ),
        # With the id on PostgreSQL: the count of each call's dossiers by state reads the index alone.
        sa.Index("ix_applications_call_state", "call_id", "state", postgresql_include=["id"]),
        # The manager's next job (submitted, not screened yet, oldest first) without a sort of them all.
        sa.Index("ix_applications_awaiting_screening", "submitted_at", "id",
                 postgresql_where=sa.text("state = 'submitted' AND eligible IS NULL"),
                 sqlite_where=sa.text("state = 'submitted' AND eligible IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id"))
    applicant_id: Mapped[int] = mapped_column(sa.ForeignKey("applicants.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reference: Mapped[str | None] = mapped_column(sa.String(30))
    state: Mapped[ApplicationState] = mapped_column(
        enum_type(ApplicationState, "application_state"), default=ApplicationState.DRAFT
    )
    version: Mapped[int] = mapped_column(default=1)

    # The project (Cerfa 12156, "description du projet")
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    objectives: Mapped[str] = mapped_column(sa.Text, default="")
    target_public: Mapped[str] = mapped_column(sa.Text, default="")
    beneficiaries_count: Mapped[int | None]
    # Asked only where the call asks for it (Call.asks_young_people_count); required at submission then.
    young_people_count: Mapped[int | None]
    places: Mapped[str] = mapped_column(sa.String(300), default="")
    partner_region: Mapped[str | None] = mapped_column(sa.String(100))
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]

    # The budget prévisionnel: totals are recomputed by the server from the lines on every save.
    section: Mapped[BudgetSection | None] = mapped_column(enum_type(BudgetSection, "budget_section"))
    amount_requested: Mapped[Decimal | None] = mapped_column(Money)
    total_expenses: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    total_resources: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))

    # Eligibility screening (a manager, before review)
    eligible: Mapped[bool | None]
    eligibility_reason: Mapped[str | None] = mapped_column(sa.Text)
    screened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    screened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    call = relationship("Call")
    applicant = relationship("Applicant")
    created_by = relationship("User", foreign_keys=[created_by_id])
    budget_lines = relationship(
        "BudgetLine", back_populates="application", order_by="BudgetLine.position", cascade="all, delete-orphan"
    )
    attachments = relationship("Attachment", back_populates="application", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    def move_to(self, target: ApplicationState) -> None:
        self.state = checked_transition("application", APPLICATION_TRANSITIONS, self.state, target)

    @property
    def is_editable_by_applicant(self) -> bool:
        return self.state in (ApplicationState.DRAFT, ApplicationState.CORRECTIONS_REQUESTED)

    def __repr__(self) -> str:
        return f"<Application {self.reference or self.id} {self.state}>"


class ReferenceCounter(db.Model):
    """The last dossier number given for one (prefix, year): the sequence behind ``SISA-2026-0042``.

    One counter per pair, not per call, so that every call sharing a prefix and a year (a clone, a
    second session of a call) numbers from the same sequence and references are unique by construction.
    Advanced only by ``applications.services.draw_reference_number``."""

    __tablename__ = "reference_counters"
    __table_args__ = (sa.CheckConstraint("last_number > 0", name="last_number_positive"),)

    prefix: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int]


class BudgetLineKind(StrEnum):
    EXPENSE = "expense"  # charges, accounts 60–68
    RESOURCE = "resource"  # produits, accounts 70–79 (74: one line per funder, the Region's included)
    IN_KIND_USE = "in_kind_use"  # 86, shown outside the main totals
    IN_KIND_CONTRIBUTION = "in_kind_contribution"  # 87


class BudgetLine(db.Model):
    __tablename__ = "budget_lines"
    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[BudgetLineKind] = mapped_column(enum_type(BudgetLineKind, "budget_line_kind"))
    account: Mapped[str] = mapped_column(sa.String(4))  # Cerfa plan account: "60", "74" …
    label: Mapped[str] = mapped_column(sa.String(200))
    funder: Mapped[str | None] = mapped_column(sa.String(120))  # for subsidy lines (74)
    is_region_request: Mapped[bool] = mapped_column(default=False)  # the amount asked of the Region
    amount: Mapped[Decimal] = mapped_column(Money)
    position: Mapped[int] = mapped_column(default=0)

    application = relationship("Application", back_populates="budget_lines")


class Attachment(db.Model):
    """A file stored outside static/ under a generated key, behind the storage interface."""

    __tablename__ = "attachments"
    __table_args__ = (
        sa.CheckConstraint("size_bytes > 0", name="size_positive"),
        # One file per document the call asks for (a replaced file's row is deleted); any number of
        # "other documents" (no required document).
        sa.Index(
            "uq_attachments_application_id_required_document_id", "application_id", "required_document_id",
            unique=True,
            postgresql_where=sa.text("required_document_id IS NOT NULL"),
            sqlite_where=sa.text("required_document_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    required_document_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("required_documents.id", ondelete="SET NULL")
    )
    original_filename: Mapped[str] = mapped_column(sa.String(255))
    storage_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    application = relationship("Application", back_populates="attachments")
    required_document = relationship("RequiredDocument")


class CorrectionRequest(db.Model):
    """A manager's demande de compléments: reopens the named sections until ``due_at``."""

    __tablename__ = "correction_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    message: Mapped[str] = mapped_column(sa.Text)
    sections: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    application = relationship("Application")


class BundleState(StrEnum):
    PENDING = "pending"  # asked for, the worker has not started
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"


class AttachmentBundle(db.Model):
    """A ZIP of every attachment of a call's dossiers, built by the worker for the committee
    (grants/applications/bundles.py); its file is in the attachment storage until ``expires_at``."""

    __tablename__ = "attachment_bundles"
    __table_args__ = (
        sa.CheckConstraint("files_done >= 0 AND files_done <= files_total", name="progress_within_total"),
        sa.CheckConstraint("state != 'ready' OR (bundle_storage_key IS NOT NULL AND expires_at IS NOT NULL)",
                           name="ready_has_file"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    state: Mapped[BundleState] = mapped_column(enum_type(BundleState, "bundle_state"), default=BundleState.PENDING)
    files_total: Mapped[int] = mapped_column(default=0)
    files_done: Mapped[int] = mapped_column(default=0)
    files_missing: Mapped[int] = mapped_column(default=0)
    bundle_storage_key: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    bundle_size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    bundle_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    call = relationship("Call")
    requested_by = relationship("User")
