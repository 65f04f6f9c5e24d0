"""The person's pages (their data, closing their account), the administrators' page (requests, the
record of processing) and the public privacy notice."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    send_file,
    url_for,
)
from flask_babel import gettext as _

from grants.access import Access, acting_user, allow
from grants.accounts.passwords import verify_password
from grants.accounts.services import find_user_by_email
from grants.accounts.sessions import forget_browser_session
from grants.database import db, utcnow
from grants.errors import DomainError
from grants.form_errors import show_error
from grants.privacy import closure, exports, register, retention
from grants.privacy.forms import AdminExportForm, CloseAccountForm, RequestExportForm
from grants.privacy.inventory import CATEGORY_LABELS, INVENTORY, PROCESSINGS
from grants.privacy.models import DataExport
from grants.privacy.tasks import build_export
from grants.storage import StorageUnavailable

bp = Blueprint("privacy", __name__)


def queue_build(export_id: int) -> None:
    """After the commit: hand the export to the worker. A broker outage leaves it pending; the
    sweeper (tasks.requeue_pending_exports) hands it over later."""
    try:
        build_export.delay(export_id)
    except Exception:  # noqa: BLE001 — kombu raises many kinds of connection errors
        current_app.logger.exception("could not enqueue data export %s; the sweeper will", export_id)


# -- the person's data ----------------------------------------------------------------------------

@bp.route("/compte/donnees", methods=["GET", "POST"])
@allow(Access.AUTHENTICATED)
def my_data():
    user = acting_user()
    form = RequestExportForm()
    if form.validate_on_submit():
        try:
            export_id = exports.request_export(user, requested_by=user).id
        except DomainError as error:
            show_error(form, error)
        else:
            db.session.commit()
            queue_build(export_id)
            flash(_("Votre demande est enregistrée : vous recevrez un e-mail dès que l'export sera prêt."), "success")
            return redirect(url_for("privacy.my_data"))
    return render_template("privacy/my_data.html", form=form, exports=exports.exports_of(user), now=utcnow(),
                           limit=current_app.config["PRIVACY_EXPORTS_PER_HOUR"])


@bp.get("/compte/donnees/<int:export_id>/archive")
@allow(Access.AUTHENTICATED)
def download_export(export_id: int):
    try:
        export = exports.export_for_download(export_id, acting_user())
    except exports.ExportUnavailable as error:
        return render_template("privacy/export_unavailable.html", message=error.message), 410
    db.session.commit()  # the download is audited
    try:
        stream = exports.open_archive(export)
    except FileNotFoundError:
        return render_template("privacy/export_unavailable.html",
                               message=_("Cet export n'est plus disponible : demandez-en un nouveau.")), 410
    except StorageUnavailable:
        current_app.logger.exception("data export %s: the store is out of reach", export.id)
        return (render_template("privacy/export_unavailable.html",
                                message=_("Le stockage des fichiers est momentanément indisponible : réessayez dans une minute.")),
                503, {"Retry-After": "60"})
    response = send_file(stream, mimetype="application/zip", as_attachment=True,
                         download_name=f"subventia-donnees-{export.user_id}-{export.id}.zip", max_age=0)
    if response.status_code == 200 and export.size_bytes:
        response.content_length = export.size_bytes  # a stream from the store has no size of its own
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/compte/cloture", methods=["GET", "POST"])
@allow(Access.AUTHENTICATED)
def close_account():
    user = acting_user()
    form = CloseAccountForm()
    if form.validate_on_submit():
        if not verify_password(user.password_hash, form.password.data):
            form.password.errors.append(_("Mot de passe incorrect."))
        else:
            try:
                outcome = closure.close_account(user, actor=user)
            except DomainError as error:
                show_error(form, error)
            else:
                db.session.commit()
                if outcome.closure.status == "deferred":
                    flash(outcome.closure.reason, "info")  # recorded; not an error of the form
                    return redirect(url_for("privacy.close_account"))
                closure.delete_files(outcome.files_to_delete)
                forget_browser_session()
                flash(_("Votre compte est fermé et vos données personnelles sont effacées."), "success")
                return redirect(url_for("home.index"))
    return render_template("privacy/close_account.html", form=form, kept=closure.KEPT,
                           pending=closure.pending_payment_reason(user))


# -- administrators -------------------------------------------------------------------------------

def render_admin(form=None, status=200):
    return render_template(
        "privacy/admin.html", form=form or AdminExportForm(formdata=None),
        requests=db.session.scalars(db.select(DataExport).order_by(DataExport.requested_at.desc()).limit(50)).all(),
        closures=closure.closures(), due=retention.due(), steps=retention.STEPS, last_run=retention.last_run(),
        activities=register.activities(), now=utcnow()), status


@bp.get("/admin/donnees-personnelles")
@allow(Access.ADMIN)
def admin():
    return render_admin()


@bp.post("/admin/donnees-personnelles/export")
@allow(Access.ADMIN)
def admin_export():
    form = AdminExportForm()
    if form.validate_on_submit():
        person = find_user_by_email(form.email.data)
        if person is None:
            form.email.errors.append(_("Aucun compte n'a cette adresse."))
        else:
            try:
                export_id = exports.request_export(person, requested_by=acting_user()).id
            except DomainError as error:
                show_error(form, error)
            else:
                db.session.commit()
                queue_build(export_id)
                flash(_("L'export est demandé : il apparaîtra ici une fois prêt."), "success")
                return redirect(url_for("privacy.admin"))
    return render_admin(form, 422)


@bp.get("/admin/donnees-personnelles/registre.csv")
@allow(Access.ADMIN)
def register_csv():
    return Response(register.register_csv(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="registre-des-traitements.csv"'})


# -- the public notice ----------------------------------------------------------------------------

@bp.get("/confidentialite")
@allow(Access.PUBLIC)
def notice():
    return render_template("privacy/notice.html", activities=register.activities(), processings=PROCESSINGS,
                           categories=CATEGORY_LABELS, steps=retention.STEPS, inventory=INVENTORY,
                           retention_text=register.retention_text,
                           days=current_app.config["PRIVACY_RETENTION_DAYS"], duration=register.duration,
                           dpo=current_app.config["PRIVACY_DPO_CONTACT"],
                           grantor=current_app.config.get("GRANTOR_NAME"))
