"""Eligibility screening: eligible dossiers go to review, ineligible ones need a reason the applicant
reads and is emailed; only a submitted, unscreened dossier can be screened."""

from __future__ import annotations

import pytest

from grants.database import db
from grants.errors import DomainError
from grants.models import ApplicationState, AuditEvent, Notification
from grants.reviews import services
from tests.factories import (
    ApplicationFactory,
    CallFactory,
    ManagerFactory,
    OrganisationApplicantFactory,
    ReviewerFactory,
    SubmittedApplicationFactory,
    member_of,
)


@pytest.fixture
def dossier(app):
    """A submitted application of an organisation with two members."""
    applicant = OrganisationApplicantFactory()
    first = member_of(applicant.organisation, email="claire@asso.example")
    member_of(applicant.organisation, email="yacine@asso.example")
    return SubmittedApplicationFactory(applicant=applicant, created_by=first, title="Eau potable à Kayes")


def url(application, suffix=""):
    return f"/gestion/appels/{application.call_id}/recevabilite{suffix}"


def notifications(event):
    return db.session.scalars(db.select(Notification).where(Notification.event == event)).all()


def test_an_eligible_dossier_goes_to_review(client, login_as, dossier):
    manager = ManagerFactory()
    login_as(manager)
    response = client.post(url(dossier, f"/{dossier.id}"), data={"decision": "eligible", "reason": ""})
    assert response.status_code == 302
    db.session.refresh(dossier)
    assert dossier.state == ApplicationState.UNDER_REVIEW
    assert dossier.eligible is True and dossier.screened_by_id == manager.id and dossier.screened_at
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "application.screened")).one()
    assert (event.from_state, event.to_state) == ("submitted", "under_review")
    assert notifications("eligibility_refused") == []


def test_an_ineligible_dossier_needs_a_reason(client, login_as, dossier):
    login_as(ManagerFactory())
    response = client.post(url(dossier, f"/{dossier.id}"), data={"decision": "ineligible", "reason": "  "})
    assert response.status_code == 422
    assert "Indiquez le motif d&#39;irrecevabilité" in response.get_data(as_text=True)
    db.session.refresh(dossier)
    assert dossier.state == ApplicationState.SUBMITTED and dossier.eligible is None
    assert notifications("eligibility_refused") == []


def test_an_ineligible_dossier_is_closed_and_every_member_is_emailed_the_reason(client, login_as, dossier):
    login_as(ManagerFactory())
    reason = "L'association n'a pas un an d'existence."
    response = client.post(url(dossier, f"/{dossier.id}"), data={"decision": "ineligible", "reason": reason})
    assert response.status_code == 302
    db.session.refresh(dossier)
    assert dossier.state == ApplicationState.INELIGIBLE
    assert dossier.eligible is False and dossier.eligibility_reason == reason
    sent = notifications("eligibility_refused")
    assert sorted(n.recipient_email for n in sent) == ["claire@asso.example", "yacine@asso.example"]
    assert all(reason in n.body_text and dossier.reference in n.subject for n in sent)


def test_only_eligible_dossiers_can_be_assigned(app, dossier):
    manager = ManagerFactory()
    services.screen_application(dossier, eligible=False, reason="Hors champ", actor=manager)
    db.session.commit()
    with pytest.raises(DomainError, match="pas en instruction"):
        services.assign([dossier], [ReviewerFactory()], due_on=_in_days(10), actor=manager)


def test_a_dossier_is_screened_once(app, dossier):
    manager = ManagerFactory()
    services.screen_application(dossier, eligible=True, reason=None, actor=manager)
    db.session.commit()
    with pytest.raises(DomainError):
        services.screen_application(dossier, eligible=False, reason="Trop tard", actor=manager)
    draft = ApplicationFactory()
    with pytest.raises(DomainError):
        services.screen_application(draft, eligible=True, reason=None, actor=manager)


def test_the_screening_list_shows_what_waits_and_what_was_decided(client, login_as, dossier):
    other = SubmittedApplicationFactory(call=dossier.call, title="Jardins scolaires")
    services.screen_application(other, eligible=False, reason="Pièces manquantes", actor=ManagerFactory())
    ApplicationFactory(call=dossier.call, title="Brouillon invisible")
    db.session.commit()
    login_as(ManagerFactory())
    body = client.get(url(dossier)).get_data(as_text=True)
    assert "Eau potable à Kayes" in body and "Jardins scolaires" in body and "Pièces manquantes" in body
    assert "Brouillon invisible" not in body
    page = client.get(url(dossier, f"/{dossier.id}"))
    assert page.status_code == 200 and "Enregistrer le verdict" in page.get_data(as_text=True)


def test_a_dossier_of_another_call_is_a_404(client, login_as, dossier):
    login_as(ManagerFactory())
    other_call = CallFactory()
    assert client.get(f"/gestion/appels/{other_call.id}/recevabilite/{dossier.id}").status_code == 404
    response = client.post(f"/gestion/appels/{other_call.id}/recevabilite/{dossier.id}",
                           data={"decision": "eligible"})
    assert response.status_code == 404
    db.session.refresh(dossier)
    assert dossier.state == ApplicationState.SUBMITTED


def test_screening_is_for_managers_only(client, login_as, dossier):
    assert client.get(url(dossier)).status_code == 302  # anonymous: to the login page
    login_as(ReviewerFactory())
    assert client.post(url(dossier, f"/{dossier.id}"), data={"decision": "eligible"}).status_code == 403
    db.session.refresh(dossier)
    assert dossier.state == ApplicationState.SUBMITTED


def _in_days(days):
    from datetime import date, timedelta

    return date.today() + timedelta(days=days)
