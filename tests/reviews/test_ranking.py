"""The aggregation arithmetic (property tests and hand-computed examples) and call_ranking on a real
database: figures, filters, sorts, the running total, and a constant number of statements."""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event

from grants.calls.models import BudgetSection
from grants.database import db
from grants.models import ApplicationState
from grants.reviews.models import AssignmentState, Opinion
from grants.reviews.ranking import (
    call_ranking,
    is_flagged,
    mean,
    normalised_scores,
    review_score,
    spread,
)
from tests.factories import CallFactory, ReviewerFactory, SubmittedApplicationFactory
from tests.reviews.conftest import assign, grid, review, under_review

D = Decimal

# ---------------------------------------------------------------- strategies

weights = st.decimals(min_value=D("0.01"), max_value=D("9999.99"), places=2)
scales = st.integers(min_value=1, max_value=100)


@st.composite
def marked_criteria(draw, min_size=1):
    """A review's ``(weight, mark, scale_max)`` triples, marks on a quarter-point grid within the scale."""
    count = draw(st.integers(min_value=min_size, max_value=8))
    triples = []
    for _ in range(count):
        scale = draw(scales)
        quarters = draw(st.integers(min_value=0, max_value=scale * 4))
        triples.append((draw(weights), D(quarters) / 4, scale))
    return triples


review_scores = st.decimals(min_value=D("0"), max_value=D("100"), places=2)


# ---------------------------------------------------------------- a review's score


def test_a_hand_computed_review_score():
    # (3 × 4/5 + 1 × 10/20) / 4 × 100 = (2.4 + 0.5) / 4 × 100 = 72.50
    assert review_score([(D("3"), D("4"), 5), (D("1"), D("10"), 20)]) == D("72.50")
    # thirds round half-up to the cent: 1/3 × 100 = 33.333… → 33.33; 2/3 → 66.67
    assert review_score([(D("1"), D("1"), 3)]) == D("33.33")
    assert review_score([(D("1"), D("2"), 3)]) == D("66.67")


def exact_score(marks) -> D:
    """The definition, in fractions: Σ(weight × mark / scale) / Σ weight × 100, rounded half-up."""
    from fractions import Fraction

    value = sum(Fraction(w) * Fraction(m) / s for w, m, s in marks) / sum(Fraction(w) for w, _, _ in marks) * 100
    return (D((value * 100 * 2 + 1).__floor__() // 2) / 100).quantize(D("0.01"))


@given(marked_criteria())
def test_the_integer_arithmetic_equals_the_definition_in_fractions(marks):
    assert review_score(marks) == exact_score(marks)


@given(st.lists(review_scores, min_size=1, max_size=12))
def test_the_mean_equals_the_exact_mean_rounded_half_up(values):
    from fractions import Fraction

    exact = sum(Fraction(v) for v in values) / len(values)
    assert mean(values) == (D((exact * 100 * 2 + 1).__floor__() // 2) / 100).quantize(D("0.01"))


@given(marked_criteria())
def test_a_review_score_stays_between_0_and_100(marks):
    score = review_score(marks)
    assert D("0") <= score <= D("100")
    assert score == score.quantize(D("0.01"))


@given(marked_criteria(), st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2))
def test_scaling_every_weight_by_the_same_factor_changes_nothing(marks, factor):
    scaled = [(weight * factor, mark, scale) for weight, mark, scale in marks]
    assert review_score(scaled) == review_score(marks)


@given(marked_criteria())
def test_full_marks_score_100_and_no_marks_score_0(marks):
    assert review_score([(w, D(s), s) for w, _, s in marks]) == D("100.00")
    assert review_score([(w, D(0), s) for w, _, s in marks]) == D("0.00")


@given(marked_criteria(), st.integers(min_value=0, max_value=7))
def test_raising_one_mark_never_lowers_the_score(marks, index):
    index %= len(marks)
    weight, mark, scale = marks[index]
    raised = list(marks)
    raised[index] = (weight, D(scale), scale)
    assert review_score(raised) >= review_score(marks)


def test_marks_outside_the_scale_or_an_empty_review_have_no_score():
    with pytest.raises(ValueError):
        review_score([(D("1"), D("6"), 5)])
    with pytest.raises(ValueError):
        review_score([(D("1"), D("-1"), 5)])
    with pytest.raises(ValueError):
        review_score([])


# ---------------------------------------------------------------- mean, spread, flag


@given(st.lists(review_scores, min_size=1, max_size=10))
def test_the_mean_lies_between_the_lowest_and_highest_score(scores):
    assert min(scores) <= mean(scores) <= max(scores)


@given(st.lists(review_scores, min_size=2, max_size=10), review_scores)
def test_spread_is_highest_minus_lowest_and_flags_strictly_above_the_threshold(scores, threshold):
    gap = spread(scores)
    assert gap == max(scores) - min(scores) >= 0
    assert is_flagged(gap, threshold) == (gap > threshold)


def test_one_review_has_no_spread_and_is_never_flagged():
    assert spread([D("12.00")]) is None
    assert is_flagged(None, D("0")) is False
    assert is_flagged(D("20.00"), D("20.00")) is False  # strictly above
    assert is_flagged(D("20.01"), D("20.00")) is True


# ---------------------------------------------------------------- normalisation


def test_normalisation_on_a_hand_computed_example():
    """A (lenient) gives 80 and 60, B (harsh) 50 and 30, C one review of 40.

    Call: 80, 60, 50, 30, 40 → mean 52, deviations 28, 8, −2, −22, −12, variance 1480 / 5 = 296,
    std √296 = 17.2046505…  A: mean 70, std 10; B: mean 40, std 10. So A's 80 and B's 50 are both one
    deviation above their reviewer's mean → 52 + 17.2047 = 69.20; A's 60 and B's 30 → 52 − 17.2047 =
    34.80. C has a single review: kept at 40."""
    a, b, c = 1, 2, 3
    reviews = [(a, D("80")), (a, D("60")), (b, D("50")), (b, D("30")), (c, D("40"))]
    assert normalised_scores(reviews) == [D("69.20"), D("34.80"), D("69.20"), D("34.80"), D("40")]


@given(st.lists(review_scores, min_size=1, max_size=12))
def test_reviewers_with_a_single_review_keep_their_raw_scores(scores):
    reviews = list(enumerate(scores))  # every review by a different reviewer
    assert normalised_scores(reviews) == scores


@given(st.lists(st.tuples(st.integers(1, 4), review_scores), min_size=1, max_size=20))
def test_normalised_scores_stay_between_0_and_100(reviews):
    for value in normalised_scores(reviews):
        assert D("0") <= value <= D("100")


@given(review_scores, st.integers(2, 5), st.lists(st.tuples(st.integers(10, 12), review_scores), max_size=8))
def test_a_reviewer_who_gives_the_same_score_everywhere_keeps_it(score, times, others):
    reviews = [(1, score)] * times + others
    assert normalised_scores(reviews)[:times] == [score] * times


# ---------------------------------------------------------------- call_ranking on the database


def by_reference(rows):
    return {row.reference: row for row in rows}


def test_the_ranking_aggregates_submitted_reviews_of_eligible_applications(app):
    call = CallFactory(disagreement_threshold=D("20"))
    grid(call, (3, 5), (1, 20))
    db.session.refresh(call)
    lenient, harsh, third = ReviewerFactory(), ReviewerFactory(), ReviewerFactory()
    good = under_review(call, reference="T-1", amount_requested=D("8000.00"))
    split = under_review(call, reference="T-2", amount_requested=D("5000.00"))
    unreviewed = under_review(call, reference="T-3", amount_requested=D("3000.00"))
    review(good, lenient, [5, 20])                      # 100.00
    review(good, harsh, [4, 10], opinion=Opinion.FUND_LOWER, suggested=D("6000.00"))  # 72.50
    review(split, lenient, [5, 0])                      # 75.00
    review(split, harsh, [1, 4], opinion=Opinion.DO_NOT_FUND)  # 20.00
    review(split, third, [3, 3], submitted=False)       # a draft: not counted
    assign(unreviewed, third)
    assign(unreviewed, ReviewerFactory(), state=AssignmentState.RECUSED, reason="Conflit")
    # never ranked: not screened eligible, or withdrawn
    SubmittedApplicationFactory(call=call, reference="T-4")
    SubmittedApplicationFactory(call=call, reference="T-5", state=ApplicationState.INELIGIBLE, eligible=False)
    SubmittedApplicationFactory(call=call, reference="T-6", state=ApplicationState.WITHDRAWN, eligible=True)

    rows = call_ranking(call.id)

    assert [row.reference for row in rows] == ["T-1", "T-2", "T-3"]
    assert [row.rank for row in rows] == [1, 2, 3]
    first, second, last = rows
    assert first.review_scores == (D("100.00"), D("72.50"))
    assert first.mean_score == D("86.25") and first.spread == D("27.50") and first.flagged
    assert first.reviews_done == 2 and first.reviews_assigned == 2
    assert first.suggested_amount_mean == D("6000.00")
    assert (first.fund_votes, first.fund_lower_votes, first.do_not_fund_votes) == (1, 1, 0)
    assert second.mean_score == D("47.50") and second.spread == D("55.00") and second.flagged
    assert second.reviews_done == 2 and second.reviews_assigned == 3 and second.reviews_missing == 1
    assert second.suggested_amount_mean is None
    assert last.mean_score is None and last.normalised_mean is None and last.spread is None
    assert last.reviews_done == 0 and last.reviews_assigned == 1 and not last.flagged
    # the running total down the ranking, where the envelope runs out
    assert [row.cumulative_requested for row in rows] == [D("8000.00"), D("13000.00"), D("16000.00")]
    # both reviewers scored both applications by 25 and 52.5 points apart: normalisation ranks alike
    assert first.normalised_mean is not None and second.normalised_mean is not None
    assert first.normalised_mean > second.normalised_mean


def test_normalisation_in_the_ranking_corrects_a_harsh_reviewer(app, scored_call):
    lenient, harsh = ReviewerFactory(), ReviewerFactory()
    one = under_review(scored_call, reference="N-1")
    two = under_review(scored_call, reference="N-2")
    three = under_review(scored_call, reference="N-3")
    review(one, lenient, [80])
    review(two, lenient, [60])
    review(two, harsh, [50])
    review(three, harsh, [30])
    rows = by_reference(call_ranking(scored_call.id))
    # raw: N-1 80, N-2 55 (60 and 50), N-3 30. Call mean 55, std √325 = 18.0277…
    assert rows["N-1"].mean_score == D("80.00")
    assert rows["N-3"].mean_score == D("30.00")
    # each reviewer's upper score maps to 55 + 18.03, the lower one to 55 − 18.03
    assert rows["N-1"].normalised_mean == D("73.03")
    assert rows["N-2"].normalised_mean == D("55.00")  # (36.97 + 73.03) / 2
    assert rows["N-3"].normalised_mean == D("36.97")
    assert rows["N-2"].spread == D("10.00") and not rows["N-2"].flagged


def test_filters_and_sorts(app, scored_call):
    reviewer, other = ReviewerFactory(), ReviewerFactory()
    a = under_review(scored_call, reference="F-1", partner_region="Kayes", amount_requested=D("1000.00"))
    b = under_review(scored_call, reference="F-2", partner_region="Matam", amount_requested=D("9000.00"),
                     section=BudgetSection.INVESTMENT)
    c = under_review(scored_call, reference="F-3", partner_region="Kayes", amount_requested=D("4000.00"),
                     state=ApplicationState.DECIDED)
    review(a, reviewer, [40])
    review(a, other, [90])  # spread 50: flagged
    review(b, reviewer, [70])
    review(c, reviewer, [60])

    refs = lambda **filters: [r.reference for r in call_ranking(scored_call.id, **filters)]  # noqa: E731
    assert refs() == ["F-2", "F-1", "F-3"]  # 70, 65, 60
    assert refs(sort="amount") == ["F-2", "F-3", "F-1"]
    assert refs(sort="reference") == ["F-1", "F-2", "F-3"]
    assert refs(sort="spread") == ["F-1", "F-2", "F-3"]
    assert refs(section=BudgetSection.INVESTMENT) == ["F-2"]
    assert refs(partner_region="Kayes") == ["F-1", "F-3"]
    assert refs(state=ApplicationState.DECIDED) == ["F-3"]
    assert refs(flagged_only=True) == ["F-1"]
    # a region (a state, disagreements) shows rows of the call's ranking with their ranks and running
    # totals in it: they share its envelope. A section has its own envelope: ranked and summed apart.
    kayes = call_ranking(scored_call.id, partner_region="Kayes")
    assert [(r.rank, r.cumulative_requested) for r in kayes] == [(2, D("10000.00")), (3, D("14000.00"))]
    [decided] = call_ranking(scored_call.id, state=ApplicationState.DECIDED)
    assert (decided.rank, decided.cumulative_requested) == (3, D("14000.00"))
    operating = call_ranking(scored_call.id, section=BudgetSection.OPERATING)
    assert [(r.reference, r.rank, r.cumulative_requested) for r in operating] == [
        ("F-1", 1, D("1000.00")), ("F-3", 2, D("5000.00"))]
    with pytest.raises(ValueError):
        call_ranking(scored_call.id, sort="hasard")
    assert call_ranking(987654) == []


@contextmanager
def counted_statements():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_the_ranking_runs_the_same_number_of_statements_for_2_and_20_applications(app):
    reviewers = [ReviewerFactory() for _ in range(3)]
    small, large = CallFactory(), CallFactory()
    for call in (small, large):
        grid(call, (2, 5), (1, 20))
        db.session.refresh(call)

    def populate_grid(call, count):
        for index in range(count):
            application = under_review(call)
            for offset, reviewer in enumerate(reviewers):
                review(application, reviewer, [(index + offset) % 6, (index * 3 + offset) % 21])

    populate_grid(small, 2)
    populate_grid(large, 20)
    small_id, large_id = small.id, large.id
    db.session.expire_all()
    with app.app_context(), counted_statements() as few:
        assert len(call_ranking(small_id)) == 2
    with app.app_context(), counted_statements() as many:
        assert len(call_ranking(large_id, partner_region=None, flagged_only=False)) == 20
    assert len(few) == len(many) == 3, many  # the threshold, the stored rows, their reviews' scores
