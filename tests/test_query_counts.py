"""The SQL query count of each benchmarked page does not grow with the number of applications.

Each test builds a small world (2 applications under review in the reviewed call, one review each),
counts the SQL statements of one request of its page, then grows the same world (12 applications
under review, three reviews each, half of them awarded, some paid, more drafts and submissions in
the open calls) and counts again: the two counts must be equal. The pages are those of bench/run.py
(issue 8); nothing here is timed.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.api.services import create_token
from grants.applications.models import ApplicationState, BudgetLine, BudgetLineKind
from grants.awards.services import award_grant, record_payment
from grants.calls.models import BudgetSection, CallState
from grants.database import db, utcnow
from grants.organisations.models import Applicant
from grants.reviews.models import CriterionScore, Opinion, Review, ReviewState
from grants.reviews.scoring import own_score
from tests.factories import (
    TEST_PASSWORD,
    ApplicationFactory,
    CallEnvelopeFactory,
    CallFactory,
    CriterionFactory,
    IndividualApplicantFactory,
    ManagerFactory,
    ReviewAssignmentFactory,
    ReviewerFactory,
    SubmittedApplicationFactory,
    member_of,
)

SMALL, LARGE = 2, 12


@contextmanager
def counted_statements():
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def own_context(app, call):
    """Run ``call`` (requests) in an application context of its own, as under a real server: an
    empty ``g`` and a database session of its own, whose identity map starts empty. (The test's
    context would lend the request its session, already holding every object the test made, and
    hide the lazy loads a real request pays for.)"""
    db.session.commit()
    with app.app_context():
        return call()


def signed_in(app, user):
    client = app.test_client()
    response = own_context(
        app, lambda: client.post("/connexion", data={"email": user.email, "password": TEST_PASSWORD})
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


class World:
    """A manager, three reviewers, an applicant; two open calls and one call under review."""

    def __init__(self, app):
        self.app = app
        self.manager = ManagerFactory()
        self.reviewers = [ReviewerFactory() for _ in range(3)]
        self.member = member_of()
        self.applicant = self.member.memberships[0].organisation
        self.applicant_row = db.session.scalar(sa.select(Applicant).where(Applicant.organisation_id == self.applicant.id))
        self.open_calls = [CallFactory(state=CallState.OPEN) for _ in range(2)]
        self.review_call = CallFactory(
            state=CallState.CLOSED, opens_at=utcnow() - timedelta(days=60), closes_at=utcnow() - timedelta(days=5)
        )
        for call in [*self.open_calls, self.review_call]:
            CallEnvelopeFactory(call=call, amount=Decimal("1000000.00"))
        self.criteria = [CriterionFactory(call=self.review_call, weight=Decimal(w)) for w in (3, 2, 1)]
        self.draft = ApplicationFactory(call=self.open_calls[0], applicant=self.applicant_row,
                                        created_by=self.member)
        self.under_review = []
        self.drafts_of_others = 0
        self.grow(SMALL, reviewers=1)

    # -- building -----------------------------------------------------------------------------------
    def add_under_review(self, applicant=None):
        application = SubmittedApplicationFactory(
            call=self.review_call, state=ApplicationState.UNDER_REVIEW, eligible=True,
            screened_by_id=self.manager.id, screened_at=utcnow(), **({"applicant": applicant} if applicant else {}),
        )
        for position, (kind, account, amount) in enumerate([
            (BudgetLineKind.EXPENSE, "60", "6000.00"), (BudgetLineKind.EXPENSE, "64", "4000.00"),
            (BudgetLineKind.RESOURCE, "74", "5000.00"), (BudgetLineKind.RESOURCE, "75", "5000.00"),
        ]):
            db.session.add(BudgetLine(application=application, kind=kind, account=account, label=f"Ligne {account}",
                                      is_region_request=account == "74", amount=Decimal(amount), position=position))
        db.session.commit()
        self.under_review.append(application)
        return application

    def review(self, application, reviewer, score: int):
        assignment = ReviewAssignmentFactory(application=application, reviewer=reviewer, assigned_by=self.manager)
        review = Review(assignment=assignment, state=ReviewState.SUBMITTED, opinion=Opinion.FUND,
                        comment="Solide.", submitted_at=utcnow())
        db.session.add(review)
        for criterion in self.criteria:
            db.session.add(CriterionScore(review=review, criterion=criterion, score=Decimal(score)))
        review.score = own_score(review)  # stored with the transmission, as submit_review does
        db.session.commit()

    def reviewed_by(self, application) -> set[int]:
        return {row for row in db.session.scalars(
            sa.text("SELECT reviewer_id FROM review_assignments WHERE application_id = :id"), {"id": application.id}
        )}

    def grow(self, applications: int, *, reviewers: int) -> None:
        """Up to ``applications`` under review, each reviewed by ``reviewers``; in the large world,
        half the new ones awarded (some paid) and more drafts and submissions in the open calls."""
        first = not self.under_review
        while len(self.under_review) < applications:
            applicant = self.applicant_row if first and not self.under_review else None
            self.add_under_review(applicant)
        for n, application in enumerate(self.under_review):
            done = self.reviewed_by(application)
            for reviewer in self.reviewers[:reviewers]:
                if reviewer.id not in done:
                    self.review(application, reviewer, score=(n + reviewer.id) % 6)
        if applications > SMALL:
            # The two kept undecided are the measured ones (the first, the applicant's, and the last).
            for n, application in enumerate(self.under_review[1:-2], start=1):
                if application.state != ApplicationState.UNDER_REVIEW:
                    continue  # awarded by the small world's measure
                decision = award_grant(application, amount=Decimal("1000.00"), section=BudgetSection.OPERATING,
                                       actor=self.manager, reason="Commission")
                if n % 2:
                    record_payment(decision, amount=Decimal("500.00"), tranche="advance", actor=self.manager,
                                   paid_on=date.today())
            for n in range(applications):
                call = self.open_calls[n % 2]
                if n % 3:
                    ApplicationFactory(call=call)
                else:
                    SubmittedApplicationFactory(call=call)
            db.session.commit()

    # -- what the pages are loaded on ------------------------------------------------------------------
    def undecided(self):
        return next(a for a in reversed(self.under_review) if a.state == ApplicationState.UNDER_REVIEW)


def version_on_page(page: str) -> int:
    return int(re.search(r'name="version" value="(\d+)"', page).group(1))


def measure(app, world: World, page: str, token: str) -> tuple[int, list[str]]:
    """The status and statements of one request of ``page`` (after a warm-up request)."""
    if page == "calls":
        app.config["PAGE_CACHE_SECONDS"] = 0  # the page rendered, not served from the page cache
        client = app.test_client()
        request = lambda: client.get("/appels/")  # noqa: E731
    elif page in ("manager_application", "ranking", "envelopes", "call_envelope", "manager_list", "screening"):
        client = signed_in(app, world.manager)
        path = {"manager_application": f"/gestion/dossiers/{world.under_review[0].id}",
                "ranking": f"/gestion/appels/{world.review_call.id}/classement",
                "envelopes": "/gestion/enveloppes",
                "call_envelope": f"/gestion/appels/{world.review_call.id}/enveloppe",
                "manager_list": f"/gestion/appels/{world.review_call.id}/dossiers",
                "screening": f"/gestion/appels/{world.review_call.id}/recevabilite"}[page]
        request = lambda: client.get(path)  # noqa: E731
    elif page == "applicant_application":
        client = signed_in(app, world.member)
        path = f"/dossiers/{world.under_review[0].id}"
        request = lambda: client.get(path)  # noqa: E731
    elif page == "reviewer_desk":
        client = signed_in(app, world.reviewers[0])
        request = lambda: client.get("/evaluation")  # noqa: E731
    elif page == "draft_save":
        client = signed_in(app, world.member)
        path = f"/dossiers/{world.draft.id}/projet"

        def request():
            # The form page, then the save, each in a context of its own as two browser requests.
            version = version_on_page(own_context(app, lambda: client.get(path)).get_data(as_text=True))
            request.title = getattr(request, "title", 0) + 1
            form = {"version": version, "title": f"Projet n° {request.title}", "summary": "Résumé.",
                    "objectives": "Objectifs.", "target_public": "Familles.", "beneficiaries_count": "20",
                    "places": "Lille", "starts_on": "2026-03-01", "ends_on": "2026-06-30"}
            with counted_statements() as statements:
                response = own_context(app, lambda: client.post(path, data=form))
            request.statements = statements
            return response
    elif page == "award":
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        call_path = f"/api/v1/calls/{world.review_call.id}"
        own_context(app, lambda: client.get(call_path, headers=headers))  # notes the token's use

        path = f"/api/v1/applications/{world.undecided().id}/award"

        def request():
            return client.post(path, headers=headers, json={"amount": "800.00", "section": "fonctionnement"})
    elif page == "api_applications":
        # The call's applications with, for the awards of the large world, their convention, final
        # report and payments.
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        path = f"/api/v1/calls/{world.review_call.id}/applications"
        request = lambda: client.get(path, headers=headers)  # noqa: E731
    else:
        raise ValueError(page)

    if page != "award":
        own_context(app, request)  # warm-up: a client's first request may differ (its CSRF token is made)
    with counted_statements() as statements:
        response = own_context(app, request)
    if page == "draft_save":
        statements = request.statements
    db.session.expire_all()
    return response.status_code, statements


EXPECTED_STATUS = {"draft_save": 302, "award": 201}

PAGES = [
    "calls",
    "manager_application",
    "applicant_application",
    "reviewer_desk",
    "ranking",
    "envelopes",
    "call_envelope",
    "manager_list",
    "screening",
    "draft_save",
    "award",
    "api_applications",
]


def statements_small_and_large(app, page: str) -> tuple[list[str], list[str]]:
    """The statements of one request of ``page`` on the small world, then on the same world grown."""
    world = World(app)
    _, token = create_token(world.manager, name="comptage", actor=world.manager)
    db.session.commit()

    status, small = measure(app, world, page, token)
    assert status == EXPECTED_STATUS.get(page, 200)
    world.grow(LARGE, reviewers=3)
    status, large = measure(app, world, page, token)
    assert status == EXPECTED_STATUS.get(page, 200)
    return small, large


@pytest.mark.parametrize("page", PAGES)
def test_query_count_does_not_grow_with_the_applications(app, page):
    small, large = statements_small_and_large(app, page)
    assert len(large) == len(small), (
        f"{page}: {len(small)} queries with {SMALL} applications, {len(large)} with {LARGE}; extra statements:\n"
        + "\n".join(s for s in large if s not in small)[:3000]
    )


def test_the_count_sees_a_query_per_row(app, monkeypatch):
    """The measure can fail: a desk that queried once per assignment (2, then 12) is caught."""
    import grants.reviews.views.desk as desk_views
    from grants.applications.models import Application

    listed = desk_views.desk_page

    def one_query_per_row(reviewer, *args, **kwargs):
        page = listed(reviewer, *args, **kwargs)
        for row in page.rows:
            db.session.execute(sa.select(Application.id).where(Application.reference == row.reference)).all()
        return page

    monkeypatch.setattr(desk_views, "desk_page", one_query_per_row)
    small, large = statements_small_and_large(app, "reviewer_desk")
    assert len(large) == len(small) + LARGE - SMALL


def test_the_signed_in_layout_runs_one_query(app):
    """An empty page of the signed-in layout (the notification preferences: a form, nothing else read)
    runs one statement: the user, with the memberships and the individual applicant that the menu
    needs, and the bell's count as a column. It ran 3 (a member) or 4 (staff) before: the user, the
    memberships, the individual applicant, a count of unread notifications."""
    member = member_of()
    person = IndividualApplicantFactory().person
    people = [member, person, ManagerFactory(), ReviewerFactory()]
    db.session.commit()
    for user in people:
        client = signed_in(app, user)
        own_context(app, lambda c=client: c.get("/compte/notifications"))  # warm-up
        with counted_statements() as statements:
            response = own_context(app, lambda c=client: c.get("/compte/notifications"))
        assert response.status_code == 200
        assert len(statements) == 1, f"{user.email}: " + "\n".join(statements)
        page = response.get_data(as_text=True)
        assert ("Mes dossiers" in page) == (user in (member, person))
        assert ("Mon association" in page) == (user is member)
