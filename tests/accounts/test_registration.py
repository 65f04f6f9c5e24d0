"""Registering an organisation with its first member, or a person applying in their own name."""

from __future__ import annotations

import pytest

from grants.accounts.passwords import verify_password
from grants.database import db
from grants.models import Applicant, ApplicantKind, Membership, MembershipRole, Organisation, User
from tests.accounts.conftest import audit_actions, is_signed_in
from tests.factories import OrganisationFactory, UserFactory


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_the_choice_page_leads_to_both_forms(client):
    body = client.get("/inscription/choix").get_data(as_text=True)
    assert 'href="/inscription"' in body and 'href="/inscription/particulier"' in body


def test_an_association_registers(app, client, organisation_form):
    response = client.post("/inscription", data=organisation_form)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/mon-espace")

    organisation = db.session.scalars(db.select(Organisation)).one()
    assert organisation.siret == "73282932000074"  # spaces removed
    assert organisation.rna == "W595012345"  # upper-cased
    assert organisation.legal_form == "association"
    assert (organisation.street, organisation.postal_code, organisation.city) == ("4 rue des Arts", "59000", "Lille")
    assert organisation.email == "contact@amis-quartier.example"

    user = db.session.scalars(db.select(User)).one()
    assert user.email == "claire.dubois@amis-quartier.example"  # stored lower-cased
    assert user.full_name == "Claire Dubois"
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "une phrase assez longue")

    membership = db.session.scalars(db.select(Membership)).one()
    assert (membership.user_id, membership.organisation_id, membership.role) == (user.id, organisation.id, MembershipRole.OWNER)
    applicant = db.session.scalars(db.select(Applicant)).one()
    assert (applicant.kind, applicant.organisation_id, applicant.person_id) == (ApplicantKind.ORGANISATION, organisation.id, None)

    assert {"account.registered", "organisation.registered"} <= set(audit_actions())
    assert is_signed_in(client)
    assert "Les Amis du Quartier Nord" in client.get("/association").get_data(as_text=True)


def test_bad_input_is_rerendered_with_the_input_and_field_errors(app, client, organisation_form):
    organisation_form.update(siret="732 829 320 00079", password="court", password_confirm="court", postal_code="590")
    response = client.post("/inscription", data=organisation_form)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "error-summary" in body
    assert 'value="Les Amis du Quartier Nord"' in body
    assert 'value="732 829 320 00079"' in body  # the SIRET as typed
    assert 'value="Claire.Dubois@Amis-Quartier.example"' not in body  # the email is normalised...
    assert 'value="claire.dubois@amis-quartier.example"' in body  # ...and kept
    assert "algorithme de Luhn" in body  # the message says which check failed
    assert "au moins 12 caractères" in body
    assert "Le code postal comporte 5 chiffres." in body
    assert 'aria-invalid="true"' in body
    assert 'value="court"' not in body  # passwords are never echoed back
    assert count(User) == count(Organisation) == 0


def test_the_siret_error_names_the_la_poste_rule(client, organisation_form):
    organisation_form["siret"] = "35600000009076"
    body = client.post("/inscription", data=organisation_form).get_data(as_text=True)
    assert "multiple de 5" in body


def test_mismatched_password_confirmation(client, organisation_form):
    organisation_form["password_confirm"] = "une autre phrase assez longue"
    body = client.post("/inscription", data=organisation_form).get_data(as_text=True)
    assert "Les deux mots de passe ne sont pas identiques." in body


def test_an_invalid_rna_is_refused(client, organisation_form):
    organisation_form["rna"] = "595012345"
    body = client.post("/inscription", data=organisation_form).get_data(as_text=True)
    assert "Le numéro RNA commence par W" in body


def test_the_rna_is_optional(app, client, organisation_form):
    organisation_form["rna"] = ""
    assert client.post("/inscription", data=organisation_form).status_code == 302
    assert db.session.scalars(db.select(Organisation)).one().rna is None


@pytest.mark.parametrize(
    ("field", "existing", "message"),
    [
        ("siret", {"siret": "73282932000074"}, "Une organisation est déjà inscrite avec ce SIRET"),
        ("rna", {"rna": "W595012345"}, "Une organisation est déjà inscrite avec ce numéro RNA"),
    ],
)
def test_duplicate_identifiers_are_field_errors(app, client, organisation_form, field, existing, message):
    OrganisationFactory(**existing)
    response = client.post("/inscription", data=organisation_form)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert message in body
    assert f'id="{field}-error"' in body
    assert count(Organisation) == 1 and count(User) == 0


def test_duplicate_email_is_a_field_error(app, client, organisation_form):
    UserFactory(email="claire.dubois@amis-quartier.example")
    body = client.post("/inscription", data=organisation_form).get_data(as_text=True)
    assert "Un compte existe déjà avec cette adresse e-mail" in body
    assert 'id="email-error"' in body
    assert count(Organisation) == 0


def test_a_concurrent_duplicate_siret_caught_by_the_database_is_a_field_error(app, client, organisation_form, monkeypatch):
    """Two requests pass the lookup at once: the unique constraint decides, and the form says why."""
    from grants.organisations import services

    OrganisationFactory(siret="73282932000074")
    monkeypatch.setattr(services, "_ensure_identifiers_free", lambda *args, **kwargs: None)
    response = client.post("/inscription", data=organisation_form)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Une organisation est déjà inscrite avec ce SIRET" in body and 'id="siret-error"' in body
    assert count(Organisation) == 1 and count(User) == 0


def test_a_concurrent_duplicate_email_caught_by_the_database_is_a_field_error(app, client, organisation_form, monkeypatch):
    from grants.accounts import services

    UserFactory(email="claire.dubois@amis-quartier.example")
    monkeypatch.setattr(services, "find_user_by_email", lambda email: None)
    body = client.post("/inscription", data=organisation_form).get_data(as_text=True)
    assert 'id="email-error"' in body and "Un compte existe déjà" in body
    assert count(User) == 1


def test_a_person_registers_as_an_individual_applicant(app, client):
    response = client.post(
        "/inscription/particulier",
        data={
            "full_name": "Karim Benali",
            "email": "Karim.Benali@mail.example",
            "password": "une phrase assez longue",
            "password_confirm": "une phrase assez longue",
            "street": "3 place du Théâtre",
            "postal_code": "59 800",
            "city": "Lille",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    user = db.session.scalars(db.select(User)).one()
    assert user.email == "karim.benali@mail.example"
    applicant = db.session.scalars(db.select(Applicant)).one()
    assert (applicant.kind, applicant.person_id, applicant.organisation_id) == (ApplicantKind.INDIVIDUAL, user.id, None)
    assert applicant.address == "3 place du Théâtre, 59800 Lille"
    assert count(Organisation) == 0
    assert is_signed_in(client)
    assert "account.registered" in audit_actions()


def test_individual_registration_errors_keep_the_input(client):
    response = client.post("/inscription/particulier", data={"full_name": "Karim Benali", "email": "pas-une-adresse", "street": ""})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="Karim Benali"' in body
    assert "Saisissez une adresse e-mail valide." in body


def test_a_signed_in_user_is_not_offered_to_register_again(client, login_as):
    login_as(UserFactory())
    for path in ("/inscription", "/inscription/particulier"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/mon-espace")
