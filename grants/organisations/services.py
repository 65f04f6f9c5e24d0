"""Organisations: registering one, editing its identity, and its members and invitations.

Services flush and never commit; the view commits the whole user action once.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from grants.accounts.models import User
from grants.accounts.services import (
    check_new_password,
    create_user,
    email_taken_message,
    find_user_by_email,
    flush_or_explain,
    normalise_email,
    send_email_confirmation,
    warn_of_sign_up_attempt,
)
from grants.audit.services import record_event
from grants.bank_details import checked_bank_details, masked_iban
from grants.database import db, utcnow
from grants.errors import DomainError, NotAllowed
from grants.organisations import policies
from grants.organisations.identifiers import compact_siret, normalise_rna, rna_is_valid, siret_error
from grants.organisations.models import (
    Applicant,
    ApplicantKind,
    Invitation,
    LegalForm,
    Membership,
    MembershipRole,
    Organisation,
)
from grants.outbox.services import queue_email

INVITATION_SALT = "subventia.invitation"
IDENTITY_FIELDS = ("name", "legal_form", "siret", "rna", "street", "postal_code", "city", "email", "phone")


class InvitationUnusable(DomainError):
    """The link cannot be used; ``reason`` is "invalid", "expired" or "used"."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def _identifier_messages() -> dict[str, tuple[str, str]]:
    return {
        "uq_organisations_siret": ("siret", _("Une organisation est déjà inscrite avec ce SIRET. Demandez à l'un de ses membres de vous inviter.")),
        "uq_organisations_rna": ("rna", _("Une organisation est déjà inscrite avec ce numéro RNA.")),
        "uq_users_email": ("email", email_taken_message()),
    }


def _clean_identity(fields: dict) -> dict:
    """Normalise and check the identifiers: a valid SIRET, an RNA of the right form, free in both cases."""
    fields = dict(fields)
    fields["siret"] = compact_siret(fields["siret"])
    message = siret_error(fields["siret"])
    if message:
        raise DomainError(message, field="siret")
    fields["rna"] = normalise_rna(fields.get("rna"))
    if fields["rna"] and not rna_is_valid(fields["rna"]):
        raise DomainError(_("Le numéro RNA commence par W, suivi de 9 chiffres ou lettres majuscules."), field="rna")
    fields["legal_form"] = LegalForm(fields["legal_form"])
    fields["email"] = normalise_email(fields["email"])
    fields["phone"] = (fields.get("phone") or "").strip() or None
    return fields


def _ensure_identifiers_free(siret: str, rna: str | None, exclude_id: int | None = None) -> None:
    messages = _identifier_messages()
    for column, value, constraint in (
        (Organisation.siret, siret, "uq_organisations_siret"),
        (Organisation.rna, rna, "uq_organisations_rna"),
    ):
        if value is None:
            continue
        query = db.select(Organisation.id).where(column == value)
        if exclude_id is not None:
            query = query.where(Organisation.id != exclude_id)
        if db.session.scalar(query) is not None:
            field, message = messages[constraint]
            raise DomainError(message, field=field)


def _address_already_registered(email: str, password: str) -> bool:
    """True when ``email`` has an account: its owner is emailed instead (nothing is created), and the
    caller answers exactly as for a new account, so the sign-up pages never tell whether an address
    is registered."""
    check_new_password(password)
    existing = find_user_by_email(email)
    if existing is None:
        return False
    warn_of_sign_up_attempt(existing, password)
    return True


def register_organisation(*, identity: dict, full_name: str, email: str, password: str
                          ) -> tuple[User, Organisation] | None:
    """A new organisation with its first member as owner and its Applicant, the member's address to
    confirm (emailed link); None when the address already has an account (its owner is told). Keeps: a
    valid, unique SIRET (and RNA); an organisation never exists without an owner."""
    identity = _clean_identity(identity)
    _ensure_identifiers_free(identity["siret"], identity["rna"])
    if _address_already_registered(email, password):
        return None
    user = create_user(email=email, password=password, full_name=full_name, confirmed=False)
    organisation = Organisation(**{name: identity[name] for name in IDENTITY_FIELDS})
    db.session.add(organisation)
    db.session.add(Membership(user=user, organisation=organisation, role=MembershipRole.OWNER))
    db.session.add(Applicant(kind=ApplicantKind.ORGANISATION, organisation=organisation))
    flush_or_explain(_identifier_messages())
    record_event("account.registered", actor=user, subject=user, kind="organisation")
    record_event("organisation.registered", actor=user, subject=organisation, siret=organisation.siret)
    send_email_confirmation(user)
    return user, organisation


def register_individual(*, full_name: str, email: str, password: str, street: str, postal_code: str, city: str
                        ) -> User | None:
    """A person applying in their own name (e.g. a job seeker's project): a User and their Applicant,
    the address to confirm (emailed link); None when the address already has an account (its owner
    is told)."""
    if _address_already_registered(email, password):
        return None
    user = create_user(email=email, password=password, full_name=full_name, confirmed=False)
    address = f"{street.strip()}, {postal_code.strip()} {city.strip()}"
    db.session.add(Applicant(kind=ApplicantKind.INDIVIDUAL, person=user, address=address[:300]))
    flush_or_explain({"uq_users_email": ("email", email_taken_message())})
    record_event("account.registered", actor=user, subject=user, kind="individual")
    send_email_confirmation(user)
    return user


def update_organisation(organisation: Organisation, actor: User, identity: dict) -> list[str]:
    """Edit the organisation's identity; a new SIRET or RNA is checked exactly as at registration.
    Returns the names of the fields that changed."""
    if not policies.can_edit(actor, organisation):
        raise NotAllowed(_("Seuls les membres de l'organisation peuvent la modifier."))
    identity = _clean_identity(identity)
    _ensure_identifiers_free(identity["siret"], identity["rna"], exclude_id=organisation.id)
    changed = [name for name in IDENTITY_FIELDS if getattr(organisation, name) != identity[name]]
    for name in changed:
        setattr(organisation, name, identity[name])
    if changed:
        flush_or_explain(_identifier_messages())
        record_event("organisation.updated", actor=actor, subject=organisation, fields=",".join(changed))
    return changed


def update_bank_details(organisation: Organisation, actor: User, *, iban: str | None, bic: str | None) -> bool:
    """Set the account the organisation's grants are paid into (payments need one). Keeps: a valid
    IBAN (French RIB key included) stored compact, a BIC only with it; a change is audited with
    both accounts masked. Returns whether anything changed."""
    if not policies.can_edit(actor, organisation):
        raise NotAllowed(_("Seuls les membres de l'organisation peuvent modifier ses coordonnées bancaires."))
    return _replace_bank_details(organisation, iban, bic, "organisation.bank_details_changed",
                                 actor=actor, subject=organisation)


def update_person_bank_details(applicant: Applicant, *, iban: str | None, bic: str | None) -> bool:
    """Set the account a person applying in their own name is paid into. A person's bank details
    are held on their Applicant (as their postal address is) and edited from their account page,
    whatever the state of their dossiers: payments come after the decision, when the dossier is
    closed to edits. Same rules as an organisation's; a change is audited masked. Returns whether
    anything changed."""
    if applicant.kind != ApplicantKind.INDIVIDUAL:
        raise NotAllowed(_("Les coordonnées bancaires d'un organisme se modifient sur son profil."))
    return _replace_bank_details(applicant, iban, bic, "account.bank_details_changed",
                                 actor=applicant.person, subject=applicant.person)


def _replace_bank_details(holder, iban: str | None, bic: str | None, action: str, *, actor, subject) -> bool:
    """Checked, stored compact, and audited with both accounts masked; False when nothing changed."""
    iban, bic = checked_bank_details(iban, bic)
    if (holder.iban, holder.bic) == (iban, bic):
        return False
    previous = masked_iban(holder.iban)
    holder.iban, holder.bic = iban, bic
    db.session.flush()
    record_event(action, actor=actor, subject=subject, iban=masked_iban(iban), previous_iban=previous, bic=bic or "")
    return True


# -- invitations --------------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=INVITATION_SALT)


def invitation_token(invitation: Invitation) -> str:
    return _serializer().dumps(invitation.id)


def pending_invitations(organisation: Organisation) -> list[Invitation]:
    return db.session.scalars(
        db.select(Invitation)
        .where(
            Invitation.organisation_id == organisation.id,
            Invitation.accepted_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.created_at)
    ).all()


def invite_member(organisation: Organisation, inviter: User, email: str) -> Invitation:
    """Record an invitation and email its signed link. Keeps: no invitation for a current member,
    at most one pending invitation per address and organisation."""
    if not policies.can_invite(inviter, organisation):
        raise NotAllowed(_("Seuls les membres de l'organisation peuvent inviter."))
    email = normalise_email(email)
    if any(m.user.email == email for m in organisation.memberships):
        raise DomainError(_("Cette personne est déjà membre de l'organisation."), field="email")
    if any(invitation.email == email for invitation in pending_invitations(organisation)):
        raise DomainError(_("Une invitation est déjà en attente pour cette adresse."), field="email")
    invitation = Invitation(
        organisation=organisation,
        email=email,
        invited_by=inviter,
        expires_at=utcnow() + timedelta(seconds=current_app.config["INVITATION_MAX_AGE"]),
    )
    db.session.add(invitation)
    db.session.flush()
    # An existing account gets the email in its own language.
    recipient = find_user_by_email(email) or email
    queue_email(
        "invitation",
        recipient,
        accept_url=url_for("organisations.invitation", token=invitation_token(invitation), _external=True),
        organisation_name=organisation.name,
        inviter_name=inviter.full_name,
        expires_at=invitation.expires_at,
    )
    record_event("organisation.member_invited", actor=inviter, subject=organisation, email=email)
    return invitation


def revoke_invitation(invitation: Invitation, actor: User) -> None:
    if not policies.can_invite(actor, invitation.organisation):
        raise NotAllowed(_("Seuls les membres de l'organisation peuvent annuler une invitation."))
    if invitation.accepted_at is not None:
        raise DomainError(_("Cette invitation a déjà été acceptée."))
    record_event("organisation.invitation_revoked", actor=actor, subject=invitation.organisation, email=invitation.email)
    db.session.delete(invitation)
    db.session.flush()


def invitation_from_token(token: str) -> Invitation:
    """The invitation behind a link, if the signature holds, it has not expired and was not used."""
    try:
        invitation_id = _serializer().loads(token, max_age=current_app.config["INVITATION_MAX_AGE"])
    except SignatureExpired:
        raise InvitationUnusable(_("Cette invitation a expiré. Demandez à votre collègue de vous en envoyer une nouvelle."), "expired") from None
    except BadSignature:
        invitation_id = None
    invitation = db.session.get(Invitation, invitation_id) if isinstance(invitation_id, int) else None
    if invitation is None:
        raise InvitationUnusable(_("Ce lien d'invitation n'est pas valide, ou l'invitation a été annulée."), "invalid")
    if invitation.accepted_at is not None:
        raise InvitationUnusable(_("Cette invitation a déjà été utilisée."), "used")
    if invitation.expires_at <= utcnow():
        raise InvitationUnusable(_("Cette invitation a expiré. Demandez à votre collègue de vous en envoyer une nouvelle."), "expired")
    return invitation


def accept_invitation(invitation: Invitation, user: User) -> Membership:
    """Make ``user`` a member. Keeps: only the invited address joins, and a link serves once, even
    when two requests use it at the same moment (the conditional update marks it used only once)."""
    if normalise_email(user.email) != invitation.email:
        raise NotAllowed(_("Cette invitation est adressée à %(email)s.", email=invitation.email))
    claimed = db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
        .values(accepted_at=utcnow(), accepted_by_id=user.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise InvitationUnusable(_("Cette invitation a déjà été utilisée."), "used")
    db.session.refresh(invitation)
    organisation = invitation.organisation
    membership = policies.membership_of(user, organisation)
    if membership is None:
        membership = Membership(user=user, organisation=organisation, role=MembershipRole.MEMBER)
        db.session.add(membership)
        flush_or_explain({"uq_memberships_user_id_organisation_id": ("", _("Vous êtes déjà membre de cette organisation."))})
        record_event("organisation.member_joined", actor=user, subject=organisation, invitation=invitation.id)
    return membership


def accept_invitation_as_new_user(invitation: Invitation, *, full_name: str, password: str) -> User:
    """Create the invited person's account (with the invited address) and make them a member."""
    user = create_user(email=invitation.email, password=password, full_name=full_name)
    record_event("account.registered", actor=user, subject=user, kind="invitation")
    accept_invitation(invitation, user)
    return user


# -- members ------------------------------------------------------------------------------------

def _lock_memberships(organisation: Organisation) -> list[Membership]:
    """Fresh memberships, the organisation row locked (PostgreSQL) so that two owners removing each
    other at the same time cannot leave it without one."""
    db.session.execute(db.select(Organisation.id).where(Organisation.id == organisation.id).with_for_update())
    db.session.expire(organisation, ["memberships"])
    return organisation.memberships


def remove_member(membership: Membership, actor: User) -> None:
    """Owners remove members. Keeps: an organisation always has at least one owner."""
    organisation = membership.organisation
    if not policies.can_manage_members(actor, organisation):
        raise NotAllowed(_("Seuls les responsables de l'organisation peuvent retirer un membre."))
    owners = [m for m in _lock_memberships(organisation) if m.role == MembershipRole.OWNER]
    if membership.role == MembershipRole.OWNER and len(owners) <= 1:
        raise DomainError(_("Le dernier responsable ne peut pas être retiré : nommez d'abord un autre responsable."))
    record_event("organisation.member_removed", actor=actor, subject=organisation, user=membership.user.email)
    db.session.delete(membership)
    db.session.flush()
    db.session.expire(organisation, ["memberships"])


def promote_member(membership: Membership, actor: User) -> None:
    """An owner makes a member owner too (who may then remove members)."""
    organisation = membership.organisation
    if not policies.can_manage_members(actor, organisation):
        raise NotAllowed(_("Seuls les responsables de l'organisation peuvent nommer un responsable."))
    if membership.role == MembershipRole.OWNER:
        return
    membership.role = MembershipRole.OWNER
    db.session.flush()
    record_event("organisation.member_promoted", actor=actor, subject=organisation, user=membership.user.email)
