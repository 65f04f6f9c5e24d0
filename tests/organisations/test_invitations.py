"""The invitation link: signed, expiring, single-use; joins with the invited address only."""

from __future__ import annotations

from datetime import timedelta

from grants.accounts.passwords import verify_password
from grants.database import db, utcnow
from grants.models import Invitation, Membership, MembershipRole, User
from tests.accounts.conftest import audit_events, is_signed_in, link_in
from tests.accounts.test_pages import assert_well_formed_with_labels
from tests.conftest import login
from tests.factories import OrganisationFactory, UserFactory, member_of
from tests.organisations.conftest import invite

PASSWORD = "une phrase assez longue"


def invitation_link(app, client, login_as, mail_outbox, email="nouvelle@asso.example"):
    organisation = OrganisationFactory(name="Compagnie du Beffroi")
    owner = member_of(organisation)
    login_as(owner)
    assert client.post(f"/association/{organisation.id}/membres", data={"email": email}).status_code == 302
    client.post("/deconnexion")
    return organisation, link_in(mail_outbox[-1], "/invitation/")


def signup(client, path, name="Nina Nouvelle"):
    return client.post(path, data={"full_name": name, "password": PASSWORD, "password_confirm": PASSWORD})


def test_a_person_without_account_creates_one_and_joins(app, client, login_as, mail_outbox):
    organisation, path = invitation_link(app, client, login_as, mail_outbox)
    page = client.get(path)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Compagnie du Beffroi" in body
    assert 'value="nouvelle@asso.example" readonly' in body  # the address is fixed
    assert_well_formed_with_labels(body)

    response = client.post(path, data={"full_name": "Nina Nouvelle", "password": PASSWORD, "password_confirm": PASSWORD,
                                       "email": "autre@evil.example"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/association/{organisation.id}")
    user = db.session.scalars(db.select(User).where(User.full_name == "Nina Nouvelle")).one()
    assert user.email == "nouvelle@asso.example"  # whatever was posted
    assert verify_password(user.password_hash, PASSWORD)
    membership = db.session.scalars(db.select(Membership).where(Membership.user_id == user.id)).one()
    assert (membership.organisation_id, membership.role) == (organisation.id, MembershipRole.MEMBER)
    invitation = db.session.scalars(db.select(Invitation)).one()
    assert invitation.accepted_at is not None and invitation.accepted_by_id == user.id
    assert is_signed_in(client)
    assert audit_events("organisation.member_joined")[0].actor_id == user.id


def test_signup_errors_keep_the_input(app, client, login_as, mail_outbox):
    _, path = invitation_link(app, client, login_as, mail_outbox)
    response = client.post(path, data={"full_name": "Nina Nouvelle", "password": "court", "password_confirm": "court"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'value="Nina Nouvelle"' in body and "au moins 12 caractères" in body
    assert db.session.scalar(db.select(db.func.count(Invitation.id)).where(Invitation.accepted_at.is_not(None))) == 0


def test_an_existing_user_signs_in_then_joins(app, client, login_as, mail_outbox):
    existing = UserFactory(email="nouvelle@asso.example")
    organisation, path = invitation_link(app, client, login_as, mail_outbox)
    page = client.get(path)
    assert "Un compte existe déjà" in page.get_data(as_text=True)
    assert signup(client, path).status_code == 200  # no second account for the same address
    assert db.session.scalar(db.select(db.func.count(User.id)).where(User.email == "nouvelle@asso.example")) == 1

    # The sign-in link comes back to the invitation.
    response = client.post(f"/connexion?next={path}", data={"email": existing.email, "password": "correct horse battery staple"})
    assert response.headers["Location"] == path
    join_page = client.get(path).get_data(as_text=True)
    assert "Rejoindre l'organisme" in join_page
    assert_well_formed_with_labels(join_page)
    response = client.post(path)
    assert response.status_code == 302
    db.session.expire_all()
    assert organisation.has_member(existing)


def test_a_signed_in_user_with_another_address_cannot_accept(app, client, login_as, mail_outbox):
    organisation, path = invitation_link(app, client, login_as, mail_outbox)
    stranger = UserFactory(email="autre@asso.example")
    login_as(stranger)
    page = client.get(path)
    assert "Cette invitation est adressée à nouvelle@asso.example" in page.get_data(as_text=True)
    client.post(path)
    db.session.expire_all()
    assert not organisation.has_member(stranger)
    assert db.session.scalars(db.select(Invitation)).one().accepted_at is None


def test_an_invitation_serves_once(app, client, login_as, mail_outbox):
    _, path = invitation_link(app, client, login_as, mail_outbox)
    assert signup(client, path).status_code == 302
    client.post("/deconnexion")
    for response in (client.get(path), signup(client, path, "Quelqu'un d'autre")):
        assert response.status_code == 410
        assert "déjà été utilisée" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id)).where(User.full_name == "Quelqu'un d'autre")) == 0


def test_an_invitation_expires(app, client, login_as, mail_outbox, time_machine):
    _, path = invitation_link(app, client, login_as, mail_outbox)
    time_machine.move_to(utcnow() + timedelta(seconds=app.config["INVITATION_MAX_AGE"] + 60))
    response = signup(client, path)
    assert response.status_code == 410
    assert "Cette invitation a expiré" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id)).where(User.full_name == "Nina Nouvelle")) == 0


def test_a_tampered_or_revoked_invitation_is_refused(app, client, login_as, mail_outbox):
    organisation, path = invitation_link(app, client, login_as, mail_outbox)
    assert client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 404
    invitation = db.session.scalars(db.select(Invitation)).one()
    owner = organisation.memberships[0].user
    login(client, owner)
    client.post(f"/association/{organisation.id}/invitations/{invitation.id}/annuler")
    client.post("/deconnexion")
    response = client.get(path)
    assert response.status_code == 404
    assert "annulée" in response.get_data(as_text=True)


def test_the_invitation_to_an_existing_account_is_addressed_to_that_user(app, mail_outbox):
    """The email then follows the user's chosen language, like every email to a known user."""
    from grants.models import Notification

    english = UserFactory(email="english@asso.example", locale="en")
    organisation = OrganisationFactory()
    invite(organisation, member_of(organisation), "English@asso.example")
    notification = db.session.scalars(db.select(Notification).where(Notification.event == "invitation")).one()
    assert (notification.recipient_email, notification.recipient_id) == ("english@asso.example", english.id)
    assert mail_outbox[-1].to == ["english@asso.example"]
