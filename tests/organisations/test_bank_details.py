"""An organisation's bank details: edited by its members on its profile, stored compact, shown
masked everywhere but the edit field, audited masked; the database bounds them too."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from grants.database import db
from grants.models import Organisation
from tests.accounts.conftest import audit_events
from tests.accounts.test_pages import assert_well_formed_with_labels
from tests.factories import IndividualApplicantFactory, OrganisationFactory, member_of

IBAN = "FR7630006000011234567890189"
MASKED = "FR76 •••• •••• •••• •••• •••0 189"


def page(organisation) -> str:
    return f"/association/{organisation.id}/coordonnees-bancaires"


def test_a_member_records_the_bank_details_and_sees_them_masked(client, login_as):
    organisation = OrganisationFactory(iban=None, bic=None)
    user = member_of(organisation)
    login_as(user)
    profile = client.get(f"/association/{organisation.id}").get_data(as_text=True)
    assert "Aucun IBAN" in profile and page(organisation) in profile
    form = client.get(page(organisation))
    assert form.status_code == 200
    assert_well_formed_with_labels(form.get_data(as_text=True))

    response = client.post(page(organisation), data={"iban": "fr76 3000 6000 0112 3456 7890 189", "bic": "bnpafrpp"})
    assert response.status_code == 302
    db.session.refresh(organisation)
    assert (organisation.iban, organisation.bic) == (IBAN, "BNPAFRPP")
    profile = client.get(f"/association/{organisation.id}").get_data(as_text=True)
    assert MASKED in profile and IBAN not in profile and "3000 6000" not in profile
    assert f'value="{IBAN}"' in client.get(page(organisation)).get_data(as_text=True)  # the edit field only
    [event] = audit_events("organisation.bank_details_changed")
    assert event.actor_id == user.id and event.subject_id == organisation.id
    assert event.details["iban"] == MASKED and event.details["previous_iban"] == ""
    assert IBAN not in str(event.details)


def test_a_bad_iban_is_refused_under_its_field_and_nothing_changes(client, login_as):
    organisation = OrganisationFactory()
    before = organisation.iban
    login_as(member_of(organisation))
    response = client.post(page(organisation), data={"iban": "FR7630006000011234567890188", "bic": ""})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "clé de contrôle" in body and 'href="#iban"' in body
    assert 'value="FR7630006000011234567890188"' in body  # what was typed stays in the field
    db.session.refresh(organisation)
    assert organisation.iban == before
    assert audit_events("organisation.bank_details_changed") == []


def test_a_bic_without_an_iban_is_refused(client, login_as):
    organisation = OrganisationFactory()
    login_as(member_of(organisation))
    response = client.post(page(organisation), data={"iban": "", "bic": "BNPAFRPP"})
    assert response.status_code == 422
    assert "IBAN du compte de ce BIC" in response.get_data(as_text=True)


def test_only_members_reach_the_bank_details(client, login_as):
    organisation = OrganisationFactory()
    login_as(member_of(OrganisationFactory()))
    assert client.get(page(organisation)).status_code == 404
    assert client.post(page(organisation), data={"iban": IBAN}).status_code == 404
    login_as(IndividualApplicantFactory().person)
    assert client.get(page(organisation)).status_code == 404


def test_the_database_refuses_an_iban_of_impossible_length(app):
    organisation = OrganisationFactory()
    with pytest.raises(sa.exc.IntegrityError) as refused:
        db.session.execute(sa.update(Organisation).where(Organisation.id == organisation.id).values(iban="FR76"))
        db.session.flush()
    assert "ck_organisations_iban_length" in str(refused.value)
    db.session.rollback()


def test_the_home_page_says_the_bank_details_are_missing(client, login_as):
    organisation = OrganisationFactory(name="Jardins de Fives", iban=None, bic=None)
    login_as(member_of(organisation))
    home = client.get("/mon-espace").get_data(as_text=True)
    assert "Jardins de Fives : il manque coordonnées bancaires (IBAN)." in home.replace("&#39;", "'")
    organisation.iban = IBAN
    db.session.commit()
    assert "coordonnées bancaires (IBAN)" not in client.get("/mon-espace").get_data(as_text=True)
