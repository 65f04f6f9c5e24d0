from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.database import Money, UTCDateTime, db, enum_type, utcnow
from grants.lifecycle import checked_transition


class ConflictOfInterest(db.Model):
    """A reviewer's declared tie to an applicant: he can never be assigned its applications.
    (Membership of the applicant organisation is a conflict too, without a declaration.)"""

    __tablename__ = "conflicts_of_interest"
    __table_args__ = (sa.UniqueConstraint("reviewer_id", "applicant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(sa.ForeignKey("applicants.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AssignmentState(StrEnum):
    ASSIGNED = "assigned"
    RECUSED = "recused"  # the reviewer stepped aside, with a reason; the manager reassigns


class ReviewAssignment(db.Model):
    __tablename__ = "review_assignments"
    __table_args__ = (
        sa.UniqueConstraint("application_id", "reviewer_id"),
        sa.CheckConstraint(
            "(state = 'recused') = (recusal_reason IS NOT NULL)", name="recusal_has_reason"
        ),
        # The reviewer's desk, a page at a time in due order, open dossiers apart from transmitted ones
        # (grants.reviews.assignments): each part of the desk and each of its figures is one range of it.
        sa.Index("ix_review_assignments_reviewer_due", "reviewer_id", "state", "transmitted", "due_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    assigned_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_on: Mapped[date]
    state: Mapped[AssignmentState] = mapped_column(
        enum_type(AssignmentState, "assignment_state"), default=AssignmentState.ASSIGNED
    )
    recusal_reason: Mapped[str | None] = mapped_column(sa.Text)
    # Whether this assignment's review is transmitted (submitted): a copy of its review's state, kept by
    # database triggers on reviews (migration c3a8f1d06e52) in the transaction that writes the review, so
    # that the desk finds a reviewer's open dossiers without reading his whole history. Read by SQL only.
    transmitted: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    application = relationship("Application")
    reviewer = relationship("User", foreign_keys=[reviewer_id])
    assigned_by = relationship("User", foreign_keys=[assigned_by_id])
    review = relationship("Review", back_populates="assignment", uselist=False)


class ReviewState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"  # locked


class Opinion(StrEnum):
    FUND = "fund"  # as asked
    FUND_LOWER = "fund_lower"  # with a suggested amount
    DO_NOT_FUND = "do_not_fund"


REVIEW_TRANSITIONS = {ReviewState.DRAFT: {ReviewState.SUBMITTED}, ReviewState.SUBMITTED: set()}


class Review(db.Model):
    """One reviewer's scoring of one application (one per assignment)."""

    __tablename__ = "reviews"
    __table_args__ = (
        sa.UniqueConstraint("assignment_id"),
        sa.CheckConstraint(
            "(state = 'draft' AND submitted_at IS NULL)"
            " OR (state = 'submitted' AND submitted_at IS NOT NULL AND opinion IS NOT NULL)",
            name="submitted_is_complete",
        ),
        sa.CheckConstraint(
            "(opinion = 'fund_lower') = (suggested_amount IS NOT NULL)", name="suggested_amount_with_lower"
        ),
        sa.CheckConstraint(
            "score IS NULL OR (state = 'submitted' AND score >= 0 AND score <= 100)", name="score_when_submitted"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("review_assignments.id", ondelete="CASCADE"))
    state: Mapped[ReviewState] = mapped_column(enum_type(ReviewState, "review_state"), default=ReviewState.DRAFT)
    opinion: Mapped[Opinion | None] = mapped_column(enum_type(Opinion, "opinion"))
    suggested_amount: Mapped[Decimal | None] = mapped_column(Money)
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The weighted score (0–100) of the marks, written with the submission (grants.reviews.scoring) so
    # that the ranking reads one number per review instead of every mark; the grid is locked once a
    # review is submitted and a submitted review never changes, so it stays right (``flask reviews
    # verify-scores`` proves it). A review set aside by a late conflict keeps it: the ranking leaves
    # it out through its assignment's state.
    score: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))

    assignment = relationship("ReviewAssignment", back_populates="review")
    scores = relationship("CriterionScore", back_populates="review", cascade="all, delete-orphan")

    def move_to(self, target: ReviewState) -> None:
        self.state = checked_transition("review", REVIEW_TRANSITIONS, self.state, target)


class CriterionScore(db.Model):
    __tablename__ = "criterion_scores"
    __table_args__ = (
        sa.UniqueConstraint("review_id", "criterion_id"),
        sa.CheckConstraint("score >= 0", name="score_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("criteria.id", ondelete="CASCADE"))
    score: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    comment: Mapped[str] = mapped_column(sa.Text, default="")

    review = relationship("Review", back_populates="scores")
    criterion = relationship("Criterion")


# --- The stored ranking (grants/reviews/ranking.py computes it, grants/reviews/tasks.py refreshes it) ---

RANKING_SORTS = ("score", "normalised", "spread", "amount", "reference")


class CallRanking(db.Model):
    """Whether a call's stored ranking is up to date. Every committed change the ranking depends on
    (a review submitted or reopened, an assignment, a screening, a decision, a withdrawal) adds one to
    ``version`` in its own transaction; a refresh records the version it read before computing
    (``ranked_version``). Stale while ``ranked_version < version``; ``changed_at`` is when the first
    change not yet in the stored ranking was committed (None when up to date)."""

    __tablename__ = "call_rankings"

    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    ranked_version: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The partner regions the stored ranking names, sorted: the page's filter (written by the refresh).
    partner_regions: Mapped[list[str] | None] = mapped_column(sa.JSON)


def _ranking_indexes():
    indexes = []
    for sort in RANKING_SORTS:
        # A page of the call's ranking (or of one section's) is a range of ranks: read from the index.
        indexes.append(sa.Index(f"ix_ranked_applications_{sort}", "call_id", "withdrawn", f"rank_{sort}"))
        indexes.append(sa.Index(f"ix_ranked_applications_section_{sort}", "call_id", "withdrawn", "section",
                                f"section_rank_{sort}"))
        # Where the envelope runs out: the first rank whose running sum passes it, sought in the index.
        indexes.append(sa.Index(f"ix_ranked_applications_cumulative_{sort}", "call_id", "withdrawn",
                                f"cumulative_{sort}", f"rank_{sort}"))
        indexes.append(sa.Index(f"ix_ranked_applications_section_cumulative_{sort}", "call_id", "withdrawn",
                                "section", f"section_cumulative_{sort}", f"section_rank_{sort}"))
    return tuple(indexes)


class RankingEntry(db.Model):
    """One row of a call's stored ranking: an eligible application under review, decided or withdrawn,
    its review figures (scores in whole hundredths, amounts in whole cents) and, for each sort, its rank
    and the running sum of amounts requested down that order, in the whole call and in its budget
    section. Withdrawn applications are ranked among themselves (they draw on no envelope). Derived
    data, written only by :func:`grants.reviews.ranking.refresh_ranking` (one INSERT … SELECT)."""

    __tablename__ = "ranked_applications"
    __table_args__ = _ranking_indexes()

    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"))
    withdrawn: Mapped[bool] = mapped_column(sa.Boolean)
    state: Mapped[str] = mapped_column(sa.String(30))
    section: Mapped[str | None] = mapped_column(sa.String(30))
    partner_region: Mapped[str | None] = mapped_column(sa.String(100))
    reference: Mapped[str] = mapped_column(sa.String(30))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    done: Mapped[int] = mapped_column(sa.Integer)
    assigned: Mapped[int] = mapped_column(sa.Integer)
    mean_score: Mapped[int | None] = mapped_column(sa.Integer)
    normalised_mean: Mapped[int | None] = mapped_column(sa.Integer)
    spread: Mapped[int | None] = mapped_column(sa.Integer)
    suggested_count: Mapped[int] = mapped_column(sa.Integer)
    suggested_total: Mapped[int | None] = mapped_column(sa.BigInteger)
    fund: Mapped[int] = mapped_column(sa.Integer)
    fund_lower: Mapped[int] = mapped_column(sa.Integer)
    do_not_fund: Mapped[int] = mapped_column(sa.Integer)
    rank_score: Mapped[int] = mapped_column(sa.Integer)
    cumulative_score: Mapped[int] = mapped_column(sa.BigInteger)
    rank_normalised: Mapped[int] = mapped_column(sa.Integer)
    cumulative_normalised: Mapped[int] = mapped_column(sa.BigInteger)
    rank_spread: Mapped[int] = mapped_column(sa.Integer)
    cumulative_spread: Mapped[int] = mapped_column(sa.BigInteger)
    rank_amount: Mapped[int] = mapped_column(sa.Integer)
    cumulative_amount: Mapped[int] = mapped_column(sa.BigInteger)
    rank_reference: Mapped[int] = mapped_column(sa.Integer)
    cumulative_reference: Mapped[int] = mapped_column(sa.BigInteger)
    section_rank_score: Mapped[int] = mapped_column(sa.Integer)
    section_cumulative_score: Mapped[int] = mapped_column(sa.BigInteger)
    section_rank_normalised: Mapped[int] = mapped_column(sa.Integer)
    section_cumulative_normalised: Mapped[int] = mapped_column(sa.BigInteger)
    section_rank_spread: Mapped[int] = mapped_column(sa.Integer)
    section_cumulative_spread: Mapped[int] = mapped_column(sa.BigInteger)
    section_rank_amount: Mapped[int] = mapped_column(sa.Integer)
    section_cumulative_amount: Mapped[int] = mapped_column(sa.BigInteger)
    section_rank_reference: Mapped[int] = mapped_column(sa.Integer)
    section_cumulative_reference: Mapped[int] = mapped_column(sa.BigInteger)
