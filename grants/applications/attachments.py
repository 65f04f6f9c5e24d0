"""The attachments of an application (pièces du dossier): adding, replacing and removing files.

A file is accepted when its bytes (not its name, not the browser's word) are one of the kinds its
required document accepts, it is not empty and not larger than ``MAX_UPLOAD_BYTES``, and the
application's "pieces" section is open to the applicant (a draft, or a correction request naming it).
One file answers one required document: a new upload replaces the previous one, and a unique index
(``uq_attachments_application_id_required_document_id``) refuses a second row whatever the service
does. Files the call did not ask for (letters of support …) are "other documents" and may be any of
the accepted kinds. The page sends several files at once (:func:`add_attachments`): each is attached
or refused on its own.

Files and rows stay together through the transaction the view commits:
- a file is written before its row is flushed; if the transaction does not commit (an error, a
  rollback, a request that ends without committing), the file is deleted when the transaction ends;
- a removed or replaced file is deleted only after the commit that removed its row, so a rolled-back
  removal still has its file;
- a file whose own savepoint fails (one refused file of several) is deleted at once, and the file it
  was to replace is kept. Deleting at once rather than sweeping later keeps no copy of bank
  details or accounts that nobody can reach any more.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import BinaryIO

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grants.applications.file_types import FileType, UnrecognisedFile, detect_file_type
from grants.applications.models import Application, ApplicationState, Attachment
from grants.audit.services import record_event
from grants.calls.models import FileKind, RequiredDocument, file_kinds_label
from grants.database import constraint_violated, db, utcnow
from grants.errors import DomainError
from grants.storage import (
    AttachmentStorage,
    StorageIntegrityError,
    StorageUnavailable,
    attachment_storage,
)

log = logging.getLogger(__name__)

SECTION = "pieces"
ONE_FILE_PER_DOCUMENT = "uq_attachments_application_id_required_document_id"
READ_CHUNK = 64 * 1024
FILENAME_MAX = 255


class AttachmentRefused(DomainError):
    """The file cannot be attached; ``field`` is the upload field."""

    def __init__(self, message: str):
        super().__init__(message, field="file")


@dataclass
class UploadOutcome:
    """What a submission of several files did: the files attached, and the refusals by required
    document id (None: other documents)."""

    attached: list[Attachment] = field(default_factory=list)
    refused: dict[int | None, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckedUpload:
    file_type: FileType
    size_bytes: int
    sha256: str


# --- Keeping files and rows together -------------------------------------------------------------

_WRITTEN = "subventia.attachment_files_written"
_REMOVED = "subventia.attachment_files_removed"


def _written_in_transaction(storage: AttachmentStorage, key: str) -> None:
    db.session.info.setdefault(_WRITTEN, []).append((storage, key))


def _delete_after_commit(storage: AttachmentStorage, key: str) -> None:
    db.session.info.setdefault(_REMOVED, []).append((storage, key))


def _keep_after_all(storage: AttachmentStorage, key: str) -> None:
    """A removal undone by a rolled-back savepoint: its row is back, so is the need for its file."""
    removed = db.session.info.get(_REMOVED, [])
    if (storage, key) in removed:
        removed.remove((storage, key))


def _delete_files(files) -> None:
    for storage, key in files:
        try:
            storage.delete(key)
        except OSError:
            # The row is what counts: an unreachable file is harmless, and the log says which.
            log.exception("attachment file %s could not be deleted", key)


@event.listens_for(Session, "after_commit")
def _files_after_commit(session):
    session.info.pop(_WRITTEN, None)  # their rows are committed: they stay
    _delete_files(session.info.pop(_REMOVED, []))


@event.listens_for(Session, "after_transaction_end")
def _files_after_transaction_end(session, transaction):
    if transaction.parent is not None:
        return  # a savepoint; the outer transaction decides
    # Still listed here: the transaction ended without a commit (after_commit empties the list).
    _delete_files(session.info.pop(_WRITTEN, []))
    session.info.pop(_REMOVED, None)  # the rows are back: keep their files


# --- Checks --------------------------------------------------------------------------------------


def pieces_editable(application: Application) -> bool:
    from grants.applications.services import editable_sections

    return SECTION in editable_sections(application)


def size_label(size_bytes: int) -> str:
    """A size as people read it: « 850 ko », « 2,4 Mo »."""
    if size_bytes < 1024 * 1024:
        return _("%(size)s ko", size=format_decimal(max(1, round(size_bytes / 1024))))
    return _("%(size)s Mo", size=format_decimal(round(size_bytes / (1024 * 1024), 1)))


def check_upload(stream: BinaryIO, *, accepted_kinds, max_bytes: int) -> CheckedUpload:
    """Size, digest and type of the uploaded bytes, or AttachmentRefused saying what is wrong."""
    digest, size = hashlib.sha256(), 0
    stream.seek(0)
    while chunk := stream.read(READ_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise AttachmentRefused(
                _("Le fichier dépasse la taille maximale de %(limit)s.", limit=size_label(max_bytes))
            )
        digest.update(chunk)
    if size == 0:
        raise AttachmentRefused(_("Le fichier est vide : choisissez le document complet."))
    try:
        file_type = detect_file_type(stream)
    except UnrecognisedFile as refusal:
        if refusal.executable:
            raise AttachmentRefused(
                _("Ce fichier est un programme, pas un document : il est refusé quel que soit son nom.")
            ) from None
        if refusal.reason == "damaged":
            raise AttachmentRefused(
                _("Ce fichier est incomplet ou endommagé et ne peut pas être lu : enregistrez-le ou "
                  "exportez-le de nouveau, puis joignez cette nouvelle copie.")
            ) from None
        if refusal.reason == "encrypted":
            raise AttachmentRefused(
                _("Ce fichier est protégé par un mot de passe : joignez une copie sans mot de passe.")
            ) from None
        raise AttachmentRefused(
            _("Ce type de fichier n'est pas accepté. Formats acceptés : %(kinds)s.", kinds=file_kinds_label(accepted_kinds))
        ) from None
    if file_type.kind not in accepted_kinds:
        raise AttachmentRefused(
            _("Ce fichier est au format %(format)s ; pour cette pièce, les formats acceptés sont : %(kinds)s.",
              format=file_type.extension.upper(), kinds=file_kinds_label(accepted_kinds))
        )
    return CheckedUpload(file_type=file_type, size_bytes=size, sha256=digest.hexdigest())


def clean_filename(raw: str | None, file_type: FileType) -> str:
    """The applicant's file name, for display and download only: no folders, no control characters,
    at most 255 characters, and an extension that matches what the file really is."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join("".join(c for c in name if c.isprintable()).split()).strip(". ")
    stem, dot, extension = name.rpartition(".")
    if not dot or extension.lower() not in {file_type.extension, *EXTENSION_ALIASES.get(file_type.extension, ())}:
        stem = name
        extension = file_type.extension
    stem = stem or _("piece-jointe")
    return f"{stem[: FILENAME_MAX - len(extension) - 1]}.{extension}"


EXTENSION_ALIASES = {"jpg": ("jpeg", "jpe")}


def required_document_for(application: Application, required_document_id: int | None) -> RequiredDocument | None:
    """The call's required document with this id; None for an "other document"."""
    if required_document_id is None:
        return None
    for document in application.call.required_documents:
        if document.id == required_document_id:
            return document
    raise DomainError(_("Cette pièce n'est pas demandée par l'appel."), field="file")


def lock_application(application: Application) -> None:
    """Serialise changes to one application's files (PostgreSQL row lock; SQLite has one writer):
    two uploads for the same document at once cannot both find it missing."""
    db.session.execute(
        db.select(Application.id).where(Application.id == application.id).with_for_update()
    )


def ensure_pieces_editable(application: Application) -> None:
    if pieces_editable(application):
        return
    if application.state == ApplicationState.DRAFT:
        raise DomainError(_("L'appel n'accepte plus de dépôt : les pièces ne peuvent plus être modifiées."))
    if application.state == ApplicationState.CORRECTIONS_REQUESTED:
        raise DomainError(_("Les pièces ne sont pas rouvertes par la demande de compléments, ou son délai est passé."))
    raise DomainError(_("Le dossier est déposé : ses pièces ne se modifient plus."))


# --- Operations ----------------------------------------------------------------------------------


def add_attachment(application: Application, *, required_document_id: int | None, file_storage, actor) -> Attachment:
    """Attach an uploaded file (a werkzeug FileStorage) to the application.

    Keeps: the pieces section is open; the file is neither empty nor larger than MAX_UPLOAD_BYTES;
    its content is a kind the required document accepts (any accepted kind for an "other
    document"); a required document has at most one file, the previous one being replaced."""
    ensure_pieces_editable(application)
    document = required_document_for(application, required_document_id)
    if file_storage is None or not file_storage.filename:
        raise AttachmentRefused(_("Choisissez un fichier."))
    accepted = document.accepted_types if document is not None else [kind.value for kind in FileKind]
    stream = file_storage.stream
    upload = check_upload(stream, accepted_kinds=accepted, max_bytes=current_app.config["MAX_UPLOAD_BYTES"])

    lock_application(application)  # still orders two uploads for one document: the later one replaces
    replaced = current_attachment(application, document) if document is not None else None
    storage = attachment_storage()
    stream.seek(0)
    key = store_file(storage, stream, upload)
    try:
        if replaced is not None:
            forget(replaced)
        attachment = Attachment(  # by ids: the row is added inside _flush_new_attachment's savepoint
            application_id=application.id,
            required_document_id=document.id if document is not None else None,
            original_filename=clean_filename(file_storage.filename, upload.file_type),
            storage_key=key,
            content_type=upload.file_type.content_type,
            size_bytes=upload.size_bytes,
            sha256=upload.sha256,
            uploaded_by_id=actor.id,
            uploaded_at=utcnow(),
        )
        _flush_new_attachment(attachment)
    except Exception:
        _delete_files([(storage, key)])
        if replaced is not None:
            _keep_after_all(storage, replaced.storage_key)
        raise
    _written_in_transaction(storage, key)
    record_event(
        "application.attachment_replaced" if replaced is not None else "application.attachment_added",
        actor=actor, subject=application,
        document=document.name if document is not None else "autre",
        filename=attachment.original_filename, content_type=attachment.content_type,
        size_bytes=attachment.size_bytes, sha256=attachment.sha256,
    )
    return attachment


def store_file(storage: AttachmentStorage, stream: BinaryIO, upload: CheckedUpload) -> str:
    """Write the file before its row (the row commits right after; a request killed in between
    leaves a file no row names, which the sweeper deletes: grants/stored_files.py). A store out of
    reach refuses the file with a message, and no row is written."""
    try:
        return storage.save(stream, content_type=upload.file_type.content_type, sha256=upload.sha256)
    except StorageUnavailable:
        log.exception("attachment storage unavailable during an upload")
        raise AttachmentRefused(
            _("Le stockage des fichiers est momentanément indisponible : le fichier n'a pas été "
              "enregistré. Réessayez dans quelques minutes.")
        ) from None
    except StorageIntegrityError:
        log.exception("attachment storage kept other bytes than were sent")
        raise AttachmentRefused(
            _("Le fichier a été altéré pendant son enregistrement et n'a pas été gardé : joignez-le de nouveau.")
        ) from None


def add_attachments(application: Application, uploads, *, actor) -> UploadOutcome:
    """Attach several uploaded files, ``uploads`` being ``(required_document_id or None, FileStorage)``
    pairs: the attachments page sends every file in one form.

    Each file keeps what :func:`add_attachment` keeps, in a savepoint of its own: a refused file is
    reported under its document and leaves no row and no file, the others are attached, so the
    applicant chooses again only what was refused. A closed pieces section refuses them all."""
    ensure_pieces_editable(application)
    outcome = UploadOutcome()
    for required_document_id, file_storage in uploads:
        try:
            with db.session.begin_nested():
                attachment = add_attachment(application, required_document_id=required_document_id,
                                            file_storage=file_storage, actor=actor)
        except AttachmentRefused as refusal:
            outcome.refused.setdefault(required_document_id, []).append(refusal.message)
        else:
            outcome.attached.append(attachment)
    return outcome


def current_attachment(application: Application, document: RequiredDocument) -> Attachment | None:
    return db.session.scalar(
        db.select(Attachment).where(
            Attachment.application_id == application.id, Attachment.required_document_id == document.id
        )
    )


def _flush_new_attachment(attachment: Attachment) -> None:
    """Insert the row; the unique index refuses a second file for one required document (possible
    only if another upload got past the row lock, e.g. a lock the database does not take)."""
    try:
        with db.session.begin_nested():
            db.session.add(attachment)
    except IntegrityError as error:
        if constraint_violated(error) != ONE_FILE_PER_DOCUMENT:
            raise
        raise AttachmentRefused(
            _("Un autre fichier vient d'être joint pour cette pièce : rechargez la page pour le voir, "
              "puis remplacez-le si besoin.")
        ) from None


def remove_attachment(application: Application, attachment: Attachment, *, actor) -> None:
    """Remove an attachment while the pieces section is open; its file goes once the removal commits."""
    if attachment.application_id != application.id:
        raise DomainError(_("Cette pièce n'appartient pas à ce dossier."))
    ensure_pieces_editable(application)
    lock_application(application)
    record_event(
        "application.attachment_removed", actor=actor, subject=application,
        document=attachment.required_document.name if attachment.required_document else "autre",
        filename=attachment.original_filename, sha256=attachment.sha256,
    )
    forget(attachment)


def forget(attachment: Attachment) -> None:
    _delete_after_commit(attachment_storage(), attachment.storage_key)
    attachment.application.attachments.remove(attachment)  # delete-orphan: the row goes at flush
    db.session.flush()


def open_attachment(attachment: Attachment) -> BinaryIO:
    return attachment_storage().open(attachment.storage_key)



# --- For other areas' files (a final report's documents …): the same checks and transaction rules ---


@dataclass(frozen=True)
class StoredUpload:
    storage_key: str
    original_filename: str
    checked: CheckedUpload


def store_upload(file_storage, *, accepted_kinds) -> StoredUpload:
    """Check an uploaded file (a werkzeug FileStorage) as an attachment is checked, and write it to the
    storage. The file is deleted when the transaction ends without a commit, so its row and it stay
    together; the caller adds the row that names ``storage_key``."""
    if file_storage is None or not file_storage.filename:
        raise AttachmentRefused(_("Choisissez un fichier."))
    stream = file_storage.stream
    upload = check_upload(stream, accepted_kinds=accepted_kinds, max_bytes=current_app.config["MAX_UPLOAD_BYTES"])
    storage = attachment_storage()
    stream.seek(0)
    key = store_file(storage, stream, upload)
    _written_in_transaction(storage, key)
    return StoredUpload(key, clean_filename(file_storage.filename, upload.file_type), upload)


def discard_stored(storage_key: str) -> None:
    """Delete a stored file once the transaction that removes its row commits."""
    _delete_after_commit(attachment_storage(), storage_key)


def open_stored(storage_key: str) -> BinaryIO:
    return attachment_storage().open(storage_key)
