"""Instruction: eligibility screening, reviewer assignment with conflicts of interest, the reviewer's desk
and scoring, aggregation and the ranking of a call.

This module holds the reviewers' pages (``/evaluation``): their assignments, one dossier beside its
scoring form (saved as a draft by hand or in the background, checked whole, then confirmed on a page of
its own), recusal, and the declaration of conflicts of interest. A reviewer reaches only his own
assignments: any other id is a 404, whether it exists or not. The managers' pages (screening,
assignment, ranking) are in grants.reviews.views.manage."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from grants.access import Access, acting_user, allow
from grants.database import db
from grants.errors import DomainError
from grants.form_errors import attach_domain_error, refuse
from grants.formatting import local_datetime
from grants.keyset import BadCursor
from grants.organisations.models import Applicant
from grants.reviews import scoring, services
from grants.reviews.assignments import DeskKey, desk_page, desk_progress
from grants.reviews.forms import (
    ConflictForm,
    RecusalForm,
    SubmissionForm,
    fill_from_review,
    review_form_class,
)
from grants.reviews.models import ConflictOfInterest, ReviewAssignment, ReviewState

bp = Blueprint("reviews", __name__)


@bp.app_context_processor
def review_helpers():
    # For templates/reviews/_applicant_comments.html, included by the applicant's own pages.
    return {"applicant_visible_comments": services.applicant_visible_comments}


def own_assignment_or_404(assignment_id: int) -> ReviewAssignment:
    assignment = scoring.reviewer_assignment_or_none(acting_user(), assignment_id)
    if assignment is None:
        abort(404)
    return assignment


# --- The desk ------------------------------------------------------------------------------------


@bp.get("/evaluation")
@allow(Access.REVIEWER)
def desk():
    """The reviewer's dossiers, those still to transmit first, 50 a page: ``?apres=`` (next page) or
    ``?avant=`` (previous page) carries the key of the shown page's edge row; a key that is not one is
    a 400."""
    try:
        after, before = DeskKey.parse(request.args.get("apres")), DeskKey.parse(request.args.get("avant"))
    except BadCursor:
        abort(400)
    if after is not None and before is not None:
        abort(400)
    return render_template("reviews/desk.html", desk=desk_page(acting_user(), after=after, before=before))


# --- One dossier and its review ------------------------------------------------------------------


def render_assignment(assignment: ReviewAssignment, form=None, *, errors=(), recusal_form=None,
                      recusal_errors=(), status: int = 200):
    review = assignment.review
    criteria = list(assignment.application.call.criteria)
    if form is None:
        form = review_form_class(criteria)(formdata=None)
        fill_from_review(form, review)
    submitted = review is not None and review.state == ReviewState.SUBMITTED
    editable = not submitted and assignment.application.state.value == "under_review"
    return render_template(
        "reviews/assignment.html", assignment=assignment, application=assignment.application,
        call=assignment.application.call, review=review, criteria=criteria, form=form, errors=errors,
        submitted=submitted, editable=editable,
        # a partial draft has no score yet: a figure on half the grid would mislead
        own_score=scoring.own_score(review) if review and len(review.scores) == len(criteria) else None,
        peers=scoring.peer_reviews(assignment), recusal_form=recusal_form or RecusalForm(formdata=None),
        recusal_errors=recusal_errors, progress=desk_progress(acting_user(), assignment),
    ), status


def refuse_review(form, error: DomainError) -> list[str]:
    """Undo the refused save; every fault goes under its field (a :class:`scoring.ReviewRefused` holds
    them all), the others into the error summary."""
    db.session.rollback()
    return [e.message for e in getattr(error, "errors", [error]) if not attach_domain_error(form, e)]


@bp.route("/evaluation/<int:assignment_id>", methods=["GET", "POST"])
@allow(Access.REVIEWER)
def assignment(assignment_id: int):
    """The dossier beside its scoring form. "Enregistrer le brouillon" saves what is typed (incomplete is
    fine); "Vérifier avant transmission" saves it only if it is complete and valid, every fault shown at
    once, then leads to the confirmation: nothing is locked before the reviewer has read his review."""
    assignment = own_assignment_or_404(assignment_id)
    if request.method == "GET":
        return render_assignment(assignment)
    form = review_form_class(list(assignment.application.call.criteria))()
    check = request.form.get("action") == "submit"
    if not form.validate_on_submit():
        return render_assignment(assignment, form, status=422)
    try:
        scoring.save_review(assignment, acting_user(), form.entry(), complete=check)
    except DomainError as error:
        errors = refuse_review(form, error)
        return render_assignment(assignment, form, errors=errors, status=422)
    db.session.commit()
    if check:
        return redirect(url_for("reviews.confirm_submission", assignment_id=assignment_id))
    flash(_("Votre brouillon est enregistré. Il reste modifiable jusqu'à sa transmission."), "success")
    return redirect(url_for("reviews.assignment", assignment_id=assignment_id))


@bp.post("/evaluation/<int:assignment_id>/brouillon")
@allow(Access.REVIEWER)
def autosave(assignment_id: int):
    """The draft saved in the background by static/js/review_draft.js a few seconds after a change (the
    same form, CSRF token included): JSON, with the faults that kept it from being saved."""
    assignment = own_assignment_or_404(assignment_id)
    form = review_form_class(list(assignment.application.call.criteria))()
    refusals: list[str] = []
    if form.validate_on_submit():
        try:
            review = scoring.save_review(assignment, acting_user(), form.entry())
        except DomainError as error:
            refusals = refuse_review(form, error)
        else:
            db.session.commit()
            return jsonify(saved=True, message=_("Brouillon enregistré à %(time)s.",
                                                 time=local_datetime(review.updated_at, "HH:mm")))
    errors = {name: [str(message) for message in messages] for name, messages in form.errors.items()}
    if refusals:  # about no field: the dossier left instruction, the review was transmitted elsewhere
        errors[""] = refusals
    return jsonify(saved=False, message=_("Brouillon non enregistré : corrigez les erreurs signalées."),
                   errors=errors), 422


@bp.route("/evaluation/<int:assignment_id>/transmettre", methods=["GET", "POST"])
@allow(Access.REVIEWER)
def confirm_submission(assignment_id: int):
    """The checked review, read back before the irreversible transmission."""
    assignment = own_assignment_or_404(assignment_id)
    review = assignment.review
    if review is None or review.state == ReviewState.SUBMITTED:
        return redirect(url_for("reviews.assignment", assignment_id=assignment_id))
    if request.method == "GET" and scoring.transmission_errors(review):
        # Reached by its address with an incomplete draft: the check, with its messages, comes first.
        flash(_("Vérifiez d'abord votre notation : elle n'est pas complète."), "warning")
        return redirect(url_for("reviews.assignment", assignment_id=assignment_id))
    form = SubmissionForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            scoring.submit_review(assignment, acting_user(), version=form.version.data)
        except DomainError as error:
            criteria = list(assignment.application.call.criteria)
            review_form = review_form_class(criteria)(formdata=None)
            errors = refuse_review(review_form, error)
            db.session.refresh(review)
            fill_from_review(review_form, review)
            return render_assignment(assignment, review_form, errors=errors, status=422)
        db.session.commit()
        flash(_("Votre évaluation du dossier %(reference)s est transmise.",
                reference=assignment.application.reference), "success")
        return redirect(url_for("reviews.assignment", assignment_id=assignment_id))
    if request.method == "GET":
        form.version.data = scoring.draft_version(review)
    criteria = list(assignment.application.call.criteria)
    return render_template(
        "reviews/confirm.html", assignment=assignment, application=assignment.application, review=review,
        criteria=criteria, form=form, own_score=scoring.own_score(review),
    ), 200 if request.method == "GET" else 422


@bp.post("/evaluation/<int:assignment_id>/deport")
@allow(Access.REVIEWER)
def recuse(assignment_id: int):
    assignment = own_assignment_or_404(assignment_id)
    form = RecusalForm()
    if not form.validate_on_submit():
        return render_assignment(assignment, recusal_form=form, status=422)
    try:
        services.recuse(assignment, acting_user(), form.reason.data)
    except DomainError as error:
        errors = refuse(form, error)
        db.session.refresh(assignment)
        return render_assignment(assignment, recusal_form=form, recusal_errors=errors, status=422)
    db.session.commit()
    flash(_("Vous vous êtes déporté du dossier %(reference)s. Le chargé de mission le confiera à un autre "
            "évaluateur.", reference=assignment.application.reference), "success")
    return redirect(url_for("reviews.desk"))


# --- Conflicts of interest -----------------------------------------------------------------------


def render_conflicts(form: ConflictForm, errors=(), status: int = 200):
    return render_template("reviews/conflicts.html", form=form, errors=errors,
                           conflicts=services.declared_conflicts(acting_user())), status


def conflict_form() -> ConflictForm:
    form = ConflictForm()
    form.applicant.choices = [SelectChoice(0, _("— Choisissez un porteur —"))] + [
        SelectChoice(applicant_id, name) for applicant_id, name in services.declarable_applicants(acting_user())]
    return form


@bp.route("/evaluation/conflits", methods=["GET", "POST"])
@allow(Access.REVIEWER)
def conflicts():
    form = conflict_form()
    if request.method == "GET":
        return render_conflicts(form)
    applicant = db.session.get(Applicant, form.applicant.data or 0) if form.validate_on_submit() else None
    if form.is_submitted() and not form.errors and applicant is None:
        form.applicant.errors = [*form.applicant.errors, _("Choisissez un porteur dans la liste.")]
    if applicant is None:
        return render_conflicts(form, status=422)
    try:
        services.declare_conflict(acting_user(), applicant, form.reason.data)
    except DomainError as error:
        errors = refuse(form, error)
        return render_conflicts(form, errors, 422)
    db.session.commit()
    flash(_("Votre déclaration est enregistrée : les dossiers de ce porteur ne vous seront plus confiés."),
          "success")
    return redirect(url_for("reviews.conflicts"))


@bp.post("/evaluation/conflits/<int:conflict_id>/retirer")
@allow(Access.REVIEWER)
def withdraw_conflict(conflict_id: int):
    conflict = db.session.get(ConflictOfInterest, conflict_id)
    if conflict is None or conflict.reviewer_id != acting_user().id:
        abort(404)
    services.withdraw_conflict(acting_user(), conflict)
    db.session.commit()
    flash(_("Votre déclaration est retirée."), "success")
    return redirect(url_for("reviews.conflicts"))
