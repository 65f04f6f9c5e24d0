"""An association applies online from the call page to the receipt: each section saved as a draft,
the totals recomputed by the server, the submission numbered and acknowledged."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from grants.database import db
from grants.models import (
    Application,
    ApplicationState,
    AuditEvent,
    BudgetLine,
    BudgetLineKind,
    Notification,
)
from tests.applications.conftest import last_reference_number, page
from tests.factories import MembershipFactory, UserFactory, complete_draft


def budget_form(version: int, **overrides) -> dict:
    data = {
        "version": str(version),
        "section": "fonctionnement",
        "amount_requested": "5 000",
        "expenses-0-account": "60", "expenses-0-label": "Pompes solaires", "expenses-0-amount": "6 000,50",
        "expenses-1-account": "62", "expenses-1-label": "Missions à Kayes", "expenses-1-amount": "3 999,50",
        "resources-0-account": "74", "resources-0-funder": "Ville de Roubaix", "resources-0-label": "Subvention",
        "resources-0-amount": "3 000",
        "resources-1-account": "75", "resources-1-label": "Fonds propres", "resources-1-amount": "2000",
        "in_kind_uses-0-account": "86", "in_kind_uses-0-label": "Personnel bénévole", "in_kind_uses-0-amount": "800",
        "in_kind_contributions-0-account": "87", "in_kind_contributions-0-label": "Bénévolat",
        "in_kind_contributions-0-amount": "800",
    }
    data.update(overrides)
    return data


def project_form(version: int, **overrides) -> dict:
    data = {
        "version": str(version),
        "title": "Accès à l'eau potable dans trois villages du cercle de Kayes",
        "summary": "Réhabiliter trois forages et former des comités de gestion de l'eau.",
        "objectives": "Trois forages en service ; trois comités formés.",
        "target_public": "Les habitants de trois villages, dont 1 200 enfants.",
        "beneficiaries_count": "2400",
        "places": "Cercle de Kayes (Mali) et Roubaix",
        "partner_region": "Kayes",
        "starts_on": "2026-09-01",
        "ends_on": "2027-06-30",
    }
    data.update(overrides)
    return data


def test_an_association_applies_from_the_call_page_to_the_receipt(app, client, login_as, call, member, applicant):
    colleague = UserFactory()
    MembershipFactory(user=colleague, organisation=applicant.organisation)
    login_as(member)

    body = page(client.get(f"/appels/{call.slug}"))
    assert "Déposer un dossier" in body and f"/appels/{call.slug}/deposer" in body

    body = page(client.get(f"/appels/{call.slug}/deposer"))
    assert applicant.organisation.name in body
    response = client.post(f"/appels/{call.slug}/deposer", data={"applicant": applicant.id})
    assert response.status_code == 302
    application = db.session.scalars(sa.select(Application)).one()
    assert application.state == ApplicationState.DRAFT and application.applicant_id == applicant.id
    assert response.headers["Location"].endswith(f"/dossiers/{application.id}/identification")

    body = page(client.get(f"/dossiers/{application.id}/identification"))
    assert applicant.organisation.siret in body and f"/association/{applicant.organisation.id}/modifier" in body

    response = client.post(f"/dossiers/{application.id}/projet", data=project_form(application.version, **{"continue": "1"}))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/dossiers/{application.id}/budget")
    db.session.refresh(application)
    assert application.partner_region == "Kayes" and application.beneficiaries_count == 2400

    body = page(client.get(f"/dossiers/{application.id}/budget"))
    assert 'data-budget' in body and "js/applications.js" in body
    response = client.post(f"/dossiers/{application.id}/budget", data=budget_form(application.version))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.refresh(application)
    assert application.total_expenses == Decimal("10000.00")
    assert application.total_resources == Decimal("10000.00")
    assert application.amount_requested == Decimal("5000.00")
    region = db.session.scalars(sa.select(BudgetLine).where(BudgetLine.is_region_request.is_(True))).one()
    assert region.amount == Decimal("5000.00") and region.account == "74"
    in_kind = db.session.scalars(sa.select(BudgetLine).where(BudgetLine.kind == BudgetLineKind.IN_KIND_USE)).one()
    assert in_kind.amount == Decimal("800.00")

    # A colleague resumes the same draft.
    client.post("/deconnexion")
    login_as(colleague)
    body = page(client.get("/dossiers"))
    assert "Accès à l'eau potable" in body and "Solidaires Ici Solidaires Ailleurs" in body
    body = page(client.get(f"/dossiers/{application.id}/depot"))
    assert "Toutes les parties sont complètes" in body
    response = client.post(f"/dossiers/{application.id}/depot", data={"version": application.version})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/dossiers/{application.id}/recu")
    db.session.refresh(application)
    assert application.state == ApplicationState.SUBMITTED
    assert application.reference == "SISA-2026-0001"
    assert last_reference_number("SISA", 2026) == 1

    body = page(client.get(f"/dossiers/{application.id}/recu"))
    assert "SISA-2026-0001" in body and "Accusé de réception" in body and "Dossier déposé" in body
    receipts = db.session.scalars(sa.select(Notification).where(Notification.event == "application_submitted")).all()
    assert {n.recipient_email for n in receipts} == {member.email, colleague.email}
    assert all("SISA-2026-0001" in n.subject and "SISA-2026-0001" in n.body_text for n in receipts)
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "application.submitted")).to_state == "submitted"

    # Read-only afterwards: the section pages show no form, and a post changes nothing.
    body = page(client.get(f"/dossiers/{application.id}/projet"))
    assert "<form method=\"post\" action=\"/dossiers" not in body and "lecture seule" in body
    response = client.post(f"/dossiers/{application.id}/projet", data=project_form(application.version, title="Autre"))
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.title.startswith("Accès à l'eau")

    body = page(client.get(f"/appels/{call.slug}"))
    assert "Reprendre mon dossier" in body


def test_double_submission_gives_one_reference(app, client, login_as, call, member, applicant):
    application = complete_draft(call=call, applicant=applicant, partner_region="Kayes")
    login_as(member)
    version = application.version
    first = client.post(f"/dossiers/{application.id}/depot", data={"version": version})
    second = client.post(f"/dossiers/{application.id}/depot", data={"version": version})
    assert first.status_code == 302 and second.status_code == 302
    assert second.headers["Location"].endswith(f"/dossiers/{application.id}/recu")
    db.session.refresh(application)
    assert application.reference == "SISA-2026-0001" and last_reference_number("SISA", 2026) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "application.submitted")) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.event == "application_submitted")) == 1


def test_references_follow_each_other_per_call(app, client, login_as, call):
    from grants.models import Applicant
    from tests.factories import complete_draft, member_of

    users = [member_of() for _ in range(3)]
    references = []
    for user in users:
        organisation = user.memberships[0].organisation
        owner = db.session.scalar(sa.select(Applicant).where(Applicant.organisation_id == organisation.id))
        application = complete_draft(call=call, applicant=owner, partner_region="Matam")
        client.post("/deconnexion")
        login_as(user)
        assert client.post(f"/dossiers/{application.id}/depot", data={"version": application.version}).status_code == 302
        db.session.refresh(application)
        references.append(application.reference)
    assert references == ["SISA-2026-0001", "SISA-2026-0002", "SISA-2026-0003"]
