"""The convention pages: the beneficiary reads the convention on screen, downloads its PDF and signs
it (its legal representative); the manager generates it (or an avenant), records a signed scan
instead, and countersigns. The PDF and scan downloads serve the beneficiary and the managers."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import NotFound, ServiceUnavailable

from grants.access import Access, acting_user, allow
from grants.applications.models import Application
from grants.applications.policies import owned_application_or_404, represents
from grants.awards.services import convention_required, decision_of
from grants.conventions import services
from grants.conventions.forms import CountersignForm, GenerateForm, ScanForm, SignForm
from grants.conventions.models import Convention
from grants.database import db
from grants.errors import DomainError
from grants.form_errors import refuse
from grants.storage import StorageUnavailable

STORAGE_RETRY_AFTER_SECONDS = 30

bp = Blueprint("conventions", __name__)


def _award_or_404(application: Application):
    decision = decision_of(application)
    if not services.is_award(decision) and not services.versions_of(decision):
        abort(404)
    return decision


def _manager_application_or_404(application_id: int) -> Application:
    application = db.session.get(Application, application_id)
    if application is None:
        abort(404)
    return application


def _version_or_404(decision, version: int) -> Convention:
    convention = next((v for v in services.versions_of(decision) if v.version == version), None)
    if convention is None:
        abort(404)
    return convention


def _page_context(application: Application, decision):
    versions = services.versions_of(decision)
    current = versions[-1] if versions else None
    return {
        "application": application, "decision": decision, "versions": versions, "current": current,
        "terms": services.terms_of(current) if current else None,
        "intact": services.pdf_intact(current) if current else True,
        "representative": services.legal_representative(application.applicant),
        "required": services.is_award(decision) and convention_required(decision),
        "needs_new_version": services.needs_new_version(decision) if decision else False,
    }


# --- The beneficiary --------------------------------------------------------------------------


def _render_show(application, decision, form=None, errors=(), status=200):
    context = _page_context(application, decision)
    current = context["current"]
    if form is None:
        form = SignForm(formdata=None, sha256=current.pdf_sha256 if current else "")
    return render_template("conventions/show.html", form=form, errors=errors, **context), status


@bp.get("/dossiers/<int:application_id>/convention")
@allow(Access.APPLICANT)
def show(application_id: int):
    application = owned_application_or_404(current_user, application_id)
    return _render_show(application, _award_or_404(application))


@bp.post("/dossiers/<int:application_id>/convention/signer")
@allow(Access.APPLICANT)
def sign(application_id: int):
    application = owned_application_or_404(current_user, application_id)
    decision = _award_or_404(application)
    current = services.current_of(decision)
    if current is None:
        abort(404)
    form = SignForm()
    errors = []
    if form.validate_on_submit():
        try:
            services.sign(current, user=acting_user(), consent=form.consent.data, seen_sha256=form.sha256.data)
        except DomainError as error:
            errors = refuse(form, error)
        else:
            db.session.commit()
            flash(_("Convention signée. Le service instructeur va la contresigner ; l'avance sera alors versée."),
                  "success")
            return redirect(url_for("conventions.show", application_id=application.id))
    return _render_show(application, decision, form=form, errors=errors, status=422)


def _may_read(application: Application) -> bool:
    return current_user.is_manager or represents(current_user, application)


def _download(stream, name: str, etag: str):
    response = send_file(stream, mimetype="application/pdf", as_attachment=True, download_name=name, etag=etag,
                         max_age=0, conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/dossiers/<int:application_id>/convention/<int:version>.pdf")
@allow(Access.AUTHENTICATED)
def pdf(application_id: int, version: int):
    """The generated PDF of a version: for the beneficiary's users and the managers (404 for others)."""
    application = db.session.get(Application, application_id)
    if application is None or not _may_read(application):
        abort(404)
    convention = _version_or_404(decision_of(application), version)
    try:
        stream = services.open_pdf(convention)
    except FileNotFoundError:
        raise NotFound() from None
    except StorageUnavailable:
        raise ServiceUnavailable(retry_after=STORAGE_RETRY_AFTER_SECONDS) from None
    return _download(stream, f"convention-{application.reference}-v{version}.pdf", convention.pdf_sha256)


@bp.get("/dossiers/<int:application_id>/convention/<int:version>/scan.pdf")
@allow(Access.AUTHENTICATED)
def scan(application_id: int, version: int):
    application = db.session.get(Application, application_id)
    if application is None or not _may_read(application):
        abort(404)
    convention = _version_or_404(decision_of(application), version)
    if not convention.scan_storage_key:
        abort(404)
    try:
        stream = services.open_scan(convention)
    except FileNotFoundError:
        raise NotFound() from None
    except StorageUnavailable:
        raise ServiceUnavailable(retry_after=STORAGE_RETRY_AFTER_SECONDS) from None
    return _download(stream, f"convention-{application.reference}-v{version}-signee.pdf", convention.signed_sha256)


# --- The manager ------------------------------------------------------------------------------

MANAGER_FORMS = {"generate": GenerateForm, "scan": ScanForm, "countersign": CountersignForm}


def _render_manage(application, decision, failed=None, form=None, errors=(), status=200):
    forms = {name: (form if name == failed else form_class(formdata=None))
             for name, form_class in MANAGER_FORMS.items()}
    return render_template("conventions/manage.html", forms=forms, failed=failed, errors=errors,
                           **_page_context(application, decision)), status


@bp.get("/gestion/dossiers/<int:application_id>/convention")
@allow(Access.MANAGER)
def manage(application_id: int):
    application = _manager_application_or_404(application_id)
    return _render_manage(application, _award_or_404(application))


def _handle(application_id: int, name: str, operation, success: str):
    application = _manager_application_or_404(application_id)
    decision = _award_or_404(application)
    form = MANAGER_FORMS[name]()
    errors = []
    if form.validate_on_submit():
        try:
            operation(decision, form)
        except DomainError as error:
            errors = refuse(form, error)
        else:
            db.session.commit()
            flash(success, "success")
            return redirect(url_for("conventions.manage", application_id=application.id))
    return _render_manage(application, decision, failed=name, form=form, errors=errors, status=422)


def _current_or_refuse(decision) -> Convention:
    current = services.current_of(decision)
    if current is None:
        raise services.ConventionRefused(_("Aucune convention n'a encore été générée."))
    return current


@bp.post("/gestion/dossiers/<int:application_id>/convention/generer")
@allow(Access.MANAGER)
def generate(application_id: int):
    return _handle(application_id, "generate",
                   lambda decision, form: services.generate(decision, actor=acting_user()),
                   _("La convention est générée ; le représentant légal du bénéficiaire est invité à la signer."))


@bp.post("/gestion/dossiers/<int:application_id>/convention/scan")
@allow(Access.MANAGER)
def upload_scan(application_id: int):
    return _handle(application_id, "scan",
                   lambda decision, form: services.upload_scan(_current_or_refuse(decision),
                                                               stream=form.scan.data.stream, actor=acting_user()),
                   _("Le scan signé est enregistré : la convention est signée par le bénéficiaire."))


@bp.post("/gestion/dossiers/<int:application_id>/convention/contresigner")
@allow(Access.MANAGER)
def countersign(application_id: int):
    return _handle(application_id, "countersign",
                   lambda decision, form: services.countersign(_current_or_refuse(decision), actor=acting_user()),
                   _("Convention contresignée : l'avance peut être versée."))
