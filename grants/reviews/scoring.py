"""The reviewer's desk: his own assignment, saving and submitting his review on the call's grid, and
what he may see of the other reviewers' work (nothing before his own is submitted, in blind mode).

Every rule is kept in :func:`save_review` and :func:`submit_review`, whatever the form sent: a mark
outside its scale, a criterion of another call, an incomplete transmission, a second submission or an
edit after submission are refused here. The desk's progress and "next dossier" are read here too."""

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
from grants.calls.models import Criterion
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


class ReviewRefused(DomainError):
    """Every reason the review cannot be saved, or cannot be transmitted, at once: the reviewer fixes
    them all in one go, before the irreversible confirmation, rather than one per attempt."""

    def __init__(self, errors: list[DomainError]):
        super().__init__(errors[0].message, field=errors[0].field)
        self.errors = errors


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


def _writable_review(assignment: ReviewAssignment, reviewer: User) -> Review | None:
    """The assignment's review, read again under a row lock (two submissions of the same review cannot
    both pass on PostgreSQL), after checking that this reviewer may still write it."""
    if assignment.reviewer_id != reviewer.id or assignment.state != AssignmentState.ASSIGNED:
        raise NotAllowed(_("Ce dossier ne vous est pas confié."))
    if assignment.application.state != ApplicationState.UNDER_REVIEW:
        raise DomainError(_("Ce dossier n'est plus en instruction : l'évaluation ne peut plus changer."))
    review = assignment.review
    if review is not None:
        db.session.execute(sa.select(Review.id).where(Review.id == review.id).with_for_update())
        db.session.refresh(review)
        if review.state == ReviewState.SUBMITTED:
            raise ReviewLocked(_("Votre évaluation est déjà transmise : elle ne peut plus être modifiée."))
    return review


def _completeness_errors(criteria: list, marks: dict[int, Decimal], opinion: Opinion | None,
                         suggested: Decimal | None) -> list[DomainError]:
    """What a review still lacks to be transmitted: a mark for every criterion and an opinion (with an
    amount when it is "fund a lower amount")."""
    if not criteria:
        return [DomainError(_("La grille de cet appel n'a aucun critère : signalez-le au chargé de mission."))]
    errors = [DomainError(_("Notez chaque critère avant de transmettre : « %(name)s » n'a pas de note.",
                            name=c.name), field=f"score_{c.id}") for c in criteria if c.id not in marks]
    if opinion is None:
        errors.append(DomainError(_("Donnez votre avis avant de transmettre."), field="opinion"))
    elif opinion == Opinion.FUND_LOWER and suggested is None:
        errors.append(DomainError(_("Indiquez le montant que vous proposez."), field="suggested_amount"))
    return errors


def save_review(assignment: ReviewAssignment, reviewer: User, entry: ReviewInput, *, complete: bool = False
                ) -> Review:
    """Save the reviewer's draft (a manual save, an autosave, or the check before transmission).

    Kept here: only the assigned reviewer, on an application under review, writes; a submitted review
    never changes; every mark is within its criterion's scale (two decimals at most) and belongs to the
    call's grid; "fund a lower amount" needs a suggested amount below the amount asked. With
    ``complete`` (the reviewer asks to transmit), a mark for every criterion and an opinion are needed
    too. Every fault is reported at once (:class:`ReviewRefused`, each error naming its field,
    ``score_<criterion id>``), and nothing is saved then. Transmission itself is :func:`submit_review`."""
    review = _writable_review(assignment, reviewer)
    application = assignment.application
    grid = list(application.call.criteria)
    criteria = {c.id: c for c in grid}
    if set(entry.marks) - set(criteria):
        raise DomainError(_("Un critère envoyé n'appartient pas à la grille de cet appel."))
    errors: list[DomainError] = []
    marks: dict[int, Decimal] = {}
    for criterion_id, raw in entry.marks.items():
        criterion = criteria[criterion_id]
        field_name = f"score_{criterion_id}"
        try:
            value = parse_score(raw)
        except ValueError:
            errors.append(DomainError(_("Saisissez un nombre, par exemple 3 ou 3,5."), field=field_name))
            continue
        if value is None:
            continue
        if not 0 <= value <= criterion.scale_max:
            errors.append(DomainError(_("La note de « %(name)s » va de 0 à %(max)s.", name=criterion.name,
                                        max=criterion.scale_max), field=field_name))
        elif value != value.quantize(Decimal("0.01")):
            errors.append(DomainError(_("Une note a au plus deux décimales."), field=field_name))
        else:
            marks[criterion_id] = value

    opinion = None
    if entry.opinion:
        try:
            opinion = Opinion(entry.opinion)
        except ValueError:
            errors.append(DomainError(_("Choisissez un avis dans la liste."), field="opinion"))
    suggested = entry.suggested_amount if opinion == Opinion.FUND_LOWER else None
    if suggested is not None:
        asked = application.amount_requested
        if suggested <= 0 or (asked is not None and suggested >= asked):
            errors.append(DomainError(
                _("Le montant proposé doit être positif et inférieur au montant demandé (%(asked)s).",
                  asked=money(asked)), field="suggested_amount"))
            suggested = None
    if complete:
        # A mark refused above is reported once, under its field, not again as missing.
        refused = {error.field for error in errors}
        errors += [error for error in _completeness_errors(grid, marks, opinion, suggested)
                   if error.field not in refused]
    if errors:
        raise ReviewRefused(errors)

    changed = review is None
    if review is None:
        review = Review(assignment=assignment, state=ReviewState.DRAFT, comment="")
        db.session.add(review)
    comment = (entry.comment or "").strip()
    changed |= (review.opinion, review.suggested_amount, review.comment) != (opinion, suggested, comment)
    review.opinion, review.suggested_amount, review.comment = opinion, suggested, comment
    existing = {s.criterion_id: s for s in review.scores}
    for criterion_id, criterion in criteria.items():
        note = (entry.mark_comments.get(criterion_id) or "").strip()
        score = existing.get(criterion_id)
        if criterion_id not in marks:
            if score is not None:
                review.scores.remove(score)
                changed = True
            continue
        if score is None:
            review.scores.append(CriterionScore(criterion=criterion, score=marks[criterion_id], comment=note))
            changed = True
        elif (score.score, score.comment) != (marks[criterion_id], note):
            score.score, score.comment = marks[criterion_id], note
            changed = True
    if changed:
        # Only a real change dates the draft: an autosave of the same content leaves a checked draft
        # confirmable (see draft_version).
        review.updated_at = utcnow()
    db.session.flush()
    return review


def draft_version(review: Review | None) -> str:
    """A token of the draft's last save, carried by the confirmation page: transmitting a draft that has
    changed since it was checked (an autosave in another tab) is refused."""
    return "" if review is None else review.updated_at.isoformat()


def transmission_errors(review: Review) -> list[DomainError]:
    """What the saved draft still lacks to be transmitted (nothing: it may be)."""
    return _completeness_errors(list(review.assignment.application.call.criteria),
                                {s.criterion_id: s.score for s in review.scores}, review.opinion,
                                review.suggested_amount)


def submit_review(assignment: ReviewAssignment, reviewer: User, *, version: str | None = None,
                  now: datetime | None = None) -> Review:
    """Transmit the saved draft, which locks it for good: the reviewer confirms what he checked.

    Kept here: the draft is complete (a mark per criterion, an opinion, an amount with "fund lower"),
    it is the version the reviewer confirmed (``version``, see :func:`draft_version`), and a review is
    transmitted once."""
    review = _writable_review(assignment, reviewer)
    if review is None:
        raise DomainError(_("Enregistrez d'abord votre notation."))
    if version is not None and version != draft_version(review):
        raise DomainError(_("Votre brouillon a changé depuis sa vérification : vérifiez-le de nouveau."))
    errors = transmission_errors(review)
    if errors:
        raise ReviewRefused(errors)
    review.submitted_at = now or utcnow()
    review.move_to(ReviewState.SUBMITTED)
    # Stored with the transmission, in its transaction: the ranking reads it rather than the marks.
    review.score = own_score(review)
    record_transition("review.submitted", review, ReviewState.DRAFT, ReviewState.SUBMITTED, actor=reviewer,
                      application=assignment.application.reference)
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
               ReviewAssignment.id != assignment.id, Review.state == ReviewState.SUBMITTED,
               ReviewAssignment.state == AssignmentState.ASSIGNED)
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


@dataclass(frozen=True)
class ScoreMismatch:
    review_id: int
    stored: Decimal | None
    computed: Decimal | None


def score_mismatches(batch: int = 2000) -> list[ScoreMismatch]:
    """Every submitted review whose stored score differs from the one its marks give (a review without
    marks has none), read by batches of ``batch`` reviews: two statements per batch."""
    found = []
    after = 0
    while True:
        reviews = db.session.execute(
            sa.select(Review.id, Review.score)
            .where(Review.state == ReviewState.SUBMITTED, Review.id > after)
            .order_by(Review.id).limit(batch)
        ).all()
        if not reviews:
            return found
        marks: dict[int, list[tuple[Decimal, Decimal, int]]] = {}
        for review_id, weight, mark, scale_max in db.session.execute(
            sa.select(CriterionScore.review_id, Criterion.weight, CriterionScore.score, Criterion.scale_max)
            .join(Criterion, Criterion.id == CriterionScore.criterion_id)
            .where(CriterionScore.review_id.in_([row[0] for row in reviews]))
        ):
            marks.setdefault(review_id, []).append((weight, mark, scale_max))
        for review_id, stored in reviews:
            computed = review_score(marks[review_id]) if review_id in marks else None
            if stored != computed:
                found.append(ScoreMismatch(review_id, stored, computed))
        after = reviews[-1][0]
