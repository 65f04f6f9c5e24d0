"""After submission: read-only for the association, withdrawal until a decision, the managers' request
for corrections that reopens the named sections, the status timeline, and the managers' pages."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from grants.applications import services
from grants.database import db, utcnow
from grants.local_time import to_local
from grants.models import Application, ApplicationState, CorrectionRequest, Notification
from tests.applications.conftest import page
from tests.applications.test_journey import budget_form, project_form
from tests.factories import (
    ApplicationFactory,
    ManagerFactory,
    MembershipFactory,
    SubmittedApplicationFactory,
    UserFactory,
    complete_draft,
)


def submitted(call, applicant):
    application = complete_draft(call=call, applicant=applicant, partner_region="Kayes")
    services.submit(application, actor=application.created_by)
    db.session.commit()
    return application


def test_withdrawal_asks_for_confirmation_and_tells_every_member(app, client, login_as, call, member, applicant):
    colleague = UserFactory()
    MembershipFactory(user=colleague, organisation=applicant.organisation)
    application = submitted(call, applicant)
    login_as(member)
    body = page(client.get(f"/dossiers/{application.id}/retrait"))
    assert "data-confirm=" in body and "Le retrait est définitif" in body
    assert client.post(f"/dossiers/{application.id}/retrait", data={"reason": "Projet reporté"}).status_code == 302
    db.session.refresh(application)
    assert application.state == ApplicationState.WITHDRAWN and application.withdrawn_at is not None
    mails = db.session.scalars(sa.select(Notification).where(Notification.event == "application_withdrawn")).all()
    assert {m.recipient_email for m in mails} == {member.email, colleague.email}
    assert all(application.reference in m.body_text for m in mails)
    body = page(client.get(f"/dossiers/{application.id}"))
    assert "Dossier retiré" in body and "Dossier déposé" in body  # the timeline
    assert "Retirer le dossier" not in body
    response = client.post(f"/dossiers/{application.id}/retrait", data={})
    assert response.status_code == 302  # nothing more to withdraw


def test_a_decided_application_cannot_be_withdrawn(app, client, login_as, call, member, applicant):
    application = SubmittedApplicationFactory(call=call, applicant=applicant, state=ApplicationState.DECIDED)
    login_as(member)
    client.post(f"/dossiers/{application.id}/retrait", data={})
    db.session.refresh(application)
    assert application.state == ApplicationState.DECIDED


def test_a_manager_asks_for_corrections_and_the_association_answers(app, client, login_as, call, member, applicant):
    application = submitted(call, applicant)
    manager = ManagerFactory()
    login_as(manager)
    body = page(client.get(f"/gestion/appels/{call.id}/dossiers"))
    assert application.reference in body and applicant.organisation.name in body
    body = page(client.get(f"/gestion/appels/{call.id}/dossiers?etat=withdrawn"))
    assert application.reference not in body
    body = page(client.get(f"/gestion/dossiers/{application.id}"))
    assert "Demander des compléments" in body and "Accès à l'eau" in body and "Dossier déposé" in body

    due = to_local(utcnow() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    body = page(client.post(f"/gestion/dossiers/{application.id}/complements",
                            data={"message": "", "sections": [], "due_at": due}), 422)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CorrectionRequest)) == 0
    response = client.post(f"/gestion/dossiers/{application.id}/complements", data={
        "message": "Détaillez les frais de mission.", "sections": ["budget"], "due_at": due})
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.state == ApplicationState.CORRECTIONS_REQUESTED
    mail = db.session.scalars(sa.select(Notification).where(Notification.event == "corrections_requested")).one()
    assert mail.recipient_email == member.email and "Détaillez les frais de mission." in mail.body_text
    assert "Budget prévisionnel" in mail.body_text

    client.post("/deconnexion")
    login_as(member)
    body = page(client.get(f"/dossiers/{application.id}"))
    assert "Compléments demandés" in body and "Détaillez les frais de mission." in body
    # The project is not reopened: a post changes nothing.
    client.post(f"/dossiers/{application.id}/projet", data=project_form(application.version, title="Autre titre"))
    db.session.refresh(application)
    assert application.title != "Autre titre"
    # The budget is.
    response = client.post(f"/dossiers/{application.id}/budget", data=budget_form(
        application.version, **{"expenses-1-label": "Missions : 2 voyages de 10 jours"}))
    assert response.status_code == 302
    db.session.refresh(application)
    response = client.post(f"/dossiers/{application.id}/depot", data={"version": application.version})
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.state == ApplicationState.SUBMITTED and application.reference == "SISA-2026-0001"
    assert db.session.scalar(sa.select(CorrectionRequest)).answered_at is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.event == "application_submitted")) == 2

    client.post("/deconnexion")
    login_as(manager)
    body = page(client.get(f"/gestion/dossiers/{application.id}"))
    assert "Dossier complété et redéposé" in body and "Missions : 2 voyages de 10 jours" in body


def test_corrections_are_refused_on_a_draft_and_in_the_past(app, client, login_as, call, member, applicant):
    draft = ApplicationFactory(call=call, applicant=applicant)
    manager = ManagerFactory()
    login_as(manager)
    due = to_local(utcnow() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    body = page(client.post(f"/gestion/dossiers/{draft.id}/complements", data={
        "message": "Complétez.", "sections": ["budget"], "due_at": due}), 422)
    assert "Seul un dossier déposé" in body
    application = submitted(call, ApplicationFactory(call=call).applicant)
    past = to_local(utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    body = page(client.post(f"/gestion/dossiers/{application.id}/complements", data={
        "message": "Complétez.", "sections": ["budget"], "due_at": past}), 422)
    assert "Le délai doit être dans le futur." in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CorrectionRequest)) == 0


def test_my_applications_lists_state_and_deadline(app, client, login_as, call, member, applicant):
    ApplicationFactory(call=call, applicant=applicant, title="Jardins scolaires à Saint-Louis")
    login_as(member)
    body = page(client.get("/dossiers"))
    assert "Jardins scolaires à Saint-Louis" in body and "Brouillon" in body
    assert call.closes_at.year and "Solidaires Ici Solidaires Ailleurs" in body
    body = page(client.get("/mon-espace"))
    application = db.session.scalar(sa.select(Application))
    assert f'href="/dossiers/{application.id}"' in body and 'href="/dossiers"' in body
