"""The association's journey on a phone (390 × 844, an iPhone 12-14): no page scrolls sideways (WCAG
1.4.10, reflow), axe finds nothing serious on any of them, and the header folds its menu behind a
button that works with the keyboard."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from grants.awards import services as awards
from grants.database import db
from grants.local_time import local_today
from grants.models import Applicant, ApplicationState, BudgetSection, PaymentTranche
from tests.e2e.keyboard import focused
from tests.factories import (
    TEST_PASSWORD,
    CallEnvelopeFactory,
    CallFactory,
    ManagerFactory,
    RequiredDocumentFactory,
    SubmittedApplicationFactory,
    complete_draft,
    member_of,
    with_submitted_review,
)

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def arrange(stack) -> dict:
    """A member of an association with a draft on an open call and a grant, part paid, on another."""
    with stack.database():
        member = member_of(email="tresoriere@jardins-du-mont.example")
        applicant = db.session.scalar(db.select(Applicant).where(
            Applicant.organisation_id == member.memberships[0].organisation_id))
        open_call = CallFactory(title="Fonds pour la vie associative", slug="fonds-vie-associative-telephone",
                                reference_prefix="FVA")
        CallEnvelopeFactory(call=open_call, section=BudgetSection.OPERATING, amount=Decimal("80000.00"))
        RequiredDocumentFactory(call=open_call, name="Statuts de l'association", accepted_types=["pdf"])
        draft = complete_draft(call=open_call, applicant=applicant, title="Ateliers vélo du samedi")
        decided_call = CallFactory(title="Solidarité internationale", slug="solidarite-internationale-telephone",
                                   reference_prefix="SOL")
        CallEnvelopeFactory(call=decided_call, section=BudgetSection.OPERATING, amount=Decimal("80000.00"))
        funded = SubmittedApplicationFactory(call=decided_call, applicant=applicant, created_by=member,
                                             state=ApplicationState.UNDER_REVIEW, title="Jardins partagés",
                                             amount_requested=Decimal("6000.00"))
        manager = ManagerFactory()
        with_submitted_review(funded, assigned_by=manager)
        decision = awards.award_grant(funded, amount="5500", section=BudgetSection.OPERATING, actor=manager)
        awards.record_payment(decision, amount="3300", tranche=PaymentTranche.ADVANCE, actor=manager,
                              paid_on=local_today())
        db.session.commit()
        arranged = {"email": member.email, "organisation_id": applicant.organisation_id,
                    "draft": draft.id, "funded": funded.id, "call": open_call.slug}
        db.session.remove()
    return arranged


def sideways_overflow(page) -> int:
    """How many pixels the page is wider than the screen (0 when nothing scrolls sideways)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def test_the_association_journey_fits_a_phone(stack, browse):
    arranged = arrange(stack)
    association = browse("association")
    page = association.page
    page.set_viewport_size(PHONE)
    too_wide = []

    def visit(path: str) -> None:
        association.goto(path)
        overflow = sideways_overflow(page)
        if overflow > 0:
            too_wide.append(f"{path}: {overflow} px too wide")

    for path in ("/", "/appels/", f"/appels/{arranged['call']}", "/connexion", "/inscription/choix",
                 "/inscription", "/inscription/particulier", "/mot-de-passe-oublie"):
        visit(path)

    association.goto("/connexion")
    page.locator("#email").fill(arranged["email"])
    page.locator("#password").fill(TEST_PASSWORD)
    page.locator("#password").press("Enter")
    expect(page).to_have_url(re.compile(r"/mon-espace$"))
    association.check()

    draft, funded = arranged["draft"], arranged["funded"]
    dossier_pages = [f"/dossiers/{draft}"] + [
        f"/dossiers/{draft}/{segment}" for segment in ("identification", "projet", "budget", "pieces", "depot")
    ]
    for path in ("/mon-espace", "/dossiers", f"/appels/{arranged['call']}/deposer", *dossier_pages, f"/dossiers/{draft}/retrait",
                 f"/dossiers/{funded}", f"/dossiers/{funded}/recu", f"/dossiers/{funded}/recapitulatif",
                 "/association", f"/association/{arranged['organisation_id']}/modifier",
                 f"/association/{arranged['organisation_id']}/membres", "/notifications", "/compte",
                 "/compte/notifications"):
        visit(path)
    assert too_wide == []

    # "Mes dossiers" keeps the state of each dossier on screen, the grant's amount and payment included.
    association.goto("/dossiers")
    funded_card = page.get_by_role("row").filter(has_text="Jardins partagés")
    expect(funded_card.get_by_text(re.compile(r"Accordé : 5\s500,00\s€ — 3\s300,00\s€ versés"))).to_be_in_viewport()
    # The budget's amounts are on screen, not cut off to the right.
    association.goto(f"/dossiers/{draft}/budget")
    amount = page.locator("#expenses input[data-amount]").first
    box = amount.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]


def test_the_phone_header_folds_its_menu_behind_a_keyboard_button(stack, browse):
    visitor = browse("visitor")
    page = visitor.page
    page.set_viewport_size(PHONE)
    visitor.goto("/")
    header = page.locator(".site-header").bounding_box()
    assert header is not None and header["height"] < 120, f"the header takes {header and header['height']} px"

    button = page.get_by_role("button", name="Menu")
    navigation = page.get_by_role("navigation", name="Navigation principale")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(navigation).to_be_hidden()

    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(navigation.get_by_role("link", name="Appels à projets")).to_be_visible()
    visitor.check()
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "Appels à projets", "the menu follows its button"
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(navigation).to_be_hidden()
    assert focused(page)["role"] == "button"

    # On a wide screen there is no button: the menu is the header.
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(button).to_be_hidden()
    expect(navigation).to_be_visible()
