"""The reviewer's desk for many dossiers: the dossier beside the scoring form, the draft saved in the
background (JSON, CSRF), progress "n / N" and the next dossier not yet transmitted; and the conflicts
page, which never lists a private individual to a reviewer who may not see him."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from grants.database import db
from grants.models import Applicant, ApplicationState
from grants.reviews import scoring
from grants.reviews.assignments import desk_progress
from grants.reviews.models import AssignmentState, ConflictOfInterest, Review, ReviewState
from tests.factories import (
    TEST_PASSWORD,
    CallFactory,
    IndividualApplicantFactory,
    OrganisationFactory,
    ReviewerFactory,
    UserFactory,
    member_of,
)
from tests.reviews.conftest import assign, grid, review, under_review


@pytest.fixture
def desk(app):
    """A reviewer with four dossiers of one call (due one day apart), a two-criterion grid."""
    call = CallFactory()
    first, second = grid(call, (1, 5), (1, 10))
    db.session.refresh(call)
    reviewer = ReviewerFactory()
    assignments = []
    for n in range(4):
        row = assign(under_review(call, title=f"Projet {n}"), reviewer)
        row.due_on = date.today() + timedelta(days=10 + n)
        assignments.append(row)
    db.session.commit()
    return {"call": call, "criteria": (first, second), "reviewer": reviewer, "assignments": assignments}


def marks(desk, first="3", second="7", **extra):
    a, b = desk["criteria"]
    return {f"score_{a.id}": first, f"score_{b.id}": second, "opinion": "fund", "comment": "Solide.", **extra}


def review_of(assignment):
    return db.session.scalar(db.select(Review).where(Review.assignment_id == assignment.id))


# ---------------------------------------------------------------- the page


def test_the_dossier_and_the_scoring_form_share_the_page(client, login_as, desk):
    login_as(desk["reviewer"])
    body = client.get(f"/evaluation/{desk['assignments'][0].id}").get_data(as_text=True)
    desk_at = body.index('class="review-desk"')
    assert desk_at < body.index('class="review-desk-dossier"') < body.index('class="review-desk-panel"')
    assert body.index('class="review-desk-panel"') < body.index('class="review-form"')
    assert 'data-autosave="/evaluation/' in body and "js/review_draft.js" in body


# ---------------------------------------------------------------- autosave


def test_the_background_save_keeps_an_incomplete_draft_and_answers_json(client, login_as, desk):
    login_as(desk["reviewer"])
    assignment = desk["assignments"][0]
    response = client.post(f"/evaluation/{assignment.id}/brouillon", data=marks(desk, second="", opinion=""))
    assert response.status_code == 200 and response.is_json
    assert response.get_json()["saved"] is True and "Brouillon enregistré à" in response.get_json()["message"]
    draft = review_of(assignment)
    assert draft.state == ReviewState.DRAFT and [s.score for s in draft.scores] == [3]
    again = client.post(f"/evaluation/{assignment.id}/brouillon", data=marks(desk, "4,5", ""))
    assert again.get_json()["saved"] is True
    db.session.expire_all()
    assert [s.score for s in review_of(assignment).scores] == [4.5]
    page = client.get(f"/evaluation/{assignment.id}").get_data(as_text=True)
    assert 'value="4,5"' in page and "Brouillon enregistré le" in page


def test_a_refused_background_save_changes_nothing_and_names_the_fields(client, login_as, desk):
    login_as(desk["reviewer"])
    assignment = desk["assignments"][0]
    a, b = desk["criteria"]
    client.post(f"/evaluation/{assignment.id}/brouillon", data=marks(desk))
    refused = client.post(f"/evaluation/{assignment.id}/brouillon", data=marks(desk, "8", "douze"))
    answer = refused.get_json()
    assert refused.status_code == 422 and answer["saved"] is False
    assert set(answer["errors"]) == {f"score_{a.id}", f"score_{b.id}"}
    db.session.expire_all()
    assert sorted(s.score for s in review_of(assignment).scores) == [3, 7]


def csrf_token_of(page: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_the_background_save_posts_the_forms_csrf_token(client, desk, app_overrides):
    """What review_draft.js sends (the form with its token) is accepted; the same without it is not."""
    reviewer = desk["reviewer"]
    same_site = {"Referer": f"{client.get('/connexion').request.host_url}connexion"}
    login_page = client.get("/connexion").get_data(as_text=True)
    signed_in = client.post("/connexion", headers=same_site, data={
        "email": reviewer.email, "password": TEST_PASSWORD, "csrf_token": csrf_token_of(login_page)})
    assert signed_in.status_code == 302
    assignment = desk["assignments"][0]
    url = f"/evaluation/{assignment.id}"
    token = csrf_token_of(client.get(url).get_data(as_text=True))
    assert client.post(f"{url}/brouillon", headers=same_site, data=marks(desk)).status_code == 400
    assert review_of(assignment) is None
    saved = client.post(f"{url}/brouillon", headers=same_site, data={**marks(desk), "csrf_token": token})
    assert saved.status_code == 200 and saved.get_json()["saved"] is True


def test_the_background_save_is_only_for_the_assigned_reviewer(client, login_as, desk):
    login_as(ReviewerFactory())
    assignment = desk["assignments"][0]
    assert client.post(f"/evaluation/{assignment.id}/brouillon", data=marks(desk)).status_code == 404
    assert review_of(assignment) is None


# ---------------------------------------------------------------- progress and next dossier


def test_progress_and_the_next_dossier_not_yet_transmitted(client, login_as, desk):
    first, second, third, fourth = desk["assignments"]
    reviewer = desk["reviewer"]
    review(second.application, reviewer, [3, 7])  # transmitted
    review(third.application, reviewer, [3, 7], submitted=False)  # a draft is still to do
    recused = assign(under_review(desk["call"]), reviewer, state=AssignmentState.RECUSED, reason="Lien")

    progress = desk_progress(reviewer, first)
    assert (progress.submitted, progress.total, progress.next_assignment_id) == (1, 4, third.id)
    assert desk_progress(reviewer, fourth).next_assignment_id == first.id  # round to the start
    assert desk_progress(reviewer).next_assignment_id == first.id
    assert recused.id not in {desk_progress(reviewer, a).next_assignment_id for a in desk["assignments"]}

    login_as(reviewer)
    page = client.get(f"/evaluation/{first.id}").get_data(as_text=True)
    assert "1 / 4" in page and f'href="/evaluation/{third.id}">Dossier suivant' in page
    home = client.get("/evaluation").get_data(as_text=True)
    assert "1 / 4" in home and "3</span><span class=\"stat-label\">évaluations à rendre" in home
    assert "1</span><span class=\"stat-label\">transmise<" in home  # one, singular


def test_the_last_dossier_has_no_next(client, login_as, desk):
    reviewer = desk["reviewer"]
    *others, last = desk["assignments"]
    for assignment in others:
        review(assignment.application, reviewer, [3, 7])
    assert desk_progress(reviewer, last).next_assignment_id is None
    login_as(reviewer)
    assert "Dossier suivant" not in client.get(f"/evaluation/{last.id}").get_data(as_text=True)


# ---------------------------------------------------------------- conflicts of interest and privacy


def test_the_conflicts_page_never_lists_a_private_individual(client, login_as, desk):
    call = desk["call"]
    person = UserFactory(full_name="Mireille Particulière")
    individual = IndividualApplicantFactory(person=person)
    under_review(call, applicant=individual)
    organisation = OrganisationFactory(name="Les Jardins du Mont")
    member_of(organisation)
    organisation_dossier = under_review(call, applicant=db.session.get(Applicant, _applicant_id(organisation)))
    login_as(ReviewerFactory())
    page = client.get("/evaluation/conflits").get_data(as_text=True)
    assert "Mireille" not in page and "Particulière" not in page
    assert "Les Jardins du Mont" in page and organisation.siret in page
    # A forged declaration on the individual is refused as unknown, and his name never shows.
    forged = client.post("/evaluation/conflits", data={"applicant": str(individual.id), "reason": "Voisin"})
    assert forged.status_code == 422 and "Mireille" not in forged.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(ConflictOfInterest.id))) == 0
    declared = client.post("/evaluation/conflits", data={"applicant": str(organisation_dossier.applicant_id),
                                                        "reason": "Ancien trésorier"})
    assert declared.status_code == 302


def test_an_individual_is_declarable_by_the_reviewer_his_dossier_is_assigned_to(client, login_as, desk):
    individual = IndividualApplicantFactory(person=UserFactory(full_name="Mireille Particulière"))
    dossier = under_review(desk["call"], applicant=individual)
    assignment = assign(dossier, desk["reviewer"])
    login_as(desk["reviewer"])
    assert "Mireille Particulière" in client.get("/evaluation/conflits").get_data(as_text=True)
    response = client.post("/evaluation/conflits", data={"applicant": str(individual.id), "reason": "Voisine"})
    assert response.status_code == 302
    db.session.refresh(assignment)
    assert assignment.state == AssignmentState.RECUSED
    # Once recused the dossier is no longer his to read, but his own declaration keeps its name.
    assert "Mireille Particulière" in client.get("/evaluation/conflits").get_data(as_text=True)


def test_a_decided_individuals_dossier_stays_hidden_from_other_reviewers(client, login_as, desk):
    individual = IndividualApplicantFactory(person=UserFactory(full_name="Mireille Particulière"))
    under_review(desk["call"], applicant=individual, state=ApplicationState.DECIDED)
    login_as(desk["reviewer"])
    assert "Mireille" not in client.get("/evaluation/conflits").get_data(as_text=True)


def _applicant_id(organisation):
    return db.session.scalar(db.select(Applicant.id).where(Applicant.organisation_id == organisation.id))


def test_an_autosave_of_the_same_content_keeps_the_checked_draft_confirmable(client, login_as, desk):
    login_as(desk["reviewer"])
    url = f"/evaluation/{desk['assignments'][0].id}"
    assert client.post(url, data=marks(desk, action="submit")).status_code == 302
    version = scoring.draft_version(review_of(desk["assignments"][0]))
    assert client.post(f"{url}/brouillon", data=marks(desk)).get_json()["saved"] is True  # a late autosave
    assert client.post(f"{url}/transmettre", data={"version": version}).status_code == 302
    assert review_of(desk["assignments"][0]).state == ReviewState.SUBMITTED
