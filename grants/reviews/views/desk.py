"""Instruction: eligibility screening, reviewer assignment with conflicts of interest, the reviewer's desk
and scoring, aggregation and the ranking of a call.

This module holds the reviewers' pages (``/evaluation``): their assignments, one dossier with its
scoring form, recusal, and the declaration of conflicts of interest. A reviewer reaches only his own
assignments: any other id is a 404, whether it exists or not. The managers' pages (screening,
assignment, ranking) are in grants.reviews.views.manage."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from grants.access import Access, acting_user, allow
from grants.database import db
from grants.errors import DomainError
from grants.form_errors import refuse
from grants.organisations.models import Applicant
from grants.reviews import scoring, services
from grants.reviews.assignments import reviewer_assignments
from grants.reviews.forms import ConflictForm, RecusalForm, fill_from_review, review_form_class
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
    return render_template("reviews/desk.html", assignments=reviewer_assignments(acting_user()))


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
        recusal_errors=recusal_errors,
    ), status


@bp.route("/evaluation/<int:assignment_id>", methods=["GET", "POST"])
@allow(Access.REVIEWER)
def assignment(assignment_id: int):
    assignment = own_assignment_or_404(assignment_id)
    if request.method == "GET":
        return render_assignment(assignment)
    form = review_form_class(list(assignment.application.call.criteria))()
    submit = request.form.get("action") == "submit"
    if not form.validate_on_submit():
        return render_assignment(assignment, form, status=422)
    try:
        scoring.save_review(assignment, acting_user(), form.entry(), submit=submit)
    except DomainError as error:
        errors = refuse(form, error)
        return render_assignment(assignment, form, errors=errors, status=422)
    db.session.commit()
    if submit:
        flash(_("Votre évaluation du dossier %(reference)s est transmise.",
                reference=assignment.application.reference), "success")
    else:
        flash(_("Votre brouillon est enregistré. Il reste modifiable jusqu'à sa transmission."), "success")
    return redirect(url_for("reviews.assignment", assignment_id=assignment_id))


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
        SelectChoice(applicant_id, name) for applicant_id, name in services.declarable_applicants()]
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
