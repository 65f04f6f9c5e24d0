"""Closing an account (GDPR article 17, within the archival duties of a public funder).

At once: the person's identity on the account is replaced by a pseudonym, the password can no longer
open it, their sessions, API tokens, follows, memberships, pending invitations, drafts of their own,
emails and exports are deleted, and the client addresses of their audited requests are forgotten
(``audit_event_origins``; the append-only events themselves are never edited: they hold user ids,
names are resolved at display, so they now read as the pseudonym).

Kept, restricted to the funder's staff: the grant files submitted as an individual applicant (public
archives; the figures of the envelope ledger stay whole) and the acts signed as staff. An
organisation's files survive the departure of one member. Deferred, with the reason: a person with a
payment still due to them (their bank details are needed until it is paid)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from grants.accounts.models import LoginSession, User
from grants.accounts.passwords import hash_password
from grants.applications.models import Application, ApplicationState
from grants.audit.models import AuditEvent, AuditEventOrigin
from grants.audit.services import record_event
from grants.awards.models import Decision, Outcome
from grants.calls.models import ProgrammeFollow
from grants.database import db, utcnow
from grants.errors import NotAllowed
from grants.organisations.models import Applicant, Invitation, Membership
from grants.outbox.models import Notification
from grants.privacy.models import AccountClosure, ClosureStatus, DataExport
from grants.storage import attachment_storage

# What the closure page tells the person is kept, and why.
KEPT = [
    (_l("Les dossiers déposés en votre nom et leurs pièces"),
     _l("Les dossiers de subvention sont des archives publiques : ils sont conservés, consultables "
        "seulement par les agents de la collectivité, pendant la durée prévue par la politique de "
        "conservation, puis leurs pièces sont supprimées.")),
    (_l("Les décisions, engagements et paiements"),
     _l("La comptabilité publique impose de conserver les pièces des paiements ; le registre des "
        "enveloppes n'est jamais modifié.")),
    (_l("Le journal d'audit"),
     _l("Il prouve qui a fait quoi et quand ; vos adresses IP en sont effacées tout de suite, et il ne "
        "vous nomme plus que par un pseudonyme.")),
    (_l("Les dossiers de votre association"),
     _l("Ils appartiennent à l'association, qui reste inscrite : vous en êtes simplement retiré(e).")),
]


@dataclass(frozen=True)
class ClosureOutcome:
    closure: AccountClosure
    files_to_delete: list[str]  # storage keys, deleted once the transaction has committed


def pseudonym_email(user_id: int) -> str:
    return f"compte-ferme-{user_id}@invalid"


def pending_payment_reason(user: User) -> str | None:
    """Why the closure must wait, or None: an award to the person (as an individual applicant) that is
    not entirely paid needs their name and bank details until it is."""
    applicant = db.session.scalar(sa.select(Applicant).where(Applicant.person_id == user.id))
    if applicant is None:
        return None
    due = db.session.scalars(
        sa.select(Decision).join(Application, Decision.application_id == Application.id)
        .where(Application.applicant_id == applicant.id, Decision.outcome == Outcome.AWARDED,
               Decision.cancelled_at.is_(None), Decision.paid < Decision.amount)
    ).all()
    if not due:
        return None
    references = ", ".join(sorted(d.application.reference or str(d.application_id) for d in due))
    return _("Un paiement vous est encore dû (dossier %(references)s) : vous pourrez fermer votre compte une "
             "fois la subvention versée ou soldée.", references=references)


def close_account(user: User, *, actor: User) -> ClosureOutcome:
    """Close ``user``'s account. Only the person may close their own account."""
    if actor.id != user.id:
        raise NotAllowed(_("Seule la personne concernée peut fermer son compte."))
    if user.is_staff:
        raise NotAllowed(_("Le compte d'un agent ou d'un évaluateur est fermé par un administrateur."))
    if not user.active:
        raise NotAllowed(_("Ce compte est déjà fermé."))
    now = utcnow()
    reason = pending_payment_reason(user)
    if reason is not None:
        closure = AccountClosure(user_id=user.id, status=ClosureStatus.DEFERRED, reason=reason[:300],
                                 requested_at=now)
        db.session.add(closure)
        record_event("privacy.account_closure_deferred", actor=user, subject=user)
        db.session.flush()
        return ClosureOutcome(closure, [])

    files: list[str] = []
    user_ids = sa.literal(user.id)
    # Their own drafts as an individual applicant: never submitted, nothing to archive.
    applicant = db.session.scalar(sa.select(Applicant).where(Applicant.person_id == user.id))
    if applicant is not None:
        drafts = db.session.scalars(sa.select(Application).where(
            Application.applicant_id == applicant.id, Application.state == ApplicationState.DRAFT)).all()
        for draft in drafts:
            files += [a.storage_key for a in draft.attachments]
            db.session.delete(draft)
        applicant.address = None
        applicant.iban = applicant.bic = None
    files += db.session.scalars(sa.select(DataExport.archive_storage_key).where(
        DataExport.user_id == user.id, DataExport.archive_storage_key.is_not(None))).all()
    db.session.flush()
    db.session.execute(sa.delete(DataExport).where(DataExport.user_id == user.id))
    db.session.execute(sa.delete(LoginSession).where(LoginSession.user_id == user.id))
    db.session.execute(sa.delete(db.metadata.tables["api_tokens"]).where(
        db.metadata.tables["api_tokens"].c.user_id == user.id))
    db.session.execute(sa.delete(ProgrammeFollow).where(ProgrammeFollow.user_id == user.id))
    db.session.execute(sa.delete(Membership).where(Membership.user_id == user.id))
    db.session.execute(sa.delete(Notification).where(sa.or_(
        Notification.recipient_id == user.id, Notification.recipient_email == user.email)))
    db.session.execute(sa.delete(Invitation).where(Invitation.email == user.email,
                                                   Invitation.accepted_at.is_(None)))
    db.session.execute(sa.update(Invitation).where(Invitation.email == user.email)
                       .values(email=pseudonym_email(user.id)))
    # The addresses of every request they made or that concerned their account.
    their_events = sa.select(AuditEvent.id).where(sa.or_(
        AuditEvent.actor_id == user_ids,
        sa.and_(AuditEvent.subject_type == "user", AuditEvent.subject_id == user_ids)))
    db.session.execute(sa.delete(AuditEventOrigin).where(AuditEventOrigin.event_id.in_(their_events)))

    user.email = pseudonym_email(user.id)
    user.full_name = f"Compte fermé n° {user.id}"  # data, not interface: the same in every language
    user.password_hash = hash_password(secrets.token_urlsafe(32))  # nobody knows it
    user.active = False
    user.last_login_at = None
    user.wants_digest = user.wants_call_news = False
    closure = AccountClosure(user_id=user.id, status=ClosureStatus.DONE, requested_at=now, completed_at=now)
    db.session.add(closure)
    db.session.flush()
    # Recorded after the addresses are gone, and from no address: the event holds nothing personal.
    record_event("privacy.account_closed", subject=user, with_origin=False)
    return ClosureOutcome(closure, files)


def delete_files(keys: list[str]) -> None:
    """After the commit: forget the stored bytes of what the closure deleted."""
    storage = attachment_storage()
    for key in keys:
        storage.delete(key)


def closures() -> list[AccountClosure]:
    return db.session.scalars(sa.select(AccountClosure).order_by(AccountClosure.requested_at.desc()).limit(50)).all()

