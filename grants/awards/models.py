from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.calls.models import BudgetSection
from grants.database import Money, UTCDateTime, db, enum_type, utcnow


class Outcome(StrEnum):
    AWARDED = "awarded"
    REJECTED = "rejected"
    WAITLISTED = "waitlisted"


class CommitteeSession(db.Model):
    """A committee's confirmation of a batch of decisions on one call, recorded as one act."""

    __tablename__ = "committee_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id"), index=True)
    held_on: Mapped[date]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    confirmed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    call = relationship("Call")
    confirmed_by = relationship("User")
    decisions = relationship("Decision", back_populates="committee_session")


class Decision(db.Model):
    """The programme manager's (or committee's) decision on an application.

    For an award, ``amount`` is what is committed now (after increases, decreases or cancellation) and
    ``paid`` what has been paid; both are sums of the ledger rows that name this decision.
    """

    __tablename__ = "decisions"
    __table_args__ = (
        sa.UniqueConstraint("application_id"),
        sa.CheckConstraint(
            "(outcome = 'awarded') = (amount IS NOT NULL AND section IS NOT NULL)", name="award_has_amount"
        ),
        sa.CheckConstraint("outcome <> 'rejected' OR reason IS NOT NULL", name="rejection_has_reason"),
        sa.CheckConstraint("amount IS NULL OR amount >= 0", name="amount_not_negative"),
        sa.CheckConstraint("paid >= 0", name="paid_not_negative"),
        sa.CheckConstraint("amount IS NULL OR paid <= amount", name="paid_within_amount"),
        # The balance (solde) is paid on an accepted final report, once (see also the one-balance index
        # of envelope_movements).
        sa.CheckConstraint("balance_paid_at IS NULL OR report_accepted_at IS NOT NULL", name="balance_after_report"),
        sa.CheckConstraint("recovery_due >= 0 AND recovery_due <= paid", name="recovery_due_within_paid"),
        sa.CheckConstraint("released >= 0", name="released_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"))
    outcome: Mapped[Outcome] = mapped_column(enum_type(Outcome, "outcome"))
    section: Mapped[BudgetSection | None] = mapped_column(enum_type(BudgetSection, "budget_section"))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    committee_session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("committee_sessions.id"), index=True
    )
    # Set by grants.conventions when a manager countersigns the award's convention: no payment before
    # it where a convention is required (see services.convention_required).
    convention_countersigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The grant's closure: the final report accepted, the balance paid, the unpaid part released to the
    # envelope when actual expenses fell short (a decrease of the ledger), and what was paid beyond the
    # reduced amount and is still to be claimed back (titre de recette to record).
    report_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    balance_paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default="0")
    recovery_due: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default="0")

    application = relationship("Application")
    decided_by = relationship("User")
    committee_session = relationship("CommitteeSession", back_populates="decisions")


class MovementKind(StrEnum):
    COMMITMENT = "commitment"  # an award: committed += amount
    INCREASE = "increase"  # committed += amount
    DECREASE = "decrease"  # committed -= amount
    CANCELLATION = "cancellation"  # committed -= amount
    PAYMENT = "payment"  # paid += amount (a tranche: advance, balance)
    RECOVERY = "recovery"  # paid -= amount (titre de recette after a cancellation)


class PaymentTranche(StrEnum):
    ADVANCE = "advance"  # avance, on signature
    INSTALMENT = "instalment"
    BALANCE = "balance"  # solde, on the final report


class EnvelopeMovement(db.Model):
    """The append-only envelope ledger: one row per award, change or payment, never updated nor
    deleted (the migration installs triggers that refuse both). ``amount`` is always positive; the
    kind says which way it moves the figures."""

    __tablename__ = "envelope_movements"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("(kind = 'payment') = (tranche IS NOT NULL)", name="payment_has_tranche"),
        # Never two balances for one award, whatever the services do.
        sa.Index("uq_envelope_movements_one_balance", "decision_id", unique=True,
                 postgresql_where=sa.text("tranche = 'balance'"), sqlite_where=sa.text("tranche = 'balance'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    envelope_id: Mapped[int] = mapped_column(sa.ForeignKey("call_envelopes.id"), index=True)
    decision_id: Mapped[int | None] = mapped_column(sa.ForeignKey("decisions.id"), index=True)
    kind: Mapped[MovementKind] = mapped_column(enum_type(MovementKind, "movement_kind"))
    tranche: Mapped[PaymentTranche | None] = mapped_column(enum_type(PaymentTranche, "payment_tranche"))
    amount: Mapped[Decimal] = mapped_column(Money)
    effective_on: Mapped[date | None]  # payment date (mandatement)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    envelope = relationship("CallEnvelope")
    decision = relationship("Decision")
    actor = relationship("User")


# --- What the envelope dashboard reads --------------------------------------------------------
# Kept as the data change, so that the dashboard reads a few rows per call and per day, never the
# applications, the decisions or the ledger themselves: the first two tables by database triggers
# on ``applications`` and ``decisions`` (every way rows are written counts: the ORM, bulk UPDATEs,
# COPY), the third by :func:`grants.awards.services._move`, the ledger's only writer, in the same
# transaction as its movement. ``flask awards verify-ledger`` proves all three equal a recount.


class CallApplicationCount(db.Model):
    """How many applications of a call are in one state (triggers of migration e3a8c1d5f702)."""

    __tablename__ = "call_application_counts"
    __table_args__ = (sa.CheckConstraint("applications >= 0", name="applications_not_negative"),)

    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    applications: Mapped[int] = mapped_column(default=0, server_default="0")


class CallDecisionFigures(db.Model):
    """A call's decisions still in force (not cancelled) of one outcome and budget section: how many,
    and what they released to the envelope and have still to recover (triggers of migration
    e3a8c1d5f702). ``section`` is '' for refusals and the waiting list: a primary key holds no NULL."""

    __tablename__ = "call_decision_figures"
    __table_args__ = (
        sa.CheckConstraint("decisions >= 0", name="decisions_not_negative"),
        sa.CheckConstraint("released >= 0 AND recovery_due >= 0", name="sums_not_negative"),
    )

    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    outcome: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    section: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    decisions: Mapped[int] = mapped_column(default=0, server_default="0")
    released: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default="0")
    recovery_due: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default="0")


class EnvelopeLedgerDay(db.Model):
    """The envelope ledger summed by local day: what was committed (awards, increases), decommitted
    (decreases, cancellations), paid and recovered that day, each on the day the consumption chart
    shows it (see :func:`grants.awards.services.chart_day`). Written by ``_move`` with its movement."""

    __tablename__ = "envelope_ledger_days"
    __table_args__ = (
        sa.CheckConstraint("committed >= 0 AND decommitted >= 0 AND paid >= 0 AND recovered >= 0",
                           name="sums_not_negative"),
    )

    envelope_id: Mapped[int] = mapped_column(sa.ForeignKey("call_envelopes.id", ondelete="CASCADE"),
                                             primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    committed: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default="0")
    decommitted: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default="0")
    paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default="0")
    recovered: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default="0")
