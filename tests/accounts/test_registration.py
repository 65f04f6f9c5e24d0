"""Registering an organisation with its first member, or a person applying in their own name."""

from __future__ import annotations

import re

import pytest
import time_machine

from grants.accounts.passwords import verify_password
from grants.database import db, utcnow
from grants.models import (
    Applicant,
    ApplicantKind,
    Membership,
    MembershipRole,
    Notification,
    Organisation,
    User,
)
from tests.accounts.conftest import audit_actions, is_signed_in
from tests.factories import OrganisationFactory, UserFactory


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def emails(event: str) -> list[Notification]:
    return db.session.scalars(db.select(Notification).where(Notification.event == event)).all()


def confirmation_link(email: str) -> str:
    [mail] = [m for m in emails("email_confirmation") if m.recipient_email == email][-1:]
    return re.search(r"https?://[^/\s]+(/inscription/confirmer/\S+)", mail.body_text).group(1)


def sign_in(client, email: str, password: str = "une phrase assez longue"):
    return client.post("/connexion", data={"email": email, "password": password})


def answers_alike(first, second) -> bool:
    """Two answers to a sign-up that tell nothing apart: status, and the page less its CSRF token."""
    def page(response):
        return re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True))
    return first.status_code == second.status_code and page(first) == page(second)


def test_the_choice_page_leads_to_both_forms(client):
    body = client.get("/inscription/choix").get_data(as_text=True)
    assert 'href="/inscription"' in body and 'href="/inscription/particulier"' in body


def test_an_association_registers(app, client, organisation_form):
    response = client.post("/inscription", data=organisation_form)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Vérifiez votre messagerie" in response.get_data(as_text=True)
    assert not is_signed_in(client)  # not before the address is confirmed

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
    assert user.email_confirmed_at is None

    # Signing in before confirming is refused (and sends the link again); the link confirms.
    refused = sign_in(client, user.email)
    assert refused.status_code == 200 and "Confirmez d&#39;abord votre adresse" in refused.get_data(as_text=True)
    assert not is_signed_in(client)
    confirmed = client.get(confirmation_link(user.email))
    assert confirmed.status_code == 302 and confirmed.headers["Location"].endswith("/connexion")
    assert not is_signed_in(client)  # the link alone never opens a session
    db.session.expire_all()
    assert user.email_confirmed_at is not None and "account.email_confirmed" in audit_actions()
    assert sign_in(client, user.email).headers["Location"].endswith("/mon-espace")
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
    assert client.post("/inscription", data=organisation_form).status_code == 200
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


def test_a_taken_email_gets_the_same_answer_and_its_owner_an_email(app, client, organisation_form):
    """#21 finding 5: the sign-up page never tells whether an address has an account."""
    new = client.post("/inscription", data=organisation_form)
    db.session.execute(db.delete(Notification))
    db.session.commit()
    organisation_form.update(siret="35600000000048", rna="")
    again = client.post("/inscription", data=organisation_form)  # the same address, another organisation
    assert answers_alike(new, again)
    assert "Un compte existe déjà" not in again.get_data(as_text=True)
    assert count(Organisation) == 1 and count(User) == 1
    assert emails("email_confirmation") == []
    [warning] = emails("sign_up_attempt")
    assert warning.recipient_email == "claire.dubois@amis-quartier.example"
    assert "/connexion" in warning.body_text and "/mot-de-passe-oublie" in warning.body_text
    assert "account.sign_up_attempt" in audit_actions()


def test_a_taken_email_gets_the_same_answer_on_the_individual_form(app, client):
    owner = UserFactory(email="karim.benali@mail.example")
    data = {"full_name": "Karim Benali", "email": "karim.benali@mail.example", "password": "une phrase assez longue",
            "password_confirm": "une phrase assez longue", "street": "3 place du Théâtre", "postal_code": "59800",
            "city": "Lille"}
    taken = client.post("/inscription/particulier", data=data)
    fresh = client.post("/inscription/particulier", data={**data, "email": "autre@mail.example"})
    page = re.compile(r"(karim\.benali|autre)@mail\.example")
    assert taken.status_code == fresh.status_code == 200
    assert page.sub("", taken.get_data(as_text=True).split('name="csrf_token"')[0]) == page.sub(
        "", fresh.get_data(as_text=True).split('name="csrf_token"')[0])
    assert [m.recipient_email for m in emails("sign_up_attempt")] == [owner.email]
    assert count(Applicant) == 1  # the new person's only


def test_a_confirmation_link_serves_once_and_expires(app, client, organisation_form):
    client.post("/inscription", data=organisation_form)
    link = confirmation_link("claire.dubois@amis-quartier.example")
    with time_machine.travel(utcnow().timestamp() + 4 * 24 * 3600):
        late = client.get(link)
    assert late.status_code == 400 and "expiré" in late.get_data(as_text=True)
    assert client.get(link).status_code == 302
    assert client.get(link).status_code == 400  # used
    assert client.get(link[:-3] + "abc").status_code == 400  # forged


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
    from grants.organisations import services as organisation_services

    monkeypatch.setattr(organisation_services, "find_user_by_email", lambda email: None)
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
    assert response.status_code == 200, response.get_data(as_text=True)
    user = db.session.scalars(db.select(User)).one()
    assert user.email == "karim.benali@mail.example"
    applicant = db.session.scalars(db.select(Applicant)).one()
    assert (applicant.kind, applicant.person_id, applicant.organisation_id) == (ApplicantKind.INDIVIDUAL, user.id, None)
    assert applicant.address == "3 place du Théâtre, 59800 Lille"
    assert count(Organisation) == 0
    assert not is_signed_in(client)
    assert "account.registered" in audit_actions()
    client.get(confirmation_link(user.email))
    assert sign_in(client, user.email).headers["Location"].endswith("/mon-espace")


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
