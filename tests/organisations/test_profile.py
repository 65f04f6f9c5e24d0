"""The organisation profile: seen and edited by its members only."""

from __future__ import annotations

import re

import pytest

from grants.database import db
from tests.accounts.conftest import audit_events
from tests.accounts.test_pages import assert_well_formed_with_labels
from tests.factories import (
    IndividualApplicantFactory,
    MembershipFactory,
    OrganisationFactory,
    member_of,
)
from tests.organisations.conftest import invite


def edit_data(organisation, **changes) -> dict:
    data = {
        "name": organisation.name, "legal_form": organisation.legal_form, "siret": organisation.siret,
        "rna": organisation.rna or "", "street": organisation.street, "postal_code": organisation.postal_code,
        "city": organisation.city, "contact_email": organisation.email, "phone": organisation.phone or "",
    }
    return {**data, **changes}


def test_a_member_sees_his_organisation(client, login_as):
    organisation = OrganisationFactory(name="Compagnie du Beffroi", siret="73282932000074", rna="W595012345")
    login_as(member_of(organisation))
    response = client.get("/association")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Compagnie du Beffroi" in body
    assert "732 829 320 00074" in body and "W595012345" in body
    assert f'href="/association/{organisation.id}/modifier"' in body
    assert client.get(f"/association/{organisation.id}").status_code == 200


def test_a_member_of_several_organisations_chooses(client, login_as):
    first, second = OrganisationFactory(name="Alpha Solidarité"), OrganisationFactory(name="Bêta Culture")
    user = member_of(first)
    MembershipFactory(user=user, organisation=second)
    login_as(user)
    body = client.get("/association").get_data(as_text=True)
    assert f'href="/association/{first.id}"' in body and f'href="/association/{second.id}"' in body
    assert_well_formed_with_labels(body)


def test_an_individual_applicant_is_told_he_has_no_organisation(client, login_as):
    login_as(IndividualApplicantFactory().person)
    response = client.get("/association")
    assert response.status_code == 200
    assert "aucun organisme" in response.get_data(as_text=True)


def test_edit_the_profile(app, client, login_as):
    organisation = OrganisationFactory(name="Ancien nom")
    user = member_of(organisation)
    login_as(user)
    page = client.get(f"/association/{organisation.id}/modifier")
    assert page.status_code == 200
    assert 'value="Ancien nom"' in page.get_data(as_text=True)
    assert f'value="{organisation.email}"' in page.get_data(as_text=True)
    assert_well_formed_with_labels(page.get_data(as_text=True))

    response = client.post(
        f"/association/{organisation.id}/modifier",
        data=edit_data(organisation, name="Nouveau nom", siret="732 829 320 00074", rna="", phone=""),
    )
    assert response.status_code == 302
    db.session.refresh(organisation)
    assert (organisation.name, organisation.siret, organisation.rna, organisation.phone) == ("Nouveau nom", "73282932000074", None, None)
    [event] = audit_events("organisation.updated")
    assert event.actor_id == user.id and event.details["fields"] == "name,siret,rna,phone"


def test_a_new_siret_is_checked_like_at_registration(app, client, login_as):
    organisation = OrganisationFactory()
    OrganisationFactory(siret="73282932000074")
    login_as(member_of(organisation))
    old_siret = organisation.siret
    for siret, message in [("73282932000079", "algorithme de Luhn"), ("1234", "exactement 14 chiffres"),
                           ("73282932000074", "déjà inscrite avec ce SIRET")]:
        response = client.post(f"/association/{organisation.id}/modifier", data=edit_data(organisation, siret=siret))
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert message in body and f'value="{siret}"' in body
    db.session.refresh(organisation)
    assert organisation.siret == old_siret


def test_saving_unchanged_data_records_nothing(app, client, login_as):
    organisation = OrganisationFactory()
    login_as(member_of(organisation))
    assert client.post(f"/association/{organisation.id}/modifier", data=edit_data(organisation)).status_code == 302
    assert audit_events("organisation.updated") == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/association/{id}"),
        ("GET", "/association/{id}/modifier"),
        ("POST", "/association/{id}/modifier"),
        ("GET", "/association/{id}/membres"),
        ("POST", "/association/{id}/membres"),
        ("POST", "/association/{id}/membres/{membership}/retirer"),
        ("POST", "/association/{id}/membres/{membership}/responsable"),
        ("POST", "/association/{id}/invitations/{invitation}/annuler"),
    ],
)
def test_a_member_of_another_organisation_gets_404_as_for_a_missing_id(app, client, login_as, method, path):
    theirs = OrganisationFactory(name="Les Voisins")
    owner = member_of(theirs)
    intruder_home = OrganisationFactory()
    intruder = member_of(intruder_home)
    membership = owner.memberships[0]
    invitation = invite(theirs, owner, "someone@voisins.example")
    login_as(intruder)
    url = path.format(id=theirs.id, membership=membership.id, invitation=invitation.id)
    response = client.open(url, method=method, data={"name": "Pris", "email": "pirate@evil.example"})
    assert response.status_code == 404
    missing_url = path.format(id=theirs.id + 1000, membership=membership.id, invitation=invitation.id)
    missing = client.open(missing_url, method=method)
    # The same page as for an id that does not exist (but for the page's own address in it).
    assert missing.status_code == 404
    def page(answer, address):  # the page less its own address and its time-stamped CSRF token
        return re.sub(r'name="csrf_token" value="[^"]*"', "", answer.get_data(as_text=True).replace(address, ""))

    assert page(missing, missing_url) == page(response, url)
    assert "Les Voisins" not in response.get_data(as_text=True)
    db.session.refresh(theirs)
    assert theirs.name == "Les Voisins" and len(theirs.memberships) == 1
    assert audit_events("access.refused")[0].actor_id == intruder.id


def test_ids_of_another_organisation_cannot_be_smuggled_through_ones_own(app, client, login_as):
    """A member of A, owner there, cannot remove B's member by putting B's membership id in A's URL."""
    mine, theirs = OrganisationFactory(), OrganisationFactory()
    me = member_of(mine)
    victim = member_of(theirs)
    login_as(me)
    response = client.post(f"/association/{mine.id}/membres/{victim.memberships[0].id}/retirer")
    assert response.status_code == 404
    db.session.refresh(theirs)
    assert len(theirs.memberships) == 1


def test_an_unknown_organisation_is_404(client, login_as):
    login_as(member_of())
    assert client.get("/association/987654").status_code == 404
