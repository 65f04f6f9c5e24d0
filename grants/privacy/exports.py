"""A person's data, as a ZIP archive the worker builds (GDPR articles 15 and 20).

The archive holds:

- ``data.json``: ``{"format": "subventia.personal-data/1", "generated_at": …, "person": {id, email,
  full_name}, "tables": {<table>: [<row as {column: value}>, …]}, "attachments": [{"id", "path"}]}``:
  every row of every table that is about the person (found from ``inventory.INVENTORY``), values as
  JSON (amounts as decimal strings, instants in ISO 8601 with their offset), secrets left out;
- ``attachments/<id>-<file name>``: the files the person uploaded;
- ``index.html``: the same, readable in a browser, in the person's language;
- ``LISEZMOI.txt``: this structure, in French.
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa
from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from grants.accounts.models import User
from grants.audit.services import record_event
from grants.database import db, utcnow
from grants.errors import DomainError, NotAllowedAndConcealed
from grants.outbox.services import queue_email
from grants.privacy.inventory import INVENTORY, Category, Export
from grants.privacy.models import DataExport, ExportStatus
from grants.storage import attachment_storage

FORMAT = "subventia.personal-data/1"
README = """Vos données personnelles dans Subventia
=========================================

data.json        toutes les lignes des tables qui vous concernent : {"tables": {table: [ligne, ...]}}
                 (montants en euros en texte décimal, dates au format ISO 8601 avec leur fuseau ;
                 les empreintes de mots de passe et de jetons ne sont pas exportées)
attachments/     les pièces que vous avez déposées, nommées <numéro>-<nom du fichier>
index.html       le même contenu, lisible dans un navigateur
"""


class ExportLimitReached(DomainError):
    pass


class ExportUnavailable(DomainError):
    pass


def _limit() -> int:
    return int(current_app.config["PRIVACY_EXPORTS_PER_HOUR"])


def link_lifetime() -> timedelta:
    return timedelta(days=int(current_app.config["PRIVACY_RETENTION_DAYS"]["data_exports"]))


def request_export(user: User, *, requested_by: User) -> DataExport:
    """Ask the worker for ``user``'s export. A person asks for their own; an administrator may ask on
    a person's behalf (a written request). At most PRIVACY_EXPORTS_PER_HOUR per person per hour."""
    if requested_by.id != user.id and not requested_by.is_admin:
        raise NotAllowedAndConcealed(_("Vous ne pouvez demander que vos propres données."))
    since = utcnow() - timedelta(hours=1)
    recent = db.session.scalar(sa.select(sa.func.count(DataExport.id)).where(
        DataExport.user_id == user.id, DataExport.requested_at >= since))
    if recent >= _limit():
        raise ExportLimitReached(
            _("Vous avez déjà demandé %(count)d exports dans l'heure : réessayez plus tard.", count=recent))
    export = DataExport(user_id=user.id, requested_by_id=requested_by.id, requested_at=utcnow())
    db.session.add(export)
    record_event("privacy.export_requested", actor=requested_by, subject=user)
    db.session.flush()
    return export


def exports_of(user: User) -> list[DataExport]:
    return db.session.scalars(sa.select(DataExport).where(DataExport.user_id == user.id)
                              .order_by(DataExport.requested_at.desc(), DataExport.id.desc()).limit(20)).all()


def export_for_download(export_id: int, reader: User) -> DataExport:
    """The export, if ``reader`` may download it now: the person it is about, or the administrator who
    asked for it. Anyone else is answered as if it did not exist."""
    export = db.session.get(DataExport, export_id)
    if export is None or reader.id not in (export.user_id, export.requested_by_id if _is_admin(reader) else None):
        raise NotAllowedAndConcealed(_("Cet export n'existe pas."))
    if not export.is_downloadable(utcnow()):
        raise ExportUnavailable(_("Ce lien a expiré ou l'export n'est pas prêt : demandez un nouvel export."))
    record_event("privacy.export_downloaded", actor=reader, subject=export.user)
    return export


def _is_admin(user) -> bool:
    return bool(getattr(user, "is_admin", False))


def open_archive(export: DataExport):
    return attachment_storage().open(export.archive_storage_key)


# -- what the archive holds --------------------------------------------------------------------------

def _json_value(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _rows(table: sa.Table, condition, secrets: set[str]) -> list[dict]:
    primary = list(table.primary_key.columns)
    result = db.session.execute(sa.select(table).where(condition).order_by(*primary)).mappings()
    return [{name: _json_value(value) for name, value in row.items() if name not in secrets} for row in result]


def person_rows(user: User) -> dict[str, list[dict]]:
    """Every row about ``user``, per table, in inventory order. A row is about them when one of its
    PERSON columns names them, and also, per the table's ``Export``: when it is addressed to their
    email, or belongs to an application (or an audit event) already found."""
    tables = db.metadata.tables
    found: dict[str, list[dict]] = {}
    later = []
    for name, entry in INVENTORY.items():
        if entry.export == Export.NONE:
            continue
        table = tables[name]
        secrets = {column for column, kind in entry.columns.items() if kind == Category.SECRET}
        conditions = [table.c[column] == user.id for column in entry.person_columns()]
        conditions += _extra_conditions(name, table, user)
        if entry.export == Export.BY_EMAIL:
            conditions.append(table.c.email == user.email)
        if entry.export in (Export.VIA_APPLICATION, Export.VIA_AUDIT_EVENT):
            later.append((name, table, entry, secrets, conditions))
        else:
            found[name] = _rows(table, sa.or_(*conditions), secrets)
    application_ids = [row["id"] for row in found.get("applications", [])]
    event_ids = [row["id"] for row in found.get("audit_events", [])]
    for name, table, entry, secrets, conditions in later:
        column, ids = (("application_id", application_ids) if entry.export == Export.VIA_APPLICATION
                       else ("event_id", event_ids))
        rows = {}
        for start in range(0, max(len(ids), 1), 500):
            chunk = sa.or_(*conditions, table.c[column].in_(ids[start:start + 500]))
            for row in _rows(table, chunk, secrets):
                rows[tuple(row[c.name] for c in table.primary_key.columns)] = row
        found[name] = [rows[key] for key in sorted(rows)]
    return {name: found[name] for name in INVENTORY if name in found}


def _extra_conditions(name: str, table: sa.Table, user: User) -> list:
    """Rows about the person that no user column names: their own applications as an individual
    applicant, the audit events whose subject is their account."""
    if name == "applications":
        applicants = db.metadata.tables["applicants"]
        return [table.c.applicant_id.in_(sa.select(applicants.c.id).where(applicants.c.person_id == user.id))]
    if name == "audit_events":
        return [sa.and_(table.c.subject_type == "user", table.c.subject_id == user.id)]
    return []


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.\- ]", "_", name)[:120] or "fichier"


def write_archive(user: User, target) -> None:
    """Write ``user``'s ZIP archive into the binary file ``target``."""
    rows = person_rows(user)
    storage = attachment_storage()
    files = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for attachment in rows.get("attachments", []):
            if attachment.get("uploaded_by_id") != user.id:
                continue  # another member's file in a shared dossier: theirs, not this person's
            path = f"attachments/{attachment['id']}-{_safe_name(attachment['original_filename'])}"
            try:
                with storage.open(attachment["storage_key"]) as stored, archive.open(path, "w") as copy:
                    while chunk := stored.read(1024 * 1024):
                        copy.write(chunk)
            except FileNotFoundError:
                continue
            files.append({"id": attachment["id"], "path": path})
        document = {
            "format": FORMAT,
            "generated_at": utcnow().isoformat(),
            "person": {"id": user.id, "email": user.email, "full_name": user.full_name},
            "tables": rows,
            "attachments": files,
        }
        archive.writestr("data.json", json.dumps(document, ensure_ascii=False, indent=2, default=str))
        with force_locale(user.locale or "fr"):
            archive.writestr("index.html", render_template("privacy/export_summary.html", document=document))
        archive.writestr("LISEZMOI.txt", README)


def build(export_id: int) -> DataExport | None:
    """Build a pending export (the worker's task): store the archive, mark it ready until its link
    expires, email the person. Does nothing for an export already built (a task delivered twice)."""
    export = db.session.get(DataExport, export_id, with_for_update=True)
    if export is None or export.status != ExportStatus.PENDING:
        return None
    storage = attachment_storage()
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as spool:
        write_archive(export.user, spool)
        size = spool.tell()
        spool.seek(0)
        key = storage.save(spool)
    now = utcnow()
    export.archive_storage_key, export.size_bytes = key, size
    export.status, export.ready_at, export.expires_at = ExportStatus.READY, now, now + link_lifetime()
    queue_email("data_export_ready", export.user, user=export.user, expires_at=export.expires_at,
                link=url_for("privacy.my_data", _external=True))
    record_event("privacy.export_built", subject=export.user, size=size)
    return export


def mark_failed(export_id: int) -> None:
    export = db.session.get(DataExport, export_id)
    if export is not None and export.status == ExportStatus.PENDING:
        export.status = ExportStatus.FAILED
