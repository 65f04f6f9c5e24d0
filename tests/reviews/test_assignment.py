"""Assignment: conflicts of interest refused by the service and through forged forms, automatic
assignment that balances load and never picks a conflicted or recused reviewer, recusal and
reassignment, the reviewer's declarations."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from grants.database import db
from grants.errors import DomainError
from grants.models import AuditEvent, Notification
from grants.reviews import services
from grants.reviews.models import AssignmentState, ConflictOfInterest, Review, ReviewAssignment
from grants.reviews.services import ConflictOfInterestError
from tests.factories import (
    CallFactory,
    ConflictOfInterestFactory,
    IndividualApplicantFactory,
    ManagerFactory,
    MembershipFactory,
    OrganisationApplicantFactory,
    ReviewerFactory,
    UserFactory,
)
from tests.reviews.conftest import assign, review, under_review

DUE = date.today() + timedelta(days=14)


def assignments_of(application):
    return db.session.scalars(
        db.select(ReviewAssignment).where(ReviewAssignment.application_id == application.id)
    ).all()


@pytest.fixture
def call(app):
    return CallFactory()


# ---------------------------------------------------------------- conflicts in the service


def test_a_member_of_the_applicant_organisation_is_never_assigned(call):
    applicant = OrganisationApplicantFactory()
    reviewer = ReviewerFactory()
    MembershipFactory(user=reviewer, organisation=applicant.organisation)
    application = under_review(call, applicant=applicant)
    with pytest.raises(ConflictOfInterestError, match="conflit d'intérêts"):
        services.assign([application], [reviewer], due_on=DUE, actor=ManagerFactory())
    db.session.rollback()
    assert assignments_of(application) == []


def test_a_declared_conflict_is_never_assigned(call):
    application = under_review(call)
    reviewer = ReviewerFactory()
    ConflictOfInterestFactory(reviewer_id=reviewer.id, applicant_id=application.applicant_id)
    with pytest.raises(ConflictOfInterestError):
        services.assign([application], [reviewer], due_on=DUE, actor=ManagerFactory())
    db.session.rollback()
    assert assignments_of(application) == []


def test_an_individual_applicant_never_reviews_himself(call):
    reviewer = ReviewerFactory()
    applicant = IndividualApplicantFactory(person=reviewer)
    application = under_review(call, applicant=applicant)
    assert services.has_conflict(reviewer, application)
    with pytest.raises(ConflictOfInterestError):
        services.assign([application], [reviewer], due_on=DUE, actor=ManagerFactory())


def test_one_conflicted_pair_refuses_the_whole_selection(call):
    free, tied = ReviewerFactory(), ReviewerFactory()
    first, second = under_review(call), under_review(call)
    ConflictOfInterestFactory(reviewer_id=tied.id, applicant_id=second.applicant_id)
    with pytest.raises(ConflictOfInterestError):
        services.assign([first, second], [free, tied], due_on=DUE, actor=ManagerFactory())
    db.session.rollback()
    assert assignments_of(first) == [] and assignments_of(second) == []


def test_manual_assignment_checks_reviewer_due_date_and_state(call):
    application = under_review(call)
    manager = ManagerFactory()
    with pytest.raises(DomainError, match="évaluateur actif"):
        services.assign([application], [UserFactory()], due_on=DUE, actor=manager)
    with pytest.raises(DomainError, match="passée"):
        services.assign([application], [ReviewerFactory()], due_on=date.today() - timedelta(days=1), actor=manager)
    inactive = ReviewerFactory(active=False)
    with pytest.raises(DomainError):
        services.assign([application], [inactive], due_on=DUE, actor=manager)


def test_manual_assignment_creates_audits_and_emails_once_per_reviewer(call):
    reviewer = ReviewerFactory(email="hugo@region.example")
    first, second = under_review(call, title="Web-radio"), under_review(call, title="Échanges lycéens")
    outcome = services.assign([first, second], [reviewer], due_on=DUE, actor=ManagerFactory())
    db.session.commit()
    assert len(outcome.created) == 2
    assert all(a.due_on == DUE and a.state == AssignmentState.ASSIGNED for a in outcome.created)
    mails = db.session.scalars(db.select(Notification).where(Notification.event == "review_assigned")).all()
    assert len(mails) == 1 and mails[0].recipient_email == "hugo@region.example"
    assert "Web-radio" in mails[0].body_text and "Échanges lycéens" in mails[0].body_text
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "review.assigned")) == 2
    # assigning the same pair again changes nothing
    again = services.assign([first], [reviewer], due_on=DUE, actor=ManagerFactory())
    assert again.created == [] and again.already == 1


# ---------------------------------------------------------------- conflicts through the page (forged POST)


def test_a_forged_post_cannot_assign_a_conflicted_reviewer(client, login_as, call):
    applicant = OrganisationApplicantFactory()
    member = ReviewerFactory()
    MembershipFactory(user=member, organisation=applicant.organisation)
    declared = ReviewerFactory()
    application = under_review(call, applicant=applicant)
    ConflictOfInterestFactory(reviewer_id=declared.id, applicant_id=applicant.id)
    login_as(ManagerFactory())
    for reviewer in (member, declared):
        response = client.post(f"/gestion/appels/{call.id}/affectations", data={
            "manuel-applications": [str(application.id)], "manuel-reviewers": [str(reviewer.id)],
            "manuel-due_on": DUE.isoformat()})
        assert response.status_code == 422
        assert "conflit d&#39;intérêts" in response.get_data(as_text=True)
    assert assignments_of(application) == []


def test_a_forged_post_with_an_application_of_another_call_is_a_404(client, login_as, call):
    elsewhere = under_review(CallFactory())
    login_as(ManagerFactory())
    response = client.post(f"/gestion/appels/{call.id}/affectations", data={
        "manuel-applications": [str(elsewhere.id)], "manuel-reviewers": [str(ReviewerFactory().id)],
        "manuel-due_on": DUE.isoformat()})
    assert response.status_code == 404
    assert assignments_of(elsewhere) == []


def test_the_assignment_page_assigns_and_shows_conflicts(client, login_as, call):
    application = under_review(call, title="Maraîchage partagé")
    free, tied = ReviewerFactory(full_name="Hugo Vasseur"), ReviewerFactory(full_name="Élodie Caron")
    ConflictOfInterestFactory(reviewer_id=tied.id, applicant_id=application.applicant_id)
    login_as(ManagerFactory())
    page = client.get(f"/gestion/appels/{call.id}/affectations").get_data(as_text=True)
    assert application.reference in page and "Maraîchage partagé" in page
    assert "Élodie Caron" in page  # named in the conflicts column
    response = client.post(f"/gestion/appels/{call.id}/affectations", data={
        "manuel-applications": [str(application.id)], "manuel-reviewers": [str(free.id)],
        "manuel-due_on": DUE.isoformat()})
    assert response.status_code == 302
    [row] = assignments_of(application)
    assert row.reviewer_id == free.id and row.due_on == DUE
    missing = client.post(f"/gestion/appels/{call.id}/affectations", data={
        "manuel-applications": [str(application.id)], "manuel-due_on": DUE.isoformat()})
    assert missing.status_code == 422 and "Choisissez au moins un évaluateur" in missing.get_data(as_text=True)


# ---------------------------------------------------------------- automatic assignment


@pytest.mark.parametrize("applications, reviewers, per_application", [(7, 3, 2), (10, 4, 3), (5, 5, 1)])
def test_automatic_assignment_balances_load(call, applications, reviewers, per_application):
    panel = [ReviewerFactory() for _ in range(reviewers)]
    dossiers = [under_review(call) for _ in range(applications)]
    outcome = services.auto_assign(call, per_application=per_application, due_on=DUE, actor=ManagerFactory())
    db.session.commit()
    assert outcome.shortfalls == []
    for dossier in dossiers:
        rows = assignments_of(dossier)
        assert len(rows) == per_application
        assert len({r.reviewer_id for r in rows}) == per_application
    loads = Counter(a.reviewer_id for a in outcome.created)
    counts = [loads.get(r.id, 0) for r in panel]
    assert max(counts) - min(counts) <= 1, counts
    # running it again adds nobody: every dossier already has its reviewers
    assert services.auto_assign(call, per_application=per_application, due_on=DUE, actor=ManagerFactory()).created == []


def test_automatic_assignment_never_picks_a_conflict_nor_a_recused_reviewer(call):
    panel = [ReviewerFactory() for _ in range(4)]
    member, declared, recused, _free = panel
    dossiers = [under_review(call) for _ in range(6)]
    MembershipFactory(user=member, organisation=dossiers[0].applicant.organisation)
    ConflictOfInterestFactory(reviewer_id=declared.id, applicant_id=dossiers[1].applicant_id)
    assign(dossiers[2], recused, state=AssignmentState.RECUSED, reason="Ancien salarié du porteur")
    services.auto_assign(call, per_application=3, due_on=DUE, actor=ManagerFactory())
    db.session.commit()
    active = {d.id: {a.reviewer_id for a in assignments_of(d) if a.state == AssignmentState.ASSIGNED}
              for d in dossiers}
    assert member.id not in active[dossiers[0].id]
    assert declared.id not in active[dossiers[1].id]
    assert recused.id not in active[dossiers[2].id]
    assert all(len(reviewers) == 3 for reviewers in active.values())


def test_automatic_assignment_reports_a_dossier_it_cannot_fill(call):
    only, tied = ReviewerFactory(), ReviewerFactory()
    dossier = under_review(call)
    ConflictOfInterestFactory(reviewer_id=tied.id, applicant_id=dossier.applicant_id)
    outcome = services.auto_assign(call, per_application=2, due_on=DUE, actor=ManagerFactory())
    assert [a.reviewer_id for a in outcome.created] == [only.id]
    assert outcome.shortfalls == [(dossier, 1)]


def test_the_automatic_assignment_page(client, login_as, call):
    [ReviewerFactory() for _ in range(2)]
    dossier = under_review(call)
    login_as(ManagerFactory())
    bad = client.post(f"/gestion/appels/{call.id}/affectations/automatique",
                      data={"auto-per_application": "0", "auto-due_on": DUE.isoformat()})
    assert bad.status_code == 422
    response = client.post(f"/gestion/appels/{call.id}/affectations/automatique",
                           data={"auto-per_application": "2", "auto-due_on": DUE.isoformat()})
    assert response.status_code == 302
    assert len(assignments_of(dossier)) == 2


# ---------------------------------------------------------------- recusal and reassignment


def test_recusal_needs_a_reason_then_the_manager_reassigns(client, login_as, call):
    dossier = under_review(call)
    first, second = ReviewerFactory(), ReviewerFactory()
    assignment = assign(dossier, first)
    review(dossier, first, [], submitted=False)  # a draft, discarded by the recusal
    login_as(first)
    empty = client.post(f"/evaluation/{assignment.id}/deport", data={"reason": ""})
    assert empty.status_code == 422
    db.session.refresh(assignment)
    assert assignment.state == AssignmentState.ASSIGNED
    response = client.post(f"/evaluation/{assignment.id}/deport", data={"reason": "J'ai présidé cette association."})
    assert response.status_code == 302
    db.session.refresh(assignment)
    assert assignment.state == AssignmentState.RECUSED
    assert assignment.recusal_reason == "J'ai présidé cette association."
    assert db.session.scalar(db.select(Review).where(Review.assignment_id == assignment.id)) is None
    # he no longer reaches the dossier, and cannot be given it again
    assert client.get(f"/evaluation/{assignment.id}").status_code == 404
    manager = ManagerFactory()
    with pytest.raises(DomainError, match="déporté"):
        services.assign([dossier], [first], due_on=DUE, actor=manager)
    db.session.rollback()
    services.assign([dossier], [second], due_on=DUE, actor=manager)
    db.session.commit()
    states = {a.reviewer_id: a.state for a in assignments_of(dossier)}
    assert states == {first.id: AssignmentState.RECUSED, second.id: AssignmentState.ASSIGNED}


def test_a_submitted_review_cannot_be_recused_from(app, scored_call):
    dossier = under_review(scored_call)
    reviewer = ReviewerFactory()
    review(dossier, reviewer, [70])
    assignment = assignments_of(dossier)[0]
    with pytest.raises(DomainError, match="transmise"):
        services.recuse(assignment, reviewer, "Trop tard")


def test_another_reviewer_cannot_recuse_someone_elses_assignment(client, login_as, call):
    assignment = assign(under_review(call))
    login_as(ReviewerFactory())
    assert client.post(f"/evaluation/{assignment.id}/deport", data={"reason": "Pour voir"}).status_code == 404
    db.session.refresh(assignment)
    assert assignment.state == AssignmentState.ASSIGNED


def test_a_manager_removes_an_assignment_without_a_submitted_review(client, login_as, scored_call):
    dossier = under_review(scored_call)
    pending = assign(dossier)
    done_by = ReviewerFactory()
    review(dossier, done_by, [50])
    done = next(a for a in assignments_of(dossier) if a.reviewer_id == done_by.id)
    login_as(ManagerFactory())
    assert client.post(f"/gestion/affectations/{pending.id}/retirer").status_code == 302
    assert client.post(f"/gestion/affectations/{done.id}/retirer").status_code == 302
    assert [a.id for a in assignments_of(dossier)] == [done.id]


def test_removing_an_assignment_discards_its_draft_review(client, login_as, scored_call):
    dossier = under_review(scored_call)
    pending = assign(dossier)
    draft = Review(assignment=pending, comment="À compléter après l'entretien.")
    db.session.add(draft)
    db.session.commit()
    draft_id = draft.id
    login_as(ManagerFactory())
    assert client.post(f"/gestion/affectations/{pending.id}/retirer").status_code == 302
    assert assignments_of(dossier) == []
    assert db.session.get(Review, draft_id) is None


# ---------------------------------------------------------------- declarations


def test_a_reviewer_declares_a_conflict_and_steps_aside_from_its_dossiers(client, login_as, call):
    dossier = under_review(call)
    reviewer = ReviewerFactory()
    assignment = assign(dossier, reviewer)
    login_as(reviewer)
    page = client.get("/evaluation/conflits")
    assert page.status_code == 200 and dossier.applicant.display_name in page.get_data(as_text=True)
    missing = client.post("/evaluation/conflits", data={"applicant": str(dossier.applicant_id), "reason": ""})
    assert missing.status_code == 422
    response = client.post("/evaluation/conflits", data={"applicant": str(dossier.applicant_id),
                                                        "reason": "Trésorier jusqu'en 2025"})
    assert response.status_code == 302
    conflict = db.session.scalars(db.select(ConflictOfInterest)).one()
    assert conflict.reviewer_id == reviewer.id and conflict.applicant_id == dossier.applicant_id
    db.session.refresh(assignment)
    assert assignment.state == AssignmentState.RECUSED and "Trésorier" in assignment.recusal_reason
    twice = client.post("/evaluation/conflits", data={"applicant": str(dossier.applicant_id), "reason": "encore"})
    assert twice.status_code == 422
    unknown = client.post("/evaluation/conflits", data={"applicant": "987654", "reason": "inconnu"})
    assert unknown.status_code == 422


def test_only_the_declarer_withdraws_a_declaration(client, login_as, call):
    dossier = under_review(call)
    mine = ConflictOfInterestFactory(reviewer_id=ReviewerFactory().id, applicant_id=dossier.applicant_id)
    login_as(ReviewerFactory())
    assert client.post(f"/evaluation/conflits/{mine.id}/retirer").status_code == 404
    assert db.session.get(ConflictOfInterest, mine.id) is not None
