from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from grants.database import Money, UTCDateTime, db, enum_type, utcnow
from grants.formatting import fold
from grants.lifecycle import checked_transition


class BudgetSection(StrEnum):
    OPERATING = "fonctionnement"
    INVESTMENT = "investissement"

    @property
    def label(self) -> str:
        """The section's name in the user's language (the value is the French database code)."""
        return str(SECTION_LABELS[self])


SECTION_LABELS = {BudgetSection.OPERATING: _l("Fonctionnement"), BudgetSection.INVESTMENT: _l("Investissement")}


class FileKind(StrEnum):
    """What a required document may accept: the kinds grants.applications.file_types tells apart
    from a file's bytes. ``required_documents.accepted_types`` holds these values and no others."""

    PDF = "pdf"
    IMAGE = "image"  # JPEG, PNG
    OFFICE = "office"  # OOXML, OpenDocument, legacy Word/Excel/PowerPoint

    @property
    def label(self) -> str:
        return str(FILE_KIND_LABELS[self])


FILE_KIND_LABELS = {
    FileKind.PDF: _l("PDF"), FileKind.IMAGE: _l("Images (JPEG, PNG)"), FileKind.OFFICE: _l("Documents bureautiques"),
}


def file_kinds_label(kinds) -> str:
    """The kinds as the applicant reads them, in FileKind's order: « PDF, Images (JPEG, PNG) »."""
    return ", ".join(kind.label for kind in FileKind if kind in kinds)


class CallState(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"  # published, opens by itself at opens_at
    OPEN = "open"
    CLOSED = "closed"
    ARCHIVED = "archived"


class ApplicantKinds(StrEnum):
    ORGANISATIONS = "organisations"
    INDIVIDUALS = "individuals"  # e.g. FRADEP: projects of job seekers
    BOTH = "both"


CALL_TRANSITIONS = {
    CallState.DRAFT: {CallState.SCHEDULED, CallState.OPEN},
    CallState.SCHEDULED: {CallState.OPEN, CallState.DRAFT},
    CallState.OPEN: {CallState.CLOSED},
    CallState.CLOSED: {CallState.ARCHIVED},
    CallState.ARCHIVED: set(),
}


class Programme(db.Model):
    """A budget line of the Region, such as "Relations internationales"."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    budgets = relationship(
        "ProgrammeBudget", back_populates="programme", order_by="ProgrammeBudget.year, ProgrammeBudget.section"
    )
    calls = relationship("Call", back_populates="programme", order_by="Call.opens_at")


class ProgrammeBudget(db.Model):
    """A programme's yearly authorisation for one budget section (AP / AE): how much of it is carved
    into call envelopes, and how much is committed by direct grants outside calls. Both are moved only
    by conditional UPDATEs in the services, and the database refuses carved + direct > authorised."""

    __tablename__ = "programme_budgets"
    __table_args__ = (
        sa.UniqueConstraint("programme_id", "year", "section"),
        sa.CheckConstraint("authorised >= 0", name="authorised_not_negative"),
        sa.CheckConstraint("carved >= 0", name="carved_not_negative"),
        sa.CheckConstraint("direct_committed >= 0", name="direct_committed_not_negative"),
        sa.CheckConstraint("carved + direct_committed <= authorised", name="carved_within_authorised"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"), index=True)
    year: Mapped[int]
    section: Mapped[BudgetSection] = mapped_column(enum_type(BudgetSection, "budget_section"))
    authorised: Mapped[Decimal] = mapped_column(Money)
    carved: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    # Direct grants outside calls (cooperation agreements, support to associative life).
    direct_committed: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default="0")

    programme = relationship("Programme", back_populates="budgets")

    @property
    def free(self) -> Decimal:
        return self.authorised - self.carved - self.direct_committed


class Call(db.Model):
    """A call for projects (appel à projets)."""

    __tablename__ = "calls"
    __table_args__ = (
        sa.CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        sa.CheckConstraint("min_grant >= 0", name="min_grant_not_negative"),
        sa.CheckConstraint("max_grant >= min_grant", name="max_grant_not_below_min"),
        sa.CheckConstraint(
            "max_share_of_cost > 0 AND max_share_of_cost <= 1", name="max_share_is_a_fraction"
        ),
        sa.CheckConstraint("advance_share >= 0 AND advance_share <= 1", name="advance_share_is_a_fraction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"), index=True)
    year: Mapped[int]  # the budget year whose authorisation the envelopes are carved from
    title: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    reference_prefix: Mapped[str] = mapped_column(sa.String(8))  # SISA → SISA-2026-0042
    summary: Mapped[str] = mapped_column(sa.String(400), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")  # Markdown, rendered sanitised
    # What the public list's words are matched on, in SQL: title, summary and description folded (lower
    # case, no accents), written on every insert and update by ``_fold_search_text`` below.
    search_text: Mapped[str] = mapped_column(sa.Text, default="", server_default="", deferred=True)  # never shown
    eligibility_rules: Mapped[str] = mapped_column(sa.Text, default="")
    applicant_kinds: Mapped[ApplicantKinds] = mapped_column(
        enum_type(ApplicantKinds, "applicant_kinds"), default=ApplicantKinds.ORGANISATIONS
    )
    eligible_legal_forms: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # empty: any
    partner_regions: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # cooperation calls
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[CallState] = mapped_column(enum_type(CallState, "call_state"), default=CallState.DRAFT)
    min_grant: Mapped[Decimal] = mapped_column(Money)
    max_grant: Mapped[Decimal] = mapped_column(Money)
    max_share_of_cost: Mapped[Decimal] = mapped_column(sa.Numeric(5, 4), default=Decimal("1"))
    reminder_offsets_days: Mapped[list[int]] = mapped_column(sa.JSON, default=lambda: [7, 1])
    blind_review: Mapped[bool] = mapped_column(default=True)
    show_review_comments: Mapped[bool] = mapped_column(default=False)
    # The call asks each dossier how many young people the project reaches (youth programmes report it).
    asks_young_people_count: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Conventions (grants.conventions): every award from CONVENTION_THRESHOLD needs one; below it, only
    # where the call asks. The advance, paid on the countersigned convention, is this share of the award;
    # the balance is paid on the final report.
    convention_below_threshold: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    advance_share: Mapped[Decimal] = mapped_column(sa.Numeric(5, 4), default=Decimal("0.3"), server_default="0.3")
    # Reviews of one application whose normalised scores (0–100) spread wider than this are flagged
    # for discussion in committee.
    disagreement_threshold: Mapped[Decimal] = mapped_column(
        sa.Numeric(5, 2), default=Decimal("20.00"), server_default="20"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    programme = relationship("Programme", back_populates="calls")
    envelopes = relationship(
        "CallEnvelope", back_populates="call", order_by="CallEnvelope.section", cascade="all, delete-orphan"
    )
    funders = relationship("CallFunder", back_populates="call", cascade="all, delete-orphan")
    criteria = relationship(
        "Criterion", back_populates="call", order_by="Criterion.position", cascade="all, delete-orphan"
    )
    required_documents = relationship(
        "RequiredDocument",
        back_populates="call",
        order_by="RequiredDocument.position",
        cascade="all, delete-orphan",
    )

    def move_to(self, target: CallState) -> None:
        self.state = checked_transition("call", CALL_TRANSITIONS, self.state, target)

    def accepts_submissions_at(self, instant: datetime) -> bool:
        """The server's deadline rule: open, and strictly before closes_at (to the second)."""
        return self.state == CallState.OPEN and self.opens_at <= instant < self.closes_at

    def envelope_for(self, section: BudgetSection) -> CallEnvelope | None:
        return next((e for e in self.envelopes if e.section == section), None)

    @property
    def envelope_total(self) -> Decimal:
        return sum((e.amount for e in self.envelopes), Decimal("0.00"))

    @property
    def envelope_remaining(self) -> Decimal:
        return sum((e.remaining for e in self.envelopes), Decimal("0.00"))

    def __repr__(self) -> str:
        return f"<Call {self.slug}>"


class CallEnvelope(db.Model):
    """The money set aside for a call in one budget section.

    ``committed`` and ``paid`` are the sums of the envelope ledger (awards.models.EnvelopeMovement),
    kept here so that a single conditional UPDATE can refuse an overspend; the check constraints make
    the database itself refuse committed > amount or paid > committed.
    """

    __tablename__ = "call_envelopes"
    __table_args__ = (
        sa.UniqueConstraint("call_id", "section"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.CheckConstraint("committed >= 0", name="committed_not_negative"),
        sa.CheckConstraint("committed <= amount", name="committed_within_envelope"),
        sa.CheckConstraint("paid >= 0", name="paid_not_negative"),
        sa.CheckConstraint("paid <= committed", name="paid_within_committed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    section: Mapped[BudgetSection] = mapped_column(enum_type(BudgetSection, "budget_section"))
    amount: Mapped[Decimal] = mapped_column(Money)
    committed: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))

    call = relationship("Call", back_populates="envelopes")

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.committed


class CallFunder(db.Model):
    """A co-funder's share of a call's envelope (the FIPCE is co-funded by the Region and ADEME)."""

    __tablename__ = "call_funders"
    __table_args__ = (
        sa.UniqueConstraint("call_id", "name"),
        sa.CheckConstraint("share > 0 AND share <= 1", name="share_is_a_fraction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    share: Mapped[Decimal] = mapped_column(sa.Numeric(5, 4))

    call = relationship("Call", back_populates="funders")


class Criterion(db.Model):
    """A scoring criterion of a call's grid, scored from 0 to ``scale_max``."""

    __tablename__ = "criteria"
    __table_args__ = (
        sa.CheckConstraint("weight > 0", name="weight_positive"),
        sa.CheckConstraint("scale_max > 0", name="scale_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(200))
    guidance: Mapped[str] = mapped_column(sa.Text, default="")
    weight: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))
    scale_max: Mapped[int] = mapped_column(default=5)

    call = relationship("Call", back_populates="criteria")


class RequiredDocument(db.Model):
    """A document the call asks for (statutes, RIB, accounts …) and the kinds of file it accepts."""

    __tablename__ = "required_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(200))
    required: Mapped[bool] = mapped_column(default=True)
    accepted_types: Mapped[list[str]] = mapped_column(sa.JSON, default=lambda: [FileKind.PDF.value])

    call = relationship("Call", back_populates="required_documents")

    @validates("accepted_types")
    def _known_kinds(self, key, kinds):
        # A JSON list has no portable CHECK: the model refuses what the file-type detection would never
        # match (the demo once stored "jpg" and "png", and every RIB photo was refused).
        known = [kind.value for kind in FileKind]
        if not kinds or any(kind not in known for kind in kinds):
            raise ValueError(f"accepted_types must be a non-empty list of {known}, not {kinds!r}")
        return [kind for kind in known if kind in kinds]

class ProgrammeFollow(db.Model):
    """A user who wants to hear when a call of this programme opens (opt-in "call opening" news)."""

    __tablename__ = "programme_follows"
    __table_args__ = (sa.UniqueConstraint("user_id", "programme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DirectGrant(db.Model):
    """A grant decided outside any call, drawn straight from a programme's budget line (e.g. the
    cooperation agreements with the partner regions). It raises ``ProgrammeBudget.direct_committed``
    in the same transaction, through a conditional UPDATE that refuses to pass the authorisation."""

    __tablename__ = "direct_grants"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("paid >= 0 AND paid <= amount", name="paid_within_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_budget_id: Mapped[int] = mapped_column(sa.ForeignKey("programme_budgets.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    beneficiary_name: Mapped[str] = mapped_column(sa.String(200))
    purpose: Mapped[str] = mapped_column(sa.Text)
    amount: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    decided_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    programme_budget = relationship("ProgrammeBudget")
    organisation = relationship("Organisation")
    decided_by = relationship("User")


@sa.event.listens_for(Call, "before_insert")
@sa.event.listens_for(Call, "before_update")
def _fold_search_text(mapper, connection, call: Call) -> None:
    call.search_text = search_text_of(call.title, call.summary, call.description)


def search_text_of(title: str | None, summary: str | None, description: str | None) -> str:
    """A call's words as the public search matches them (the migration's backfill uses it too)."""
    return fold(" ".join((title or "", summary or "", description or "")))
