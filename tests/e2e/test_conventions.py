"""A grant's convention in the browser: the manager generates it, the association's legal
representative reads it and signs it online (consent box), the manager countersigns it, and only then
records the advance. Every page is checked with axe."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from grants.awards import services as awards
from grants.database import db
from grants.local_time import local_today
from grants.models import Applicant, ApplicationState, BudgetSection, Convention, Decision
from tests.factories import (
    TEST_PASSWORD,
    CallEnvelopeFactory,
    CallFactory,
    ManagerFactory,
    SubmittedApplicationFactory,
    member_of,
    with_submitted_review,
)

pytestmark = pytest.mark.e2e


def arrange(stack) -> dict:
    with stack.database():
        owner = member_of(email="president@cooperation-lens.example")
        organisation = owner.memberships[0].organisation
        applicant = db.session.scalar(db.select(Applicant).where(Applicant.organisation_id == organisation.id))
        call = CallFactory(title="Coopération décentralisée", slug="cooperation-decentralisee-convention",
                           reference_prefix="COOP", max_grant=Decimal("60000.00"))
        CallEnvelopeFactory(call=call, section=BudgetSection.OPERATING, amount=Decimal("200000.00"))
        application = SubmittedApplicationFactory(call=call, applicant=applicant, created_by=owner,
                                                  state=ApplicationState.UNDER_REVIEW, title="Écoles jumelées",
                                                  amount_requested=Decimal("40000.00"))
        manager = ManagerFactory()
        with_submitted_review(application, assigned_by=manager)
        awards.award_grant(application, amount="30000", section=BudgetSection.OPERATING, actor=manager)
        db.session.commit()
        arranged = {"owner": owner.email, "manager": manager.email, "application": application.id}
        db.session.remove()
    return arranged


def sign_in(person, email: str) -> None:
    page = person.page
    person.goto("/connexion")
    page.locator("#email").fill(email)
    page.locator("#password").fill(TEST_PASSWORD)
    page.locator("#password").press("Enter")
    expect(page).to_have_url(re.compile(r"/mon-espace$"))
    person.check()


def test_a_convention_is_generated_signed_countersigned_then_the_advance_paid(stack, browse):
    arranged = arrange(stack)
    application_id = arranged["application"]
    manager = browse("manager")
    sign_in(manager, arranged["manager"])
    manager.goto(f"/gestion/dossiers/{application_id}/convention")
    manager.page.get_by_role("button", name="Générer").click()
    expect(manager.page.get_by_text("La convention est générée")).to_be_visible()
    manager.check()

    association = browse("association")
    sign_in(association, arranged["owner"])
    association.goto(f"/dossiers/{application_id}")
    association.page.get_by_role("link", name="Convention de subvention : la lire, la signer").click()
    expect(association.page.get_by_text("Article 4 — Modalités de versement")).to_be_visible()
    expect(association.page.get_by_text(re.compile(r"une avance de 9\s000,00\s€"))).to_be_visible()
    association.check()
    association.page.get_by_label(re.compile("J'ai lu la convention")).check()
    association.page.get_by_role("button", name="Signer la convention").click()
    expect(association.page.get_by_text("Convention signée.")).to_be_visible()
    association.check()

    manager.goto(f"/gestion/dossiers/{application_id}/decision")
    manager.page.get_by_role("link", name="Générer, suivre la signature, contresigner").click()
    manager.check()
    manager.page.get_by_role("button", name="Contresigner la convention").click()
    expect(manager.page.get_by_text("Convention contresignée")).to_be_visible()
    manager.check()

    manager.goto(f"/gestion/dossiers/{application_id}/decision")
    form = manager.page.locator("form[action$='/decision/versements']")
    form.get_by_label("Montant du versement").fill("9 000")
    form.get_by_label("Date du mandatement").fill(local_today().isoformat())
    form.get_by_role("button", name="Enregistrer le versement").click()
    expect(manager.page.get_by_text(re.compile(r"Versement de 9\s000,00\s€ enregistré"))).to_be_visible()
    manager.check()

    with stack.database():
        convention = db.session.scalar(db.select(Convention))
        decision = db.session.get(Decision, convention.decision_id)
        assert convention.signed_by.email == arranged["owner"] and convention.countersigned_at is not None
        assert decision.paid == Decimal("9000.00")
        db.session.remove()
