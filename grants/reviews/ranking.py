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
from datetime import datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum
from fractions import Fraction
from itertools import chain

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

from grants.accounts.models import User
from grants.applications.models import Application, ApplicationState
from grants.calls.models import BudgetSection, Call
from grants.database import db, utcnow
from grants.organisations.models import Applicant, Organisation
from grants.reviews.models import (
    AssignmentState,
    CallRanking,
    Opinion,
    RankingEntry,
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
    status: RankingStatus | None = None  # how current the stored ranking is (None: recomputed)
    envelope_line: int | None = None  # the rank of the row the envelope's line goes before, on this page
    page: int = 1  # the page shown (past the last one, the last one)


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



def _order(rows, sort: str) -> list:
    """The order of ``sort`` over a subquery of per-application figures; ties by reference, then id."""

    def descending(column):
        return sa.nulls_last(column.desc())

    return {
        "score": [descending(rows.c.mean_score), descending(rows.c.normalised_mean)],
        "normalised": [descending(rows.c.normalised_mean), descending(rows.c.mean_score)],
        "spread": [descending(rows.c.spread), descending(rows.c.mean_score)],
        "amount": [rows.c.amount.desc()],
        "reference": [],
    }[sort] + [rows.c.reference, rows.c.application_id]


def _per_application(call_id: int, corrections: Corrections, *, with_names: bool):
    """Each eligible application of the call (under review, decided or withdrawn) with its review figures
    aggregated from the counted reviews: scores and the normalised mean in whole hundredths, amounts in
    whole cents. A select, unfiltered beyond the call."""
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
    names = [sa.func.coalesce(Organisation.name, User.full_name).label("applicant_name"),
             Application.title.label("title")] if with_names else []
    query = (
        sa.select(
            Application.id.label("application_id"), reference.label("reference"), *names,
            Application.state.label("state"), Application.section.label("section"),
            Application.partner_region.label("partner_region"), amount.label("amount"),
            sa.func.coalesce(done, 0).label("done"), sa.func.coalesce(assigned.c.assigned, 0).label("assigned"),
            mean_score.label("mean_score"), normalised_mean.label("normalised_mean"), gap.label("spread"),
            sa.func.coalesce(per_application.c.suggested_count, 0).label("suggested_count"),
            per_application.c.suggested_total,
            sa.func.coalesce(per_application.c.fund, 0).label("fund"),
            sa.func.coalesce(per_application.c.fund_lower, 0).label("fund_lower"),
            sa.func.coalesce(per_application.c.do_not_fund, 0).label("do_not_fund"),
        )
        .outerjoin(per_application, per_application.c.application_id == Application.id)
        .outerjoin(assigned, assigned.c.application_id == Application.id)
        .where(Application.call_id == call_id, Application.eligible.is_(True),
               Application.state.in_((*RANKED_STATES, ApplicationState.WITHDRAWN)))
    )
    if with_names:
        query = (query.join(Applicant, Applicant.id == Application.applicant_id)
                 .outerjoin(Organisation, Organisation.id == Applicant.organisation_id)
                 .outerjoin(User, User.id == Applicant.person_id))
    return query


def _ranking_statement(call_id: int, threshold: Decimal, corrections, *, section, state, partner_region,
                       flagged_only, sort, envelope: Decimal | None):
    """The ranking computed from the reviews, filtered, ranked and summed by window functions over the
    whole filtered call; each row carries the total count and the rank where the envelope runs out.
    What the stored ranking replaced on the page: kept for :func:`recomputed_page` (the bench's
    baseline). Its cost grows with the call."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; expected one of {SORTS}")
    query = _per_application(call_id, corrections, with_names=True)
    query = query.where(Application.state == state) if state else query.where(Application.state.in_(RANKED_STATES))
    if section is not None:
        query = query.where(Application.section == section)
    if partner_region:
        query = query.where(Application.partner_region == partner_region)
    rows = query.subquery("unranked")
    if flagged_only:
        rows = sa.select(rows).where(rows.c.spread > _hundredths_of(threshold)).subquery("flagged")
    order = _order(rows, sort)
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


def _hundredths_of(threshold: Decimal) -> int:
    """The disagreement threshold in whole hundredths: a spread is flagged when strictly above it."""
    return int((threshold * HUNDRED).to_integral_value(rounding=ROUND_FLOOR))


def _decimal(hundredths) -> Decimal | None:
    return None if hundredths is None else (Decimal(int(hundredths)) / HUNDRED).quantize(CENT)


def _threshold(call_id: int) -> Decimal | None:
    return db.session.scalar(sa.select(Call.disagreement_threshold).where(Call.id == call_id))


def _ranked_application(row, threshold: Decimal, scores: list[Decimal]) -> RankedApplication:
    gap = _decimal(row.spread)
    return RankedApplication(
        rank=row.rank, application_id=row.application_id, reference=row.reference, applicant_name=row.applicant_name,
        title=row.title, state=ApplicationState(row.state),
        section=BudgetSection(row.section) if row.section else None, partner_region=row.partner_region,
        amount_requested=_decimal(row.amount), reviews_done=row.done, reviews_assigned=row.assigned,
        mean_score=_decimal(row.mean_score), normalised_mean=_decimal(row.normalised_mean), spread=gap,
        flagged=is_flagged(gap, threshold), cumulative_requested=_decimal(row.cumulative),
        suggested_amount_mean=(_decimal(_half_up_mean(int(row.suggested_total), int(row.suggested_count)))
                               if row.suggested_count else None),
        review_scores=tuple(sorted(scores, reverse=True)),
        fund_votes=int(row.fund), fund_lower_votes=int(row.fund_lower), do_not_fund_votes=int(row.do_not_fund),
    )


def _review_scores(call_id: int, application_ids: list[int]) -> dict[int, list[Decimal]]:
    """Each listed application's counted review scores: one statement."""
    scores: dict[int, list[Decimal]] = defaultdict(list)
    if application_ids:
        for application_id, score in db.session.execute(
            sa.select(ReviewAssignment.application_id, Review.score)
            .join(ReviewAssignment, ReviewAssignment.id == Review.assignment_id)
            .join(Application, Application.id == ReviewAssignment.application_id)
            .where(*_counted_reviews(call_id), ReviewAssignment.application_id.in_(application_ids))
        ):
            scores[application_id].append(score.quantize(CENT))
    return scores


def recomputed_page(call_id: int, *, page: int = 1, page_size: int = 100, envelope: Decimal | None = None,
                    sort: str = "score", section: BudgetSection | None = None) -> RankingPage:
    """One page of the ranking computed from the reviews, as the page did before the ranking was stored
    (four statements, the whole call ranked by the database): the baseline of bench/ranking.py."""
    threshold = _threshold(call_id)
    if threshold is None:
        return RankingPage([], 0, None)
    statement = _ranking_statement(
        call_id, threshold, severity_corrections(reviewer_severities(call_id)), section=section, state=None,
        partner_region=None, flagged_only=False, sort=sort, envelope=envelope)
    offset = (max(page, 1) - 1) * page_size
    result = db.session.execute(sa.select(statement).where(statement.c.rank > offset,
                                                           statement.c.rank <= offset + page_size)
                                .order_by(statement.c.rank)).all()
    scores = _review_scores(call_id, [row.application_id for row in result])
    rows = [_ranked_application(row, threshold, scores.get(row.application_id, [])) for row in result]
    return RankingPage(rows, result[0].ranked_total if result else 0, result[0].first_over if result else None)


# ---------------------------------------------------------------- the stored ranking


def _refresh_select(call_id: int, corrections: Corrections):
    """Every row of the stored ranking of the call, with its ranks and running sums for each sort, in the
    whole call and in its section (withdrawn applications apart): one select for one INSERT."""
    rows = _per_application(call_id, corrections, with_names=False).subquery("unranked")
    withdrawn = rows.c.state == ApplicationState.WITHDRAWN
    columns = [rows.c.application_id, sa.literal(call_id, sa.Integer).label("call_id"), withdrawn.label("withdrawn"),
               rows.c.state, rows.c.section, rows.c.partner_region, rows.c.reference, rows.c.amount, rows.c.done,
               rows.c.assigned, rows.c.mean_score, rows.c.normalised_mean, rows.c.spread, rows.c.suggested_count,
               rows.c.suggested_total, rows.c.fund, rows.c.fund_lower, rows.c.do_not_fund]
    for prefix, partition in (("", [withdrawn]), ("section_", [withdrawn, rows.c.section])):
        for sort in SORTS:
            order = _order(rows, sort)
            columns.append(sa.func.row_number().over(partition_by=partition, order_by=order)
                           .label(f"{prefix}rank_{sort}"))
            columns.append(sa.func.sum(rows.c.amount).over(partition_by=partition, order_by=order, rows=(None, 0))
                           .label(f"{prefix}cumulative_{sort}"))
    return sa.select(*columns)


def refresh_ranking(call_id: int, *, force: bool = False) -> bool:
    """Write the call's stored ranking again from its reviews, if it is stale (or ``force``): DELETE, then
    one INSERT … SELECT (the ranks and running sums by window functions), then the version it covers.
    Keeps: the stored rows equal the ranking computed from every counted review committed before the
    version read at the start. Refreshes of one call run one after the other (an advisory lock on
    PostgreSQL; SQLite has one writer), so a change committed during a refresh is picked up by the
    refresh its own commit queued. The caller commits. True when it wrote."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(RANKING_LOCK, call_id)))
    else:
        # SQLite: the write lock first (a transaction that read, then wrote after another writer
        # committed, would fail with "database is locked"); writers take turns there anyway.
        db.session.execute(sa.update(CallRanking).where(CallRanking.call_id == call_id)
                           .values(version=CallRanking.version))
    state = db.session.execute(sa.select(CallRanking.version, CallRanking.ranked_version, CallRanking.refreshed_at)
                               .where(CallRanking.call_id == call_id)).first()
    if not force and state is not None and state.refreshed_at is not None and state.ranked_version >= state.version:
        return False
    if db.session.get(Call, call_id) is None:
        return False
    version = state.version if state is not None else 0
    started = utcnow()
    corrections = severity_corrections(reviewer_severities(call_id))
    db.session.execute(sa.delete(RankingEntry).where(RankingEntry.call_id == call_id))
    select = _refresh_select(call_id, corrections)
    db.session.execute(sa.insert(RankingEntry).from_select([c.name for c in select.selected_columns], select))
    regions = sorted(region for region in db.session.scalars(
        sa.select(RankingEntry.partner_region).where(RankingEntry.call_id == call_id,
                                                     RankingEntry.partner_region.is_not(None)).distinct())
        if region)
    if state is None:
        db.session.execute(sa.insert(CallRanking).values(call_id=call_id, version=0, ranked_version=0,
                                                         refreshed_at=started, partner_regions=regions))
    else:
        db.session.execute(sa.update(CallRanking).where(CallRanking.call_id == call_id).values(
            ranked_version=version, refreshed_at=started, partner_regions=regions,
            # Changes committed since the version was read may or may not be in: stale from now on.
            changed_at=sa.case((CallRanking.version == version, None), else_=started)))
    return True


@dataclass(frozen=True)
class RankingStatus:
    """How current a call's stored ranking is: when it was computed, and since when changes committed
    after it wait for the next refresh (None when it is up to date)."""

    refreshed_at: datetime | None
    changed_at: datetime | None
    stale: bool


def _status(row) -> RankingStatus:
    if row.refreshed_at is None:
        return RankingStatus(None, row.changed_at, True)
    stale = row.version is not None and row.ranked_version < row.version
    return RankingStatus(row.refreshed_at, row.changed_at if stale else None, stale)


class _Scope:
    """Which stored ranks a view reads, and which of its rows it shows. The ranks and running sums are
    those of the whole call, or of one budget section when a section is chosen (each section has its
    own envelope); withdrawn applications are ranked among themselves. The other filters (a state among
    those ranked, a partner region, disagreements only) show some rows of that ranking with their ranks
    and running sums in it: they share its envelope, so where it runs out does not move."""

    def __init__(self, call_id, *, section, state, partner_region, flagged_only, sort, threshold_hundredths):
        if sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r}; expected one of {SORTS}")
        prefix = "section_" if section is not None else ""
        self.rank = getattr(RankingEntry, f"{prefix}rank_{sort}")
        self.cumulative = getattr(RankingEntry, f"{prefix}cumulative_{sort}")
        self.where = [RankingEntry.call_id == call_id,
                      RankingEntry.withdrawn.is_(state == ApplicationState.WITHDRAWN)]
        if section is not None:
            self.where.append(RankingEntry.section == section.value)
        self.view = []
        if state is not None and state not in (*RANKED_STATES, ApplicationState.WITHDRAWN):
            self.view.append(sa.false())
        elif state in RANKED_STATES:
            self.view.append(RankingEntry.state == state.value)
        if partner_region:
            self.view.append(RankingEntry.partner_region == partner_region)
        if flagged_only:
            self.view.append(RankingEntry.spread > threshold_hundredths)

    def total(self):
        """How many rows the view holds: the last rank of the scope read from its index, or a count."""
        if not self.view:
            last = sa.select(self.rank).where(*self.where).order_by(self.rank.desc()).limit(1).scalar_subquery()
            return sa.func.coalesce(last, 0)
        return sa.select(sa.func.count()).select_from(RankingEntry).where(*self.where, *self.view).scalar_subquery()

    def first_over(self, envelope: Decimal):
        """The first rank of the scope whose running sum passes the envelope."""
        cents = int(envelope * HUNDRED)
        # The running sum never falls down the order: the lowest sum past the envelope (the lowest rank
        # among equal sums) is the first rank past it, sought in the index of (scope, sum, rank).
        return (sa.select(self.rank).where(*self.where, self.cumulative > cents)
                .order_by(self.cumulative, self.rank).limit(1).scalar_subquery())

    def rows(self, *, ranks: tuple[int, int] | None = None, offset: int = 0, limit: int | None = None):
        """The view's stored rows in rank order (``ranks``: those ranked in (first, last]; or ``offset`` and
        ``limit``), chosen first, then joined to their applications' titles and applicants' names."""
        stored = sa.select(*RankingEntry.__table__.columns, self.rank.label("rank"),
                           self.cumulative.label("cumulative")).where(*self.where, *self.view)
        if ranks is not None:
            stored = stored.where(self.rank > ranks[0], self.rank <= ranks[1])
        if limit is not None or offset:
            stored = stored.order_by(self.rank).offset(offset).limit(limit)
        page = stored.subquery("page")
        return (sa.select(page, Application.title.label("title"),
                          sa.func.coalesce(Organisation.name, User.full_name).label("applicant_name"))
                .join(Application, Application.id == page.c.application_id)
                .join(Applicant, Applicant.id == Application.applicant_id)
                .outerjoin(Organisation, Organisation.id == Applicant.organisation_id)
                .outerjoin(User, User.id == Applicant.person_id)
                .order_by(page.c.rank))


def ranking_page(call_id: int, *, page: int = 1, page_size: int = 100, envelope: Decimal | None = None,
                 section: BudgetSection | None = None, state: ApplicationState | None = None,
                 partner_region: str | None = None, flagged_only: bool = False, sort: str = "score") -> RankingPage:
    """One page of the call's stored ranking (pages from 1; past the last one, the last one), in three
    statements whatever the size of the call: the call's threshold, the ranking's status, the view's
    total and where the envelope runs out; the page's rows (a range of ranks read from the index of
    (call, scope, rank); with a state, region or disagreement filter, the view's rows in rank order);
    their reviews' scores. See :class:`_Scope` for the ranks a filter shows."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; expected one of {SORTS}")
    threshold_hundredths = (sa.select(sa.cast(sa.func.round(Call.disagreement_threshold * 100), sa.Integer))
                            .where(Call.id == call_id).scalar_subquery())
    scope = _Scope(call_id, section=section, state=state, partner_region=partner_region, flagged_only=flagged_only,
                   sort=sort, threshold_hundredths=threshold_hundredths)
    first_over = scope.first_over(envelope) if envelope is not None else sa.null()
    head = db.session.execute(
        sa.select(Call.disagreement_threshold, CallRanking.version, CallRanking.ranked_version, CallRanking.changed_at,
                  CallRanking.refreshed_at, scope.total().label("total"), first_over.label("first_over"))
        .outerjoin(CallRanking, CallRanking.call_id == Call.id).where(Call.id == call_id)).first()
    if head is None:
        return RankingPage([], 0, None)
    total = int(head.total)
    pages = max(math.ceil(total / page_size), 1)
    page = min(max(page, 1), pages)
    offset = (page - 1) * page_size
    if scope.view:
        # The row before the page too (when there is one): the envelope's line goes before the first row
        # of the view past it, which may follow a row of the previous page.
        query = scope.rows(offset=max(offset - 1, 0), limit=page_size + (1 if offset else 0))
    else:
        query = scope.rows(ranks=(offset - 1, offset + page_size))
    result = db.session.execute(query).all()
    previous = result.pop(0).rank if offset and result else None
    scores = _review_scores(call_id, [row.application_id for row in result])
    rows = [_ranked_application(row, head.disagreement_threshold, scores.get(row.application_id, []))
            for row in result]
    first = head.first_over
    line = None
    if first is not None:
        for row in rows:
            if row.rank >= first and (previous is None or previous < first):
                line = row.rank
                break
            previous = row.rank
    return RankingPage(rows, total, first, status=_status(head), envelope_line=line, page=page)


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
    """Every row of the view of the call's stored ranking (see :class:`_Scope`), in ``sort`` order: the
    eligible applications under review or decided (``state`` picks one of them, or the withdrawn ones),
    with their review figures. Normalisation uses every counted review of the call, whatever the
    filters. Three statements (two without ``with_scores``, the reviews' individual scores)."""
    threshold = _threshold(call_id)
    if threshold is None:
        return []
    scope = _Scope(call_id, section=section, state=state, partner_region=partner_region, flagged_only=flagged_only,
                   sort=sort, threshold_hundredths=_hundredths_of(threshold))
    result = db.session.execute(scope.rows()).all()
    scores = _review_scores(call_id, [row.application_id for row in result]) if with_scores else {}
    return [_ranked_application(row, threshold, scores.get(row.application_id, [])) for row in result]


def ranking_rows(call_id: int, *, section: BudgetSection | None = None, state: ApplicationState | None = None,
                 partner_region: str | None = None, flagged_only: bool = False, sort: str = "score",
                 batch: int = 500) -> Iterator[RankedApplication]:
    """Every row of the view of the stored ranking, read from one statement by batches of ``batch`` rows
    as they are consumed (a server-side cursor on PostgreSQL), for the CSV export: the whole ranking
    never sits in memory. The reviews' individual scores are not read (``review_scores`` is empty)."""
    threshold = _threshold(call_id)
    if threshold is None:
        return
    scope = _Scope(call_id, section=section, state=state, partner_region=partner_region, flagged_only=flagged_only,
                   sort=sort, threshold_hundredths=_hundredths_of(threshold))
    for row in db.session.execute(scope.rows().execution_options(yield_per=batch)):
        yield _ranked_application(row, threshold, [])


def ranking_mismatches(call_id: int) -> list[int]:
    """The applications whose stored ranking row differs from a recomputation from the reviews (or that
    one of them lacks), by id: empty when the stored ranking is current. Two statements and the
    severities; the whole call is read, for ``flask reviews verify-ranking``."""
    select = _refresh_select(call_id, severity_corrections(reviewer_severities(call_id))).subquery("computed")
    names = [column.name for column in select.columns]
    computed = {row.application_id: tuple(row) for row in db.session.execute(sa.select(*select.columns))}
    stored = {row.application_id: tuple(row) for row in db.session.execute(
        sa.select(*(getattr(RankingEntry, name) for name in names)).where(RankingEntry.call_id == call_id))}
    return sorted(i for i in computed.keys() | stored.keys() if _normal(computed.get(i)) != _normal(stored.get(i)))


def _normal(row):
    """A row's values compared as the database gives them back: sums as integers (PostgreSQL's numeric),
    enumerations as their values."""
    if row is None:
        return None
    values = []
    for value in row:
        if isinstance(value, Decimal) and value == value.to_integral_value():
            value = int(value)
        elif isinstance(value, StrEnum):
            value = value.value
        values.append(value)
    return tuple(values)


def stale_calls(older_than: datetime) -> list[int]:
    """The calls whose stored ranking misses changes committed before ``older_than`` (a refresh lost with
    its message, or never queued: the calls of a database migrated to the stored ranking)."""
    return list(db.session.scalars(
        sa.select(CallRanking.call_id).where(CallRanking.ranked_version < CallRanking.version,
                                             CallRanking.changed_at < older_than)
        .order_by(CallRanking.call_id)))


# ---------------------------------------------------------------- keeping it current

RANKING_LOCK = 12  # the first key of the refreshes' advisory locks (issue #12); the second is the call's id
_CHANGED = "subventia.ranking_changed_calls"
_REQUESTED = "subventia.ranking_refresh_requested"
_APPLICATION_FIELDS = ("state", "eligible", "amount_requested", "section", "partner_region", "reference", "call_id")
_ASSIGNMENT_FIELDS = ("state", "application_id", "reviewer_id")
_REVIEW_FIELDS = ("state", "score", "opinion", "suggested_amount", "assignment_id")


def _changed(instance, fields) -> bool:
    state = sa.inspect(instance)
    return any(state.attrs[name].history.has_changes() for name in fields)


def _was_or_is(instance, name, value) -> bool:
    history = sa.inspect(instance).attrs[name].history
    return getattr(instance, name) == value or value in (history.deleted or ())


@event.listens_for(Session, "after_flush")
def _note_ranking_changes(session, flush_context):
    """Any flush that changes what a call's ranking reads (an eligible application's state, section,
    region, amount or reference; an assignment; a review submitted, reopened or changed once submitted)
    adds one to the call's ranking version, in the same transaction; its commit queues the refresh."""
    call_ids: set[int] = set()
    application_ids: set[int] = set()
    assignment_ids: set[int] = set()
    new, deleted = session.new, session.deleted
    for instance in chain(new, session.dirty, deleted):
        if isinstance(instance, Application):
            if (instance in new or instance in deleted or _changed(instance, _APPLICATION_FIELDS)) \
                    and _was_or_is(instance, "eligible", True):
                call_ids.add(instance.call_id)
                call_ids.update(sa.inspect(instance).attrs.call_id.history.deleted or ())
        elif isinstance(instance, ReviewAssignment):
            if instance in new or instance in deleted or _changed(instance, _ASSIGNMENT_FIELDS):
                application_ids.add(instance.application_id)
        elif isinstance(instance, Review):
            if (instance in new or instance in deleted or _changed(instance, _REVIEW_FIELDS)) \
                    and _was_or_is(instance, "state", ReviewState.SUBMITTED):
                assignment_ids.add(instance.assignment_id)
    connection = session.connection()
    if application_ids or assignment_ids:
        applications = Application.__table__
        assignments = ReviewAssignment.__table__
        call_ids.update(connection.scalars(
            sa.select(applications.c.call_id).where(applications.c.id.in_(application_ids))
            .union(sa.select(applications.c.call_id).join(assignments, assignments.c.application_id == applications.c.id)
                   .where(assignments.c.id.in_(assignment_ids)))))
    call_ids.discard(None)
    if not call_ids:
        return
    now = utcnow()
    table = CallRanking.__table__
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    for call_id in sorted(call_ids):  # the same order in every transaction: no deadlock between two
        statement = insert(table).values(call_id=call_id, version=1, ranked_version=0, changed_at=now)
        connection.execute(statement.on_conflict_do_update(
            index_elements=[table.c.call_id],
            set_={"version": table.c.version + 1, "changed_at": sa.func.coalesce(table.c.changed_at, now)}))
    session.info.setdefault(_CHANGED, set()).update(call_ids)


def refresh_after_commit(call_id: int) -> None:
    """Queue the refresh of the call's stored ranking when the transaction commits, without waiting (a
    manager asked for it): after the commit, so that the request holds no lock the refresh waits for
    (SQLite's write lock of a form's request)."""
    db.session.info.setdefault(_REQUESTED, set()).add(call_id)


@event.listens_for(Session, "after_commit")
def _queue_refreshes(session):
    if session.in_nested_transaction():
        return  # a savepoint released: the outer transaction still has to commit
    requested = session.info.pop(_REQUESTED, set())
    call_ids = session.info.pop(_CHANGED, set()) - requested
    if requested:
        queue_refresh(sorted(requested))
    if call_ids:
        queue_refresh(sorted(call_ids), delay=True)


@event.listens_for(Session, "after_transaction_end")
def _forget_changes(session, transaction):
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)
        session.info.pop(_REQUESTED, None)


def queue_refresh(call_ids: list[int], *, delay: bool = False) -> None:
    """Hand the calls to the refresh task. ``delay``: a few seconds later (RANKING_REFRESH_DELAY), so that
    a burst of submissions is refreshed once (each refresh does nothing once the ranking is current). A
    broker outage must not undo a committed action: the sweeper refreshes what is left stale."""
    from grants.reviews.tasks import refresh_call_ranking

    countdown = current_app.config.get("RANKING_REFRESH_DELAY", 3) if delay else None
    for call_id in call_ids:
        try:
            refresh_call_ranking.apply_async((call_id,), countdown=countdown)
        except Exception:  # noqa: BLE001 — kombu raises many kinds of connection errors
            current_app.logger.exception("could not enqueue the ranking refresh of call %s; the sweeper will",
                                         call_id)


def young_people_counts(call: Call) -> dict[int, int | None]:
    """Each application's count of young people reached, for calls that ask it (by application id)."""
    return dict(db.session.execute(
        sa.select(Application.id, Application.young_people_count).where(Application.call_id == call.id)
    ).all())


def partner_regions_of(call_id: int) -> list[str]:
    """The partner regions named by the call's ranked applications, for the ranking's filter: written
    with the stored ranking, read in one statement whatever the size of the call."""
    return list(db.session.scalar(sa.select(CallRanking.partner_regions).where(CallRanking.call_id == call_id))
                or [])
