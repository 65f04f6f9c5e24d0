"""Aggregation of a call's reviews and the ranking a programme manager takes to committee.

The arithmetic, in pure functions that the property tests exercise directly:

- a review's **score** is its weighted mark normalised to 0–100:
  Σ(weight × mark / scale_max) / Σ weight × 100, computed exactly (fractions) and rounded half-up to
  two decimals, so that multiplying every weight by the same factor never changes a single cent;
- an application's **mean** is the mean of its submitted reviews' scores, its **spread** the highest
  minus the lowest (``None`` with fewer than two reviews: one reviewer cannot disagree with himself),
  and it is **flagged** for discussion when the spread is strictly above the call's threshold;
- the **normalised mean** corrects harsh and lenient reviewers: each review's score becomes the
  reviewer's z-score across the call (his own mean and population standard deviation) mapped back onto
  the call's overall mean and standard deviation of review scores, clamped to 0–100; an application's
  normalised mean is the mean of its reviews' normalised scores. A reviewer with a single review in the
  call, or whose scores are all equal (zero deviation), has nothing to be corrected against: his
  reviews keep their raw score. It is reported beside the raw mean, never in place of it.

:func:`call_ranking` runs four statements whatever the number of applications and reviews: the call's
threshold, the applications, the assignment counts, and every submitted mark of the call.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

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

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
ZERO = Decimal("0.00")

# The states an application is ranked in by default: it went through screening to review.
RANKED_STATES = (ApplicationState.UNDER_REVIEW, ApplicationState.DECIDED)
SORTS = ("score", "normalised", "spread", "amount", "reference")


# ---------------------------------------------------------------- the arithmetic


def round_cents(value: Fraction | Decimal) -> Decimal:
    """Half-up rounding to two decimals, exact for fractions (no binary or 28-digit detour)."""
    if isinstance(value, Decimal):
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    return _cents(value.numerator * 100, value.denominator)


def _cents(numerator: int, denominator: int) -> Decimal:
    """``numerator / denominator`` hundredths, rounded half-up (away from zero) to a whole hundredth."""
    whole = (2 * abs(numerator) + denominator) // (2 * denominator)
    return (Decimal(whole if numerator >= 0 else -whole) / HUNDRED).quantize(CENT)


def _decimals(value: Decimal) -> int:
    return max(-value.as_tuple().exponent, 0)


def review_score(marks: Iterable[tuple[Decimal, Decimal, int]]) -> Decimal:
    """The weighted score (0–100, two decimals) of one review from its ``(weight, mark, scale_max)``
    triples. Raises ValueError on an empty review or a mark outside its scale.

    Exact in integers, and fast enough for a call of 10,000 applications: weights and marks are scaled
    to whole numbers by a power of ten, scales brought to their least common multiple, so that
    Σ(weight × mark / scale) / Σ weight × 100 is one integer division, rounded half-up."""
    marks = [(Decimal(weight), Decimal(mark), scale_max) for weight, mark, scale_max in marks]
    if not marks:
        raise ValueError("a review without marks has no score")
    for weight, mark, scale_max in marks:
        if not 0 <= mark <= scale_max:
            raise ValueError(f"mark {mark} outside 0–{scale_max}")
        if weight <= 0 or scale_max <= 0:
            raise ValueError("weights and scales are positive")
    places = max(max(_decimals(weight), _decimals(mark)) for weight, mark, _ in marks)
    common_scale = math.lcm(*(scale_max for _, _, scale_max in marks))
    numerator = total_weight = 0
    for weight, mark, scale_max in marks:
        whole_weight = int(weight.scaleb(places))
        numerator += whole_weight * int(mark.scaleb(places)) * (common_scale // scale_max)
        total_weight += whole_weight
    # hundredths of the score = 100 × 100 × numerator / (10^places × common_scale × total_weight)
    return _cents(100 * 100 * numerator, 10**places * common_scale * total_weight)


def mean(values: Sequence[Decimal]) -> Decimal | None:
    if not values:
        return None
    places = max(_decimals(value) for value in values)
    total = sum(int(value.scaleb(places)) for value in values)
    return _cents(100 * total, 10**places * len(values))


def spread(values: Sequence[Decimal]) -> Decimal | None:
    """Highest minus lowest score; ``None`` below two reviews."""
    if len(values) < 2:
        return None
    return max(values) - min(values)


def is_flagged(value: Decimal | None, threshold: Decimal) -> bool:
    """Reviewers disagree when their scores spread strictly wider than the call's threshold."""
    return value is not None and value > threshold


def _mean_and_std(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """Mean and population standard deviation, with 40 significant digits."""
    with localcontext() as context:
        context.prec = 40
        average = sum(values, Decimal(0)) / len(values)
        variance = sum(((v - average) ** 2 for v in values), Decimal(0)) / len(values)
        return average, variance.sqrt()


def normalised_scores(reviews: Sequence[tuple[int, Decimal]]) -> list[Decimal]:
    """Each review's score corrected for its reviewer's severity, in the order given.

    ``reviews`` are ``(reviewer_id, score)`` pairs: every submitted review of one call. A score becomes
    call_mean + (score − reviewer_mean) / reviewer_std × call_std, clamped to 0–100 and rounded to two
    decimals. Reviewers with one review, or with a zero deviation, keep their raw scores."""
    if not reviews:
        return []
    call_mean, call_std = _mean_and_std([score for _, score in reviews])
    by_reviewer: dict[int, list[Decimal]] = defaultdict(list)
    for reviewer_id, score in reviews:
        by_reviewer[reviewer_id].append(score)
    severity = {reviewer_id: _mean_and_std(scores) for reviewer_id, scores in by_reviewer.items()
                if len(scores) > 1}
    result = []
    with localcontext() as context:
        context.prec = 40
        for reviewer_id, score in reviews:
            own = severity.get(reviewer_id)
            if own is None or own[1] == 0:
                result.append(score)
                continue
            own_mean, own_std = own
            corrected = call_mean + (score - own_mean) / own_std * call_std
            result.append(min(max(corrected, Decimal(0)), HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP))
    return result


# ---------------------------------------------------------------- the ranking


@dataclass(frozen=True)
class RankedApplication:
    rank: int
    application_id: int
    reference: str
    applicant_name: str
    title: str
    state: ApplicationState
    section: BudgetSection | None
    partner_region: str | None
    amount_requested: Decimal
    reviews_done: int
    reviews_assigned: int
    mean_score: Decimal | None
    normalised_mean: Decimal | None
    spread: Decimal | None
    flagged: bool
    cumulative_requested: Decimal  # running sum of amount_requested down the returned order
    suggested_amount_mean: Decimal | None  # mean of the lower amounts suggested ("fund a lower amount")
    review_scores: tuple[Decimal, ...]  # each submitted review's score, highest first (no names)
    fund_votes: int
    fund_lower_votes: int
    do_not_fund_votes: int

    @property
    def reviews_missing(self) -> int:
        return max(self.reviews_assigned - self.reviews_done, 0)


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


def young_people_counts(call: Call) -> dict[int, int | None]:
    """Each application's count of young people reached, for calls that ask it (by application id)."""
    return dict(db.session.execute(
        sa.select(Application.id, Application.young_people_count).where(Application.call_id == call.id)
    ).all())


def partner_regions_of(call_id: int) -> list[str]:
    """The partner regions named by the call's eligible applications, for the ranking's filter."""
    return sorted(
        region
        for region in db.session.scalars(
            sa.select(Application.partner_region)
            .where(Application.call_id == call_id, Application.eligible.is_(True),
                   Application.partner_region.is_not(None))
            .distinct()
        )
        if region
    )
