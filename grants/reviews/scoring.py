"""The reviewer's desk: his own assignment, saving and submitting his review on the call's grid, and
what he may see of the other reviewers' work (nothing before his own is submitted, in blind mode).

Every rule is kept in :func:`save_review`, whatever the form sent: a mark outside its scale, a
criterion of another call, a second submission or an edit after submission are refused here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from grants.accounts.models import User
from grants.applications.models import ApplicationState
from grants.audit.services import record_transition
from grants.database import db, utcnow
from grants.errors import DomainError, NotAllowed
from grants.formatting import money
from grants.reviews.models import (
    AssignmentState,
    CriterionScore,
    Opinion,
    Review,
    ReviewAssignment,
    ReviewState,
)
from grants.reviews.ranking import review_score


class ReviewLocked(DomainError):
    """A submitted review is final."""


def reviewer_assignment_or_none(reviewer: User, assignment_id: int) -> ReviewAssignment | None:
    """The assignment if it is the reviewer's and he has not stepped aside from it."""
    assignment = db.session.get(ReviewAssignment, assignment_id)
    if assignment is None or assignment.reviewer_id != reviewer.id or assignment.state != AssignmentState.ASSIGNED:
        return None
    return assignment


def parse_score(raw: str | None) -> Decimal | None:
    """A mark typed as ``3``, ``3,5`` or ``3.5``; None when left empty."""
    text = (raw or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if not value.is_finite():
        raise ValueError(text)
    return value


@dataclass
class ReviewInput:
    """What the reviewer typed. ``marks`` maps criterion ids to the raw text of each mark."""

    marks: dict[int, str | None] = field(default_factory=dict)
    mark_comments: dict[int, str] = field(default_factory=dict)
    opinion: str | None = None
    suggested_amount: Decimal | None = None
    comment: str = ""


def save_review(assignment: ReviewAssignment, reviewer: User, entry: ReviewInput, *, submit: bool,
                now: datetime | None = None) -> Review:
    """Save the reviewer's draft, or submit it, which locks it for good.

    Kept here: only the assigned reviewer, on an application under review, writes; a submitted review
    never changes; every mark is within its criterion's scale (two decimals at most) and belongs to the
    call's grid; submitting needs a mark for every criterion and an opinion, and "fund a lower amount"
    needs a suggested amount below the amount asked. Errors name the field (``score_<criterion id>``)."""
    if assignment.reviewer_id != reviewer.id or assignment.state != AssignmentState.ASSIGNED:
        raise NotAllowed(_("Ce dossier ne vous est pas confié."))
    application = assignment.application
    if application.state != ApplicationState.UNDER_REVIEW:
        raise DomainError(_("Ce dossier n'est plus en instruction : l'évaluation ne peut plus changer."))
    review = assignment.review
    if review is not None:
        # Re-read under a row lock: two submissions of the same review cannot both pass (PostgreSQL).
        db.session.execute(sa.select(Review.id).where(Review.id == review.id).with_for_update())
        db.session.refresh(review)
        if review.state == ReviewState.SUBMITTED:
            raise ReviewLocked(_("Votre évaluation est déjà transmise : elle ne peut plus être modifiée."))

    criteria = {c.id: c for c in application.call.criteria}
    unknown = set(entry.marks) - set(criteria)
    if unknown:
        raise DomainError(_("Un critère envoyé n'appartient pas à la grille de cet appel."))
    marks: dict[int, Decimal] = {}
    for criterion_id, raw in entry.marks.items():
        criterion = criteria[criterion_id]
        try:
            value = parse_score(raw)
        except ValueError:
            raise DomainError(_("Saisissez un nombre, par exemple 3 ou 3,5."), field=f"score_{criterion_id}") from None
        if value is None:
            continue
        if not 0 <= value <= criterion.scale_max:
            raise DomainError(_("La note de « %(name)s » va de 0 à %(max)s.", name=criterion.name,
                                max=criterion.scale_max), field=f"score_{criterion_id}")
        if value != value.quantize(Decimal("0.01")):
            raise DomainError(_("Une note a au plus deux décimales."), field=f"score_{criterion_id}")
        marks[criterion_id] = value

    opinion = None
    if entry.opinion:
        try:
            opinion = Opinion(entry.opinion)
        except ValueError:
            raise DomainError(_("Choisissez un avis dans la liste."), field="opinion") from None
    suggested = entry.suggested_amount if opinion == Opinion.FUND_LOWER else None
    if suggested is not None:
        asked = application.amount_requested
        if suggested <= 0 or (asked is not None and suggested >= asked):
            raise DomainError(_("Le montant proposé doit être positif et inférieur au montant demandé (%(asked)s).",
                                asked=money(asked)), field="suggested_amount")

    if submit:
        if not criteria:
            raise DomainError(_("La grille de cet appel n'a aucun critère : signalez-le au chargé de mission."))
        missing = [c for c in application.call.criteria if c.id not in marks]
        if missing:
            raise DomainError(_("Notez chaque critère avant de transmettre : « %(name)s » n'a pas de note.",
                                name=missing[0].name), field=f"score_{missing[0].id}")
        if opinion is None:
            raise DomainError(_("Donnez votre avis avant de transmettre."), field="opinion")
        if opinion == Opinion.FUND_LOWER and suggested is None:
            raise DomainError(_("Indiquez le montant que vous proposez."), field="suggested_amount")

    if review is None:
        review = Review(assignment=assignment, state=ReviewState.DRAFT, comment="")
        db.session.add(review)
    review.opinion = opinion
    review.suggested_amount = suggested
    review.comment = (entry.comment or "").strip()
    existing = {s.criterion_id: s for s in review.scores}
    for criterion_id, criterion in criteria.items():
        comment = (entry.mark_comments.get(criterion_id) or "").strip()
        score = existing.get(criterion_id)
        if criterion_id not in marks:
            if score is not None:
                review.scores.remove(score)
            continue
        if score is None:
            review.scores.append(CriterionScore(criterion=criterion, score=marks[criterion_id], comment=comment))
        else:
            score.score, score.comment = marks[criterion_id], comment
    if submit:
        review.submitted_at = now or utcnow()
        review.move_to(ReviewState.SUBMITTED)
        record_transition("review.submitted", review, ReviewState.DRAFT, ReviewState.SUBMITTED, actor=reviewer,
                          application=application.reference)
    db.session.flush()
    return review


@dataclass
class PeerReview:
    """Another reviewer's submitted review, as a reviewer may see it once his own is submitted."""

    reviewer_name: str
    score: Decimal
    opinion: Opinion
    suggested_amount: Decimal | None
    comment: str
    marks: list[tuple[str, Decimal, int, str]]  # (criterion, mark, scale_max, comment)


def peer_reviews(assignment: ReviewAssignment) -> list[PeerReview] | None:
    """The other reviewers' submitted reviews of the same application, or None while they are hidden:
    in blind mode (the call's default) a reviewer sees them only once his own review is submitted."""
    own = assignment.review
    call = assignment.application.call
    if call.blind_review and (own is None or own.state != ReviewState.SUBMITTED):
        return None
    reviews = db.session.scalars(
        sa.select(Review)
        .join(ReviewAssignment, ReviewAssignment.id == Review.assignment_id)
        .where(ReviewAssignment.application_id == assignment.application_id,
               ReviewAssignment.id != assignment.id, Review.state == ReviewState.SUBMITTED)
        .options(selectinload(Review.assignment).selectinload(ReviewAssignment.reviewer),
                 selectinload(Review.scores).selectinload(CriterionScore.criterion))
        .order_by(Review.submitted_at, Review.id)
    ).all()
    peers = []
    for review in reviews:
        marks = sorted(review.scores, key=lambda s: (s.criterion.position, s.criterion.id))
        peers.append(PeerReview(
            reviewer_name=review.assignment.reviewer.full_name,
            score=review_score([(s.criterion.weight, s.score, s.criterion.scale_max) for s in marks]),
            opinion=review.opinion, suggested_amount=review.suggested_amount, comment=review.comment,
            marks=[(s.criterion.name, s.score, s.criterion.scale_max, s.comment) for s in marks],
        ))
    return peers


def own_score(review: Review | None) -> Decimal | None:
    if review is None or not review.scores:
        return None
    return review_score([(s.criterion.weight, s.score, s.criterion.scale_max) for s in review.scores])
