"""No payment without the payee's IBAN: the service refuses, naming the payee; the manager's payment
form shows the account (masked) or says it is missing. A person's IBAN is on their account page."""

from __future__ import annotations

from decimal import Decimal

import pytest

from grants.awards import services
from grants.database import db
from grants.local_time import local_today
from grants.models import EnvelopeMovement, MovementKind
from tests.accounts.conftest import audit_events
from tests.awards.conftest import OPERATING, under_review
from tests.factories import (
    IndividualApplicantFactory,
    SubmittedApplicationFactory,
    member_of,
    with_submitted_review,
)

IBAN = "FR7630006000011234567890189"
MASKED = "FR76 •••• •••• •••• •••• •••0 189"


def awarded(call, manager, application):
    decision = services.award_grant(application, amount="3000", section=OPERATING, actor=manager)
    db.session.commit()
    return decision


def payments() -> int:
    return db.session.scalar(db.select(db.func.count(EnvelopeMovement.id)).where(
        EnvelopeMovement.kind == MovementKind.PAYMENT))


def test_a_payment_to_an_organisation_without_iban_is_refused_naming_it(call, manager):
    application = under_review(call)
    application.applicant.organisation.iban = None
    application.applicant.organisation.name = "Jardins de Fives"
    decision = awarded(call, manager, application)
    with pytest.raises(services.MissingBankDetails) as refused:
        services.record_payment(decision, amount="1000", tranche="advance", actor=manager, paid_on=local_today())
    assert "Jardins de Fives" in refused.value.message and "profil" in refused.value.message
    db.session.rollback()
    assert payments() == 0 and services.decision_of(application).paid == 0


def test_the_payment_form_shows_the_account_masked_or_its_absence(call, manager, login_as):
    application = under_review(call)
    application.applicant.organisation.iban = IBAN
    awarded(call, manager, application)
    client = login_as(manager)
    page = client.get(f"/gestion/dossiers/{application.id}/decision").get_data(as_text=True)
    assert MASKED in page and IBAN not in page

    application.applicant.organisation.iban = None
    db.session.commit()
    page = client.get(f"/gestion/dossiers/{application.id}/decision").get_data(as_text=True)
    assert "Aucun IBAN" in page
    assert f'action="/gestion/dossiers/{application.id}/decision/versements"' not in page  # no form to fail
    refused = client.post(f"/gestion/dossiers/{application.id}/decision/versements", data={
        "versement-amount": "1000", "versement-tranche": "advance", "versement-paid_on": local_today().isoformat()})
    assert refused.status_code == 422
    assert application.applicant.organisation.name in refused.get_data(as_text=True)
    assert payments() == 0


def test_a_person_records_an_iban_on_the_account_page_and_is_paid_into_it(call, manager, client, login_as):
    applicant = IndividualApplicantFactory(iban=None)
    application = with_submitted_review(SubmittedApplicationFactory(
        call=call, applicant=applicant, state="under_review", amount_requested=Decimal("5000.00")))
    decision = awarded(call, manager, application)
    with pytest.raises(services.MissingBankDetails) as refused:
        services.record_payment(decision, amount="1000", tranche="advance", actor=manager, paid_on=local_today())
    assert applicant.person.full_name in refused.value.message and "Mon compte" in refused.value.message
    db.session.rollback()

    login_as(applicant.person)
    account = client.get("/compte").get_data(as_text=True)
    assert "Aucun IBAN" in account and "/compte/coordonnees-bancaires" in account
    assert client.post("/compte/coordonnees-bancaires", data={"iban": "FR76 3000 6000 0112 3456 7890 188"}).status_code == 422
    assert client.post("/compte/coordonnees-bancaires", data={"iban": "FR76 3000 6000 0112 3456 7890 189"}).status_code == 302
    db.session.refresh(applicant)
    assert applicant.iban == IBAN
    assert MASKED in client.get("/compte").get_data(as_text=True)
    [event] = audit_events("account.bank_details_changed")
    assert event.details["iban"] == MASKED

    services.record_payment(decision, amount="1000", tranche="advance", actor=manager, paid_on=local_today())
    db.session.commit()
    assert payments() == 1


def test_the_account_bank_page_is_for_individual_applicants_only(client, login_as, manager):
    login_as(member_of())
    assert client.get("/compte/coordonnees-bancaires").status_code == 404
    login_as(manager)
    assert client.get("/compte/coordonnees-bancaires").status_code == 403
