"""The audit log in words: each event code becomes a sentence in the reader's language, naming who
did it and what it concerned ("Nadia Benali a accordé 5 500,00 € au dossier SISA-2026-0003"), with
a link to the page of what it concerned where there is one.

The codes stay in the database (they are what is filtered and kept); this module only reads them,
and every area's rows to name their subjects: it sits on top, with the pages (grants.home).
A code without a sentence here still reads as one ("… : action « x.y » sur …"), so a new event
is never shown as a bare code nor hidden.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from grants.accounts.models import User
from grants.applications.models import Application
from grants.awards.models import CommitteeSession, Decision
from grants.calls.models import Call, DirectGrant, ProgrammeBudget
from grants.database import db
from grants.final_reports.models import FinalReport
from grants.formatting import money
from grants.organisations.models import Applicant, Organisation
from grants.reviews.models import ConflictOfInterest, Review, ReviewAssignment

# Details that hold amounts in euros, shown the French way.
MONEY_DETAILS = ("amount", "before", "after", "authorised", "released", "recovery_due")
# Details that hold a user's email, shown as the user's name when the account exists.
PERSON_DETAILS = ("reviewer", "user", "owner")

SENTENCES = {
    # Signing in and accounts
    "auth.login": _l("%(actor)s s'est connecté(e)."),
    "auth.logout": _l("%(actor)s s'est déconnecté(e)."),
    "auth.login_failed": _l("Échec de connexion avec l'adresse %(email)s (%(reason)s)."),
    "privacy.export_requested": _l("%(actor)s a demandé l'export des données personnelles de %(subject)s."),
    "privacy.export_built": _l("L'export des données personnelles de %(subject)s est prêt (%(size)s octets)."),
    "privacy.export_downloaded": _l("%(actor)s a téléchargé l'export des données personnelles de %(subject)s."),
    "privacy.account_closure_deferred": _l("%(actor)s a demandé la fermeture de son compte : elle est reportée, un paiement lui étant dû."),
    "privacy.account_closed": _l("Le compte %(subject)s est fermé : ses données personnelles sont effacées ou pseudonymisées."),
    "privacy.retention_applied": _l("%(actor)s a appliqué la politique de conservation : %(drafts)s brouillons supprimés, %(audit_events)s événements du journal et %(audit_addresses)s adresses IP effacés."),
    "auth.login_failed.account": _l("Échec de connexion au compte de %(subject)s (%(reason)s)."),
    "auth.login_failed.unknown": _l("Échec de connexion avec une adresse inconnue du domaine %(domain)s (empreinte %(email_digest)s)."),
    "auth.password_changed": _l("%(actor)s a changé son mot de passe."),
    "auth.signed_out_everywhere": _l("%(actor)s s'est déconnecté(e) de tous ses appareils (%(sessions)s sessions fermées)."),
    "auth.password_reset_requested": _l("Un lien de réinitialisation du mot de passe a été demandé pour %(subject)s."),
    "auth.password_reset": _l("%(actor)s a réinitialisé son mot de passe."),
    "access.refused": _l("Accès refusé à %(actor)s : %(path)s."),
    "account.registered": _l("%(actor)s a créé son compte."),
    "account.email_confirmed": _l("%(actor)s a confirmé son adresse e-mail."),
    "account.sign_up_attempt": _l("Une inscription a été tentée avec l'adresse de %(subject)s, qui a été prévenu(e) par e-mail."),
    "account.created": _l("Le compte de %(subject)s a été créé en ligne de commande (rôle : %(role)s)."),
    "account.updated": _l("%(actor)s a modifié ses informations."),
    "account.role_changed": _l("Le rôle de %(subject)s est passé de %(previous)s à %(role)s en ligne de commande ; ses sessions sont fermées."),
    "account.bank_details_changed": _l("%(actor)s a changé ses coordonnées bancaires (IBAN %(iban)s)."),
    "notifications.preferences_changed": _l("%(actor)s a changé ses préférences de notification."),
    "notification.retried": _l("%(actor)s a relancé l'envoi d'un message en échec."),
    "api_token.created": _l("%(actor)s a créé le jeton d'API « %(name)s » de %(owner)s."),
    "api_token.revoked": _l("%(actor)s a révoqué le jeton d'API « %(name)s » de %(owner)s."),
    # Organisations
    "organisation.registered": _l("%(actor)s a inscrit l'organisme %(subject)s."),
    "organisation.updated": _l("%(actor)s a modifié le profil de l'organisme %(subject)s."),
    "organisation.bank_details_changed": _l("%(actor)s a changé les coordonnées bancaires de %(subject)s (IBAN %(iban)s)."),
    "organisation.member_invited": _l("%(actor)s a invité %(email)s à rejoindre %(subject)s."),
    "organisation.invitation_revoked": _l("%(actor)s a annulé l'invitation de %(email)s à rejoindre %(subject)s."),
    "organisation.member_joined": _l("%(actor)s a rejoint %(subject)s."),
    "organisation.member_removed": _l("%(actor)s a retiré %(user)s des membres de %(subject)s."),
    "organisation.member_promoted": _l("%(actor)s a nommé %(user)s responsable de %(subject)s."),
    # Applications
    "application.created": _l("%(actor)s a commencé le dossier %(subject)s."),
    "application.identification_saved": _l("%(actor)s a enregistré l'identification du dossier %(subject)s."),
    "application.project_saved": _l("%(actor)s a enregistré le projet du dossier %(subject)s."),
    "application.budget_saved": _l("%(actor)s a enregistré le budget du dossier %(subject)s."),
    "application.attachment_added": _l("%(actor)s a joint la pièce « %(document)s » au dossier %(subject)s."),
    "application.attachment_replaced": _l("%(actor)s a remplacé la pièce « %(document)s » du dossier %(subject)s."),
    "application.attachment_removed": _l("%(actor)s a retiré la pièce « %(document)s » du dossier %(subject)s."),
    "application.submitted": _l("%(actor)s a déposé le dossier %(subject)s."),
    "application.resubmitted": _l("%(actor)s a déposé à nouveau le dossier %(subject)s, complété."),
    "application.corrections_requested": _l("%(actor)s a demandé des compléments sur le dossier %(subject)s."),
    "application.screened": _l("%(actor)s a déclaré le dossier %(subject)s recevable."),
    "application.screened.ineligible": _l("%(actor)s a déclaré le dossier %(subject)s irrecevable."),
    "application.withdrawn": _l("%(actor)s a retiré le dossier %(subject)s."),
    "application.awarded": _l("%(actor)s a accordé %(amount)s au dossier %(subject)s."),
    "application.awarded_before_reviews": _l(
        "%(actor)s a décidé d'accorder la subvention du dossier %(subject)s avant la fin des évaluations : %(reason)s"),
    "application.rejected": _l("%(actor)s a refusé le dossier %(subject)s."),
    "application.waitlisted": _l("%(actor)s a inscrit le dossier %(subject)s sur la liste d'attente."),
    "application.decided": _l("%(actor)s a statué sur le dossier %(subject)s."),
    # Awards
    "award.payment": _l("%(actor)s a enregistré un versement de %(amount)s sur le dossier %(subject)s."),
    "award.increase": _l("%(actor)s a porté la subvention du dossier %(subject)s de %(before)s à %(after)s."),
    "award.decrease": _l("%(actor)s a ramené la subvention du dossier %(subject)s de %(before)s à %(after)s."),
    "award.cancelled": _l("%(actor)s a annulé la subvention de %(amount)s du dossier %(subject)s."),
    "award.recovery": _l("%(actor)s a émis un titre de recette de %(amount)s sur le dossier %(subject)s."),
    "convention.generated": _l("%(actor)s a généré la version %(version)s de la convention du dossier %(subject)s (%(amount)s)."),
    "convention.signed": _l("%(actor)s a signé en ligne la version %(version)s de la convention du dossier %(subject)s (SHA-256 %(sha256)s)."),
    "convention.scan_uploaded": _l("%(actor)s a enregistré le scan signé de la version %(version)s de la convention du dossier %(subject)s."),
    "convention.countersigned": _l("%(actor)s a contresigné la version %(version)s de la convention du dossier %(subject)s."),
    "award.reduced": _l("%(actor)s a ramené la subvention du dossier %(subject)s de %(before)s à %(after)s au vu du "
                        "compte rendu financier (%(released)s dégagés, %(recovery_due)s à recouvrer)."),
    "award.overpayment_recovered": _l("%(actor)s a enregistré le recouvrement d'un trop-perçu de %(amount)s sur le "
                                      "dossier %(subject)s."),
    # Final reports
    "final_report.submitted": _l("%(actor)s a déposé le compte rendu financier du dossier %(subject)s."),
    "final_report.accepted": _l("%(actor)s a accepté le compte rendu financier du dossier %(subject)s."),
    "final_report.corrections_requested": _l("%(actor)s a demandé des compléments sur le compte rendu financier du "
                                             "dossier %(subject)s."),
    "final_report.document_added": _l("%(actor)s a joint « %(filename)s » au compte rendu financier du dossier "
                                      "%(subject)s."),
    "final_report.document_removed": _l("%(actor)s a retiré « %(filename)s » du compte rendu financier du dossier "
                                        "%(subject)s."),
    "committee.confirmed": _l("%(actor)s a enregistré les décisions de la commission sur l'appel %(subject)s."),
    "direct_grant.recorded": _l("%(actor)s a accordé une subvention directe de %(amount)s à %(beneficiary)s."),
    "programme.authorisation_set": _l("%(actor)s a fixé l'autorisation %(year)s du programme %(subject)s à %(authorised)s."),
    # Calls
    "call.created": _l("%(actor)s a créé l'appel %(subject)s."),
    "call.updated": _l("%(actor)s a modifié l'appel %(subject)s."),
    "call.cloned": _l("%(actor)s a créé l'appel %(subject)s en dupliquant un appel précédent."),
    "call.published": _l("%(actor)s a publié l'appel %(subject)s."),
    "call.unpublished": _l("%(actor)s a dépublié l'appel %(subject)s."),
    "call.opened": _l("%(actor)s a ouvert l'appel %(subject)s."),
    "call.closed": _l("%(actor)s a clôturé l'appel %(subject)s."),
    "call.archived": _l("%(actor)s a archivé l'appel %(subject)s."),
    "call.deadline_extended": _l("%(actor)s a prolongé la date limite de l'appel %(subject)s."),
    "call.envelope_set": _l("%(actor)s a fixé l'enveloppe de l'appel %(subject)s à %(after)s."),
    "call.criterion_added": _l("%(actor)s a ajouté le critère « %(criterion)s » à l'appel %(subject)s."),
    "call.criterion_updated": _l("%(actor)s a modifié le critère « %(criterion)s » de l'appel %(subject)s."),
    "call.criterion_removed": _l("%(actor)s a retiré le critère « %(criterion)s » de l'appel %(subject)s."),
    "call.criteria_reordered": _l("%(actor)s a réordonné les critères de l'appel %(subject)s."),
    "call.document_added": _l("%(actor)s a ajouté la pièce demandée « %(document)s » à l'appel %(subject)s."),
    "call.document_removed": _l("%(actor)s a retiré la pièce demandée « %(document)s » de l'appel %(subject)s."),
    "call.funders_set": _l("%(actor)s a fixé les cofinanceurs de l'appel %(subject)s."),
    # Reviews
    "review.assigned": _l("%(actor)s a confié l'évaluation du dossier %(subject)s à %(reviewer)s."),
    "review.unassigned": _l("%(actor)s a retiré l'évaluation du dossier %(subject)s à %(reviewer)s."),
    "review.recused": _l("%(actor)s s'est déporté(e) du dossier %(subject)s."),
    "review.submitted": _l("%(actor)s a rendu son évaluation du dossier %(subject)s."),
    "review.conflict_declared": _l("%(actor)s a déclaré un conflit d'intérêts avec %(subject)s."),
    "review.conflict_withdrawn": _l("%(actor)s a retiré sa déclaration de conflit d'intérêts avec %(subject)s."),
}
UNKNOWN = _l("%(actor)s : action « %(action)s » sur %(subject)s.")

LOGIN_FAILURES = {
    "unknown_email": _l("adresse inconnue"),
    "wrong_password": _l("mauvais mot de passe"),
    "inactive": _l("compte désactivé"),
    "unconfirmed": _l("adresse e-mail pas encore confirmée"),
}


@dataclass(frozen=True)
class Named:
    """What an event concerned, as a reader names it, and the page that shows it (if any)."""

    label: str
    url: str | None = None

    def __html__(self) -> Markup:
        if self.url:
            return Markup('<a href="{0}">{1}</a>').format(self.url, self.label)
        return escape(self.label)


def _application(application: Application) -> Named:
    return Named(application.reference or _("brouillon « %(title)s »", title=application.title or "—"),
                 url_for("applications.manage", application_id=application.id))


def _load(model, ids, *options):
    return db.session.scalars(db.select(model).where(model.id.in_(ids)).options(*options)).all()


# How each kind of subject is named: one query per kind for a whole page of events.
NAMERS: dict[str, Callable[[set[int]], dict[int, Named]]] = {
    "user": lambda ids: {u.id: Named(u.full_name) for u in _load(User, ids)},
    "organisation": lambda ids: {o.id: Named(o.name) for o in _load(Organisation, ids)},
    "application": lambda ids: {a.id: _application(a) for a in _load(Application, ids)},
    "decision": lambda ids: {d.id: _application(d.application) for d in _load(
        Decision, ids, db.joinedload(Decision.application))},
    "review_assignment": lambda ids: {r.id: _application(r.application) for r in _load(
        ReviewAssignment, ids, db.joinedload(ReviewAssignment.application))},
    "review": lambda ids: {r.id: _application(r.assignment.application) for r in _load(
        Review, ids, db.joinedload(Review.assignment).joinedload(ReviewAssignment.application))},
    "call": lambda ids: {c.id: Named(c.title, url_for("calls.manage", call_id=c.id)) for c in _load(Call, ids)},
    "committee_session": lambda ids: {s.id: Named(s.call.title, url_for("calls.manage", call_id=s.call_id))
                                      for s in _load(CommitteeSession, ids, db.joinedload(CommitteeSession.call))},
    "programme_budget": lambda ids: {b.id: Named(b.programme.name, url_for("calls.programme", programme_id=b.programme_id))
                                     for b in _load(ProgrammeBudget, ids, db.joinedload(ProgrammeBudget.programme))},
    "final_report": lambda ids: {r.id: _application(r.decision.application) for r in _load(
        FinalReport, ids, db.joinedload(FinalReport.decision).joinedload(Decision.application))},
    "direct_grant": lambda ids: {g.id: Named(g.beneficiary_name) for g in _load(DirectGrant, ids)},
    "conflict_of_interest": lambda ids: _conflict_names(ids),
}


def _conflict_names(ids) -> dict[int, Named]:
    conflicts = _load(ConflictOfInterest, ids)
    applicants = {a.id: a for a in _load(Applicant, {c.applicant_id for c in conflicts},
                                         db.joinedload(Applicant.organisation), db.joinedload(Applicant.person))}
    return {c.id: Named(applicants[c.applicant_id].display_name) for c in conflicts if c.applicant_id in applicants}


@dataclass(frozen=True)
class AuditLine:
    """One event of the log as the page shows it."""

    occurred_at: datetime
    sentence: Markup
    action: str
    ip_address: str | None
    details: dict[str, str]  # as recorded, for whoever needs more than the sentence


def _detail(name: str, value: str) -> str:
    if name in MONEY_DETAILS:
        try:
            return money(Decimal(value))
        except (InvalidOperation, ValueError):
            return value  # a date (a deadline's before/after), shown as recorded
    return value


def _sentence_key(event) -> str:
    if event.action == "application.screened" and event.details.get("eligible") == "False":
        return "application.screened.ineligible"
    if event.action == "auth.login_failed" and "email" not in (event.details or {}):
        return "auth.login_failed.account" if event.subject_type == "user" else "auth.login_failed.unknown"
    return event.action


def _actor(event) -> str:
    if event.actor is not None:
        return event.actor.full_name
    if event.action.startswith(("auth.", "access.")):
        return _("un visiteur non connecté")
    return _("Subventia (automatiquement)")


def describe(events: Iterable) -> list[AuditLine]:
    """The events as sentences, in the current language, their subjects named in a few queries."""
    events = list(events)
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.subject_type in NAMERS and event.subject_id is not None:
            wanted[event.subject_type].add(event.subject_id)
    names = {(kind, id_): named for kind, ids in wanted.items() for id_, named in NAMERS[kind](ids).items()}
    emails = {event.details[key] for event in events for key in PERSON_DETAILS if (event.details or {}).get(key)}
    people = dict(db.session.execute(
        db.select(User.email, User.full_name).where(User.email.in_(emails))).all()) if emails else {}
    lines = []
    for event in events:
        subject = names.get((event.subject_type, event.subject_id))
        if subject is None:
            subject = Named(_("%(kind)s n° %(id)s", kind=event.subject_type, id=event.subject_id)
                            if event.subject_type else "—")
        values = {name: people.get(value, value) if name in PERSON_DETAILS else _detail(name, str(value))
                  for name, value in (event.details or {}).items()}
        if event.action == "auth.login_failed":
            values["reason"] = str(LOGIN_FAILURES.get(values.get("reason"), values.get("reason", "")))
        values.update(actor=_actor(event), subject=subject, action=event.action)
        template = SENTENCES.get(_sentence_key(event), UNKNOWN)
        try:
            sentence = Markup(escape(str(template))) % values
        except KeyError:  # an old row without a detail the sentence names
            sentence = Markup(escape(str(UNKNOWN))) % values
        lines.append(AuditLine(event.occurred_at, sentence, event.action, event.ip_address, dict(event.details or {})))
    return lines

