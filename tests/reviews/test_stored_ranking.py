"""The stored ranking (refreshed after each commit: tasks run in-process in tests) equals today's
computation from every mark (tests/reviews/ranking_oracle.py), on random calls, for every sort and
filter, whole and page by page, on SQLite and PostgreSQL; and a page costs the same number of statements
whatever the size of the call."""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal, localcontext

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grants.calls.models import BudgetSection
from grants.database import db
from grants.models import ApplicationState
from grants.reviews import ranking
from grants.reviews.models import AssignmentState, Opinion
from tests.factories import CallFactory, OrganisationApplicantFactory, ReviewerFactory, UserFactory
from tests.reviews import ranking_oracle
from tests.reviews.conftest import assign, grid, review, under_review
from tests.reviews.test_ranking import counted_statements

D = Decimal
STATES = [ApplicationState.UNDER_REVIEW, ApplicationState.UNDER_REVIEW, ApplicationState.DECIDED,
          ApplicationState.WITHDRAWN]
# What becomes of one reviewer on one application.
FATES = ["none", "submitted", "submitted", "submitted", "draft", "set_aside", "recused"]


@st.composite
def calls(draw):
    criteria = draw(st.lists(st.tuples(st.decimals(D("0.01"), D("20"), places=2), st.integers(1, 20)),
                             min_size=1, max_size=3))
    applications = draw(st.lists(st.fixed_dictionaries({
        "state": st.sampled_from(STATES),
        "section": st.sampled_from(list(BudgetSection)),
        "region": st.sampled_from([None, "Kayes", "Matam"]),
        "amount": st.one_of(st.none(), st.integers(1, 2_000_000).map(lambda cents: D(cents) / 100)),
    }), min_size=1, max_size=7))
    reviewers = draw(st.integers(1, 4))
    reviews = []
    for index in range(len(applications)):
        for reviewer in range(reviewers):
            fate = draw(st.sampled_from(FATES))
            if fate == "none":
                continue
            # Hundredths within each scale; some marks on the scale's ends.
            marks = [D(draw(st.one_of(st.integers(0, scale * 100), st.sampled_from([0, scale * 100])))) / 100
                     for _weight, scale in criteria]
            opinion = draw(st.sampled_from(list(Opinion)))
            suggested = D(draw(st.integers(1, 99_999))) / 100 if opinion == Opinion.FUND_LOWER else None
            reviews.append((index, reviewer, fate, marks, opinion, suggested))
    threshold = draw(st.sampled_from([D("0"), D("5.50"), D("20"), D("100")]))
    envelope = draw(st.integers(0, 5_000_000).map(lambda cents: D(cents) / 100))
    return criteria, applications, reviewers, reviews, threshold, envelope


def build(criteria, applications, reviewers, reviews, threshold):
    call = CallFactory(disagreement_threshold=threshold)
    grid(call, *criteria)
    db.session.refresh(call)
    applicant, author = OrganisationApplicantFactory(), UserFactory()
    rows = []
    for index, spec in enumerate(applications):
        state = spec["state"]
        rows.append(under_review(
            call, state=state, section=spec["section"], partner_region=spec["region"],
            amount_requested=spec["amount"], reference=f"P{call.id}-{index:02d}", applicant=applicant, created_by=author,
            **({"eligible": True} if state != ApplicationState.WITHDRAWN else {"eligible": index % 2 == 0})))
    people = [ReviewerFactory() for _ in range(reviewers)]
    for index, reviewer, fate, marks, opinion, suggested in reviews:
        application, person = rows[index], people[reviewer]
        if fate == "recused":
            assign(application, person, state=AssignmentState.RECUSED, reason="Conflit")
            continue
        written = review(application, person, marks, submitted=fate != "draft", opinion=opinion,
                         suggested=suggested)
        if fate == "set_aside":  # a conflict declared after the review was transmitted
            written.assignment.state = AssignmentState.RECUSED
            written.assignment.recusal_reason = "Conflit déclaré après l'évaluation"
            db.session.commit()
    return call


FILTERS = [
    {},
    {"sort": "normalised"},
    {"sort": "spread"},
    {"sort": "amount"},
    {"sort": "reference"},
    {"flagged_only": True},
    {"flagged_only": True, "sort": "normalised"},
    {"state": ApplicationState.DECIDED},
    {"state": ApplicationState.WITHDRAWN, "sort": "spread"},
    {"section": BudgetSection.INVESTMENT, "sort": "normalised"},
    {"partner_region": "Kayes"},
]


def expected_view(call_id, envelope, *, section=None, state=None, partner_region=None, flagged_only=False,
                  sort="score"):
    """What a view of the stored ranking shows, from today's computation: the ranking of its scope (the
    whole call, or one section; the withdrawn applications apart) computed by the oracle, then the rows
    the other filters keep, with their ranks and running sums in that ranking; and where the envelope
    runs out in it."""
    scope = ranking_oracle.call_ranking(call_id, section=section, sort=sort,
                                        state=ApplicationState.WITHDRAWN if state == ApplicationState.WITHDRAWN
                                        else None)
    rows = [row for row in scope
            if (state in (None, ApplicationState.WITHDRAWN) or row.state == state)
            and (not partner_region or row.partner_region == partner_region)
            and (not flagged_only or row.flagged)]
    first_over = next((row.rank for row in scope if row.cumulative_requested > envelope), None)
    return rows, first_over


def envelope_line(rows, first_over):
    """The rank of the row the envelope's line goes before: the first row shown past where it runs out."""
    return next((row.rank for row in rows if first_over is not None and row.rank >= first_over), None)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(world=calls(), chosen=st.lists(st.sampled_from(FILTERS), min_size=1, max_size=3, unique_by=str))
def test_the_stored_ranking_equals_todays_computation(app, world, chosen):
    """Without filters (and by section, and among the withdrawn) the stored ranking is today's; with a
    state, region or disagreement filter it is today's ranking of the scope with the other rows left out
    (the ranks and running sums of the whole ranking, under its envelope)."""
    criteria, applications, reviewers, reviews, threshold, envelope = world
    call = build(criteria, applications, reviewers, reviews, threshold)
    for filters in [{}, *chosen]:
        expected, first_over = expected_view(call.id, envelope, **filters)
        if set(filters) <= {"sort", "section"} or filters.get("state") == ApplicationState.WITHDRAWN:
            assert expected == ranking_oracle.call_ranking(call.id, **filters)  # the same as before
        assert ranking.call_ranking(call.id, **filters) == expected, filters
        # Page by page (pages of 3), the same rows, the same total, where the envelope runs out and the
        # line that shows it, on the page of the first row past it.
        pages = []
        for number in range(1, max(math.ceil(len(expected) / 3), 1) + 1):
            page = ranking.ranking_page(call.id, page=number, page_size=3, envelope=envelope, **filters)
            assert (page.total, page.first_over, page.page) == (len(expected), first_over, number), filters
            assert page.status is not None and not page.status.stale
            line = envelope_line(expected, first_over)
            assert page.envelope_line == (line if line in {row.rank for row in page.rows} else None), filters
            pages += page.rows
        assert pages == expected, filters
        # The CSV's rows: the same, without each review's own score.
        streamed = list(ranking.ranking_rows(call.id, batch=2, **filters))
        assert streamed == [replace(row, review_scores=()) for row in expected], filters
    # The stored ranking equals its recomputation (``flask reviews verify-ranking``).
    assert ranking.ranking_mismatches(call.id) == []


def test_past_the_last_page_is_the_last_page(app, scored_call):
    reviewer = ReviewerFactory()
    for index in range(5):
        review(under_review(scored_call, reference=f"L-{index}"), reviewer, [index * 10])
    page = ranking.ranking_page(scored_call.id, page=9, page_size=2)
    assert page.total == 5 and [row.reference for row in page.rows] == ["L-0"]
    assert [row.rank for row in page.rows] == [5]
    assert ranking.ranking_page(987654).rows == []


def test_a_page_runs_the_same_statements_for_a_small_and_a_large_call(app):
    reviewers = [ReviewerFactory() for _ in range(4)]
    small, large = CallFactory(), CallFactory()
    for call in (small, large):
        grid(call, (2, 5), (1, 20))
        db.session.refresh(call)
    for call, count in ((small, 3), (large, 30)):
        for index in range(count):
            application = under_review(call)
            for offset, reviewer in enumerate(reviewers[: 2 + index % 3]):
                review(application, reviewer, [(index + offset) % 6, (index * 3 + offset) % 21])
    small_id, large_id = small.id, large.id
    db.session.expire_all()
    with counted_statements() as few:
        assert len(ranking.ranking_page(small_id, page_size=10).rows) == 3
    with counted_statements() as many:
        assert len(ranking.ranking_page(large_id, page_size=10, envelope=D("1000.00")).rows) == 10
    assert len(few) == len(many) == 3, many


def normalised_as_the_database_does(reviews, exact: bool):
    """The normalisation as the ranking's statement computes it from the reviewers' corrections (derived
    from their sums): in exact decimals as PostgreSQL (``exact``), or in double precision as SQLite;
    then clamped, and floor(x + 0.5) in hundredths."""
    severities = {}
    for reviewer_id, score in reviews:
        hundredths = int(score * 100)
        count, total, squares = severities.get(reviewer_id, (0, 0, 0))
        severities[reviewer_id] = (count + 1, total + hundredths, squares + hundredths * hundredths)
    corrections = ranking.severity_corrections({r: ranking.Severity(*f) for r, f in severities.items()})
    convert = (lambda value: value) if exact else float
    result = []
    for reviewer_id, score in reviews:
        if reviewer_id not in corrections.reviewers:
            result.append(score)
            continue
        mean, factor = corrections.reviewers[reviewer_id]
        with localcontext() as context:
            context.prec = 200  # numeric: exact
            x = convert(corrections.call_mean) + convert(factor) * (convert(int(score * 100)) - convert(mean))
        hundredths = 0 if x <= 0 else 10000 if x >= 10000 else math.floor(x + convert(D("0.5")))
        result.append(D(hundredths) / 100)
    return result


scores = st.one_of(st.integers(0, 10000), st.sampled_from([0, 1, 5000, 9999, 10000])).map(lambda h: D(h) / 100)


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), scores), min_size=1, max_size=25))
def test_the_normalisation_from_sums_equals_todays_from_every_score(reviews):
    """Many more calls than the database test can build: the corrections from each reviewer's count, sum
    and sum of squares give every review the normalised score of today's computation."""
    expected = ranking.normalised_scores(reviews)
    assert normalised_as_the_database_does(reviews, exact=True) == expected
    assert normalised_as_the_database_does(reviews, exact=False) == expected
