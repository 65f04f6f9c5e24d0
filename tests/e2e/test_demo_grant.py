"""On the demo data, in a real browser, grants go from their award to their closure. A dossier under
review (FIPCE, its two reviews in) is awarded by the manager's click, its advance paid, its final report
deposited and accepted, its balance paid. The association signs the convention awaiting its signature
(DCP), the manager countersigns it and pays the advance; on the flagship SISA grant, whose advance is
paid and report due, the association deposits its final report, the manager accepts it and pays the
balance, and the association reads that its grant is closed. Every page is checked with axe."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from grants.database import db
from grants.demo import final_reports as demo_reports
from grants.demo.content import MANAGER_EMAIL
from grants.demo.conventions import AWAITING_SIGNATURE
from grants.demo.seed import DEMO_PASSWORD
from grants.local_time import local_today
from grants.models import Application, BudgetLineKind, Convention, Decision
from tests.e2e.conftest import people_for
from tests.e2e.test_journeys import sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def browse_demo(request, demo_stack, playwright_browser, axe_source, accessibility_log):
    demo_stack.restore()
    yield from people_for(request, playwright_browser, demo_stack.base_url, axe_source, accessibility_log)


# The demo's dossier under review whose reviews are all in (content.APPLICATIONS, FIPCE, "reviewed").
REVIEWED_UNDER_REVIEW = "FIPCE-2026-0003"


def grant_titled(title: str) -> dict:
    return grant_of(db.session.scalar(sa.select(Application).where(Application.title == title)))


def grant_of(application: Application) -> dict:
    decision = db.session.scalar(sa.select(Decision).where(Decision.application_id == application.id))
    owner = application.applicant.acting_users()[0]
    lines = [(f"{line.label} — {line.funder}" if line.funder else line.label, line.amount)
             for line in application.budget_lines if line.kind in (BudgetLineKind.EXPENSE, BudgetLineKind.RESOURCE)]
    return {"id": application.id, "reference": application.reference, "owner": owner.email, "lines": lines,
            "amount": decision.amount if decision else None, "paid": decision.paid if decision else None,
            "requested": application.amount_requested, "state": application.state}


def euros(amount: Decimal) -> str:
    return f"{amount:,.2f}".replace(",", " ").replace(".", ",")


def deposit_final_report(browse_demo, grant: dict, activity: str) -> None:
    """The association reports its actual figures (here: as forecast), saves a draft and deposits it."""
    association = browse_demo("association")
    sign_in(association, grant["owner"], DEMO_PASSWORD)
    association.goto(f"/dossiers/{grant['id']}")
    association.page.get_by_role("link", name="Ouvrir le compte rendu financier").click()
    association.check()
    page = association.page
    for label, amount in grant["lines"]:
        page.get_by_label(f"{label} : réalisé").fill(euros(amount))
    page.get_by_label("Compte rendu d'activité").fill(activity)
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_text("Le compte rendu est enregistré.")).to_be_visible()
    association.check()
    page.get_by_role("button", name="Déposer le compte rendu").click()
    expect(page.get_by_text("Le compte rendu financier est déposé")).to_be_visible()
    association.check()
    browse_demo.leave()


def pay(manager, grant: dict, amount: Decimal, tranche: str) -> None:
    """The manager records a payment on the decision page, dated today as the form offers."""
    manager.goto(f"/gestion/dossiers/{grant['id']}/decision")
    form = manager.page.locator("form[action$='/decision/versements']")
    expect(form.get_by_label("Date du mandatement")).to_have_value(local_today().isoformat())
    form.get_by_label("Montant du versement").fill(euros(amount))
    form.get_by_label("Tranche").select_option(tranche)
    form.get_by_role("button", name="Enregistrer le versement").click()
    expect(manager.page.get_by_text(re.compile(r"Versement de .* enregistré"))).to_be_visible()
    manager.check()


def accept_final_report(manager, grant: dict) -> None:
    manager.goto("/gestion/suivi-des-subventions?etape=report_submitted")
    manager.page.get_by_role("link", name=grant["reference"]).click()
    manager.check()
    manager.page.get_by_role("button", name="Accepter", exact=True).click()
    expect(manager.page.get_by_text("Le compte rendu est accepté")).to_be_visible()
    manager.check()


def close_grant(browse_demo, grant: dict, *, balance: Decimal) -> None:
    """The manager accepts the deposited report and pays the balance; the association reads it."""
    manager = browse_demo("manager")
    sign_in(manager, MANAGER_EMAIL, DEMO_PASSWORD)
    accept_final_report(manager, grant)
    pay(manager, grant, balance, "balance")
    browse_demo.leave()
    association = browse_demo("association")
    sign_in(association, grant["owner"], DEMO_PASSWORD)
    association.goto(f"/dossiers/{grant['id']}")
    expect(association.page.get_by_text("Votre compte rendu financier est accepté.")).to_be_visible()
    association.check()


def test_on_the_demo_a_dossier_under_review_is_awarded_and_taken_to_its_closure(demo_stack, browse_demo):
    with demo_stack.database():
        reviewed = grant_of(db.session.scalar(
            sa.select(Application).where(Application.reference == REVIEWED_UNDER_REVIEW)))
        db.session.remove()
    assert reviewed["state"].value == "under_review" and reviewed["amount"] is None
    granted = reviewed["requested"]
    advance = (granted / 2).quantize(Decimal("0.01"))

    # The award: the manager reads the dossier's reviews in the ranking's order and clicks "Accorder".
    manager = browse_demo("manager")
    sign_in(manager, MANAGER_EMAIL, DEMO_PASSWORD)
    manager.goto(f"/gestion/dossiers/{reviewed['id']}/decision")
    award = manager.page.locator("form[action$='/decision/accorder']")
    expect(award.get_by_label("Montant accordé")).to_have_value(re.compile("^" + euros(granted).replace(" ", r"\s?") + "$"))
    award.get_by_role("button", name="Accorder").click()
    expect(manager.page.get_by_text(re.compile(rf"Subvention de .* accordée à {REVIEWED_UNDER_REVIEW}"))).to_be_visible()
    manager.check()
    pay(manager, reviewed, advance, "advance")
    browse_demo.leave()

    # The association reads its award and its decision letter, then reports.
    association = browse_demo("association")
    sign_in(association, reviewed["owner"], DEMO_PASSWORD)
    association.goto(f"/dossiers/{reviewed['id']}")
    expect(association.page.get_by_text(re.compile("Une subvention de .* vous est accordée"))).to_be_visible()
    expect(association.page.get_by_role("link", name="Télécharger la lettre de décision (PDF)")).to_be_visible()
    association.check()
    browse_demo.leave()
    deposit_final_report(browse_demo, reviewed, "Le repair café a ouvert chaque samedi ; l'atelier vélo forme dix bénévoles.")

    close_grant(browse_demo, reviewed, balance=granted - advance)

    with demo_stack.database():
        closed = db.session.scalar(sa.select(Decision).where(Decision.application_id == reviewed["id"]))
        assert closed.amount == closed.paid == granted and closed.balance_paid_at is not None
        assert closed.committee_session is None and closed.application.state.value == "decided"
        db.session.remove()


def test_on_the_demo_a_grant_goes_from_its_award_to_its_closure(demo_stack, browse_demo):
    with demo_stack.database():
        waiting = grant_titled(AWAITING_SIGNATURE)
        flagship = grant_titled(demo_reports.REPORT_DUE)
        db.session.remove()

    # The convention awaiting its signature: signed online, countersigned, then the advance.
    association = browse_demo("association")
    sign_in(association, waiting["owner"], DEMO_PASSWORD)
    association.goto(f"/dossiers/{waiting['id']}")
    association.page.get_by_role("link", name="Convention de subvention : la lire, la signer").click()
    association.check()
    association.page.get_by_label(re.compile("J'ai lu la convention")).check()
    association.page.get_by_role("button", name="Signer la convention").click()
    expect(association.page.get_by_text("Convention signée.")).to_be_visible()
    association.check()
    browse_demo.leave()

    manager = browse_demo("manager")
    sign_in(manager, MANAGER_EMAIL, DEMO_PASSWORD)
    manager.goto(f"/gestion/dossiers/{waiting['id']}/convention")
    manager.page.get_by_role("button", name="Contresigner la convention").click()
    expect(manager.page.get_by_text("Convention contresignée")).to_be_visible()
    manager.check()
    manager.goto(f"/gestion/dossiers/{waiting['id']}/decision")
    form = manager.page.locator("form[action$='/decision/versements']")
    form.get_by_label("Montant du versement").fill("1 200")
    form.get_by_label("Date du mandatement").fill(local_today().isoformat())
    form.get_by_role("button", name="Enregistrer le versement").click()
    expect(manager.page.get_by_text(re.compile(r"Versement de 1\s200,00\s€ enregistré"))).to_be_visible()
    manager.check()
    browse_demo.leave()

    # The flagship: its final report deposited, accepted, the balance paid.
    deposit_final_report(browse_demo, flagship, "Les deux cantines sont équipées ; les écoles sont jumelées.")
    close_grant(browse_demo, flagship, balance=flagship["amount"] - flagship["paid"])

    with demo_stack.database():
        signed = db.session.scalar(sa.select(Convention).join(Decision).where(Decision.application_id == waiting["id"]))
        assert signed.signed_by.email == waiting["owner"] and signed.countersigned_at is not None
        assert db.session.scalar(sa.select(Decision.paid).where(Decision.application_id == waiting["id"])) == 1200
        closed = db.session.scalar(sa.select(Decision).where(Decision.application_id == flagship["id"]))
        assert closed.balance_paid_at is not None and closed.paid == closed.amount == flagship["amount"]
        db.session.remove()
    # The next test starts from the seeded demo again (browse_demo restores it).
