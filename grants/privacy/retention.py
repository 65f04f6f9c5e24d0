"""The retention schedule (``PRIVACY_RETENTION_DAYS``), applied every night by the worker and listed by
``flask privacy retention --dry-run``.

Each step finds what its horizon has passed, in batches of ``BATCH`` rows, each batch its own
transaction; running it again finds nothing more (idempotent). Grant files are pseudonymised, never
deleted whole: their figures, decisions and the envelope ledger stay, so the ledger's and the audit
log's checks hold. The audit log loses only events past their own horizon, through the one door its
append-only trigger leaves open (``audit_purge_horizons``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from grants.accounts.models import LoginSession
from grants.applications.models import Application, ApplicationState, Attachment
from grants.audit.models import AuditEvent, AuditEventOrigin, AuditPurgeHorizon
from grants.audit.services import record_event
from grants.awards.models import Decision, Outcome
from grants.database import db, utcnow
from grants.outbox.models import Notification, NotificationStatus
from grants.privacy.models import DataExport, ExportStatus
from grants.storage import attachment_storage

BATCH = 500
FINISHED = (NotificationStatus.SENT, NotificationStatus.FAILED)


def horizon(key: str, now: datetime) -> datetime:
    return now - timedelta(days=int(current_app.config["PRIVACY_RETENTION_DAYS"][key]))


def _awarded_ids():
    return sa.select(Decision.application_id).where(Decision.outcome == Outcome.AWARDED)


def _closed_on():
    return sa.func.coalesce(Application.decided_at, Application.withdrawn_at, Application.screened_at,
                            Application.updated_at)


def _drafts(now):
    never_submitted = sa.or_(Application.state == ApplicationState.DRAFT,
                             sa.and_(Application.state == ApplicationState.WITHDRAWN, Application.reference.is_(None)))
    return sa.select(Application.id).where(never_submitted, Application.updated_at < horizon("drafts", now))


def _with_content():
    return sa.or_(Application.summary != "", Application.objectives != "", Application.target_public != "",
                  Application.eligibility_reason.is_not(None),
                  sa.exists().where(Attachment.application_id == Application.id))


def _refused(now):
    closed = sa.or_(Application.state == ApplicationState.INELIGIBLE,
                    sa.and_(Application.state == ApplicationState.WITHDRAWN, Application.reference.is_not(None)),
                    sa.and_(Application.state == ApplicationState.DECIDED, Application.id.not_in(_awarded_ids())))
    return sa.select(Application.id).where(closed, _closed_on() < horizon("refused_applications", now), _with_content())


def _awarded(now):
    return sa.select(Application.id).where(
        Application.state == ApplicationState.DECIDED, Application.id.in_(_awarded_ids()),
        _closed_on() < horizon("awarded_applications", now),
        sa.exists().where(Attachment.application_id == Application.id))


def _audit_events(now):
    return sa.select(AuditEvent.id).where(AuditEvent.occurred_at < horizon("audit_events", now))


def _audit_addresses(now):
    return sa.select(AuditEventOrigin.event_id).where(AuditEventOrigin.occurred_at < horizon("audit_addresses", now))


def _notification_bodies(now):
    return sa.select(Notification.id).where(
        Notification.status.in_(FINISHED), Notification.created_at < horizon("notification_bodies", now),
        sa.or_(Notification.body_text != "", Notification.body_html.is_not(None)))


def _notifications(now):
    return sa.select(Notification.id).where(
        Notification.status.in_(FINISHED), Notification.created_at < horizon("notifications", now))


def _login_sessions(now):
    return sa.select(LoginSession.id).where(LoginSession.expires_at < horizon("login_sessions", now))


def _api_tokens(now):
    tokens = db.metadata.tables["api_tokens"]  # grants.api sits on top: its table, not its model
    limit = horizon("api_tokens", now)
    return sa.select(tokens.c.id).where(sa.or_(
        tokens.c.revoked_at < limit,
        sa.and_(tokens.c.revoked_at.is_(None), sa.func.coalesce(tokens.c.last_used_at, tokens.c.created_at) < limit)))


def _data_exports(now):
    return sa.select(DataExport.id).where(DataExport.status == ExportStatus.READY, DataExport.expires_at <= now)


# -- what one batch does with the ids found --------------------------------------------------------

def _delete_applications(ids, files):
    for application in db.session.scalars(sa.select(Application).where(Application.id.in_(ids))):
        files += [attachment.storage_key for attachment in application.attachments]
        db.session.delete(application)


def _drop_attachments(ids, files):
    files += db.session.scalars(sa.select(Attachment.storage_key).where(Attachment.application_id.in_(ids))).all()
    db.session.execute(sa.delete(Attachment).where(Attachment.application_id.in_(ids)))


def _pseudonymise_refused(ids, files):
    _drop_attachments(ids, files)
    db.session.execute(sa.update(Application).where(Application.id.in_(ids)).values(
        summary="", objectives="", target_public="", eligibility_reason=None, version=Application.version + 1))


def _delete_audit_events(ids, files):
    purge_before = max(db.session.scalars(sa.select(AuditEvent.occurred_at).where(AuditEvent.id.in_(ids)))) \
        + timedelta(microseconds=1)
    horizon_row = db.session.get(AuditPurgeHorizon, 1)
    if horizon_row is None:
        db.session.add(AuditPurgeHorizon(id=1, purge_before=purge_before))
    elif horizon_row.purge_before < purge_before:
        horizon_row.purge_before = purge_before
    db.session.flush()
    db.session.execute(sa.delete(AuditEventOrigin).where(AuditEventOrigin.event_id.in_(ids)))
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id.in_(ids)))


def _delete_origins(ids, files):
    db.session.execute(sa.delete(AuditEventOrigin).where(AuditEventOrigin.event_id.in_(ids)))


def _empty_bodies(ids, files):
    db.session.execute(sa.update(Notification).where(Notification.id.in_(ids)).values(body_text="", body_html=None))


def _delete_notifications(ids, files):
    db.session.execute(sa.delete(Notification).where(Notification.id.in_(ids)))


def _delete_sessions(ids, files):
    db.session.execute(sa.delete(LoginSession).where(LoginSession.id.in_(ids)))


def _delete_tokens(ids, files):
    tokens = db.metadata.tables["api_tokens"]
    db.session.execute(sa.delete(tokens).where(tokens.c.id.in_(ids)))


def _expire_exports(ids, files):
    files += db.session.scalars(sa.select(DataExport.archive_storage_key).where(DataExport.id.in_(ids))).all()
    db.session.execute(sa.update(DataExport).where(DataExport.id.in_(ids)).values(
        status=ExportStatus.EXPIRED, archive_storage_key=None))


@dataclass(frozen=True)
class Step:
    key: str  # its setting in PRIVACY_RETENTION_DAYS
    label: object
    action: object
    find: Callable
    apply: Callable


STEPS = [
    Step("drafts", _l("Brouillons jamais déposés"), _l("supprimés avec leurs pièces"), _drafts, _delete_applications),
    Step("refused_applications", _l("Dossiers refusés, irrecevables ou retirés"),
         _l("pièces et textes supprimés, chiffres conservés"), _refused, _pseudonymise_refused),
    Step("awarded_applications", _l("Dossiers subventionnés"), _l("pièces supprimées, dossier et chiffres conservés"),
         _awarded, _drop_attachments),
    Step("audit_addresses", _l("Adresses IP du journal d'audit"), _l("supprimées"), _audit_addresses, _delete_origins),
    Step("audit_events", _l("Événements du journal d'audit"), _l("supprimés"), _audit_events, _delete_audit_events),
    Step("notification_bodies", _l("Contenu des messages envoyés"), _l("vidé"), _notification_bodies, _empty_bodies),
    Step("notifications", _l("Messages envoyés"), _l("supprimés"), _notifications, _delete_notifications),
    Step("login_sessions", _l("Sessions de connexion expirées"), _l("supprimées"), _login_sessions, _delete_sessions),
    Step("api_tokens", _l("Jetons d'API révoqués ou inutilisés"), _l("supprimés"), _api_tokens, _delete_tokens),
    Step("data_exports", _l("Exports de données expirés"), _l("archives supprimées"), _data_exports, _expire_exports),
]


def due(now: datetime | None = None) -> dict[str, int]:
    """How many rows each step would handle now (the dry run)."""
    now = now or utcnow()
    return {step.key: db.session.scalar(sa.select(sa.func.count()).select_from(step.find(now).subquery()))
            for step in STEPS}


def apply(now: datetime | None = None, *, batch: int = BATCH) -> dict[str, int]:
    """Apply every step, one committed transaction per batch; stored files are deleted after the
    commit that forgot them. Returns the rows handled per step, and audits the run."""
    now = now or utcnow()
    storage = attachment_storage()
    handled = {}
    for step in STEPS:
        handled[step.key] = 0
        while True:
            ids = db.session.scalars(step.find(now).limit(batch)).all()
            if not ids:
                break
            files: list[str] = []
            step.apply(ids, files)
            db.session.commit()
            for key in files:
                if key:
                    storage.delete(key)
            handled[step.key] += len(ids)
            if len(ids) < batch:
                break
    record_event("privacy.retention_applied", **handled)
    db.session.commit()
    return handled


def last_run() -> AuditEvent | None:
    """The last nightly run, for the managers' monitor."""
    return db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "privacy.retention_applied")
                             .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(1))
