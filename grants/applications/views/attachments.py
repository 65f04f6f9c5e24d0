"""The attachments section of an application: the call's required documents with their files, other
documents, uploads and removals (the applicant), and the download (anyone who may read the dossier).

One form holds a file input per required document and a multiple one for other documents, with
« Joindre les fichiers choisis » and « Enregistrer et continuer »: every file chosen is sent at once, each is
attached or refused on its own (a refusal is shown, and announced, under its input; the files accepted
are kept), so an applicant with five documents sends them in one go. The removal buttons are forms of
their own, so the file inputs join the upload form through their ``form`` attribute."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from werkzeug.exceptions import NotFound

from grants.access import Access, acting_user, allow
from grants.applications import attachments as services
from grants.applications.models import Attachment
from grants.applications.policies import owned_application_or_404, viewable_application_or_404
from grants.applications.views.applicant import after_save, bp
from grants.calls.models import FileKind, file_kinds_label
from grants.database import db
from grants.errors import DomainError
from grants.storage import StorageUnavailable

# What a download answers while the store is out of reach: 503, and when to try again.
STORAGE_RETRY_AFTER_SECONDS = 30

OTHER = "autre"
# What the file picker offers first; the server decides from the bytes whatever is chosen.
PICKER_TYPES = {
    FileKind.PDF: ".pdf,application/pdf",
    FileKind.IMAGE: ".jpg,.jpeg,.png,image/jpeg,image/png",
    FileKind.OFFICE: ".doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.odp",
}


class AttachmentForm(FlaskForm):
    """One document's file input (``piece-<id>-file``); the page's single form carries the CSRF token."""

    class Meta:
        csrf = False

    file = FileField(_l("Fichier"))


class OtherDocumentsForm(AttachmentForm):
    file = MultipleFileField(_l("Fichiers"))


def upload_forms(application) -> dict[str, AttachmentForm]:
    """A file input per required document (keyed by its id) and one for other documents."""
    forms = {str(document.id): AttachmentForm(prefix=f"piece-{document.id}")
             for document in application.call.required_documents}
    forms[OTHER] = OtherDocumentsForm(prefix=f"piece-{OTHER}")
    return forms


def chosen_files(application, forms) -> list[tuple[int | None, object]]:
    """The files the applicant chose, as (required document id or None, FileStorage)."""
    chosen = [(document.id, forms[str(document.id)].file.data) for document in application.call.required_documents]
    chosen += [(None, upload) for upload in forms[OTHER].file.data or []]
    return [(document_id, upload) for document_id, upload in chosen if upload and upload.filename]


def attachment_of_or_404(application, attachment_id: int) -> Attachment:
    """The attachment if it belongs to this application: another dossier's id is a 404 here."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.application_id != application.id:
        raise NotFound()
    return attachment


@bp.route("/dossiers/<int:application_id>/pieces", methods=["GET", "POST"])
@allow(Access.APPLICANT)
def attachments(application_id: int):
    application = owned_application_or_404(current_user, application_id)
    forms = upload_forms(application)
    page_form = FlaskForm()
    errors = []
    if request.method == "POST" and page_form.validate_on_submit():
        chosen = chosen_files(application, forms)
        if len(chosen) > current_app.config["MAX_UPLOAD_FILES"]:
            errors = [_("Envoyez au plus %(count)s fichiers à la fois.", count=current_app.config["MAX_UPLOAD_FILES"])]
        elif not chosen:
            if request.form.get("continue"):
                return after_save(application, "pieces")
            errors = [_("Choisissez au moins un fichier à joindre.")]
        else:
            try:
                outcome = services.add_attachments(application, chosen, actor=acting_user())
            except DomainError as error:
                db.session.rollback()
                errors = [error.message]
            else:
                db.session.commit()
                if outcome.attached:
                    flash(ngettext("%(num)d fichier est joint au dossier : %(names)s.",
                                   "%(num)d fichiers sont joints au dossier : %(names)s.", len(outcome.attached),
                                   names=", ".join(f"« {a.original_filename} »" for a in outcome.attached)),
                          "success")
                if not outcome.refused:
                    return after_save(application, "pieces")
                for document_id, messages in outcome.refused.items():
                    forms[OTHER if document_id is None else str(document_id)].file.errors = messages
    elif request.method == "POST":
        errors = page_form.errors.get("csrf_token", [])
    refused = request.method == "POST"
    return render_attachments_page(application, forms, page_form, errors), 422 if refused else 200


def render_attachments_page(application, forms, page_form, errors):
    by_document = {}
    others = []
    for attachment in sorted(application.attachments, key=lambda a: (a.uploaded_at, a.id)):
        if attachment.required_document_id is None:
            others.append(attachment)
        else:
            by_document[attachment.required_document_id] = attachment
    return render_template(
        "applications/attachments.html",
        application=application,
        current_section="pieces",
        editable=services.pieces_editable(application),
        forms=forms,
        page_form=page_form,
        other_key=OTHER,
        by_document=by_document,
        others=others,
        errors=errors,
        max_size=services.size_label(current_app.config["MAX_UPLOAD_BYTES"]),
        max_bytes=current_app.config["MAX_UPLOAD_BYTES"],
        too_large_message=_("Le fichier dépasse la taille maximale de %(limit)s.",
                            limit=services.size_label(current_app.config["MAX_UPLOAD_BYTES"])),
        kinds_label=file_kinds_label,
        size_label=services.size_label,
        picker_types=lambda kinds: ",".join(PICKER_TYPES[kind] for kind in FileKind if kind in kinds),
        all_kinds=[kind.value for kind in FileKind],
    )


@bp.post("/dossiers/<int:application_id>/pieces/<int:attachment_id>/supprimer")
@allow(Access.APPLICANT)
def remove_attachment(application_id: int, attachment_id: int):
    application = owned_application_or_404(current_user, application_id)
    attachment = attachment_of_or_404(application, attachment_id)
    name = attachment.original_filename
    try:
        services.remove_attachment(application, attachment, actor=acting_user())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("« %(name)s » est retiré du dossier.", name=name), "success")
    return redirect(url_for("applications.attachments", application_id=application.id))


@bp.get("/dossiers/<int:application_id>/pieces/<int:attachment_id>")
@allow(Access.AUTHENTICATED)
def download_attachment(application_id: int, attachment_id: int):
    """The file, as a download (never shown inline: a document is not a page of this site).

    Streamed through the app from the store after the access check (not a presigned URL to the store):
    the store need not be reachable from browsers, the link cannot be passed on, and the same check
    applies to every download. A store out of reach is a 503 with Retry-After; a file the store does
    not hold, a page that says so (and the log, and ``flask attachments verify``)."""
    application = viewable_application_or_404(current_user, application_id)
    attachment = attachment_of_or_404(application, attachment_id)
    try:
        stream = services.open_attachment(attachment)
    except FileNotFoundError:
        current_app.logger.error("attachment %s: file %s missing from the store", attachment.id, attachment.storage_key)
        return render_template("applications/attachment_unavailable.html", attachment=attachment,
                               missing=True), 404
    except StorageUnavailable:
        current_app.logger.exception("attachment %s: the store is out of reach", attachment.id)
        return (render_template("applications/attachment_unavailable.html", attachment=attachment,
                                missing=False, retry_after=STORAGE_RETRY_AFTER_SECONDS),
                503, {"Retry-After": str(STORAGE_RETRY_AFTER_SECONDS)})
    response = send_file(
        stream,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.original_filename,  # Werkzeug adds the RFC 5987 filename* form
        etag=attachment.sha256,
        max_age=0,
        conditional=True,
    )
    if response.status_code == 200:
        response.content_length = attachment.size_bytes  # a stream from the store has no size of its own
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
