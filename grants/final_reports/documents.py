"""The documents attached to a final report (accounts, invoices, photos of the activities), checked and
stored as an application's attachments are (grants.applications.attachments): the file and its row are
kept or dropped together with the transaction. Editable while the report is."""

from __future__ import annotations

from typing import BinaryIO

from flask_babel import gettext as _

from grants.applications.attachments import discard_stored, open_stored, store_upload
from grants.audit.services import record_event
from grants.calls.models import FileKind
from grants.database import db, utcnow
from grants.errors import DomainError
from grants.final_reports.models import FinalReport, FinalReportDocument

MAX_DOCUMENTS = 20


def add_document(report: FinalReport, file_storage, *, actor) -> FinalReportDocument:
    if not report.is_editable:
        raise DomainError(_("Le compte rendu financier a été déposé : il ne se modifie plus."), field="file")
    if len(report.documents) >= MAX_DOCUMENTS:
        raise DomainError(_("Au plus %(num)s documents par compte rendu.", num=MAX_DOCUMENTS), field="file")
    stored = store_upload(file_storage, accepted_kinds=[kind.value for kind in FileKind])
    document = FinalReportDocument(
        original_filename=stored.original_filename, storage_key=stored.storage_key,
        content_type=stored.checked.file_type.content_type, size_bytes=stored.checked.size_bytes,
        sha256=stored.checked.sha256, uploaded_by_id=actor.id, uploaded_at=utcnow())
    report.documents.append(document)
    db.session.flush()
    record_event("final_report.document_added", actor=actor, subject=report, filename=document.original_filename,
                 sha256=document.sha256, size_bytes=document.size_bytes)
    return document


def remove_document(report: FinalReport, document: FinalReportDocument, *, actor) -> None:
    if document.report_id != report.id:
        raise DomainError(_("Ce document n'appartient pas à ce compte rendu."))
    if not report.is_editable:
        raise DomainError(_("Le compte rendu financier a été déposé : il ne se modifie plus."))
    record_event("final_report.document_removed", actor=actor, subject=report, filename=document.original_filename,
                 sha256=document.sha256)
    discard_stored(document.storage_key)
    report.documents.remove(document)
    db.session.flush()


def document_of(report: FinalReport | None, document_id: int) -> FinalReportDocument | None:
    if report is None:
        return None
    return next((document for document in report.documents if document.id == document_id), None)


def open_document(document: FinalReportDocument) -> BinaryIO:
    return open_stored(document.storage_key)
