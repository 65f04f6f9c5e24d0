"""The three journeys of the service, in a real browser against the served app.

An association registers, drafts an application over two visits, uploads a PDF, fixes an unbalanced
budget and submits it (with the keyboard alone), and reads its receipt email; a reviewer scores it;
a manager screens it, runs the committee and awards, and sees the envelope drop on the dashboard;
the association sees the decision. Each step starts from where the previous one left the data, so
the steps run in order in one test (pytest-xdist never splits it), and a failure names its step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from grants.database import db
from grants.models import (
    Application,
    ApplicationState,
    BudgetSection,
    Organisation,
    ReviewAssignment,
    User,
)
from tests.e2e.keyboard import fill_by_tab, focused, press_to_navigate, replace_text, tab_to
from tests.factories import (
    CallEnvelopeFactory,
    CallFactory,
    CriterionFactory,
    ManagerFactory,
    ProgrammeBudgetFactory,
    ProgrammeFactory,
    RequiredDocumentFactory,
    ReviewerFactory,
)
from tests.live_servers import wait_for

pytestmark = pytest.mark.e2e

PASSWORD = "une phrase de passe assez longue"
STAFF_PASSWORD = "correct horse battery staple"  # tests.factories.TEST_PASSWORD
ASSOCIATION_EMAIL = "presidente@amis-du-bocage.example"
SIRET = "73282932000074"  # a valid SIRET (DOMAIN.md)


@dataclass
class Journey:
    """What the steps hand to each other, and the steps done so far."""

    call_slug: str = ""
    call_title: str = ""
    call_id: int = 0
    manager_email: str = ""
    reviewer_email: str = ""
    application_id: int = 0
    reference: str = ""
    done: list[str] = field(default_factory=list)


def arrange_call(stack) -> Journey:
    """The call the association applies to, the Region's staff, and the journey's state."""
    with stack.database():
        programme = ProgrammeFactory(code="vie-associative", name="Vie associative")
        ProgrammeBudgetFactory(programme=programme, year=2026, section=BudgetSection.OPERATING,
                               authorised=Decimal("500000.00"))
        call = CallFactory(programme=programme, title="Fonds d'initiative associative 2026",
                           slug="fonds-initiative-associative-2026", reference_prefix="FIA",
                           min_grant=Decimal("1000.00"), max_grant=Decimal("15000.00"))
        CallEnvelopeFactory(call=call, section=BudgetSection.OPERATING, amount=Decimal("120000.00"))
        CriterionFactory(call=call, position=0, name="Utilité sociale du projet", weight=Decimal("2.00"))
        CriterionFactory(call=call, position=1, name="Solidité du budget", weight=Decimal("1.00"))
        RequiredDocumentFactory(call=call, name="Statuts de l'association", accepted_types=["pdf"])
        manager = ManagerFactory(email="charge-de-mission@region.example", full_name="Claire Instructrice")
        reviewer = ReviewerFactory(email="expert@region.example", full_name="Rémi Évaluateur")
        state = Journey(call_slug=call.slug, call_title=call.title, call_id=call.id,
                        manager_email=manager.email, reviewer_email=reviewer.email)
        db.session.remove()
    return state


def announced(page, text: str):
    """The status message (role=status, read out by screen readers) that says ``text``."""
    return page.get_by_role("status").filter(has_text=text)


def sign_in(browsing, email: str, password: str) -> None:
    browsing.goto("/connexion")
    page = browsing.page
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").last.click()
    expect(page).to_have_url(re.compile(r"/mon-espace$"))
    browsing.check()


def follow_call_nav(browsing, label: str) -> None:
    """A page of the call's management, from the navigation its pages share."""
    browsing.page.get_by_role("navigation", name="Gestion de l’appel").get_by_role("link", name=label).click()
    expect(browsing.page.get_by_role("navigation", name="Gestion de l’appel").get_by_role(
        "link", name=label)).to_have_attribute("aria-current", "page")
    browsing.check()


def sign_out(browsing) -> None:
    browsing.page.get_by_role("button", name="Se déconnecter").click()
    expect(announced(browsing.page, "Vous êtes déconnecté(e).")).to_be_visible()
    browsing.check()


# --- 1. The association -------------------------------------------------------------------------


def association_finds_the_call_and_registers(stack, journey, browse, tmp_path):
    association = browse("association")
    page = association.page
    association.goto("/")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Appels à projets").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    association.check()
    page.get_by_role("link", name=journey.call_title).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(journey.call_title)
    association.check()

    # Applying needs an account: the call offers to create one, for an organisation.
    page.get_by_role("link", name="Créer un compte").click()
    association.check()
    page.get_by_role("link", name=re.compile("organisme|association", re.I)).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inscrire un organisme")
    association.check()

    # A wrong SIRET is refused, with the error tied to its field.
    page.get_by_label("Nom", exact=False).first.fill("Les Amis du Bocage")
    page.locator("#siret").fill("73282932000079")
    page.locator("#rna").fill("W595012345")
    page.locator("#street").fill("4 chemin des Haies")
    page.locator("#postal_code").fill("59270")
    page.locator("#city").fill("Bailleul")
    page.locator("#contact_email").fill("contact@amis-du-bocage.example")
    page.locator("#phone").fill("03 28 00 00 00")
    page.locator("#full_name").fill("Odile Présidente")
    page.locator("#email").fill(ASSOCIATION_EMAIL)
    page.locator("#password").fill(PASSWORD)
    page.locator("#password_confirm").fill(PASSWORD)
    page.get_by_role("button", name="Inscrire l'organisme").click()
    expect(page.get_by_role("alert")).to_be_visible()
    siret = page.locator("#siret")
    expect(siret).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#siret-error")).to_be_visible()
    assert "siret-error" in siret.get_attribute("aria-describedby")
    assert focused(page)["role"] == "alert", "the error summary takes the focus"
    association.check()

    siret.fill(SIRET)
    page.locator("#password").fill(PASSWORD)
    page.locator("#password_confirm").fill(PASSWORD)
    page.get_by_role("button", name="Inscrire l'organisme").click()
    # No session before the address is confirmed: the page says to open the emailed link.
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre messagerie")
    association.check()
    confirmations = wait_for(lambda: [m for m in stack.emails_to(ASSOCIATION_EMAIL)
                                      if m["Subject"] == "Confirmez votre adresse e-mail"], timeout=60)
    assert confirmations, f"no confirmation link reached the SMTP server; logs in {stack.logs}"
    body = confirmations[0].get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/inscription/confirmer/\S+", body).group(0)
    assert link.startswith(stack.base_url), "the email links to the served app"
    association.goto(link)
    expect(page).to_have_url(re.compile(r"/connexion$"))
    expect(announced(page, "Votre adresse est confirmée")).to_be_visible()
    association.check()
    sign_in(association, ASSOCIATION_EMAIL, PASSWORD)
    with stack.database():
        organisation = db.session.scalar(db.select(Organisation).where(Organisation.siret == SIRET))
        assert organisation is not None and organisation.name == "Les Amis du Bocage"
        assert db.session.scalar(db.select(User).where(User.email == ASSOCIATION_EMAIL)) is not None
        db.session.remove()


def association_drafts_over_two_visits(stack, journey, browse, tmp_path):
    association = browse("association")
    page = association.page
    sign_in(association, ASSOCIATION_EMAIL, PASSWORD)

    association.goto(f"/appels/{journey.call_slug}")
    page.get_by_role("link", name="Déposer un dossier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Déposer un dossier")
    association.check()
    page.get_by_role("button", name="Commencer le dossier").click()
    expect(announced(page, "brouillon")).to_be_visible()
    association.check()
    journey.application_id = int(re.search(r"/dossiers/(\d+)/", page.url).group(1))

    # First visit: the project, saved as a draft, half done.
    page.get_by_role("navigation", name="Parties du dossier").get_by_role("link", name=re.compile("Le projet")).click()
    association.check()
    page.get_by_label("Titre du projet").fill("Jardins partagés du Mont Noir")
    page.get_by_label("Résumé").fill("Créer trois jardins partagés ouverts aux habitants et aux écoles.")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(announced(page, "enregistré")).to_be_visible()
    association.check()
    sign_out(association)

    # Second visit: the draft is found from the applicant's home page and finished.
    sign_in(association, ASSOCIATION_EMAIL, PASSWORD)
    page.get_by_role("link", name="Jardins partagés du Mont Noir").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jardins partagés du Mont Noir")
    association.check()
    page.get_by_role("navigation", name="Parties du dossier").get_by_role("link", name=re.compile("Le projet")).click()
    expect(page.get_by_label("Résumé")).to_have_value(re.compile("trois jardins partagés"))
    association.check()
    page.get_by_label("Objectifs").fill("Cultiver ensemble, transmettre les savoir-faire, réduire les déchets verts.")
    page.get_by_label("Public visé").fill("Les habitants du quartier et deux écoles primaires.")
    page.get_by_label("Nombre de bénéficiaires").fill("240")
    page.get_by_label("Lieux de réalisation").fill("Bailleul, Mont Noir")
    page.get_by_label("Début du projet").fill("2027-03-01")
    page.get_by_label("Fin du projet").fill("2027-11-30")
    page.get_by_role("button", name="Enregistrer et continuer").click()
    association.check()
    with stack.database():
        application = db.session.get(Application, journey.application_id)
        assert application.state == ApplicationState.DRAFT
        assert application.title == "Jardins partagés du Mont Noir"
        assert application.beneficiaries_count == 240
        db.session.remove()


MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def association_uploads_a_pdf(stack, journey, browse, tmp_path):
    association = browse("association")
    page = association.page
    sign_in(association, ASSOCIATION_EMAIL, PASSWORD)
    association.goto(f"/dossiers/{journey.application_id}/pieces")
    statutes = tmp_path / "statuts-amis-du-bocage.pdf"
    statutes.write_bytes(MINIMAL_PDF)
    page.get_by_label("Fichier pour « Statuts de l'association »").set_input_files(statutes)
    page.get_by_role("button", name="Joindre les fichiers choisis").click()
    expect(page.get_by_role("link", name="statuts-amis-du-bocage.pdf")).to_be_visible()
    association.check()
    with stack.database():
        application = db.session.get(Application, journey.application_id)
        assert [a.original_filename for a in application.attachments] == ["statuts-amis-du-bocage.pdf"]
        db.session.remove()


def association_balances_its_budget_and_submits_with_the_keyboard_alone(stack, journey, browse, tmp_path):
    """Tab, typing, Enter and Space only: no click from here to the receipt."""
    association = browse("association")
    page = association.page
    sign_in(association, ASSOCIATION_EMAIL, PASSWORD)
    association.goto(f"/dossiers/{journey.application_id}")

    # From the dossier, to its budget, by the section navigation.
    tab_to(page, re.compile(r"^Budget prévisionnel"), role="link")
    press_to_navigate(page)
    expect(page.get_by_role("heading", name="Budget prévisionnel du projet")).to_be_visible()
    association.check()

    tab_to(page, "Section budgétaire", role="combobox")
    page.keyboard.press("ArrowDown")  # "Fonctionnement", the call's only envelope
    fill_by_tab(page, "Montant demandé à la Région", "8 000")
    # Expenses: 6 000 + 4 000. Resources: 1 000 besides the 8 000 asked: 1 000 short.
    fill_by_tab(page, "Dépense 1 : libellé", "Outils, graines et plants")
    fill_by_tab(page, "Dépense 1 : montant", "6 000")
    tab_to(page, "Dépense 2 : compte", role="combobox")
    page.keyboard.press("ArrowDown")
    fill_by_tab(page, "Dépense 2 : libellé", "Location du terrain")
    fill_by_tab(page, "Dépense 2 : montant", "4 000")
    fill_by_tab(page, "Ressource 1 : libellé", "Cotisations des jardiniers")
    fill_by_tab(page, "Ressource 1 : montant", "mille euros")  # unreadable: refused, tied to its field
    expect(page.locator("output[data-balance]")).to_contain_text("Écart")
    tab_to(page, "Enregistrer le brouillon", role="button")
    press_to_navigate(page)
    expect(page.get_by_role("alert")).to_be_visible()
    assert focused(page)["role"] == "alert", "after a refused save the focus is on the error summary"
    association.check()
    bad = page.locator("[aria-invalid=true]")
    expect(bad).to_have_count(1)
    error_id = bad.get_attribute("aria-describedby").split()[-1]
    expect(page.locator(f"#{error_id}")).to_be_visible()

    # The summary links to the field; the field is fixed, but the budget stays 1 000 short.
    tab_to(page, re.compile("montant", re.I), role="link")
    page.keyboard.press("Enter")
    assert focused(page)["invalid"] == "true", "the summary's link leads to the field in error"
    page.keyboard.press("Control+A")
    page.keyboard.type("1 000")
    tab_to(page, "Enregistrer le brouillon", role="button")
    press_to_navigate(page)
    expect(page.get_by_role("note")).to_contain_text("pas équilibré")
    association.check()

    # Submitting an unbalanced budget is refused, and said so where the focus lands.
    tab_to(page, re.compile("Dépôt"), role="link")
    press_to_navigate(page)
    expect(page.get_by_role("heading", name="Vérifier et déposer le dossier")).to_be_visible()
    association.check()
    page.once("dialog", lambda dialog: dialog.accept())  # the browser's confirm(): Enter accepts it
    tab_to(page, "Déposer le dossier", role="button")
    press_to_navigate(page, "Space")
    expect(page.get_by_role("alert")).to_contain_text("n'est pas déposé")
    assert focused(page)["role"] == "alert"
    association.check()

    # Back to the budget from the list of what is missing; one more resource line balances it.
    tab_to(page, re.compile("Budget prévisionnel"), role="link")
    press_to_navigate(page)
    association.check()
    tab_to(page, "Ressource 1 : montant", role="textbox")
    replace_text(page, "2 000")
    expect(page.locator("output[data-balance]")).to_contain_text("Équilibré")
    tab_to(page, "Enregistrer le brouillon", role="button")
    press_to_navigate(page)
    expect(announced(page, "Le budget est enregistré.")).to_be_visible()
    association.check()

    tab_to(page, re.compile("Dépôt"), role="link")
    press_to_navigate(page)
    expect(page.get_by_text("le dossier peut être déposé")).to_be_visible()
    association.check()
    page.once("dialog", lambda dialog: dialog.accept())
    tab_to(page, "Déposer le dossier", role="button")
    press_to_navigate(page)
    expect(announced(page, "déposé sous la référence")).to_be_visible()
    association.check()
    journey.reference = re.search(r"référence (\S+?)\.?$", announced(page, "référence").inner_text().strip()).group(1)
    with stack.database():
        application = db.session.get(Application, journey.application_id)
        assert application.state == ApplicationState.SUBMITTED
        assert application.reference == journey.reference
        assert application.total_expenses == application.total_resources == Decimal("10000.00")
        db.session.remove()


def association_reads_its_receipt_email(stack, journey, browse, tmp_path):
    receipts = wait_for(lambda: [m for m in stack.emails_to(ASSOCIATION_EMAIL)
                                 if journey.reference in m["Subject"]], timeout=60)
    assert receipts, (f"no receipt for {journey.reference} reached the SMTP server; got "
                      f"{[m['Subject'] for m in stack.emails_to(ASSOCIATION_EMAIL)]}; logs in {stack.logs}")
    receipt = receipts[0]
    assert receipt["Subject"] == f"Accusé de réception : dossier {journey.reference}"
    body = re.sub(r"\s+", " ", receipt.get_body(preferencelist=("plain",)).get_content())
    assert "Jardins partagés du Mont Noir" in body
    assert "8 000,00 €" in body
    if stack.backend == "postgresql":  # sent by the Celery worker process, not by the web server
        worker_log = stack.logs[-1].read_text(errors="replace")
        assert re.search(r"deliver_notifications?\[[\w-]+\] succeeded", worker_log), worker_log[-2000:]
    link = re.search(r"https?://\S+/dossiers/\d+", body).group(0)
    assert link == f"{stack.base_url}/dossiers/{journey.application_id}", "the email links to the served app"

    # The link leads to the dossier, now read-only, once signed in.
    association = browse("association")
    sign_in(association, ASSOCIATION_EMAIL, PASSWORD)
    association.goto(link)
    expect(association.page.get_by_text(journey.reference).first).to_be_visible()


# --- 2. The manager screens and assigns; the reviewer scores -------------------------------------


def manager_screens_the_application_and_assigns_a_reviewer(stack, journey, browse, tmp_path):
    manager = browse("manager")
    page = manager.page
    sign_in(manager, journey.manager_email, STAFF_PASSWORD)
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Gestion").click()
    manager.check()
    page.get_by_role("link", name=journey.call_title).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(journey.call_title)
    manager.check()

    follow_call_nav(manager, "Recevabilité")
    page.get_by_role("link", name=journey.reference).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jardins partagés du Mont Noir")
    manager.check()
    page.get_by_label(re.compile("^Recevable")).check()
    page.get_by_role("button", name="Enregistrer le verdict").click()
    expect(announced(page, "est recevable")).to_be_visible()
    manager.check()

    follow_call_nav(manager, "Affectations")
    page.get_by_label(f"Choisir le dossier {journey.reference}").check()
    page.get_by_label(re.compile("Rémi Évaluateur")).check()
    page.get_by_role("button", name="Affecter", exact=True).click()
    expect(announced(page, "1 affectation créée")).to_be_visible()
    manager.check()
    with stack.database():
        application = db.session.get(Application, journey.application_id)
        assert application.state == ApplicationState.UNDER_REVIEW and application.eligible is True
        assignments = db.session.scalars(
            db.select(ReviewAssignment).where(ReviewAssignment.application_id == application.id)).all()
        assert [a.reviewer.email for a in assignments] == [journey.reviewer_email]
        db.session.remove()


def reviewer_scores_the_application(stack, journey, browse, tmp_path):
    assigned = wait_for(lambda: stack.emails_to(journey.reviewer_email), timeout=60)
    assert assigned, f"the reviewer was not told of the assignment; logs in {stack.logs}"
    reviewer = browse("reviewer")
    page = reviewer.page
    sign_in(reviewer, journey.reviewer_email, STAFF_PASSWORD)
    reviewer.goto("/evaluation")
    page.get_by_role("link", name=journey.reference).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jardins partagés du Mont Noir")
    reviewer.check()

    page.get_by_label("Note de « Utilité sociale du projet » (sur 5)").fill("4,5")
    page.get_by_label("Note de « Solidité du budget » (sur 5)").fill("7")  # above the scale: refused
    page.get_by_label("Financer au montant demandé").check()
    page.get_by_label("Commentaire général").fill("Projet ancré dans le quartier, budget réaliste.")
    page.get_by_role("button", name="Vérifier avant transmission").click()
    expect(page.get_by_role("alert")).to_be_visible()
    score = page.get_by_label("Note de « Solidité du budget » (sur 5)")
    expect(score).to_have_attribute("aria-invalid", "true")
    reviewer.check()

    score.fill("4")
    page.get_by_role("button", name="Vérifier avant transmission").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Relisez votre évaluation avant de la transmettre")
    reviewer.check()
    page.get_by_role("button", name="Transmettre l'évaluation").click()
    expect(announced(page, "est transmise")).to_be_visible()
    reviewer.check()
    with stack.database():
        (assignment,) = db.session.scalars(
            db.select(ReviewAssignment).where(ReviewAssignment.application_id == journey.application_id)).all()
        review = assignment.review
        assert review is not None and review.state.value == "submitted"
        assert sorted(s.score for s in review.scores) == [Decimal("4"), Decimal("4.5")]
        db.session.remove()


# --- 3. The manager ranks, runs the committee and awards -----------------------------------------


def envelope_row(page, call_title: str) -> dict:
    """The call's figures on the envelope dashboard, by column header."""
    table = page.get_by_role("table").filter(has=page.get_by_role("link", name=call_title)).first
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    row = table.get_by_role("row").filter(has=page.get_by_role("link", name=call_title)).first
    cells = [c.strip() for c in row.locator("th, td").all_inner_texts()]
    return dict(zip(headers, cells, strict=False))


def euros(text: str) -> str:
    return re.sub(r"\s", " ", text)


def manager_runs_the_committee_and_sees_the_envelope_drop(stack, journey, browse, tmp_path):
    manager = browse("manager")
    page = manager.page
    sign_in(manager, journey.manager_email, STAFF_PASSWORD)
    manager.goto("/gestion/enveloppes")
    before = envelope_row(page, journey.call_title)
    assert euros(before["Reste à engager"]) == "120 000,00 €", before

    page.get_by_role("link", name=journey.call_title).first.click()
    manager.check()
    follow_call_nav(manager, "Classement")
    expect(page.get_by_role("link", name=journey.reference).first).to_be_visible()
    follow_call_nav(manager, "Commission")
    page.get_by_label(f"Décision pour {journey.reference}").select_option("award")
    page.get_by_label(f"Montant pour {journey.reference}").fill("8 000")
    page.get_by_role("button", name="Recalculer").click()
    expect(page.get_by_text("112 000,00").first).to_be_visible()
    manager.check()
    page.get_by_role("button", name="Confirmer toutes les décisions").click()
    expect(announced(page, "8 000,00")).to_be_visible()
    manager.check()

    manager.goto("/gestion/enveloppes")
    after = envelope_row(page, journey.call_title)
    assert euros(after["Engagé"]) == "8 000,00 €", after
    assert euros(after["Reste à engager"]) == "112 000,00 €", after
    with stack.database():
        application = db.session.get(Application, journey.application_id)
        assert application.state == ApplicationState.DECIDED
        db.session.remove()


# --- 4. The association sees the decision --------------------------------------------------------


def association_sees_the_decision(stack, journey, browse, tmp_path):
    letters = wait_for(lambda: [m for m in stack.emails_to(ASSOCIATION_EMAIL)
                                if "subvention vous est accordée" in m["Subject"]], timeout=60)
    assert letters, f"no decision email; got {[m['Subject'] for m in stack.emails_to(ASSOCIATION_EMAIL)]}"
    association = browse("association")
    page = association.page
    sign_in(association, ASSOCIATION_EMAIL, PASSWORD)
    page.get_by_role("link", name="Jardins partagés du Mont Noir").first.click()
    association.check()
    decision = page.get_by_role("region", name="Décision")
    expect(decision).to_contain_text("Une subvention de 8 000,00 € vous est accordée.")


STEPS = [
    association_finds_the_call_and_registers,
    association_drafts_over_two_visits,
    association_uploads_a_pdf,
    association_balances_its_budget_and_submits_with_the_keyboard_alone,
    association_reads_its_receipt_email,
    manager_screens_the_application_and_assigns_a_reviewer,
    reviewer_scores_the_application,
    manager_runs_the_committee_and_sees_the_envelope_drop,
    association_sees_the_decision,
]


def test_an_application_from_registration_to_decision(stack, browse, tmp_path):
    """The steps in order, in one test (each needs the data the previous one left). Each step opens
    the browsers it needs and closes them at its end: no one stays signed in from a step to the next."""
    journey = arrange_call(stack)
    for number, step in enumerate(STEPS, 1):
        try:
            step(stack, journey, browse, tmp_path)
            browse.leave()
        except Exception as failure:
            passed = ", ".join(journey.done) or "none"
            raise AssertionError(
                f"step {number}/{len(STEPS)} «{step.__name__}» failed; steps passed before it: {passed}"
            ) from failure
        journey.done.append(step.__name__)
