"""Decisions and the envelope ledger: the managers' decision page of an application (award, reject,
waiting list, amendments, cancellation, payments and the application's ledger rows).

The committee pages are in grants.awards.views.committee, the envelope dashboard and the exports in
grants.awards.views.dashboard; all are registered on ``bp``."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from grants.access import Access, acting_user, allow
from grants.applications.models import Application, ApplicationState
from grants.applications.policies import owned_application_or_404, viewable_application_or_404
from grants.awards import services
from grants.awards.forms import (
    TRANCHE_LABELS,
    AmendForm,
    AwardForm,
    CancelForm,
    PaymentForm,
    RecoveryForm,
    RejectForm,
    WaitlistForm,
)
from grants.awards.models import Decision, Outcome, PaymentTranche
from grants.database import db
from grants.errors import DomainError
from grants.form_errors import refuse
from grants.form_fields import error_messages
from grants.formatting import money
from grants.local_time import local_today
from grants.pdf import pdf_response, render_pdf

bp = Blueprint("awards", __name__)

# Each form of the decision page has a prefix: several have an amount or a reason, and ids must
# stay unique on the page.
FORMS = {
    "award": (AwardForm, "accord"),
    "reject": (RejectForm, "refus"),
    "waitlist": (WaitlistForm, "attente"),
    "amend": (AmendForm, "modification"),
    "cancel": (CancelForm, "annulation"),
    "payment": (PaymentForm, "versement"),
    "recovery": (RecoveryForm, "recouvrement"),
}


@bp.app_context_processor
def applicant_decision_helpers():
    # The applicant's pages (an area below awards) read the decision through these, on any page:
    # templates/awards/_applicant_decision.html, the dossier's status line and timeline, "Mes dossiers".
    return {"decision_for_applicant": services.decision_for_applicant,
            "decisions_by_application": services.decisions_by_application,
            "decision_timeline": services.decision_timeline}



def decidable_application_or_404(application_id: int) -> Application:
    """An application a manager may decide on: any submitted one (a draft is not the Region's yet)."""
    application = viewable_application_or_404(current_user, application_id)
    if application.state == ApplicationState.DRAFT:
        abort(404)
    return application


def award_of_or_404(application: Application) -> Decision:
    decision = services.decision_of(application)
    if decision is None or decision.outcome != Outcome.AWARDED:
        abort(404)
    return decision



def render_decision(application: Application, *, failed: str | None = None, form=None, errors=(), status: int = 200):
    decision = services.decision_of(application)
    forms = {}
    for name, (form_class, prefix) in FORMS.items():
        if name == failed:
            forms[name] = form
        elif name == "award":
            forms[name] = form_class(prefix=prefix, formdata=None, amount=application.amount_requested,
                                     section=application.section.value if application.section else None)
        elif name == "amend" and decision is not None and decision.amount is not None:
            forms[name] = form_class(prefix=prefix, formdata=None, amount=decision.amount)
        elif name == "payment" and decision is not None and decision.amount is not None:
            tranche = services.next_tranche(decision)
            # The balance is what remains to pay; other tranches are the manager's to state.
            remaining = decision.amount - decision.paid if tranche == PaymentTranche.BALANCE else None
            forms[name] = form_class(prefix=prefix, formdata=None, tranche=tranche.value, amount=remaining,
                                     paid_on=local_today())
        elif name == "recovery":
            forms[name] = form_class(prefix=prefix, formdata=None, recovered_on=local_today())
        else:
            forms[name] = form_class(prefix=prefix, formdata=None)
    envelopes = list(application.call.envelopes)
    page_errors = []
    if failed and failed not in visible_forms(application, decision):
        # The form that failed is no longer offered (decided meanwhile): say why at the top.
        page_errors = [*errors, *error_messages(form.errors)]
    return render_template(
        "awards/decision.html",
        application=application,
        call=application.call,
        decision=decision,
        movements=services.movements_of(decision),
        envelopes=envelopes,
        forms=forms,
        failed=failed,
        errors=errors,
        tranche_labels=TRANCHE_LABELS,
        page_errors=page_errors,
        payable=decision is not None and "payment" in visible_forms(application, decision),
        reviews=services.review_progress(application) if application.state == ApplicationState.UNDER_REVIEW else None,
    ), status


def visible_forms(application: Application, decision: Decision | None) -> set[str]:
    """The forms the decision page offers in the application's present state."""
    if application.state == ApplicationState.UNDER_REVIEW:
        return {"award", "reject"} | (set() if decision else {"waitlist"})
    if decision is not None and decision.outcome == Outcome.AWARDED and decision.cancelled_at is None:
        # Nothing is offered once the grant is paid in full or its balance is paid (soldée).
        payable = (decision.convention_countersigned_at is not None or not services.convention_required(decision)) \
            and decision.balance_paid_at is None and decision.paid < decision.amount
        return ({"payment"} if payable else set()) | {"amend", "cancel"} | ({"recovery"} if decision.paid > 0 else set())
    return set()


def handle(application: Application, name: str, operation, success: str):
    """Validate the named form, run the service, commit once; else show the page again with errors."""
    form_class, prefix = FORMS[name]
    form = form_class(prefix=prefix)
    errors = []
    if form.validate_on_submit():
        try:
            message = operation(form) or success
        except DomainError as error:
            errors = refuse(form, error)
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("awards.decision", application_id=application.id))
    return render_decision(application, failed=name, form=form, errors=errors, status=422)


@bp.get("/gestion/dossiers/<int:application_id>/decision")
@allow(Access.MANAGER)
def decision(application_id: int):
    return render_decision(decidable_application_or_404(application_id))


@bp.post("/gestion/dossiers/<int:application_id>/decision/accorder")
@allow(Access.MANAGER)
def award(application_id: int):
    application = decidable_application_or_404(application_id)

    def operation(form):
        granted = services.award_grant(application, amount=form.amount.data, section=form.section.data,
                                       actor=acting_user(), reason=form.reason.data or "",
                                       before_reviews_reason=form.before_reviews_reason.data or "")
        return _("Subvention de %(amount)s accordée à %(reference)s.", amount=money(granted.amount),
                 reference=application.reference)

    return handle(application, "award", operation, "")


@bp.post("/gestion/dossiers/<int:application_id>/decision/refuser")
@allow(Access.MANAGER)
def reject(application_id: int):
    application = decidable_application_or_404(application_id)

    def operation(form):
        services.reject_application(application, reason=form.reason.data, actor=acting_user())

    return handle(application, "reject", operation, _("Le refus est enregistré et le porteur de projet prévenu."))


@bp.post("/gestion/dossiers/<int:application_id>/decision/attente")
@allow(Access.MANAGER)
def waitlist(application_id: int):
    application = decidable_application_or_404(application_id)

    def operation(form):
        services.waitlist_application(application, actor=acting_user(), reason=form.reason.data or "")

    return handle(application, "waitlist", operation, _("Le dossier est placé sur la liste d'attente."))


@bp.post("/gestion/dossiers/<int:application_id>/decision/modifier")
@allow(Access.MANAGER)
def amend(application_id: int):
    application = decidable_application_or_404(application_id)
    decision = award_of_or_404(application)

    def operation(form):
        services.amend(decision, amount=form.amount.data, actor=acting_user(), reason=form.reason.data)
        return _("Le montant accordé est porté à %(amount)s.", amount=money(decision.amount))

    return handle(application, "amend", operation, "")


@bp.post("/gestion/dossiers/<int:application_id>/decision/annuler")
@allow(Access.MANAGER)
def cancel(application_id: int):
    application = decidable_application_or_404(application_id)
    decision = award_of_or_404(application)

    def operation(form):
        services.cancel_award(decision, actor=acting_user(), reason=form.reason.data, recover_paid=form.recover_paid.data,
                              recovered_on=form.recovered_on.data)

    return handle(application, "cancel", operation, _("La subvention est annulée ; son montant revient à l'enveloppe."))


@bp.post("/gestion/dossiers/<int:application_id>/decision/versements")
@allow(Access.MANAGER)
def pay(application_id: int):
    application = decidable_application_or_404(application_id)
    decision = award_of_or_404(application)

    def operation(form):
        movement = services.record_payment(decision, amount=form.amount.data, tranche=form.tranche.data,
                                           actor=acting_user(), paid_on=form.paid_on.data, reason=form.reason.data or "")
        return _("Versement de %(amount)s enregistré.", amount=money(movement.amount))

    return handle(application, "payment", operation, "")


@bp.post("/gestion/dossiers/<int:application_id>/decision/recouvrements")
@allow(Access.MANAGER)
def recover(application_id: int):
    application = decidable_application_or_404(application_id)
    decision = award_of_or_404(application)

    def operation(form):
        movement = services.record_recovery(decision, amount=form.amount.data, actor=acting_user(), reason=form.reason.data,
                                            recovered_on=form.recovered_on.data)
        return _("Titre de recette de %(amount)s enregistré.", amount=money(movement.amount))

    return handle(application, "recovery", operation, "")


@bp.get("/dossiers/<int:application_id>/lettre-de-decision.pdf")
@allow(Access.APPLICANT)
def decision_letter(application_id: int):
    """The decision letter as a PDF for the association: the award (amount, what comes next) or the
    refusal with its reason. None for a place on the waiting list or a cancelled award."""
    application = owned_application_or_404(current_user, application_id)
    decision = services.decision_of(application)
    if decision is None or decision.outcome == Outcome.WAITLISTED or decision.cancelled_at is not None:
        abort(404)
    content = render_pdf(
        "awards/decision_letter_pdf.html", application=application, decision=decision,
        convention_required=decision.outcome == Outcome.AWARDED and services.convention_required(decision),
        report_due_months=current_app.config["FINAL_REPORT_DUE_MONTHS"],
        grantor_name=current_app.config["GRANTOR_NAME"] or "", grantor_siret=current_app.config["GRANTOR_SIRET"] or "",
    )
    return pdf_response(content, f"lettre-de-decision-{application.reference}.pdf")
