"""The association downloads its decision letter and its submission receipt as PDFs whose text states
the right figures (read back with pypdf); nobody else gets them."""

from __future__ import annotations

import io
from decimal import Decimal

from pypdf import PdfReader

from grants.awards import services as awards
from grants.database import db
from grants.models import ApplicationState
from tests.awards.conftest import OPERATING, under_review
from tests.factories import ApplicationFactory, member_of


def pdf_text(response) -> str:
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    reader = PdfReader(io.BytesIO(response.data))
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def applicant_of(application):
    return application.created_by


def test_the_award_letter_states_the_amount_and_what_comes_next(call, manager, client, login_as):
    application = under_review(call, Decimal("6000.00"), title="Jardins partagés")
    awards.award_grant(application, amount="5500", section=OPERATING, actor=manager,
                       reason="Commission permanente du 12 mai")
    db.session.commit()
    login_as(applicant_of(application))
    page = client.get(f"/dossiers/{application.id}").get_data(as_text=True)
    assert f"/dossiers/{application.id}/lettre-de-decision.pdf" in page
    response = client.get(f"/dossiers/{application.id}/lettre-de-decision.pdf")
    assert f"lettre-de-decision-{application.reference}.pdf" in response.headers["Content-Disposition"]
    text = pdf_text(response)
    assert "Lettre de décision" in text and application.reference in text and "Jardins partagés" in text
    assert "5 500,00 €" in text and "6 000,00 €" in text and "Fonctionnement" in text
    assert "Commission permanente du 12 mai" in text
    assert application.applicant.organisation.name in text and application.applicant.organisation.city in text
    assert "Région Hauts-de-France" in text  # the funder, GRANTOR_NAME
    assert "compte rendu financier" in text and "6 mois" in text


def test_the_refusal_letter_gives_the_reason(call, manager, client, login_as):
    application = under_review(call)
    awards.reject_application(application, reason="Le projet ne relève pas de cet appel.", actor=manager)
    db.session.commit()
    login_as(applicant_of(application))
    text = pdf_text(client.get(f"/dossiers/{application.id}/lettre-de-decision.pdf"))
    assert "n'a pas été retenue" in text.replace("’", "'") and "Le projet ne relève pas de cet appel." in text
    assert "€" not in text.split("Lettre de décision", 1)[1].split("Motif", 1)[0].replace("Objet", "")


def test_no_letter_without_a_decision_on_the_waiting_list_or_once_cancelled(call, manager, client, login_as):
    undecided = under_review(call)
    waiting = under_review(call)
    awards.waitlist_application(waiting, actor=manager, reason="Si des crédits se libèrent")
    cancelled = under_review(call)
    decision = awards.award_grant(cancelled, amount="1000", section=OPERATING, actor=manager)
    awards.cancel_award(decision, actor=manager, reason="Projet abandonné")
    db.session.commit()
    for application in (undecided, waiting, cancelled):
        login_as(applicant_of(application))
        assert client.get(f"/dossiers/{application.id}/lettre-de-decision.pdf").status_code == 404


def test_the_submission_receipt_attests_the_deposit(call, client, login_as):
    application = under_review(call, Decimal("4200.00"), title="Repair café")
    db.session.commit()
    login_as(applicant_of(application))
    assert f"/dossiers/{application.id}/attestation-de-depot.pdf" in client.get(
        f"/dossiers/{application.id}/recu").get_data(as_text=True)
    response = client.get(f"/dossiers/{application.id}/attestation-de-depot.pdf")
    assert f"attestation-de-depot-{application.reference}.pdf" in response.headers["Content-Disposition"]
    text = pdf_text(response)
    assert "Attestation de dépôt" in text and application.reference in text and "Repair café" in text
    assert "4 200,00 €" in text and call.title in text
    assert application.applicant.organisation.siret in text


def test_a_draft_has_no_receipt(call, client, login_as):
    submitted = under_review(call)
    draft = ApplicationFactory(call=call, applicant=submitted.applicant, created_by=submitted.created_by)
    assert draft.state == ApplicationState.DRAFT and draft.reference is None
    db.session.commit()
    login_as(draft.created_by)
    assert client.get(f"/dossiers/{draft.id}/attestation-de-depot.pdf").status_code == 404


def test_another_association_gets_neither(call, manager, client, login_as):
    application = under_review(call)
    awards.award_grant(application, amount="1000", section=OPERATING, actor=manager)
    stranger = member_of()
    db.session.commit()
    login_as(stranger)
    assert client.get(f"/dossiers/{application.id}/lettre-de-decision.pdf").status_code == 404
    assert client.get(f"/dossiers/{application.id}/attestation-de-depot.pdf").status_code == 404
