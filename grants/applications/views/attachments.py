"""The attachments section of an application: the call's required documents with their files, other
documents, uploads and removals (the applicant), and the download (anyone who may read the dossier).

One upload form per required document, plus one for other documents, all posting to the section's
page; the hidden ``document`` field says which form was sent, and each form's fields carry its
prefix so that an error is shown, and announced, under the right file input."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.exceptions import NotFound

from grants.access import Access, acting_user, allow
from grants.applications import attachments as services
from grants.applications.models import Attachment
from grants.applications.policies import owned_application_or_404, viewable_application_or_404
from grants.applications.views.applicant import bp
from grants.calls.services import ACCEPTED_FILE_KINDS
from grants.database import db
from grants.errors import DomainError
from grants.form_errors import attach_domain_error

OTHER = "autre"
# What the file picker offers first; the server decides from the bytes whatever is chosen.
PICKER_TYPES = {
    "pdf": ".pdf,application/pdf",
    "image": ".jpg,.jpeg,.png,image/jpeg,image/png",
    "office": ".doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.odp",
}


class AttachmentForm(FlaskForm):
    file = FileField(_l("Fichier"))



def upload_forms(application) -> dict[str, AttachmentForm]:
    """One form per required document (keyed by its id) and one for other documents."""
    keys = [str(document.id) for document in application.call.required_documents] + [OTHER]
    return {key: AttachmentForm(prefix=f"piece-{key}") for key in keys}


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
    errors = []
    if request.method == "POST":
        target = request.form.get("document", "")
        form = forms.get(target)
        if form is None:
            errors = [_("Cette pièce n'est pas demandée par l'appel.")]
        elif form.validate_on_submit():
            try:
                attachment = services.add_attachment(
                    application,
                    required_document_id=None if target == OTHER else int(target),
                    file_storage=form.file.data,
                    actor=acting_user(),
                )
            except DomainError as error:
                db.session.rollback()
                if not attach_domain_error(form, error):
                    errors = [error.message]
            else:
                db.session.commit()
                flash(_("« %(name)s » est joint au dossier.", name=attachment.original_filename), "success")
                return redirect(url_for("applications.attachments", application_id=application.id,
                                        _anchor=f"piece-{target}"))
    return render_attachments_page(application, forms, errors), 422 if request.method == "POST" else 200


def render_attachments_page(application, forms, errors):
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
        other_key=OTHER,
        by_document=by_document,
        others=others,
        errors=errors,
        max_size=services.size_label(current_app.config["MAX_UPLOAD_BYTES"]),
        kinds_label=services.kinds_label,
        size_label=services.size_label,
        picker_types=lambda kinds: ",".join(PICKER_TYPES[k] for k in ACCEPTED_FILE_KINDS if k in kinds),
        all_kinds=ACCEPTED_FILE_KINDS,
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
    """The file, as a download (never shown inline: a document is not a page of this site)."""
    application = viewable_application_or_404(current_user, application_id)
    attachment = attachment_of_or_404(application, attachment_id)
    try:
        stream = services.open_attachment(attachment)
    except FileNotFoundError:
        raise NotFound() from None
    response = send_file(
        stream,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.original_filename,  # Werkzeug adds the RFC 5987 filename* form
        etag=attachment.sha256,
        max_age=0,
        conditional=True,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
