"""The final report's pages: the association's report (draft, deposit), the manager's review and the
grant's closure (acceptance, corrections, reduction to actual expenses, recovery of an overpayment),
and the managers' follow-up list of grants with its CSV export."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from grants.access import Access, acting_user, allow
from grants.applications.policies import (
    owned_application_or_404,
    represents,
    viewable_application_or_404,
)
from grants.awards import closure
from grants.calls.models import Call, Programme
from grants.database import db
from grants.errors import DomainError
from grants.final_reports import documents, services
from grants.final_reports.forms import (
    AcceptReportForm,
    DocumentForm,
    OverpaymentForm,
    ReductionForm,
    RemoveDocumentForm,
    ReportCorrectionsForm,
    ReportForm,
    SubmitReportForm,
)
from grants.final_reports.models import ReportState
from grants.final_reports.services import STAGE_LABELS, Stage
from grants.form_errors import refuse
from grants.form_fields import record_id
from grants.formatting import money
from grants.local_time import local_today
from grants.spreadsheet_cells import csv_text, decimal_cell
from grants.storage import StorageUnavailable

# What a download answers while the store is out of reach: 503, and when to try again.
STORAGE_RETRY_AFTER_SECONDS = 30

bp = Blueprint("final_reports", __name__)


@bp.app_context_processor
def final_report_helpers():
    # The applicant's dossier page (an area below) says what is due next through this.
    return {"final_report_standing": services.standing_of_application}


def award_or_404(application):
    decision = services.reportable_decision(application)
    if decision is None:
        abort(404)
    return decision


def report_rows(decision, report):
    """The lines shown: the saved report's, or the forecast budget's before the first save."""
    if report is not None:
        return [dict(position=line.position, kind=line.kind, account=line.account, label=line.label,
                     forecast=line.forecast, actual=line.actual, explanation=line.explanation,
                     needs_explanation=services.gap_needs_explanation(line)) for line in report.lines]
    return [dict(position=position, kind=line.kind, account=line.account,
                 label=f"{line.label} — {line.funder}" if line.funder else line.label,
                 forecast=line.amount, actual=None, explanation="", needs_explanation=False)
            for position, line in enumerate(decision.application.budget_lines)]


# --- The association ------------------------------------------------------------------------------


def render_report(application, decision, *, form=None, errors=(), status=200, document_form=None):
    report = services.report_of(decision)
    rows = report_rows(decision, report)
    if form is None:
        form = ReportForm(formdata=None, activity_report=report.activity_report if report else "",
                          lines=[{"actual": row["actual"], "explanation": row["explanation"]} for row in rows])
    return render_template("final_reports/report.html", application=application, decision=decision, report=report,
                           rows=rows, form=form, submit_form=SubmitReportForm(), errors=errors,
                           document_form=document_form or DocumentForm(formdata=None),
                           remove_form=RemoveDocumentForm(formdata=None),
                           due_on=services.report_due_on(decision), editable=report is None or report.is_editable,
                           gap_percent=current_app.config["FINAL_REPORT_GAP_PERCENT"]), status


@bp.get("/dossiers/<int:application_id>/compte-rendu")
@allow(Access.APPLICANT)
def edit(application_id: int):
    application = owned_application_or_404(current_user, application_id)
    return render_report(application, award_or_404(application))


@bp.post("/dossiers/<int:application_id>/compte-rendu")
@allow(Access.APPLICANT)
def save(application_id: int):
    application = owned_application_or_404(current_user, application_id)
    decision = award_or_404(application)
    form = ReportForm()
    errors = []
    if form.validate_on_submit():
        try:
            report = services.start_report(decision, actor=acting_user())
            lines = {index: (entry.actual.data, entry.explanation.data)
                     for index, entry in enumerate(form.lines.entries) if index < len(report.lines)}
            services.save_report(report, activity_report=form.activity_report.data, lines=lines, actor=acting_user())
        except DomainError as error:
            errors = refuse(form, error)
        else:
            db.session.commit()
            flash(_("Le compte rendu est enregistré. Déposez-le quand il est complet."), "success")
            return redirect(url_for("final_reports.edit", application_id=application.id))
    return render_report(application, decision, form=form, errors=errors, status=422)


@bp.post("/dossiers/<int:application_id>/compte-rendu/deposer")
@allow(Access.APPLICANT)
def submit(application_id: int):
    application = owned_application_or_404(current_user, application_id)
    decision = award_or_404(application)
    report = services.report_of(decision)
    form = SubmitReportForm()
    if not form.validate_on_submit():
        return render_report(application, decision, errors=[_("La page a expiré : renvoyez le formulaire.")], status=422)
    try:
        if report is None:
            raise DomainError(_("Enregistrez d'abord les montants réalisés et le compte rendu d'activité."))
        services.submit_report(report, actor=acting_user())
    except DomainError as error:
        db.session.rollback()
        return render_report(application, decision, errors=[error.message], status=422)
    db.session.commit()
    flash(_("Le compte rendu financier est déposé : la Région va l'examiner."), "success")
    return redirect(url_for("final_reports.edit", application_id=application.id))


@bp.post("/dossiers/<int:application_id>/compte-rendu/documents")
@allow(Access.APPLICANT)
def add_document(application_id: int):
    application = owned_application_or_404(current_user, application_id)
    decision = award_or_404(application)
    form = DocumentForm()
    if form.validate_on_submit():
        try:
            report = services.start_report(decision, actor=acting_user())
            document = documents.add_document(report, form.file.data, actor=acting_user())
        except DomainError as error:
            errors = refuse(form, error)
        else:
            db.session.commit()
            flash(_("« %(name)s » est joint au compte rendu.", name=document.original_filename), "success")
            return redirect(url_for("final_reports.edit", application_id=application.id))
    else:
        errors = []
    return render_report(application, decision, errors=errors, status=422, document_form=form)


@bp.post("/dossiers/<int:application_id>/compte-rendu/documents/<int:document_id>/retirer")
@allow(Access.APPLICANT)
def remove_document(application_id: int, document_id: int):
    application = owned_application_or_404(current_user, application_id)
    decision = award_or_404(application)
    report = services.report_of(decision)
    document = documents.document_of(report, document_id)
    if document is None:
        abort(404)
    if not RemoveDocumentForm().validate_on_submit():
        return render_report(application, decision, errors=[_("La page a expiré : renvoyez le formulaire.")], status=422)
    try:
        documents.remove_document(report, document, actor=acting_user())
    except DomainError as error:
        db.session.rollback()
        return render_report(application, decision, errors=[error.message], status=422)
    db.session.commit()
    flash(_("Le document est retiré du compte rendu."), "success")
    return redirect(url_for("final_reports.edit", application_id=application.id))


@bp.get("/dossiers/<int:application_id>/compte-rendu/documents/<int:document_id>")
@allow(Access.AUTHENTICATED)
def download_document(application_id: int, document_id: int):
    """A report's document, as a download, for the association and the managers only."""
    application = viewable_application_or_404(current_user, application_id)
    if not (current_user.is_manager or represents(current_user, application)):
        abort(404)
    document = documents.document_of(services.report_of(award_or_404(application)), document_id)
    if document is None:
        abort(404)
    try:
        stream = documents.open_document(document)
    except FileNotFoundError:
        current_app.logger.error("final report document %s: file %s missing from the store", document.id,
                                 document.storage_key)
        return render_template("applications/attachment_unavailable.html", attachment=document, missing=True), 404
    except StorageUnavailable:
        current_app.logger.exception("final report document %s: the store is out of reach", document.id)
        return (render_template("applications/attachment_unavailable.html", attachment=document, missing=False,
                                retry_after=STORAGE_RETRY_AFTER_SECONDS),
                503, {"Retry-After": str(STORAGE_RETRY_AFTER_SECONDS)})
    response = send_file(stream, mimetype=document.content_type, as_attachment=True,
                         download_name=document.original_filename, etag=document.sha256, max_age=0, conditional=True)
    if response.status_code == 200:
        response.content_length = document.size_bytes  # a stream from the store has no size of its own
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- The manager ----------------------------------------------------------------------------------

REVIEW_FORMS = {
    "accept": (AcceptReportForm, "acceptation"),
    "corrections": (ReportCorrectionsForm, "complements"),
    "reduce": (ReductionForm, "reduction"),
    "recover": (OverpaymentForm, "trop-percu"),
}


def render_review(application, decision, *, failed=None, form=None, errors=(), status=200):
    report = services.report_of(decision)
    forms = {}
    for name, (form_class, prefix) in REVIEW_FORMS.items():
        if name == failed:
            forms[name] = form
        elif name == "reduce" and report is not None and report.state == ReportState.ACCEPTED \
                and services.proposed_amount(report) < decision.amount:
            # The rule's amount, when it reduces the grant (after a reduction, the manager types one).
            forms[name] = form_class(prefix=prefix, formdata=None, amount=services.proposed_amount(report))
        elif name == "recover":
            forms[name] = form_class(prefix=prefix, formdata=None, amount=decision.recovery_due or None,
                                     recovered_on=local_today())
        else:
            forms[name] = form_class(prefix=prefix, formdata=None)
    return render_template("final_reports/review.html", application=application, decision=decision, report=report,
                           rows=report_rows(decision, report), forms=forms, failed=failed, errors=errors,
                           due_on=services.report_due_on(decision),
                           proposed=services.proposed_amount(report) if report is not None else None), status


def handle(application, decision, name, operation, *, precondition=None):
    """Validate the named form and run the operation in one transaction. ``precondition`` (a state the
    report must be in) is checked before the form: a form the page no longer shows cannot say its
    field errors, so the state's refusal is said instead."""
    form_class, prefix = REVIEW_FORMS[name]
    form = form_class(prefix=prefix)
    errors = []
    if precondition is not None:
        try:
            precondition()
        except DomainError as error:
            return render_review(application, decision, failed=name, form=form, errors=[error.message], status=422)
    if form.validate_on_submit():
        try:
            message = operation(form)
        except DomainError as error:
            errors = refuse(form, error)
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("final_reports.review", application_id=application.id))
    return render_review(application, decision, failed=name, form=form, errors=errors, status=422)


def managed_award_or_404(application_id: int):
    application = viewable_application_or_404(current_user, application_id)
    return application, award_or_404(application)


def submitted_report_or_404(decision):
    report = services.report_of(decision)
    if report is None:
        abort(404)
    return report


@bp.get("/gestion/dossiers/<int:application_id>/compte-rendu")
@allow(Access.MANAGER)
def review(application_id: int):
    application, decision = managed_award_or_404(application_id)
    return render_review(application, decision)


@bp.post("/gestion/dossiers/<int:application_id>/compte-rendu/accepter")
@allow(Access.MANAGER)
def accept(application_id: int):
    application, decision = managed_award_or_404(application_id)
    report = submitted_report_or_404(decision)

    def operation(form):
        services.accept_report(report, actor=acting_user())
        return _("Le compte rendu est accepté : le solde peut être versé.")

    return handle(application, decision, "accept", operation,
                  precondition=lambda: services.ensure_awaiting_review(report))


@bp.post("/gestion/dossiers/<int:application_id>/compte-rendu/complements")
@allow(Access.MANAGER)
def corrections(application_id: int):
    application, decision = managed_award_or_404(application_id)
    report = submitted_report_or_404(decision)

    def operation(form):
        services.request_report_corrections(report, reason=form.reason.data, actor=acting_user())
        return _("Les compléments sont demandés au porteur de projet.")

    return handle(application, decision, "corrections", operation,
                  precondition=lambda: services.ensure_awaiting_review(report))


@bp.post("/gestion/dossiers/<int:application_id>/compte-rendu/reduire")
@allow(Access.MANAGER)
def reduce(application_id: int):
    application, decision = managed_award_or_404(application_id)

    def operation(form):
        closure.reduce_to_actual_expenses(decision, amount=form.amount.data, actor=acting_user(), reason=form.reason.data)
        return _("La subvention est ramenée à %(amount)s.", amount=money(decision.amount - decision.recovery_due))

    return handle(application, decision, "reduce", operation)


@bp.post("/gestion/dossiers/<int:application_id>/compte-rendu/recouvrer")
@allow(Access.MANAGER)
def recover(application_id: int):
    application, decision = managed_award_or_404(application_id)

    def operation(form):
        closure.recover_overpayment(decision, amount=form.amount.data, actor=acting_user(), reason=form.reason.data,
                                    recovered_on=form.recovered_on.data)
        return _("Le titre de recette est enregistré ; la somme revient à l'enveloppe.")

    return handle(application, decision, "recover", operation)


# --- The follow-up list ---------------------------------------------------------------------------


def chosen_filters():
    calls = db.session.scalars(db.select(Call).order_by(Call.title)).all()
    programmes = db.session.scalars(db.select(Programme).order_by(Programme.name)).all()
    call_id = request.args.get("appel", type=record_id)
    programme_id = request.args.get("programme", type=record_id)
    stage = request.args.get("etape", "")
    return {
        "calls": calls, "programmes": programmes,
        "call_id": call_id if call_id in {c.id for c in calls} else None,
        "programme_id": programme_id if programme_id in {p.id for p in programmes} else None,
        "stage": Stage(stage) if stage in set(Stage) else None,
    }


@bp.get("/gestion/suivi-des-subventions")
@allow(Access.MANAGER)
def follow_up():
    filters = chosen_filters()
    rows = services.standings(call_id=filters["call_id"], programme_id=filters["programme_id"], stage=filters["stage"])
    return render_template("final_reports/follow_up.html", rows=rows, stage_labels=STAGE_LABELS, **filters)


@bp.get("/gestion/suivi-des-subventions.csv")
@allow(Access.MANAGER)
def follow_up_csv():
    filters = chosen_filters()
    rows = services.standings(call_id=filters["call_id"], programme_id=filters["programme_id"], stage=filters["stage"])
    header = [_("Dossier"), _("Bénéficiaire"), _("Appel"), _("Montant accordé"), _("Versé"), _("Dégagé"),
              _("À recouvrer"), _("Compte rendu attendu le"), _("État du compte rendu"), _("Étape")]
    body = csv_text(header, ([
        row.application.reference, row.application.applicant.display_name, row.application.call.title,
        decimal_cell(row.decision.amount), decimal_cell(row.decision.paid), decimal_cell(row.decision.released),
        decimal_cell(row.decision.recovery_due), row.due_on.strftime("%d/%m/%Y"),
        row.report.state.value if row.report else "", str(STAGE_LABELS[row.stage]),
    ] for row in rows), delimiter=";", byte_order_mark=True)
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="suivi-des-subventions.csv"'
    return response
