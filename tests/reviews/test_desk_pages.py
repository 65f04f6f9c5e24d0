"""The reviewer's desk a page at a time: the dossiers still to transmit first (soonest due first), then the
transmitted ones (latest due first), 50 a page, the links carrying the edge row's key; the figures count
every assignment; a key that is not one is a 400; another reviewer's key never shows his dossiers."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grants.database import db, utcnow
from grants.reviews.assignments import PER_PAGE, DeskKey, desk_page
from grants.reviews.models import AssignmentState, Opinion, Review, ReviewAssignment, ReviewState
from tests.factories import (
    CallFactory,
    ManagerFactory,
    OrganisationApplicantFactory,
    ReviewerFactory,
)
from tests.reviews.conftest import under_review

TODAY = date.today()


def give(reviewer, *, open_=0, done=0, drafts=0, first_due=TODAY - timedelta(days=3)):
    """``open_`` dossiers not started, ``drafts`` with a draft and ``done`` transmitted, assigned to
    ``reviewer``, due a day apart (two on each day, so that the key's id decides within a day)."""
    call, applicant, manager = CallFactory(), OrganisationApplicantFactory(), ManagerFactory()
    rows = []
    for n in range(open_ + drafts + done):
        application = under_review(call, applicant=applicant, title=f"Dossier {reviewer.id}-{n}")
        row = ReviewAssignment(application=application, reviewer=reviewer, assigned_by_id=manager.id,
                               due_on=first_due + timedelta(days=n // 2))
        db.session.add(row)
        if n >= open_:
            submitted = n >= open_ + drafts
            db.session.add(Review(assignment=row, state=ReviewState.SUBMITTED if submitted else ReviewState.DRAFT,
                                  opinion=Opinion.FUND if submitted else None,
                                  submitted_at=utcnow() if submitted else None))
        rows.append(row)
    db.session.commit()
    return rows


def desk_order(rows) -> list[int]:
    """The ids in the desk's order, computed here from the rows themselves."""
    def done(row):
        return row.review is not None and row.review.state == ReviewState.SUBMITTED
    todo = sorted((r for r in rows if not done(r) and r.state == AssignmentState.ASSIGNED),
                  key=lambda r: (r.due_on, r.id))
    sent = sorted((r for r in rows if done(r) and r.state == AssignmentState.ASSIGNED),
                  key=lambda r: (r.due_on, r.id), reverse=True)
    return [r.id for r in todo + sent]


def listed_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<th scope="row"><a class="reference" href="/evaluation/(\d+)"', html)]


def link(html: str, rel: str) -> str | None:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def walk(client, url="/evaluation", rel="next") -> list[list[int]]:
    """Every page from ``url`` following the ``rel`` links, as lists of ids."""
    pages = []
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        pages.append(listed_ids(html))
        url = link(html, rel)
        assert len(pages) < 10
    return pages


@pytest.mark.parametrize("count, pages", [(0, 0), (1, 1), (PER_PAGE, 1), (PER_PAGE + 1, 2)])
def test_page_boundaries(client, login_as, count, pages):
    reviewer = ReviewerFactory()
    rows = give(reviewer, open_=count)
    login_as(reviewer)
    html = client.get("/evaluation").get_data(as_text=True)
    if count == 0:
        assert "Aucun dossier ne vous est confié" in html and 'rel="next"' not in html
        return
    walked = walk(client)
    assert len(walked) == pages and [i for page in walked for i in page] == desk_order(rows)
    assert [len(p) for p in walked] == [PER_PAGE] * (pages - 1) + [count - PER_PAGE * (pages - 1)]
    assert 'rel="prev"' not in html  # the first page has no previous one
    if pages == 2:
        last = client.get(link(html, "next")).get_data(as_text=True)
        assert link(last, "next") is None
        assert listed_ids(client.get(link(last, "prev")).get_data(as_text=True)) == walked[0]


def test_open_dossiers_first_then_transmitted_forwards_and_backwards(client, login_as):
    reviewer = ReviewerFactory()
    rows = give(reviewer, open_=40, drafts=25, done=50)  # 115 rows: 50, 50, 15
    recused = give(reviewer, open_=1)[0]
    recused.state, recused.recusal_reason = AssignmentState.RECUSED, "Lien avec le porteur"
    db.session.commit()
    login_as(reviewer)
    forwards = walk(client)
    assert [len(p) for p in forwards] == [50, 50, 15]
    assert [i for page in forwards for i in page] == desk_order(rows)
    assert recused.id not in {i for page in forwards for i in page}
    last = client.get("/evaluation").get_data(as_text=True)
    last = client.get(link(last, "next")).get_data(as_text=True)
    backwards = walk(client, link(last, "next"), rel="prev")
    assert backwards == forwards[::-1]
    # the figures count every assignment, on every page
    for html in (client.get("/evaluation").get_data(as_text=True), last):
        assert "65</span><span class=\"stat-label\">évaluations à rendre" in html
        assert "50</span><span class=\"stat-label\">transmises" in html
        assert "50 / 115" in html


def test_overdue_counts_the_late_ones_on_any_page(app):
    reviewer = ReviewerFactory()
    give(reviewer, open_=6, done=4, first_due=TODAY - timedelta(days=2))  # due -2, -2, -1, -1, 0, 0, …
    page = desk_page(reviewer)
    assert (page.counts.total, page.counts.submitted, page.counts.open, page.counts.overdue) == (10, 4, 6, 4)
    assert [row.overdue for row in page.rows] == [True] * 4 + [False] * 6


def test_a_transmission_moves_the_dossier_to_the_transmitted_part(app):
    reviewer = ReviewerFactory()
    first, second, third = give(reviewer, open_=3)
    assert [r.assignment_id for r in desk_page(reviewer).rows] == [first.id, second.id, third.id]
    assert desk_page(reviewer).next_open_id == first.id
    db.session.add(Review(assignment=first, state=ReviewState.SUBMITTED, opinion=Opinion.FUND, submitted_at=utcnow()))
    db.session.commit()
    page = desk_page(reviewer)
    assert [r.assignment_id for r in page.rows] == [second.id, third.id, first.id]
    assert page.next_open_id == second.id and page.rows[-1].key.done


def test_another_reviewers_key_shows_only_my_own_dossiers(client, login_as):
    me, other = ReviewerFactory(), ReviewerFactory()
    mine = give(me, open_=PER_PAGE + 5, done=3)
    theirs = give(other, open_=PER_PAGE + 5, done=3)
    login_as(me)
    their_ids = {r.id for r in theirs}
    for row in theirs[::7]:
        done = row.review is not None
        for param in ("apres", "avant"):
            key = DeskKey(done, row.due_on, row.id).token()
            response = client.get(f"/evaluation?{param}={key}")
            assert response.status_code == 200
            shown = listed_ids(response.get_data(as_text=True))
            assert not their_ids & set(shown) and set(shown) <= {r.id for r in mine}
            assert f"/evaluation/{row.id}\"" not in response.get_data(as_text=True)


@pytest.mark.parametrize("query", [
    "apres=1", "apres=o2026-1", "apres=x20261206-1", "apres=o20261340-1", "apres=o20260230-5",
    "apres=o20261206-99999999999", "apres=o20261206-2147483648", "avant=t20261206-", "avant=o20261206-1%0A", "apres=o%D9%A2%D9%A0%D9%A2%D9%A61206-1",
    "apres=" + "o20261206-1" * 10, "apres=o20261206-1&avant=o20261206-2", "avant=%C3%A9",
])
def test_a_key_that_is_not_one_is_a_400(client, login_as, query):
    reviewer = ReviewerFactory()
    give(reviewer, open_=2)
    login_as(reviewer)
    response = client.get(f"/evaluation?{query}")
    assert response.status_code == 400
    assert "La requête n'a pas pu être traitée" in response.get_data(as_text=True)


def test_a_key_past_the_end_shows_an_empty_page_with_the_way_back(client, login_as):
    reviewer = ReviewerFactory()
    give(reviewer, open_=2)
    login_as(reviewer)
    html = client.get("/evaluation?apres=t19000101-1").get_data(as_text=True)
    assert listed_ids(html) == [] and 'href="/evaluation">Revenir au début de la liste' in html


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(param=st.sampled_from(["apres", "avant"]),
       value=st.one_of(st.text(max_size=60), st.from_regex(r"[ot]\d{8}-\d{1,12}", fullmatch=True)))
def test_any_key_is_a_page_or_a_400(client, login_as, param, value):
    reviewer = ReviewerFactory()
    login_as(reviewer)
    response = client.get("/evaluation", query_string={param: value})
    assert response.status_code in (200, 400)


def transmitted(row) -> bool:
    return db.session.scalar(db.select(ReviewAssignment.transmitted).where(ReviewAssignment.id == row.id))


def test_the_database_keeps_the_assignments_copy_of_its_reviews_state(app):
    """``transmitted`` follows every write to reviews (triggers), whoever writes: a draft, its
    transmission, a review moved or deleted."""
    reviewer = ReviewerFactory()
    first, second = give(reviewer, open_=2)
    assert not transmitted(first)
    draft = Review(assignment=first, state=ReviewState.DRAFT)
    db.session.add(draft)
    db.session.commit()
    assert not transmitted(first)
    draft.state, draft.opinion, draft.submitted_at = ReviewState.SUBMITTED, Opinion.FUND, utcnow()
    db.session.commit()
    assert transmitted(first) and not transmitted(second)
    draft.assignment_id = second.id
    db.session.commit()
    assert not transmitted(first) and transmitted(second)
    db.session.delete(draft)
    db.session.commit()
    assert not transmitted(second)
    assert desk_page(reviewer).counts.submitted == 0
