"""Applications (dossiers): the applicant's sections, drafts, submission, receipt and withdrawal, and the
managers' requests for corrections.

Every page of a dossier loads it through grants.applications.policies: whoever does not act for the
applicant gets a 404. A section form saves what it can: fields that fail their checks keep their saved
value and come back as typed, with their error. The version of the dossier travels in a hidden field:
a save on top of someone else's newer save is refused and shows both."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from grants.access import Access, acting_user, allow, is_applicant
from grants.applications import services
from grants.applications.forms import BudgetForm, IdentificationForm, ProjectForm, WithdrawForm
from grants.applications.models import Application, BudgetLineKind
from grants.applications.policies import (
    applicants_of,
    owned_application_or_404,
    represents,
    viewable_application_or_404,
)
from grants.calls.listing import call_for_page
from grants.calls.models import BudgetSection, CallState
from grants.database import db, utcnow
from grants.errors import DomainError, InvalidTransition
from grants.form_errors import attach_domain_error
from grants.form_fields import record_id, row_version
from grants.local_time import local_today
from grants.organisations.models import ApplicantKind
from grants.pdf import pdf_response, render_pdf

bp = Blueprint("applications", __name__)

NEXT_SECTION = {"identification": "projet", "projet": "budget", "budget": "pieces", "pieces": None}



def posted_version() -> int:
    """The version of the dossier the form was opened on; a form without one never overwrites."""
    return request.form.get("version", type=row_version) or -1


@bp.app_context_processor
def dossier_helpers():
    return {"dossier_sections": dossier_sections, "section_labels": services.SECTION_LABELS,
            "current_application": current_application, "user_is_applicant": lambda: is_applicant_user()}


def is_applicant_user() -> bool:
    return current_user.is_authenticated and is_applicant(current_user)


def current_application(call) -> Application | None:
    """The signed-in user's active application on ``call`` (for any applicant he acts for)."""
    for applicant in applicants_of(current_user):
        application = services.active_application(call, applicant)
        if application is not None:
            return application
    return None


def dossier_sections(application: Application) -> list[dict]:
    """The section navigation of a dossier: each section's page, whether it is open and, while the
    applicant still works on it, whether it is complete (``None`` once submitted, withdrawn or decided:
    nothing is left "to complete" then)."""
    editable = services.editable_sections(application)
    in_progress = application.is_editable_by_applicant
    return [
        {"key": key, "label": services.SECTION_LABELS[key],
         "url": url_for(services.SECTION_ENDPOINTS[key], application_id=application.id),
         "complete": services.section_complete(application, key) if in_progress else None,
         "editable": key in editable}
        for key in services.SECTIONS
    ]


def to_section(application: Application, section: str | None):
    if section is None:
        return redirect(url_for("applications.submit", application_id=application.id))
    return redirect(url_for(services.SECTION_ENDPOINTS[section], application_id=application.id))


def after_save(application: Application, section: str):
    """Back to the same page, or on to the next section with « Enregistrer et continuer »."""
    if request.form.get("continue"):
        return to_section(application, NEXT_SECTION[section])
    return to_section(application, section)


def closed_section(application: Application, error: DomainError):
    db.session.rollback()
    flash(error.message, "error")
    return redirect(url_for("applications.show", application_id=application.id))


def csrf_failed(form) -> bool:
    return "csrf_token" in form.errors


# --- Starting, listing ---------------------------------------------------------------------------


@bp.get("/dossiers")
@allow(Access.APPLICANT)
def index():
    rows = services.applications_of(applicants_of(current_user))
    return render_template("applications/index.html", rows=rows)


def start_options(call, user) -> list[dict]:
    options = []
    for applicant in applicants_of(user):
        existing = services.active_application(call, applicant)
        options.append({"applicant": applicant, "existing": existing,
                        "refusal": None if existing else services.refusal_reason(call, applicant)})
    return options


@bp.route("/appels/<slug>/deposer", methods=["GET", "POST"])
@allow(Access.APPLICANT)
def start(slug: str):
    call = call_for_page(slug)
    if call is None or call.state == CallState.DRAFT:
        abort(404)
    options = start_options(call, current_user)
    error = None
    if request.method == "POST":
        chosen = request.form.get("applicant", type=record_id)
        option = next((o for o in options if o["applicant"].id == chosen), None)
        if option is None:
            error = _("Choisissez au nom de qui vous déposez le dossier.")
        else:
            try:
                application = services.start_application(call, option["applicant"], actor=acting_user())
            except services.AlreadyApplied as existing:
                db.session.rollback()
                flash(existing.message, "info")
                return redirect(url_for("applications.show", application_id=existing.application.id))
            except DomainError as refused:
                db.session.rollback()
                error = refused.message
            else:
                db.session.commit()
                flash(_("Votre dossier est créé en brouillon : il est enregistré à chaque étape, et chaque membre "
                        "de l'organisme peut le reprendre."), "success")
                return redirect(url_for("applications.identification", application_id=application.id))
    return render_template("applications/start.html", call=call, options=options, error=error,
                           is_open=call.accepts_submissions_at(utcnow())), \
        422 if error else 200


# --- The dossier and its sections ----------------------------------------------------------------


@bp.get("/dossiers/<int:application_id>")
@allow(Access.APPLICANT)
def show(application_id: int):
    application = owned_application_or_404(current_user, application_id)
    corrections = services.corrections_of(application)
    return render_template(
        "applications/show.html", application=application, current_section=None,
        editable=services.editable_sections(application), correction=services.open_correction_in(corrections),
        deadline=services.submission_deadline(application), events=services.timeline(application),
        corrections=corrections,
        can_withdraw=application.state in services.WITHDRAWABLE,
    )


def render_section(template: str, application: Application, section: str, status: int = 200, **context):
    return render_template(template, application=application, current_section=section,
                           editable=section in services.editable_sections(application), **context), status


@bp.route("/dossiers/<int:application_id>/identification", methods=["GET", "POST"])
@allow(Access.APPLICANT)
def identification(application_id: int):
    application = owned_application_or_404(current_user, application_id)
    individual = application.applicant.kind == ApplicantKind.INDIVIDUAL
    form = IdentificationForm()
    if request.method == "GET" or not individual:
        form.address.data = application.applicant.address or ""
        return render_section("applications/identification.html", application, "identification", form=form)
    valid = form.validate()
    if csrf_failed(form):
        return render_section("applications/identification.html", application, "identification", 400, form=form)
    if not valid:
        return render_section("applications/identification.html", application, "identification", 422, form=form)
    try:
        services.save_identification(application, address=form.address.data or "", actor=acting_user(),
                                     expected_version=posted_version())
    except services.EditConflict as conflict:
        db.session.rollback()
        return render_section("applications/identification.html", application, "identification", 409, form=form,
                              conflict=conflict.message)
    except services.SectionClosed as error:
        return closed_section(application, error)
    db.session.commit()
    flash(_("Identification enregistrée."), "success")
    return after_save(application, "identification")


@bp.route("/dossiers/<int:application_id>/projet", methods=["GET", "POST"])
@allow(Access.APPLICANT)
def project(application_id: int):
    application = owned_application_or_404(current_user, application_id)
    form = ProjectForm(call=application.call)
    if request.method == "GET":
        form.fill_from(application)
        return render_section("applications/project.html", application, "projet", form=form)
    valid = form.validate()
    if csrf_failed(form):
        return render_section("applications/project.html", application, "projet", 400, form=form)
    try:
        services.save_project(application, form.valid_values(), actor=acting_user(), expected_version=posted_version())
    except services.EditConflict as conflict:
        db.session.rollback()
        return render_section("applications/project.html", application, "projet", 409, form=form,
                              conflict=conflict.message)
    except services.SectionClosed as error:
        return closed_section(application, error)
    except DomainError as error:
        db.session.rollback()
        attach_domain_error(form, error)
        return render_section("applications/project.html", application, "projet", 422, form=form)
    except StaleDataError:
        db.session.rollback()
        return render_section("applications/project.html", application, "projet", 409, form=form,
                              conflict=services.EditConflict().message)
    db.session.commit()
    if not valid:
        flash(_("Brouillon enregistré, sauf les champs signalés : corrigez-les puis enregistrez à nouveau."), "warning")
        return render_section("applications/project.html", application, "projet", 422, form=form)
    flash(_("Le projet est enregistré."), "success")
    return after_save(application, "projet")


def lines_by_kind(application: Application) -> dict:
    return {kind: services.lines_of(application, kind) for kind in BudgetLineKind}


def render_budget(application: Application, form: BudgetForm, status: int = 200, **context):
    return render_section("applications/budget.html", application, "budget", status, form=form,
                          problems=services.budget_problems(application), **context)


@bp.route("/dossiers/<int:application_id>/budget", methods=["GET", "POST"])
@allow(Access.APPLICANT)
def budget(application_id: int):
    application = owned_application_or_404(current_user, application_id)
    if request.method == "GET":
        form = BudgetForm(formdata=None, call=application.call, blank_rows=0)
        form.fill_from(application, lines_by_kind(application))
        return render_budget(application, form)
    form = BudgetForm(call=application.call, blank_rows=0)
    valid = form.validate()
    if csrf_failed(form):
        return render_budget(application, form, 400)
    lines, dropped = form.lines()
    section = BudgetSection(form.section.data) if form.section.data and not form.section.errors else None
    try:
        services.save_budget(
            application, section=section, amount_requested=form.amount_requested.data, lines=lines, actor=acting_user(),
            expected_version=posted_version(), keep_section=bool(form.section.errors),
            keep_amount_requested=bool(form.amount_requested.errors),
        )
    except services.EditConflict as conflict:
        db.session.rollback()
        return render_budget(application, form, 409, conflict=conflict.message)
    except services.SectionClosed as error:
        return closed_section(application, error)
    except DomainError as error:
        db.session.rollback()
        attach_domain_error(form, error) or flash(error.message, "error")
        return render_budget(application, form, 422)
    except StaleDataError:
        db.session.rollback()
        return render_budget(application, form, 409, conflict=services.EditConflict().message)
    db.session.commit()
    if not valid or dropped:
        flash(_("Brouillon enregistré, sauf les montants signalés : corrigez-les puis enregistrez à nouveau."), "warning")
        return render_budget(application, form, 422)
    if application.amount_requested is not None:
        limits = services.amount_limits_problems(application.call, application.amount_requested,
                                                 application.total_expenses)
        if limits:
            form.amount_requested.errors = [*form.amount_requested.errors, *limits]
            flash(_("Brouillon enregistré. Le montant demandé sort des règles de l'appel : il faudra le corriger "
                    "avant le dépôt."), "warning")
            return render_budget(application, form)
    flash(_("Le budget est enregistré."), "success")
    return after_save(application, "budget")


# --- Submission, receipt, withdrawal -------------------------------------------------------------


def render_submit(application: Application, status: int = 200, error: str | None = None):
    return render_template(
        "applications/submit.html", application=application, current_section="depot",
        problems=services.submission_problems(application) if application.is_editable_by_applicant else [],
        deadline=services.submission_deadline(application), editable=services.editable_sections(application),
        error=error,
    ), status


@bp.route("/dossiers/<int:application_id>/depot", methods=["GET", "POST"])
@allow(Access.APPLICANT)
def submit(application_id: int):
    application = owned_application_or_404(current_user, application_id)
    if request.method == "GET":
        return render_submit(application)
    try:
        services.submit(application, actor=acting_user(), expected_version=posted_version())
    except services.AlreadySubmitted:
        db.session.rollback()
        flash(_("Ce dossier est déjà déposé : voici son accusé de réception."), "info")
        return redirect(url_for("applications.receipt", application_id=application.id))
    except services.SubmissionIncomplete as incomplete:
        db.session.rollback()
        return render_submit(application, 422, incomplete.message)
    except services.EditConflict as conflict:
        db.session.rollback()
        return render_submit(application, 409, conflict.message)
    except (StaleDataError, InvalidTransition):
        # The other click of a double click went through first.
        db.session.rollback()
        db.session.refresh(application)
        if application.reference:
            return redirect(url_for("applications.receipt", application_id=application.id))
        return render_submit(application, 409, services.EditConflict().message)
    except DomainError as error:
        db.session.rollback()
        return render_submit(application, 422, error.message)
    db.session.commit()
    flash(_("Votre dossier est déposé sous la référence %(reference)s.", reference=application.reference), "success")
    return redirect(url_for("applications.receipt", application_id=application.id))


@bp.get("/dossiers/<int:application_id>/recu")
@allow(Access.APPLICANT)
def receipt(application_id: int):
    application = owned_application_or_404(current_user, application_id)
    if application.reference is None:
        flash(_("Ce dossier n'est pas encore déposé."), "info")
        return redirect(url_for("applications.submit", application_id=application.id))
    return render_template("applications/receipt.html", application=application, current_section=None,
                           events=services.timeline(application))


@bp.get("/dossiers/<int:application_id>/attestation-de-depot.pdf")
@allow(Access.APPLICANT)
def receipt_pdf(application_id: int):
    """The submission receipt (attestation de dépôt) as a PDF, for the association's records."""
    application = owned_application_or_404(current_user, application_id)
    if application.reference is None:
        abort(404)  # not submitted: nothing to attest
    content = render_pdf("applications/receipt_pdf.html", application=application, printed_on=local_today(),
                         grantor_name=current_app.config["GRANTOR_NAME"] or "",
                         grantor_siret=current_app.config["GRANTOR_SIRET"] or "")
    return pdf_response(content, f"attestation-de-depot-{application.reference}.pdf")


@bp.get("/dossiers/<int:application_id>/recapitulatif")
@allow(Access.AUTHENTICATED)
def summary(application_id: int):
    """The whole dossier on one page laid out for printing (or saving as PDF from the browser): for
    whoever may read the dossier (its applicant, managers, the reviewers assigned to it)."""
    application = viewable_application_or_404(current_user, application_id)
    if represents(current_user, application):
        back = url_for("applications.show", application_id=application.id)
    elif current_user.is_manager:
        back = url_for("applications.manage", application_id=application.id)
    else:
        back = None
    return render_template("applications/summary.html", application=application, back=back, printed_at=utcnow())


@bp.route("/dossiers/<int:application_id>/retrait", methods=["GET", "POST"])
@allow(Access.APPLICANT)
def withdraw(application_id: int):
    application = owned_application_or_404(current_user, application_id)
    if application.state not in services.WITHDRAWABLE:
        flash(_("Ce dossier ne peut plus être retiré."), "error")
        return redirect(url_for("applications.show", application_id=application.id))
    form = WithdrawForm()
    error = None
    if form.validate_on_submit():
        try:
            services.withdraw(application, actor=acting_user(), reason=form.reason.data or "")
        except (DomainError, StaleDataError) as refused:
            db.session.rollback()
            error = getattr(refused, "message", None) or _("Le dossier vient de changer : rechargez la page.")
        else:
            db.session.commit()
            flash(_("Le dossier est retiré. Vous pouvez en déposer un nouveau tant que l'appel est ouvert."), "success")
            return redirect(url_for("applications.show", application_id=application.id))
    status = 422 if request.method == "POST" else 200
    return render_template("applications/withdraw.html", application=application, current_section=None,
                           form=form, error=error), status
