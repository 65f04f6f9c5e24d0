"""The committee's bundle of a call's attachments (grants/applications/bundles.py): a manager asks for
it, follows its progress, and downloads it until it expires."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound

from grants.access import Access, acting_user, allow
from grants.applications import bundles as services
from grants.applications.models import AttachmentBundle, BundleState
from grants.applications.views.applicant import bp
from grants.applications.views.attachments import STORAGE_RETRY_AFTER_SECONDS
from grants.calls.models import Call
from grants.database import db
from grants.errors import DomainError
from grants.storage import StorageUnavailable


def bundle_of_or_404(call: Call, bundle_id: int) -> AttachmentBundle:
    bundle = db.session.get(AttachmentBundle, bundle_id)
    if bundle is None or bundle.call_id != call.id:
        raise NotFound()
    return bundle


@bp.post("/gestion/appels/<int:call_id>/pieces-zip")
@allow(Access.MANAGER)
def request_bundle(call_id: int):
    call = db.get_or_404(Call, call_id)
    try:
        bundle = services.request_bundle(call, actor=acting_user())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("applications.call_applications", call_id=call.id))
    bundle_id, pending = bundle.id, bundle.state == BundleState.PENDING
    db.session.commit()
    if pending:
        # After the commit, touching no row: the worker's own transaction is the next one (on SQLite,
        # where the tests and the embedded default build it in this process, it takes the lock).
        services.start_building(bundle_id)
    return redirect(url_for("applications.bundle", call_id=call_id, bundle_id=bundle_id))


@bp.get("/gestion/appels/<int:call_id>/pieces-zip/<int:bundle_id>")
@allow(Access.MANAGER)
def bundle(call_id: int, bundle_id: int):
    call = db.get_or_404(Call, call_id)
    bundle = bundle_of_or_404(call, bundle_id)
    return render_template("applications/manage/bundle.html", call=call, bundle=bundle,
                           expired=services.bundle_expired(bundle))


@bp.get("/gestion/appels/<int:call_id>/pieces-zip/<int:bundle_id>/telecharger")
@allow(Access.MANAGER)
def download_bundle(call_id: int, bundle_id: int):
    """The ZIP, streamed from the store after the check; gone (410) once the link has expired."""
    call = db.get_or_404(Call, call_id)
    bundle = bundle_of_or_404(call, bundle_id)
    if bundle.state != BundleState.READY:
        return redirect(url_for("applications.bundle", call_id=call.id, bundle_id=bundle.id))
    if services.bundle_expired(bundle):
        return render_template("applications/manage/bundle.html", call=call, bundle=bundle, expired=True), 410
    try:
        stream = services.open_bundle(bundle)
    except FileNotFoundError:
        current_app.logger.error("bundle %s: file %s missing from the store", bundle.id, bundle.bundle_storage_key)
        return render_template("applications/manage/bundle.html", call=call, bundle=bundle, expired=True), 410
    except StorageUnavailable:
        current_app.logger.exception("bundle %s: the store is out of reach", bundle.id)
        flash(_("Le stockage des fichiers est momentanément indisponible : réessayez dans quelques minutes."), "error")
        return (render_template("applications/manage/bundle.html", call=call, bundle=bundle, expired=False),
                503, {"Retry-After": str(STORAGE_RETRY_AFTER_SECONDS)})
    response = send_file(stream, mimetype="application/zip", as_attachment=True,
                         download_name=f"pieces-{call.slug}-{bundle.ready_at:%Y%m%d-%H%M}.zip",
                         etag=bundle.bundle_sha256, max_age=0, conditional=True)
    if response.status_code == 200:
        response.content_length = bundle.bundle_size_bytes
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
