"""The reviewer's desk: the ownership matrix of every reviewer route, scoring with drafts and a final
submission, bad input (outside the scale, missing criteria, twice, after submission, forged), blind
mode, the grid lock, and the comments an applicant may read."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest

from grants.calls.services import criteria_locked
from grants.database import db
from grants.models import Applicant, ApplicationState
from grants.reviews import scoring, services
from grants.reviews.models import ConflictOfInterest, Opinion, Review, ReviewState
from grants.reviews.scoring import ReviewInput, ReviewLocked
from tests.factories import (
    CallFactory,
    ConflictOfInterestFactory,
    ManagerFactory,
    ReviewerFactory,
    member_of,
)
from tests.reviews.conftest import assign, grid, review, under_review


@pytest.fixture
def setting(app):
    """A call with a two-criterion grid (weight 3 on 0–5, weight 1 on 0–20), one application under review
    of an association, assigned to one reviewer."""
    call = CallFactory(title="Solidarité internationale")
    first, second = grid(call, (3, 5), (1, 20))
    db.session.refresh(call)
    member = member_of(email="claire@asso.example")
    applicant = db.session.get(Applicant, _applicant_id(member))
    application = under_review(call, applicant=applicant, title="Eau potable à Kayes",
                               amount_requested=Decimal("8000.00"))
    reviewer = ReviewerFactory(full_name="Hugo Vasseur")
    assignment = assign(application, reviewer)
    return {"call": call, "criteria": (first, second), "member": member, "application": application,
            "reviewer": reviewer, "assignment": assignment}


def _applicant_id(user):
    organisation_id = user.memberships[0].organisation_id
    return db.session.scalar(db.select(Applicant.id).where(Applicant.organisation_id == organisation_id))


def scores(setting, first="4", second="10", **extra):
    a, b = setting["criteria"]
    data = {f"score_{a.id}": first, f"score_{b.id}": second, f"note_{a.id}": "Partenaire solide",
            f"note_{b.id}": "", "opinion": "fund", "comment": "Projet solide et bien préparé."}
    data.update(extra)
    return data


def own_review(setting):
    return db.session.scalar(db.select(Review).where(Review.assignment_id == setting["assignment"].id))


def transmit(client, setting, **data):
    """Check the review ("Vérifier avant transmission"), read it back, confirm: the reviewer's two steps."""
    url = f"/evaluation/{setting['assignment'].id}"
    checked = client.post(url, data=scores(setting, action="submit", **data))
    assert checked.status_code == 302 and checked.headers["Location"].endswith(f"{url}/transmettre"), (
        checked.status_code, checked.get_data(as_text=True)[:2000])
    page = client.get(f"{url}/transmettre").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="([^"]*)"', page).group(1)
    return client.post(f"{url}/transmettre", data={"version": html.unescape(version)})


# ---------------------------------------------------------------- ownership matrix


REVIEWER_ROUTES = [
    ("GET", "/evaluation/{id}", None),
    ("POST", "/evaluation/{id}", {"action": "save"}),
    ("POST", "/evaluation/{id}/deport", {"reason": "Pour voir"}),
]


@pytest.mark.parametrize("method, path, data", REVIEWER_ROUTES)
@pytest.mark.parametrize("who, expected", [
    ("assigned", {200, 302}), ("other_reviewer", {404}), ("manager", {403}), ("member", {403}),
    ("anonymous", {302}),
])
def test_the_ownership_matrix_of_reviewer_routes(client, login_as, setting, method, path, data, who, expected):
    users = {"assigned": setting["reviewer"], "other_reviewer": ReviewerFactory(), "manager": ManagerFactory(),
             "member": setting["member"], "anonymous": None}
    if users[who] is not None:
        login_as(users[who])
    url = path.format(id=setting["assignment"].id)
    response = client.open(url, method=method, data=data)
    assert response.status_code in expected, (who, url, response.status_code)
    if who == "anonymous":
        assert "/connexion" in response.headers["Location"]
    if who != "assigned":
        db.session.refresh(setting["assignment"])
        assert setting["assignment"].state.value == "assigned" and own_review(setting) is None


@pytest.mark.parametrize("who, expected", [
    ("reviewer", 200), ("manager", 403), ("member", 403), ("anonymous", 302)])
def test_the_desk_and_conflict_pages_are_for_reviewers(client, login_as, setting, who, expected):
    users = {"reviewer": setting["reviewer"], "manager": ManagerFactory(), "member": setting["member"]}
    if who in users:
        login_as(users[who])
    assert client.get("/evaluation").status_code == expected
    assert client.get("/evaluation/conflits").status_code == expected


def test_the_desk_lists_only_my_assignments(client, login_as, setting):
    assign(under_review(setting["call"], title="Projet d'un autre"))
    login_as(setting["reviewer"])
    body = client.get("/evaluation").get_data(as_text=True)
    assert "Eau potable à Kayes" in body and f"/evaluation/{setting['assignment'].id}" in body
    assert "Projet d&#39;un autre" not in body and "Projet d'un autre" not in body


def test_the_assigned_reviewer_reads_the_whole_dossier(client, login_as, setting):
    login_as(setting["reviewer"])
    body = client.get(f"/evaluation/{setting['assignment'].id}").get_data(as_text=True)
    assert "Eau potable à Kayes" in body
    assert "Budget prévisionnel" in body  # the read-only dossier is included
    assert "Vérifier avant transmission" in body and "Enregistrer le brouillon" in body


def test_an_unknown_assignment_is_a_404(client, login_as, setting):
    login_as(setting["reviewer"])
    assert client.get("/evaluation/987654").status_code == 404
    assert client.post("/evaluation/987654", data=scores(setting, action="submit")).status_code == 404


# ---------------------------------------------------------------- drafts and submission


def test_a_draft_may_be_incomplete_and_is_kept(client, login_as, setting):
    login_as(setting["reviewer"])
    a, _b = setting["criteria"]
    response = client.post(f"/evaluation/{setting['assignment'].id}",
                           data={f"score_{a.id}": "3,5", "action": "save", "opinion": ""})
    assert response.status_code == 302
    draft = own_review(setting)
    assert draft.state == ReviewState.DRAFT and draft.submitted_at is None
    assert [(s.criterion_id, s.score) for s in draft.scores] == [(a.id, Decimal("3.50"))]
    assert 'value="3,5"' in client.get(f"/evaluation/{setting['assignment'].id}").get_data(as_text=True)


def test_submitting_locks_the_review_and_the_grid(client, login_as, setting):
    login_as(setting["reviewer"])
    assert not criteria_locked(setting["call"])
    response = transmit(client, setting)
    assert response.status_code == 302
    submitted = own_review(setting)
    assert submitted.state == ReviewState.SUBMITTED and submitted.submitted_at is not None
    assert submitted.opinion == Opinion.FUND
    assert scoring.own_score(submitted) == Decimal("72.50")  # (3 × 4/5 + 1 × 10/20) / 4
    assert submitted.score == Decimal("72.50")  # stored with the transmission, what the ranking reads
    assert criteria_locked(setting["call"])
    body = client.get(f"/evaluation/{setting['assignment'].id}").get_data(as_text=True)
    assert "ne peut plus être modifiée" in body and "72,50" in body


def test_checking_saves_the_draft_and_leads_to_the_confirmation_without_locking(client, login_as, setting):
    login_as(setting["reviewer"])
    url = f"/evaluation/{setting['assignment'].id}"
    response = client.post(url, data=scores(setting, action="submit"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/transmettre")
    draft = own_review(setting)
    assert draft.state == ReviewState.DRAFT and not criteria_locked(setting["call"])
    page = client.get(f"{url}/transmettre").get_data(as_text=True)
    assert "Relisez votre évaluation" in page and "Partenaire solide" in page and "72,50" in page


def test_a_draft_changed_since_its_check_is_not_transmitted(client, login_as, setting):
    login_as(setting["reviewer"])
    url = f"/evaluation/{setting['assignment'].id}"
    client.post(url, data=scores(setting, action="submit"))
    page = client.get(f"{url}/transmettre").get_data(as_text=True)
    version = html.unescape(re.search(r'name="version" type="hidden" value="([^"]*)"', page).group(1))
    assert client.post(f"{url}/brouillon", data=scores(setting, "1", action="save")).status_code == 200
    stale = client.post(f"{url}/transmettre", data={"version": version})
    assert stale.status_code == 422 and "a changé depuis sa vérification" in stale.get_data(as_text=True)
    assert own_review(setting).state == ReviewState.DRAFT


def test_the_confirmation_refuses_an_incomplete_draft(client, login_as, setting):
    login_as(setting["reviewer"])
    url = f"/evaluation/{setting['assignment'].id}"
    a, b = setting["criteria"]
    client.post(url, data={f"score_{a.id}": "4", "action": "save"})
    page = client.get(f"{url}/transmettre")
    assert page.status_code == 302 and page.headers["Location"].endswith(url)  # checked first
    version = scoring.draft_version(own_review(setting))
    refused = client.post(f"{url}/transmettre", data={"version": version})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    # A group of choices is linked by its first box (#opinion-0), a single field by its own id.
    assert re.search(rf'href="#score_{b.id}(-0)?"', body) and re.search(r'href="#opinion(-0)?"', body)
    assert own_review(setting).state == ReviewState.DRAFT


@pytest.mark.parametrize("first, second, message", [
    ("6", "10", "va de 0 à 5"),
    ("-1", "10", "va de 0 à 5"),
    ("4", "21", "va de 0 à 20"),
    ("quatre", "10", "Saisissez un nombre"),
    ("3,333", "10", "deux décimales"),
    ("NaN", "10", "Saisissez un nombre"),
])
def test_marks_outside_the_scale_are_refused_and_nothing_is_saved(client, login_as, setting, first, second,
                                                                  message):
    login_as(setting["reviewer"])
    response = client.post(f"/evaluation/{setting['assignment'].id}",
                           data=scores(setting, first, second, action="save"))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert own_review(setting) is None


def test_every_fault_is_shown_at_once_before_the_confirmation(client, login_as, setting):
    login_as(setting["reviewer"])
    url = f"/evaluation/{setting['assignment'].id}"
    a, b = setting["criteria"]
    everything = client.post(url, data=scores(setting, "9", "", opinion="", action="submit"))
    body = everything.get_data(as_text=True)
    assert everything.status_code == 422
    assert "va de 0 à 5" in body and "Notez chaque critère" in body and "Donnez votre avis" in body
    for field in (f"score_{a.id}", f"score_{b.id}", "opinion"):
        assert re.search(rf'href="#{field}(-0)?"', body), field  # each linked from the error summary
    assert body.count("va de 0 à 5") == 2  # under the field and in the summary, never as "missing" too
    lower = client.post(url, data=scores(setting, opinion="fund_lower", action="submit"))
    assert lower.status_code == 422 and "montant que vous proposez" in lower.get_data(as_text=True)
    too_high = client.post(url, data=scores(setting, opinion="fund_lower", suggested_amount="9 000", action="submit"))
    assert too_high.status_code == 422 and "inférieur au montant demandé" in too_high.get_data(as_text=True)
    assert own_review(setting) is None
    ok = transmit(client, setting, opinion="fund_lower", suggested_amount="6 000,50")
    assert ok.status_code == 302
    assert own_review(setting).suggested_amount == Decimal("6000.50")
    assert own_review(setting).state == ReviewState.SUBMITTED


def test_submitting_twice_or_editing_after_submission_is_refused(client, login_as, setting):
    login_as(setting["reviewer"])
    url = f"/evaluation/{setting['assignment'].id}"
    assert transmit(client, setting).status_code == 302
    again = client.post(url, data=scores(setting, "1", "1", action="submit"))
    assert again.status_code == 422 and "déjà transmise" in again.get_data(as_text=True)
    edit = client.post(url, data=scores(setting, "1", "1", action="save"))
    assert edit.status_code == 422
    autosaved = client.post(f"{url}/brouillon", data=scores(setting, "1", "1"))
    assert autosaved.status_code == 422 and not autosaved.get_json()["saved"]
    confirmed_again = client.post(f"{url}/transmettre", data={"version": ""})
    assert confirmed_again.status_code == 302
    db.session.expire_all()
    assert sorted(s.score for s in own_review(setting).scores) == [Decimal("4.00"), Decimal("10.00")]
    with pytest.raises(ReviewLocked):
        scoring.save_review(setting["assignment"], setting["reviewer"], ReviewInput())
    with pytest.raises(ReviewLocked):
        scoring.submit_review(setting["assignment"], setting["reviewer"])


def test_a_criterion_of_another_call_is_refused_by_the_service(setting):
    foreign = grid(CallFactory(), (1, 5))[0]
    entry = ReviewInput(marks={foreign.id: "3"})
    with pytest.raises(Exception, match="n'appartient pas"):
        scoring.save_review(setting["assignment"], setting["reviewer"], entry)


def test_scoring_someone_elses_assignment_through_the_service_is_refused(setting):
    intruder = ReviewerFactory()
    with pytest.raises(Exception, match="pas confié"):
        scoring.save_review(setting["assignment"], intruder, ReviewInput())


def test_a_dossier_no_longer_under_review_cannot_be_scored(client, login_as, setting):
    application = setting["application"]
    application.state = ApplicationState.DECIDED
    db.session.commit()
    login_as(setting["reviewer"])
    response = client.post(f"/evaluation/{setting['assignment'].id}", data=scores(setting, action="save"))
    assert response.status_code == 422
    assert own_review(setting) is None


# ---------------------------------------------------------------- blind mode


def other_review(setting, marks=(1, 2), comment="Budget irréaliste."):
    colleague = ReviewerFactory(full_name="Élodie Caron")
    return review(setting["application"], colleague, list(marks), opinion=Opinion.DO_NOT_FUND, comment=comment)


def test_blind_mode_hides_other_scores_until_mine_is_submitted(client, login_as, setting):
    other_review(setting)
    login_as(setting["reviewer"])
    url = f"/evaluation/{setting['assignment'].id}"
    before = client.get(url).get_data(as_text=True)
    assert "Élodie Caron" not in before and "Budget irréaliste" not in before
    assert "Évaluation en aveugle" in before
    transmit(client, setting)
    after = client.get(url).get_data(as_text=True)
    assert "Élodie Caron" in after and "Budget irréaliste" in after


def test_without_blind_mode_other_scores_are_visible_at_once(client, login_as, setting):
    setting["call"].blind_review = False
    db.session.commit()
    other_review(setting)
    login_as(setting["reviewer"])
    body = client.get(f"/evaluation/{setting['assignment'].id}").get_data(as_text=True)
    assert "Élodie Caron" in body and "Budget irréaliste" in body


def test_a_draft_of_another_reviewer_is_never_shown(client, login_as, setting):
    setting["call"].blind_review = False
    db.session.commit()
    review(setting["application"], ReviewerFactory(full_name="Brouillon Anonyme"), [1, 1], submitted=False)
    assert scoring.peer_reviews(setting["assignment"]) == []


# ---------------------------------------------------------------- what the applicant sees


def test_the_applicant_sees_comments_only_when_the_call_says_so_and_never_names(client, setting):
    review(setting["application"], setting["reviewer"], [4, 10], comment="Partenariat exemplaire.")
    application = setting["application"]
    assert services.applicant_visible_comments(application) == []  # show_review_comments is off
    setting["call"].show_review_comments = True
    db.session.commit()
    assert services.applicant_visible_comments(application) == []  # not decided yet
    application.state = ApplicationState.DECIDED
    db.session.commit()
    assert services.applicant_visible_comments(application) == ["Partenariat exemplaire."]
    from flask import render_template

    with client.application.test_request_context():
        html = render_template("reviews/_applicant_comments.html", application=application)
    assert "Partenariat exemplaire." in html and "Hugo Vasseur" not in html


def test_a_declared_conflict_is_listed_on_the_conflicts_page(client, login_as, setting):
    declared = ConflictOfInterestFactory(reviewer_id=setting["reviewer"].id,
                                         applicant_id=setting["application"].applicant_id, reason="Ancien bénévole")
    login_as(setting["reviewer"])
    body = client.get("/evaluation/conflits").get_data(as_text=True)
    assert "Ancien bénévole" in body
    assert client.post(f"/evaluation/conflits/{declared.id}/retirer").status_code == 302
    assert db.session.get(ConflictOfInterest, declared.id) is None
