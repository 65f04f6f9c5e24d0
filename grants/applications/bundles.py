"""The committee's bundle: every attachment of a call's dossiers as one ZIP, built by the worker.

A manager asks for it (:func:`request_bundle`); the worker (:func:`build_bundle`) writes the ZIP to a
temporary file on its disk, file by file from the store, committing its progress as it goes (the page
shows it), then streams that file to the attachment storage under ``bundle_storage_key`` and emails
the manager. No file and no ZIP is ever held whole in memory: each member is copied in 1 MiB chunks.
The link expires after ``BUNDLE_LIFETIME_SECONDS`` (7 days): beat's :func:`expire_bundles` then
deletes the row, and with it the key, so the stored-files sweeper deletes the ZIP.

The ZIP holds the dossiers that were submitted (drafts and withdrawn ones are not the committee's),
one folder per dossier reference, and a ``fichiers-manquants.txt`` listing any file the store did not
hold. Members are stored, not compressed: PDFs, images and office files are compressed already.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import unicodedata
import zipfile
from datetime import timedelta

from celery import shared_task
from flask import current_app
from flask_babel import gettext as _

from grants.applications.models import (
    Application,
    ApplicationState,
    Attachment,
    AttachmentBundle,
    BundleState,
)
from grants.calls.models import Call
from grants.database import db, utcnow
from grants.errors import DomainError
from grants.outbox.services import queue_email
from grants.storage import COPY_CHUNK, StorageUnavailable, attachment_storage

log = logging.getLogger(__name__)

# The dossiers a committee reads: every state after submission except a withdrawal.
BUNDLED_STATES = (ApplicationState.SUBMITTED, ApplicationState.CORRECTIONS_REQUESTED, ApplicationState.UNDER_REVIEW,
                  ApplicationState.INELIGIBLE, ApplicationState.DECIDED)
PROGRESS_EVERY = 10  # files between two commits of the progress
UNSAFE = re.compile(r"[^\w .,()'+-]+")


def bundled_attachments(call: Call):
    """The attachments the call's bundle holds, in the order of the ZIP (reference, then name)."""
    return (
        db.select(Attachment, Application.reference)
        .join(Application, Attachment.application_id == Application.id)
        .where(Application.call_id == call.id, Application.state.in_(BUNDLED_STATES))
        .order_by(Application.reference, Attachment.required_document_id.is_(None), Attachment.id)
    )


def count_bundled(call: Call) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(bundled_attachments(call).subquery()))


def request_bundle(call: Call, *, actor) -> AttachmentBundle:
    """A new bundle of the call for ``actor`` (a manager), or the one still being built for the call."""
    building = db.session.scalar(
        db.select(AttachmentBundle).where(AttachmentBundle.call_id == call.id,
                                          AttachmentBundle.state.in_((BundleState.PENDING, BundleState.BUILDING)))
        .order_by(AttachmentBundle.id.desc()).limit(1)
    )
    if building is not None:
        return building
    total = count_bundled(call)
    if total == 0:
        raise DomainError(_("Aucun dossier déposé de cet appel n'a de pièce jointe : il n'y a rien à télécharger."))
    bundle = AttachmentBundle(call_id=call.id, requested_by_id=actor.id, files_total=total)
    db.session.add(bundle)
    db.session.flush()
    return bundle


def start_building(bundle_id: int) -> None:
    """After the request's commit: the worker builds it (in this process when no broker is set)."""
    build_bundle.delay(bundle_id)


def member_name(reference: str, attachment: Attachment, taken: set[str]) -> str:
    """``<reference>/<document> - <file name>``, without characters that trouble an unzip, unique."""
    document = attachment.required_document.name if attachment.required_document else _("Autres documents")
    raw = f"{document} - {attachment.original_filename}"
    cleaned = UNSAFE.sub("_", unicodedata.normalize("NFC", raw)).strip(" .") or "piece"
    name = f"{reference or 'sans-reference'}/{cleaned[:150]}"
    stem, dot, extension = name.rpartition(".")
    counter = 2
    while name in taken:
        name = f"{stem} ({counter}).{extension}" if dot else f"{name} ({counter})"
        counter += 1
    taken.add(name)
    return name


def write_zip(bundle: AttachmentBundle, target) -> tuple[int, list[str]]:
    """Write the call's attachments into ``target`` (a file open for writing) as a ZIP; returns how many
    were written and the names of those the store did not hold. Commits the progress as it goes."""
    storage = attachment_storage()
    taken: set[str] = set()
    missing: list[str] = []
    done = 0
    rows = db.session.execute(bundled_attachments(bundle.call)).all()
    bundle.files_total = len(rows)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for attachment, reference in rows:
            name = member_name(reference, attachment, taken)
            try:
                source = storage.open(attachment.storage_key)
            except FileNotFoundError:
                missing.append(name)
                log.error("bundle %s: %s missing from the store", bundle.id, attachment.storage_key)
            else:
                with source, archive.open(zipfile.ZipInfo(name, date_time=local_zip_time(attachment)), "w",
                                          force_zip64=attachment.size_bytes > 2 ** 31) as member:
                    while chunk := source.read(COPY_CHUNK):
                        member.write(chunk)
            done += 1
            if done % PROGRESS_EVERY == 0 or done == len(rows):
                bundle.files_done = done
                db.session.commit()
        if missing:
            archive.writestr("fichiers-manquants.txt", "\n".join([
                _("Ces pièces figurent aux dossiers mais manquent dans le stockage des fichiers :"), *missing, ""]))
    return done, missing


def local_zip_time(attachment: Attachment) -> tuple:
    moment = attachment.uploaded_at
    return (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, moment.second)


class HashingWriter:
    """Writes through to ``target``, keeping the digest and size of what was written."""

    def __init__(self, target):
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.target.write(data)

    def flush(self):
        self.target.flush()


@shared_task(ignore_result=True)
def build_bundle(bundle_id: int) -> str:
    bundle = db.session.get(AttachmentBundle, bundle_id)
    if bundle is None or bundle.state not in (BundleState.PENDING, BundleState.BUILDING):
        return "nothing to do"
    bundle.state = BundleState.BUILDING
    bundle.files_done = 0
    db.session.commit()
    storage = attachment_storage()
    try:
        with tempfile.TemporaryFile(prefix="subventia-bundle-") as spool:
            writer = HashingWriter(spool)
            _done, missing = write_zip(bundle, writer)
            spool.seek(0)
            key = storage.save(spool, content_type="application/zip", sha256=writer.digest.hexdigest())
    except (StorageUnavailable, OSError) as error:
        db.session.rollback()
        bundle = db.session.get(AttachmentBundle, bundle_id)
        bundle.state = BundleState.FAILED
        db.session.commit()
        log.exception("bundle %s failed: %s", bundle_id, error)
        return "failed"
    now = utcnow()
    bundle.bundle_storage_key = key
    bundle.bundle_size_bytes = writer.size
    bundle.bundle_sha256 = writer.digest.hexdigest()
    bundle.files_missing = len(missing)
    bundle.state = BundleState.READY
    bundle.ready_at = now
    bundle.expires_at = now + timedelta(seconds=current_app.config["BUNDLE_LIFETIME_SECONDS"])
    queue_email("attachment_bundle_ready", bundle.requested_by, bundle=bundle, call=bundle.call,
                missing=len(missing))
    db.session.commit()
    return "ready"


def bundle_expired(bundle: AttachmentBundle) -> bool:
    return bundle.expires_at is not None and bundle.expires_at <= utcnow()


def open_bundle(bundle: AttachmentBundle):
    return attachment_storage().open(bundle.bundle_storage_key)


@shared_task(ignore_result=True)
def expire_bundles() -> int:
    """Delete the rows of expired bundles (and of builds dead for a day); their ZIPs, named by no row
    any more, go with the next sweep of stored files."""
    now = utcnow()
    expired = db.session.scalars(db.select(AttachmentBundle).where(
        (AttachmentBundle.expires_at <= now)
        | ((AttachmentBundle.state != BundleState.READY) & (AttachmentBundle.created_at <= now - timedelta(days=1)))
    )).all()
    for bundle in expired:
        db.session.delete(bundle)
    db.session.commit()
    return len(expired)
