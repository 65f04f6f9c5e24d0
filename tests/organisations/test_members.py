"""Members and invitations of an organisation."""

from __future__ import annotations

from datetime import timedelta

from grants.database import db, utcnow
from grants.models import Invitation, Membership, MembershipRole
from tests.accounts.conftest import audit_events, link_in
from tests.accounts.test_pages import assert_well_formed_with_labels
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory, member_of
from tests.organisations.conftest import invite


def test_the_members_page_lists_members_and_pending_invitations(client, login_as):
    organisation = OrganisationFactory()
    owner = member_of(organisation, full_name="Odile Responsable")
    MembershipFactory(organisation=organisation, user=UserFactory(full_name="Marc Membre"), role=MembershipRole.MEMBER)
    invite(organisation, owner, "nouvelle@asso.example")
    login_as(owner)
    response = client.get(f"/association/{organisation.id}/membres")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Odile Responsable" in body and "Marc Membre" in body
    assert "nouvelle@asso.example" in body
    assert "Nommer responsable" in body and "Retirer" in body
    assert_well_formed_with_labels(body)


def test_a_member_invites_a_colleague(app, client, login_as, mail_outbox):
    organisation = OrganisationFactory(name="Compagnie du Beffroi")
    owner = member_of(organisation)
    member = UserFactory(full_name="Marc Membre")
    MembershipFactory(organisation=organisation, user=member, role=MembershipRole.MEMBER)
    login_as(member)  # a plain member may invite too
    response = client.post(f"/association/{organisation.id}/membres", data={"email": "Nouvelle@Asso.example"})
    assert response.status_code == 302
    invitation = db.session.scalars(db.select(Invitation)).one()
    assert (invitation.email, invitation.invited_by_id, invitation.accepted_at) == ("nouvelle@asso.example", member.id, None)
    assert invitation.expires_at - utcnow() > timedelta(days=6)
    [message] = mail_outbox
    assert message.to == ["nouvelle@asso.example"]
    assert "Compagnie du Beffroi" in message.subject
    assert "Marc Membre" in message.body
    assert link_in(message, "/invitation/")
    assert audit_events("organisation.member_invited")[0].details["email"] == "nouvelle@asso.example"
    assert owner.id != member.id


def test_duplicate_invitations_are_refused(app, client, login_as, mail_outbox):
    organisation = OrganisationFactory()
    owner = member_of(organisation)
    colleague = UserFactory(email="deja@asso.example")
    MembershipFactory(organisation=organisation, user=colleague, role=MembershipRole.MEMBER)
    login_as(owner)
    assert client.post(f"/association/{organisation.id}/membres", data={"email": "nouvelle@asso.example"}).status_code == 302
    again = client.post(f"/association/{organisation.id}/membres", data={"email": "NOUVELLE@asso.example"})
    assert again.status_code == 200
    assert "Une invitation est déjà en attente pour cette adresse." in again.get_data(as_text=True)
    member = client.post(f"/association/{organisation.id}/membres", data={"email": "deja@asso.example"})
    assert "Cette personne est déjà membre" in member.get_data(as_text=True)
    bad = client.post(f"/association/{organisation.id}/membres", data={"email": "pas-une-adresse"})
    assert 'value="pas-une-adresse"' in bad.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Invitation.id))) == 1
    assert len(mail_outbox) == 1


def test_an_expired_invitation_does_not_block_a_new_one(app, client, login_as, time_machine):
    organisation = OrganisationFactory()
    owner = member_of(organisation)
    invite(organisation, owner, "nouvelle@asso.example")
    time_machine.move_to(utcnow() + timedelta(days=8))
    login_as(owner)
    assert client.post(f"/association/{organisation.id}/membres", data={"email": "nouvelle@asso.example"}).status_code == 302


def test_revoke_an_invitation(app, client, login_as):
    organisation = OrganisationFactory()
    owner = member_of(organisation)
    invitation = invite(organisation, owner, "nouvelle@asso.example")
    login_as(owner)
    response = client.post(f"/association/{organisation.id}/invitations/{invitation.id}/annuler")
    assert response.status_code == 302
    assert db.session.scalar(db.select(db.func.count(Invitation.id))) == 0
    assert audit_events("organisation.invitation_revoked")[0].details["email"] == "nouvelle@asso.example"


def test_the_owner_removes_a_member(app, client, login_as):
    organisation = OrganisationFactory()
    owner = member_of(organisation)
    leaving = MembershipFactory(organisation=organisation, user=UserFactory(email="part@asso.example"), role=MembershipRole.MEMBER)
    login_as(owner)
    response = client.post(f"/association/{organisation.id}/membres/{leaving.id}/retirer")
    assert response.status_code == 302
    assert db.session.get(Membership, leaving.id) is None
    assert audit_events("organisation.member_removed")[0].details["user"] == "part@asso.example"


def test_a_plain_member_cannot_remove_anyone(app, client, login_as):
    organisation = OrganisationFactory()
    owner = member_of(organisation)
    member = UserFactory()
    MembershipFactory(organisation=organisation, user=member, role=MembershipRole.MEMBER)
    login_as(member)
    response = client.post(f"/association/{organisation.id}/membres/{owner.memberships[0].id}/retirer")
    assert response.status_code == 403
    assert "Retirer" not in client.get(f"/association/{organisation.id}/membres").get_data(as_text=True)
    db.session.expire_all()
    assert len(organisation.memberships) == 2


def test_the_last_owner_cannot_remove_himself(app, client, login_as):
    organisation = OrganisationFactory()
    owner = member_of(organisation)
    login_as(owner)
    response = client.post(f"/association/{organisation.id}/membres/{owner.memberships[0].id}/retirer", follow_redirects=True)
    assert "Le dernier responsable ne peut pas être retiré" in response.get_data(as_text=True)
    db.session.expire_all()
    assert len(organisation.memberships) == 1


def test_an_owner_may_leave_once_another_owner_is_named(app, client, login_as):
    organisation = OrganisationFactory()
    owner = member_of(organisation)
    successor = MembershipFactory(organisation=organisation, user=UserFactory(), role=MembershipRole.MEMBER)
    login_as(owner)
    assert client.post(f"/association/{organisation.id}/membres/{successor.id}/responsable").status_code == 302
    db.session.refresh(successor)
    assert successor.role == MembershipRole.OWNER
    response = client.post(f"/association/{organisation.id}/membres/{owner.memberships[0].id}/retirer")
    assert response.status_code == 302 and response.headers["Location"].endswith("/mon-espace")
    db.session.expire_all()
    assert [m.user_id for m in organisation.memberships] == [successor.user_id]
