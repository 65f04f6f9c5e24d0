"""After the award, in a real browser: the association reports what it really spent (side by side with
its forecast) and deposits its final report; the manager finds it on the follow-up list, accepts it,
reduces the grant to the actual expenses (the unpaid part back to the envelope) and pays the balance;
the association reads that its report is accepted. Every page is checked with axe."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from grants.awards import services as awards
from grants.database import db
from grants.local_time import local_today
from grants.models import BudgetLineKind, BudgetSection, Decision, PaymentTranche
from tests.awards.conftest import under_review
from tests.e2e.test_journeys import sign_in
from tests.factories import (
    TEST_PASSWORD,
    BudgetLineFactory,
    CallEnvelopeFactory,
    CallFactory,
    ManagerFactory,
)

pytestmark = pytest.mark.e2e

FORECAST = (
    (BudgetLineKind.EXPENSE, "60", "Achats", Decimal("4000.00"), "3 000", "Moins de matériel acheté"),
    (BudgetLineKind.EXPENSE, "64", "Salaires", Decimal("6000.00"), "5 000", ""),
    (BudgetLineKind.RESOURCE, "74", "Subvention Région", Decimal("5000.00"), "4 000", ""),
    (BudgetLineKind.RESOURCE, "75", "Cotisations", Decimal("5000.00"), "4 000", ""),
)


def arrange(stack) -> tuple[int, str, str, str]:
    with stack.database():
        call = CallFactory(title="Fonds pour la vie associative")
        CallEnvelopeFactory(call=call, section=BudgetSection.OPERATING, amount=Decimal("50000.00"))
        manager = ManagerFactory(email="suivi@region.example", full_name="Nora Suivi")
        application = under_review(call, Decimal("5000.00"), ends_on=date(2026, 6, 30), starts_on=date(2026, 1, 1),
                                   total_expenses=Decimal("10000.00"), total_resources=Decimal("10000.00"))
        for position, (kind, account, label, amount, *_rest) in enumerate(FORECAST):
            BudgetLineFactory(application=application, kind=kind, account=account, label=label, amount=amount,
                              position=position)
        decision = awards.award_grant(application, amount="5000", section=BudgetSection.OPERATING, actor=manager)
        awards.record_payment(decision, amount="2500", tranche=PaymentTranche.ADVANCE, actor=manager,
                              paid_on=local_today())
        db.session.commit()
        member = application.applicant.acting_users()[0]
        found = application.id, application.reference, member.email, manager.email
        db.session.remove()
    return found


def test_a_grant_from_its_final_report_to_its_balance(stack, browse):
    application_id, reference, member_email, manager_email = arrange(stack)

    association = browse("association")
    sign_in(association, member_email, TEST_PASSWORD)
    association.goto(f"/dossiers/{application_id}")
    association.page.get_by_role("link", name="Ouvrir le compte rendu financier").click()
    association.check()
    page = association.page
    for _kind, _account, label, _amount, actual, explanation in FORECAST:
        page.get_by_label(f"{label} : réalisé").fill(actual)
        if explanation:
            page.get_by_label(f"{label} : explication de l'écart").fill(explanation)
    page.get_by_label("Compte rendu d'activité").fill("Douze ateliers ont eu lieu, 150 personnes accueillies.")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_text("Le compte rendu est enregistré.")).to_be_visible()
    association.check()
    page.get_by_role("button", name="Déposer le compte rendu").click()
    expect(page.get_by_text("Le compte rendu financier est déposé")).to_be_visible()
    association.check()
    browse.leave()

    manager = browse("manager")
    sign_in(manager, manager_email, TEST_PASSWORD)
    manager.goto("/gestion/suivi-des-subventions?etape=report_submitted")
    manager.page.get_by_role("link", name=reference).click()
    manager.check()
    page = manager.page
    page.get_by_role("button", name="Accepter", exact=True).click()
    expect(page.get_by_text("Le compte rendu est accepté")).to_be_visible()
    manager.check()
    # The proportional rule proposes 5 000 × 8 000 ÷ 10 000 = 4 000.
    expect(page.get_by_label("Montant de la subvention après réduction")).to_have_value(re.compile(r"^4\s?000,00$"))
    page.get_by_label("Motif de la réduction").fill("Dépenses réalisées à 80 % du prévisionnel.")
    page.get_by_role("button", name="Réduire la subvention").click()
    expect(page.get_by_text("La subvention est ramenée à")).to_be_visible()
    manager.check()
    manager.goto(f"/gestion/dossiers/{application_id}/decision")
    page = manager.page
    page.get_by_label("Montant du versement").fill("1 500")
    page.get_by_label("Tranche").select_option("balance")
    page.get_by_label("Date du mandatement").fill(local_today().isoformat())
    page.get_by_role("button", name="Enregistrer le versement").click()
    expect(page.get_by_text("Versement de 1")).to_be_visible()
    manager.check()
    browse.leave()

    with stack.database():
        decision = db.session.scalar(db.select(Decision).where(Decision.application_id == application_id))
        assert (decision.amount, decision.paid, decision.released) == (
            Decimal("4000.00"), Decimal("4000.00"), Decimal("1000.00"))
        assert decision.balance_paid_at is not None
        db.session.remove()

    association = browse("association")
    sign_in(association, member_email, TEST_PASSWORD)
    association.goto(f"/dossiers/{application_id}")
    expect(association.page.get_by_text("Votre compte rendu financier est accepté.")).to_be_visible()
