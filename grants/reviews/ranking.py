"""Aggregation of a call's reviews and the ranking a programme manager takes to committee.

The arithmetic, in pure functions that the property tests exercise directly:

- a review's **score** is its weighted mark normalised to 0–100:
  Σ(weight × mark / scale_max) / Σ weight × 100, computed exactly (in integers) and rounded half-up to
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

The ranking is read from stored data: each review's score is written when it is submitted
(``reviews.score``, :func:`grants.reviews.scoring.submit_review`), so no mark is read here. The database
sums each reviewer's scores (count, sum, sum of squares, in exact hundredths); from them Python derives
each reviewer's correction with 40 significant digits, and the database applies it to every review,
aggregates per application, orders, ranks and sums down the order (window functions), and returns one
page. :func:`ranking_page` and :func:`call_ranking` run four statements whatever the size of the call,
and the Python work of a page does not grow with it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from grants.accounts.models import User
from grants.applications.models import Application, ApplicationState
from grants.calls.models import BudgetSection, Call
from grants.database import db
from grants.organisations.models import Applicant, Organisation
from grants.reviews.models import (
    AssignmentState,
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


@dataclass(frozen=True)
class RankingPage:
    """One page of a call's ranking: its rows (ranks and running sums are those of the whole filtered
    ranking), how many applications the whole ranking holds, and the rank of the first application
    whose running sum passes the envelope (None when the envelope covers them all, or none was given)."""

    rows: list[RankedApplication]
    total: int
    first_over: int | None


@dataclass(frozen=True)
class Severity:
    """What the z-score needs of one reviewer, or of the whole call: the count, sum and sum of squares
    of the scores, in hundredths (exact integers, summed by the database)."""

    count: int
    total: int
    squares: int

    def mean_and_std(self) -> tuple[Decimal, Decimal]:
        """Mean and population standard deviation in points, with 40 significant digits as
        :func:`_mean_and_std` (the variance n·Σx² − (Σx)² over n² is exact here, in integers)."""
        with localcontext() as context:
            context.prec = 40
            average = Decimal(self.total) / self.count / HUNDRED
            variance = Decimal(self.count * self.squares - self.total * self.total) / (self.count * self.count)
            return average, variance.sqrt() / HUNDRED


@dataclass(frozen=True)
class Corrections:
    """The normalisation of a call, for the database: a corrected reviewer's score s (hundredths) becomes
    ``call_mean + factor × (s − mean)`` (hundredths) before the clamp to 0–100 and the rounding, where
    ``mean`` is his mean and ``factor`` the call's standard deviation over his, each with 40 significant
    digits. A score equal to its reviewer's mean becomes exactly the call's mean, as in
    :func:`normalised_scores`. Reviewers not listed (one review, zero deviation) keep their raw scores."""

    call_mean: Decimal
    reviewers: dict[int, tuple[Decimal, Decimal]]  # reviewer id → (mean, factor)


def severity_corrections(reviewers: dict[int, Severity]) -> Corrections:
    """The call's corrections from each reviewer's count, sum and sum of squares."""
    if not reviewers:
        return Corrections(ZERO, {})
    call = Severity(sum(r.count for r in reviewers.values()), sum(r.total for r in reviewers.values()),
                    sum(r.squares for r in reviewers.values()))
    call_mean, call_std = call.mean_and_std()
    corrections = {}
    with localcontext() as context:
        context.prec = 40
        for reviewer_id, figures in reviewers.items():
            if figures.count < 2 or figures.count * figures.squares == figures.total * figures.total:
                continue
            own_mean, own_std = figures.mean_and_std()
            corrections[reviewer_id] = (own_mean * HUNDRED, call_std / own_std)
        return Corrections(call_mean * HUNDRED, corrections)


class _floor_to_integer(sa.sql.expression.FunctionElement):
    """floor() of a positive number, as an integer, on either database."""

    type = sa.BigInteger()
    inherit_cache = True


@compiles(_floor_to_integer)
def _floor_postgresql(element, compiler, **kw):
    return f"CAST(floor({compiler.process(element.clauses, **kw)}) AS BIGINT)"


@compiles(_floor_to_integer, "sqlite")
def _floor_sqlite(element, compiler, **kw):
    # CAST truncates toward zero in SQLite: the floor of the positive numbers it is given here.
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


def _counted_reviews(call_id: int):
    """The conditions of a review that counts in the call's ranking: submitted, scored, and its reviewer
    still assigned (a review set aside by a conflict declared after it was transmitted no longer counts)."""
    return (Application.call_id == call_id, Review.state == ReviewState.SUBMITTED, Review.score.is_not(None),
            ReviewAssignment.state == AssignmentState.ASSIGNED)


def _hundredths(column):
    """A score column (two decimals) as whole hundredths: exact integers to sum on either database."""
    return sa.cast(sa.func.round(column * 100), sa.Integer)


def reviewer_severities(call_id: int) -> dict[int, Severity]:
    """Count, sum and sum of squares of each reviewer's counted scores in the call: one grouped statement."""
    hundredths = _hundredths(Review.score)
    rows = db.session.execute(
        sa.select(ReviewAssignment.reviewer_id, sa.func.count(), sa.func.sum(hundredths),
                  sa.func.sum(sa.cast(hundredths, sa.BigInteger) * hundredths))
        .select_from(Review)
        .join(ReviewAssignment, ReviewAssignment.id == Review.assignment_id)
        .join(Application, Application.id == ReviewAssignment.application_id)
        .where(*_counted_reviews(call_id))
        .group_by(ReviewAssignment.reviewer_id)
    ).all()
    return {reviewer_id: Severity(int(count), int(total), int(squares)) for reviewer_id, count, total, squares in rows}


def _normalised_hundredths(hundredths, corrections: Corrections):
    """Each counted review's normalised score in whole hundredths, computed by the database from its
    reviewer's correction: clamped to 0–100, then rounded half-up. PostgreSQL computes in exact decimals
    (numeric) from the 40-digit figures; SQLite, which has none, in double precision."""
    if db.session.get_bind().dialect.name == "postgresql":
        number = sa.Numeric()
        convert = Decimal
    else:
        number = sa.Float()
        convert = float
    rows = [sa.select(sa.literal(reviewer_id, sa.Integer).label("reviewer_id"),
                      sa.literal(convert(mean), number).label("mean"),
                      sa.literal(convert(factor), number).label("factor"))
            for reviewer_id, (mean, factor) in sorted(corrections.reviewers.items())]
    if rows:
        table = sa.union_all(*rows).subquery("severity")
    else:
        table = sa.select(sa.literal(0, sa.Integer).label("reviewer_id"), sa.literal(convert(0), number).label("mean"),
                          sa.literal(convert(1), number).label("factor")).where(sa.false()).subquery("severity")
    corrected = (sa.literal(convert(corrections.call_mean), number)
                 + table.c.factor * (sa.cast(hundredths, number) - table.c.mean))
    value = sa.case(
        (table.c.reviewer_id.is_(None), hundredths),
        (corrected <= 0, 0),
        (corrected >= 10000, 10000),
        else_=_floor_to_integer(corrected + convert(Decimal("0.5"))),
    )
    return table, value


def _half_up_mean(total, count):
    """The mean of whole hundredths, rounded half-up to a whole hundredth (both positive): :func:`mean`."""
    return (2 * total + count) // (2 * count)


def _ranking_statement(call_id: int, threshold: Decimal, corrections, *, section, state, partner_region,
                       flagged_only, sort, envelope: Decimal | None):
    """The whole filtered ranking as one statement, ranked and summed by window functions; each row
    carries the total count and the rank where the envelope runs out."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; expected one of {SORTS}")
    hundredths = _hundredths(Review.score)
    severity, normalised = _normalised_hundredths(hundredths, corrections)
    votes = {opinion: sa.func.sum(sa.case((Review.opinion == opinion, 1), else_=0)) for opinion in Opinion}
    suggested = sa.type_coerce(Review.suggested_amount, sa.BigInteger)  # whole cents (Money)
    per_application = (
        sa.select(
            ReviewAssignment.application_id.label("application_id"),
            sa.func.count().label("done"),
            sa.cast(sa.func.sum(hundredths), sa.BigInteger).label("total"),
            sa.func.min(hundredths).label("lowest"),
            sa.func.max(hundredths).label("highest"),
            sa.cast(sa.func.sum(normalised), sa.BigInteger).label("normalised_total"),
            sa.func.count(suggested).label("suggested_count"),
            sa.cast(sa.func.sum(suggested), sa.BigInteger).label("suggested_total"),
            votes[Opinion.FUND].label("fund"),
            votes[Opinion.FUND_LOWER].label("fund_lower"),
            votes[Opinion.DO_NOT_FUND].label("do_not_fund"),
        )
        .select_from(Review)
        .join(ReviewAssignment, ReviewAssignment.id == Review.assignment_id)
        .join(Application, Application.id == ReviewAssignment.application_id)
        .outerjoin(severity, severity.c.reviewer_id == ReviewAssignment.reviewer_id)
        .where(*_counted_reviews(call_id))
        .group_by(ReviewAssignment.application_id)
        .subquery("per_application")
    )
    assigned = (
        sa.select(ReviewAssignment.application_id.label("application_id"), sa.func.count().label("assigned"))
        .join(Application, Application.id == ReviewAssignment.application_id)
        .where(Application.call_id == call_id, ReviewAssignment.state == AssignmentState.ASSIGNED)
        .group_by(ReviewAssignment.application_id)
        .subquery("assigned")
    )
    done = per_application.c.done
    mean_score = _half_up_mean(per_application.c.total, done)
    normalised_mean = _half_up_mean(per_application.c.normalised_total, done)
    gap = sa.case((done >= 2, per_application.c.highest - per_application.c.lowest))
    amount = sa.func.coalesce(sa.type_coerce(Application.amount_requested, sa.BigInteger), 0)
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    # Python's order of strings (code points): the bytes of UTF-8, not the server's locale.
    reference = sa.collate(sa.func.coalesce(Application.reference, ""), "C" if postgresql else "BINARY")
    query = (
        sa.select(
            Application.id.label("application_id"), reference.label("reference"),
            sa.func.coalesce(Organisation.name, User.full_name).label("applicant_name"),
            Application.title.label("title"), Application.state.label("state"), Application.section.label("section"),
            Application.partner_region.label("partner_region"), amount.label("amount"),
            sa.func.coalesce(done, 0).label("done"), sa.func.coalesce(assigned.c.assigned, 0).label("assigned"),
            mean_score.label("mean_score"), normalised_mean.label("normalised_mean"), gap.label("spread"),
            per_application.c.suggested_count, per_application.c.suggested_total,
            sa.func.coalesce(per_application.c.fund, 0).label("fund"),
            sa.func.coalesce(per_application.c.fund_lower, 0).label("fund_lower"),
            sa.func.coalesce(per_application.c.do_not_fund, 0).label("do_not_fund"),
        )
        .join(Applicant, Applicant.id == Application.applicant_id)
        .outerjoin(Organisation, Organisation.id == Applicant.organisation_id)
        .outerjoin(User, User.id == Applicant.person_id)
        .outerjoin(per_application, per_application.c.application_id == Application.id)
        .outerjoin(assigned, assigned.c.application_id == Application.id)
        .where(Application.call_id == call_id, Application.eligible.is_(True))
    )
    query = query.where(Application.state == state) if state else query.where(Application.state.in_(RANKED_STATES))
    if section is not None:
        query = query.where(Application.section == section)
    if partner_region:
        query = query.where(Application.partner_region == partner_region)
    if flagged_only:
        # Strictly wider than the threshold (is_flagged), in hundredths.
        query = query.where(gap > int((threshold * HUNDRED).to_integral_value(rounding=ROUND_FLOOR)))
    rows = query.subquery("unranked")

    def descending(column):
        return sa.nulls_last(column.desc())

    order = {
        "score": [descending(rows.c.mean_score), descending(rows.c.normalised_mean)],
        "normalised": [descending(rows.c.normalised_mean), descending(rows.c.mean_score)],
        "spread": [descending(rows.c.spread), descending(rows.c.mean_score)],
        "amount": [rows.c.amount.desc()],
        "reference": [],
    }[sort] + [rows.c.reference, rows.c.application_id]
    ranked = sa.select(
        rows,
        sa.func.row_number().over(order_by=order).label("rank"),
        sa.func.sum(rows.c.amount).over(order_by=order, rows=(None, 0)).label("cumulative"),
    ).subquery("ranked")
    over = (sa.case((ranked.c.cumulative > int(envelope * HUNDRED), ranked.c.rank))
            if envelope is not None else sa.cast(sa.null(), sa.BigInteger))
    return sa.select(
        ranked,
        sa.func.count().over().label("ranked_total"),
        sa.func.min(over).over().label("first_over"),
    ).subquery("counted")


def _decimal(hundredths) -> Decimal | None:
    return None if hundredths is None else (Decimal(int(hundredths)) / HUNDRED).quantize(CENT)


def _threshold(call_id: int) -> Decimal | None:
    return db.session.scalar(sa.select(Call.disagreement_threshold).where(Call.id == call_id))


def _ranked_rows(call_id: int, *, offset: int = 0, limit: int | None = None, envelope: Decimal | None = None,
                 with_scores: bool = True, section=None, state=None, partner_region=None, flagged_only=False,
                 sort="score", threshold: Decimal | None = None):
    """(rows, total, first_over) of one slice of the ranking: three statements (the reviewers'
    severities, the slice, its reviews' scores), whatever the size of the call."""
    statement = _ranking_statement(
        call_id, threshold, severity_corrections(reviewer_severities(call_id)), section=section, state=state,
        partner_region=partner_region, flagged_only=flagged_only, sort=sort, envelope=envelope)
    query = sa.select(statement).order_by(statement.c.rank)
    if limit is not None:
        query = query.where(statement.c.rank > offset, statement.c.rank <= offset + limit)
    result = db.session.execute(query).all()
    scores: dict[int, list[Decimal]] = defaultdict(list)
    if with_scores and result:
        for application_id, score in db.session.execute(
            sa.select(ReviewAssignment.application_id, Review.score)
            .join(ReviewAssignment, ReviewAssignment.id == Review.assignment_id)
            .join(Application, Application.id == ReviewAssignment.application_id)
            .where(*_counted_reviews(call_id), ReviewAssignment.application_id.in_([r.application_id for r in result]))
        ):
            scores[application_id].append(score.quantize(CENT))
    rows = [_ranked_application(row, threshold, scores.get(row.application_id, [])) for row in result]
    total = result[0].ranked_total if result else 0
    first_over = result[0].first_over if result else None
    return rows, total, first_over


def _ranked_application(row, threshold: Decimal, scores: list[Decimal]) -> RankedApplication:
    gap = _decimal(row.spread)
    return RankedApplication(
        rank=row.rank, application_id=row.application_id, reference=row.reference, applicant_name=row.applicant_name,
        title=row.title, state=row.state, section=row.section, partner_region=row.partner_region,
        amount_requested=_decimal(row.amount), reviews_done=row.done, reviews_assigned=row.assigned,
        mean_score=_decimal(row.mean_score), normalised_mean=_decimal(row.normalised_mean), spread=gap,
        flagged=is_flagged(gap, threshold), cumulative_requested=_decimal(row.cumulative),
        suggested_amount_mean=(_decimal(_half_up_mean(int(row.suggested_total), int(row.suggested_count)))
                               if row.suggested_count else None),
        review_scores=tuple(sorted(scores, reverse=True)),
        fund_votes=int(row.fund), fund_lower_votes=int(row.fund_lower), do_not_fund_votes=int(row.do_not_fund),
    )


def ranking_page(call_id: int, *, page: int = 1, page_size: int = 100, envelope: Decimal | None = None,
                 section: BudgetSection | None = None, state: ApplicationState | None = None,
                 partner_region: str | None = None, flagged_only: bool = False, sort: str = "score") -> RankingPage:
    """One page of the ranking (pages from 1; past the last one, the last one). Four statements: the
    threshold, the reviewers' severities (grouped by the database), the page's rows ranked among the
    whole filtered ranking, their reviews' scores."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; expected one of {SORTS}")
    threshold = _threshold(call_id)
    if threshold is None:
        return RankingPage([], 0, None)
    filters = {"section": section, "state": state, "partner_region": partner_region, "flagged_only": flagged_only,
               "sort": sort}
    page = max(page, 1)
    rows, total, first_over = _ranked_rows(call_id, offset=(page - 1) * page_size, limit=page_size,
                                           envelope=envelope, threshold=threshold, **filters)
    if not rows and page > 1:  # past the end (the ranking shrank, or a typed URL): the last page
        _rows, total, _ = _ranked_rows(call_id, limit=1, threshold=threshold, with_scores=False, **filters)
        last = max(math.ceil(total / page_size), 1)
        rows, total, first_over = _ranked_rows(call_id, offset=(last - 1) * page_size, limit=page_size,
                                               envelope=envelope, threshold=threshold, **filters)
    return RankingPage(rows, total, first_over)


def call_ranking(
    call_id: int,
    *,
    section: BudgetSection | None = None,
    state: ApplicationState | None = None,
    partner_region: str | None = None,
    flagged_only: bool = False,
    sort: str = "score",
    with_scores: bool = True,
) -> list[RankedApplication]:
    """The call's screened-eligible applications (under review or decided; ``state`` picks one state),
    with their review figures, in ``sort`` order (best mean first by default). Normalisation always
    uses every counted review of the call, whatever the filters. Four statements in all (three
    without ``with_scores``, the reviews' individual scores)."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; expected one of {SORTS}")
    threshold = _threshold(call_id)
    if threshold is None:
        return []
    rows, _total, _first_over = _ranked_rows(
        call_id, threshold=threshold, with_scores=with_scores, section=section, state=state,
        partner_region=partner_region, flagged_only=flagged_only, sort=sort)
    return rows


def ranking_rows(call_id: int, *, section: BudgetSection | None = None, state: ApplicationState | None = None,
                 partner_region: str | None = None, flagged_only: bool = False, sort: str = "score",
                 batch: int = 500) -> Iterator[RankedApplication]:
    """Every row of the ranking, read from one statement by batches of ``batch`` rows as they are
    consumed (a server-side cursor on PostgreSQL), for the CSV export: the whole ranking never sits in
    memory. The reviews' individual scores are not read (``review_scores`` is empty)."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; expected one of {SORTS}")
    threshold = _threshold(call_id)
    if threshold is None:
        return
    statement = _ranking_statement(
        call_id, threshold, severity_corrections(reviewer_severities(call_id)), section=section, state=state,
        partner_region=partner_region, flagged_only=flagged_only, sort=sort, envelope=None)
    result = db.session.execute(sa.select(statement).order_by(statement.c.rank).execution_options(yield_per=batch))
    for row in result:
        yield _ranked_application(row, threshold, [])


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
