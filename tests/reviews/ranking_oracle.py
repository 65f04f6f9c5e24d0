"""Today's ranking before the scores were stored (main at 5350b86, grants/reviews/ranking.py), kept
verbatim as the oracle of the property tests: it reads every mark of the call and computes each
review's score, the normalisation and the order in Python. The stored ranking must equal it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

import sqlalchemy as sa

from grants.accounts.models import User
from grants.applications.models import Application, ApplicationState
from grants.calls.models import BudgetSection, Call, Criterion
from grants.database import db
from grants.organisations.models import Applicant, Organisation
from grants.reviews.models import (
    AssignmentState,
    CriterionScore,
    Opinion,
    Review,
    ReviewAssignment,
    ReviewState,
)
from grants.reviews.ranking import (
    RANKED_STATES,
    SORTS,
    ZERO,
    RankedApplication,
    is_flagged,
    mean,
    normalised_scores,
    review_score,
    spread,
)


@dataclass
class _ReviewFigures:
    application_id: int
    reviewer_id: int
    opinion: Opinion | None
    suggested_amount: Decimal | None
    marks: list[tuple[Decimal, Decimal, int]]


def _submitted_reviews(call_id: int) -> list[_ReviewFigures]:
    """Every submitted review of the call with its marks, in one statement."""
    rows = db.session.execute(
        sa.select(
            Review.id,
            ReviewAssignment.application_id,
            ReviewAssignment.reviewer_id,
            Review.opinion,
            Review.suggested_amount,
            Criterion.weight,
            CriterionScore.score,
            Criterion.scale_max,
        )
        .join(ReviewAssignment, ReviewAssignment.id == Review.assignment_id)
        .join(Application, Application.id == ReviewAssignment.application_id)
        .join(CriterionScore, CriterionScore.review_id == Review.id)
        .join(Criterion, Criterion.id == CriterionScore.criterion_id)
        # A review set aside (its reviewer declared a conflict after transmitting it) no longer counts.
        .where(Application.call_id == call_id, Review.state == ReviewState.SUBMITTED,
               ReviewAssignment.state == AssignmentState.ASSIGNED)
        .order_by(Review.id, Criterion.position, Criterion.id)
    ).all()
    reviews: dict[int, _ReviewFigures] = {}
    for review_id, application_id, reviewer_id, opinion, suggested, weight, mark, scale_max in rows:
        figures = reviews.get(review_id)
        if figures is None:
            figures = reviews[review_id] = _ReviewFigures(application_id, reviewer_id, opinion, suggested, [])
        figures.marks.append((Decimal(weight), Decimal(mark), scale_max))
    return list(reviews.values())


def _sort_key(sort: str):
    def descending(value: Decimal | None) -> tuple[int, Decimal]:
        return (1, ZERO) if value is None else (0, -value)

    keys = {
        "score": lambda r: (descending(r.mean_score), descending(r.normalised_mean), r.reference),
        "normalised": lambda r: (descending(r.normalised_mean), descending(r.mean_score), r.reference),
        "spread": lambda r: (descending(r.spread), descending(r.mean_score), r.reference),
        "amount": lambda r: (-r.amount_requested, r.reference),
        "reference": lambda r: r.reference,
    }
    if sort not in keys:
        raise ValueError(f"unknown sort {sort!r}; expected one of {SORTS}")
    return keys[sort]


def call_ranking(
    call_id: int,
    *,
    section: BudgetSection | None = None,
    state: ApplicationState | None = None,
    partner_region: str | None = None,
    flagged_only: bool = False,
    sort: str = "score",
) -> list[RankedApplication]:
    """The call's screened-eligible applications (under review or decided; ``state`` picks one state),
    with their review figures, in ``sort`` order (best mean first by default). Normalisation always
    uses every submitted review of the call, whatever the filters. Four statements in all."""
    sort_key = _sort_key(sort)
    threshold = db.session.scalar(sa.select(Call.disagreement_threshold).where(Call.id == call_id))
    if threshold is None:
        return []

    query = (
        sa.select(
            Application.id,
            Application.reference,
            sa.func.coalesce(Organisation.name, User.full_name),
            Application.title,
            Application.state,
            Application.section,
            Application.partner_region,
            Application.amount_requested,
        )
        .join(Applicant, Applicant.id == Application.applicant_id)
        .outerjoin(Organisation, Organisation.id == Applicant.organisation_id)
        .outerjoin(User, User.id == Applicant.person_id)
        .where(Application.call_id == call_id, Application.eligible.is_(True))
    )
    query = query.where(Application.state == state) if state else query.where(Application.state.in_(RANKED_STATES))
    if section is not None:
        query = query.where(Application.section == section)
    if partner_region:
        query = query.where(Application.partner_region == partner_region)
    applications = db.session.execute(query).all()

    assigned = dict(
        db.session.execute(
            sa.select(ReviewAssignment.application_id, sa.func.count(ReviewAssignment.id))
            .join(Application, Application.id == ReviewAssignment.application_id)
            .where(Application.call_id == call_id, ReviewAssignment.state == AssignmentState.ASSIGNED)
            .group_by(ReviewAssignment.application_id)
        ).all()
    )

    reviews = _submitted_reviews(call_id)
    scores = [review_score(r.marks) for r in reviews]
    corrected = normalised_scores([(r.reviewer_id, s) for r, s in zip(reviews, scores, strict=True)])
    per_application: dict[int, list[tuple[_ReviewFigures, Decimal, Decimal]]] = defaultdict(list)
    for review, score, normalised in zip(reviews, scores, corrected, strict=True):
        per_application[review.application_id].append((review, score, normalised))

    unsorted = []
    for application_id, reference, name, title, app_state, app_section, region, amount in applications:
        done = per_application.get(application_id, [])
        raw = [score for _, score, _ in done]
        suggested = [r.suggested_amount for r, _, _ in done if r.suggested_amount is not None]
        gap = spread(raw)
        unsorted.append(RankedApplication(
            rank=0, application_id=application_id, reference=reference or "", applicant_name=name,
            title=title, state=app_state, section=app_section, partner_region=region,
            amount_requested=amount or ZERO, reviews_done=len(done),
            reviews_assigned=assigned.get(application_id, 0), mean_score=mean(raw),
            normalised_mean=mean([n for _, _, n in done]), spread=gap, flagged=is_flagged(gap, threshold),
            cumulative_requested=ZERO, suggested_amount_mean=mean(suggested),
            review_scores=tuple(sorted(raw, reverse=True)),
            fund_votes=sum(1 for r, _, _ in done if r.opinion == Opinion.FUND),
            fund_lower_votes=sum(1 for r, _, _ in done if r.opinion == Opinion.FUND_LOWER),
            do_not_fund_votes=sum(1 for r, _, _ in done if r.opinion == Opinion.DO_NOT_FUND),
        ))
    if flagged_only:
        unsorted = [row for row in unsorted if row.flagged]

    ranked = []
    running = ZERO
    for position, row in enumerate(sorted(unsorted, key=sort_key), start=1):
        running += row.amount_requested
        ranked.append(replace(row, rank=position, cumulative_requested=running))
    return ranked


