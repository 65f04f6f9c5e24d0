"""The programme managers' instruction pages of a call: eligibility screening, assigning reviewers (by
hand or automatically) and the ranking, on screen and as CSV.

Each view parses its form, calls one operation of grants.reviews.services and commits once. An id in a
URL or a form that does not belong to the call is a 404; a rule the service refuses (a conflict of
interest, a recused reviewer) comes back as a message and nothing is saved."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm.exc import StaleDataError

from grants.access import Access, acting_user, allow
from grants.accounts.models import User
from grants.applications.models import Application, ApplicationState
from grants.calls.models import BudgetSection, Call
from grants.database import db
from grants.errors import DomainError
from grants.form_errors import refuse
from grants.form_fields import page_number
from grants.local_time import local_today
from grants.reviews import ranking, services
from grants.reviews.forms import AutoAssignmentForm, ManualAssignmentForm, ScreeningForm
from grants.reviews.models import ReviewAssignment
from grants.reviews.views.desk import bp
from grants.spreadsheet_cells import csv_chunks, decimal_cell

# --- Eligibility screening -----------------------------------------------------------------------


@bp.get("/gestion/appels/<int:call_id>/recevabilite")
@allow(Access.MANAGER)
def screening(call_id: int):
    call = db.get_or_404(Call, call_id)
    lists = services.screening_list(call, waiting_page=request.args.get("page", 1, type=int),
                                    screened_page=request.args.get("page_examines", 1, type=int))
    return render_template("reviews/screening.html", call=call, waiting=lists.waiting, screened=lists.screened)


def application_of_call_or_404(call_id: int, application_id: int) -> Application:
    application = db.session.get(Application, application_id)
    if application is None or application.call_id != call_id:
        abort(404)
    return application


@bp.route("/gestion/appels/<int:call_id>/recevabilite/<int:application_id>", methods=["GET", "POST"])
@allow(Access.MANAGER)
def screen(call_id: int, application_id: int):
    application = application_of_call_or_404(call_id, application_id)
    form = ScreeningForm()
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            services.screen_application(application, eligible=form.decision.data == "eligible",
                                        reason=form.reason.data, actor=acting_user())
        except DomainError as error:
            errors = refuse(form, error)
            if errors:  # not about a field (already screened): said on the dossier's page
                flash(errors[0], "error")
                return redirect(url_for("reviews.screen", call_id=call_id, application_id=application_id))
        except StaleDataError:
            db.session.rollback()
            errors = [_("Le dossier vient de changer : rechargez la page.")]
        else:
            db.session.commit()
            if application.eligible:
                flash(_("Le dossier %(reference)s est recevable : il part en instruction.",
                        reference=application.reference), "success")
            else:
                flash(_("Le dossier %(reference)s est déclaré irrecevable ; le porteur en est informé par "
                        "courriel.", reference=application.reference), "success")
            # On to the next dossier waiting, as a manager screening a pile does; the list when none is left.
            following = services.next_to_screen(application)
            if following is not None:
                return redirect(url_for("reviews.screen", call_id=call_id, application_id=following))
            return redirect(url_for("reviews.screening", call_id=call_id))
    status = 422 if request.method == "POST" else 200
    return render_template("reviews/screen.html", call=application.call, application=application, form=form,
                           errors=errors, next_id=services.next_to_screen(application)), status


# --- Assignment ----------------------------------------------------------------------------------


def default_due_on():
    return local_today() + timedelta(days=21)


def render_assignments(call: Call, *, manual=None, auto=None, manual_errors=(), auto_errors=(), status=200):
    if manual is None:
        manual = ManualAssignmentForm(prefix="manuel", formdata=None)
        manual.due_on.data = default_due_on()
    if auto is None:
        auto = AutoAssignmentForm(prefix="auto", formdata=None)
        auto.per_application.data = 2
        auto.due_on.data = default_due_on()
    reviewers = services.active_reviewers()
    return render_template(
        "reviews/assignments.html", call=call, board=services.assignment_board(call), reviewers=reviewers,
        reviewer_names={r.id: r.full_name for r in reviewers}, loads=services.call_loads(call),
        manual=manual, auto=auto, manual_errors=manual_errors, auto_errors=auto_errors, today=local_today(),
    ), status


@bp.get("/gestion/appels/<int:call_id>/affectations")
@allow(Access.MANAGER)
def assignments(call_id: int):
    return render_assignments(db.get_or_404(Call, call_id))


def chosen(model, ids: list[int], *conditions) -> list:
    """The rows with these ids; a 404 when one of them does not exist or fails ``conditions``
    (an application of another call, a user who is not there): forged forms learn nothing."""
    ids = sorted(set(ids or []))
    if not ids:
        return []
    rows = db.session.scalars(sa.select(model).where(model.id.in_(ids), *conditions).order_by(model.id)).all()
    if len(rows) != len(ids):
        abort(404)
    return list(rows)


@bp.post("/gestion/appels/<int:call_id>/affectations")
@allow(Access.MANAGER)
def assign(call_id: int):
    call = db.get_or_404(Call, call_id)
    form = ManualAssignmentForm(prefix="manuel")
    if not form.validate_on_submit():
        return render_assignments(call, manual=form, status=422)
    applications = chosen(Application, form.applications.data, Application.call_id == call.id)
    reviewers = chosen(User, form.reviewers.data)
    try:
        outcome = services.assign(applications, reviewers, due_on=form.due_on.data, actor=acting_user())
    except DomainError as error:
        errors = refuse(form, error)
        return render_assignments(call, manual=form, manual_errors=errors, status=422)
    db.session.commit()
    flash(assignment_message(outcome), "success")
    return redirect(url_for("reviews.assignments", call_id=call.id))


@bp.post("/gestion/appels/<int:call_id>/affectations/automatique")
@allow(Access.MANAGER)
def auto_assign(call_id: int):
    call = db.get_or_404(Call, call_id)
    form = AutoAssignmentForm(prefix="auto")
    if not form.validate_on_submit():
        return render_assignments(call, auto=form, status=422)
    try:
        outcome = services.auto_assign(call, per_application=form.per_application.data,
                                       due_on=form.due_on.data, actor=acting_user())
    except DomainError as error:
        errors = refuse(form, error)
        return render_assignments(call, auto=form, auto_errors=errors, status=422)
    db.session.commit()
    flash(assignment_message(outcome), "success")
    for application, missing in outcome.shortfalls:
        flash(ngettext("Il manque %(num)d évaluateur sans conflit d'intérêts pour le dossier %(reference)s.",
                       "Il manque %(num)d évaluateurs sans conflit d'intérêts pour le dossier %(reference)s.",
                       missing, reference=application.reference), "warning")
    return redirect(url_for("reviews.assignments", call_id=call.id))


def assignment_message(outcome: services.AssignmentOutcome) -> str:
    if not outcome.created:
        return _("Aucune nouvelle affectation : les dossiers choisis ont déjà leurs évaluateurs.")
    return ngettext("%(num)d affectation créée ; les évaluateurs sont prévenus par courriel.",
                    "%(num)d affectations créées ; les évaluateurs sont prévenus par courriel.",
                    len(outcome.created))


@bp.post("/gestion/affectations/<int:assignment_id>/retirer")
@allow(Access.MANAGER)
def remove_assignment(assignment_id: int):
    assignment = db.get_or_404(ReviewAssignment, assignment_id)
    call_id = assignment.application.call_id
    try:
        services.remove_assignment(assignment, actor=acting_user())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("L'affectation est retirée."), "success")
    return redirect(url_for("reviews.assignments", call_id=call_id))


# --- The ranking ---------------------------------------------------------------------------------

RANKING_STATES = (ApplicationState.UNDER_REVIEW, ApplicationState.DECIDED, ApplicationState.WITHDRAWN)
RANKING_PAGE_SIZE = 100


def ranking_filters() -> dict:
    """The ranking's filters from the query string; unknown values are ignored, not errors."""
    args = request.args
    state = args.get("etat", "")
    section = args.get("section", "")
    sort = args.get("tri", "score")
    return {
        "state": ApplicationState(state) if state in {s.value for s in RANKING_STATES} else None,
        "section": BudgetSection(section) if section in {s.value for s in BudgetSection} else None,
        "partner_region": args.get("region", "").strip()[:100] or None,
        "flagged_only": args.get("desaccord") == "1",
        "sort": sort if sort in ranking.SORTS else "score",
    }


def envelope_for_ranking(call: Call, section: BudgetSection | None) -> Decimal:
    if section is not None:
        envelope = call.envelope_for(section)
        return envelope.amount if envelope else Decimal("0.00")
    return call.envelope_total


@bp.get("/gestion/appels/<int:call_id>/classement")
@allow(Access.MANAGER)
def ranking_page(call_id: int):
    call = db.get_or_404(Call, call_id)
    filters = ranking_filters()
    envelope = envelope_for_ranking(call, filters["section"])
    # One page of the stored ranking (refreshed by a task after each change): a range of ranks read
    # from an index, whatever the size of the call. The CSV export holds every row.
    page = ranking.ranking_page(call.id, page=request.args.get("page", 1, type=page_number),
                                page_size=RANKING_PAGE_SIZE, envelope=envelope, **filters)
    pages = max(math.ceil(page.total / RANKING_PAGE_SIZE), 1)
    return render_template(
        "reviews/ranking.html", call=call, rows=page.rows, total=page.total, page=page.page, pages=pages,
        filters=filters, envelope=envelope, first_over=page.first_over, envelope_line=page.envelope_line,
        status=page.status, states=RANKING_STATES, regions=ranking.partner_regions_of(call.id), sorts=ranking.SORTS,
    )


@bp.post("/gestion/appels/<int:call_id>/classement/mettre-a-jour")
@allow(Access.MANAGER)
def refresh_ranking(call_id: int):
    """Queue the refresh of the call's stored ranking at once, after the commit (on the embedded default
    it runs before the redirect). The request itself writes nothing."""
    call = db.get_or_404(Call, call_id)
    ranking.refresh_after_commit(call.id)
    db.session.commit()
    flash(_("La mise à jour du classement est lancée ; rechargez la page dans quelques instants si elle "
            "n'apparaît pas encore."), "success")
    return redirect(url_for("reviews.ranking_page", call_id=call.id, **request.args))


@bp.get("/gestion/appels/<int:call_id>/classement.csv")
@allow(Access.MANAGER)
def ranking_csv(call_id: int):
    call = db.get_or_404(Call, call_id)
    filters = ranking_filters()
    header = [
        _("Rang"), _("Référence"), _("Porteur"), _("Projet"), _("État"), _("Section"), _("Région partenaire"),
        _("Montant demandé"), _("Cumul demandé"), _("Évaluations rendues"), _("Évaluations attendues"),
        _("Note moyenne (0-100)"), _("Note normalisée (0-100)"), _("Écart"), _("Désaccord"),
        _("Montant suggéré moyen"), _("Avis : financer"), _("Avis : financer moins"), _("Avis : ne pas financer"),
        *([_("Jeunes touchés")] if call.asks_young_people_count else []),
    ]
    young_people = ranking.young_people_counts(call) if call.asks_young_people_count else {}
    yes, no = _("oui"), _("non")

    def lines():
        # Read while the response is sent, by batches of rows of one statement: the file of a call of
        # 10,000 applications is never whole in memory, and its first bytes leave at once.
        for row in ranking.ranking_rows(call.id, **filters):
            yield [
                row.rank, row.reference, row.applicant_name, row.title, row.state.value,
                row.section.value if row.section else "", row.partner_region,
                decimal_cell(row.amount_requested), decimal_cell(row.cumulative_requested), row.reviews_done,
                row.reviews_assigned, decimal_cell(row.mean_score), decimal_cell(row.normalised_mean),
                decimal_cell(row.spread), yes if row.flagged else no, decimal_cell(row.suggested_amount_mean),
                row.fund_votes, row.fund_lower_votes, row.do_not_fund_votes,
                *([young_people.get(row.application_id)] if call.asks_young_people_count else []),
            ]

    filename = f"classement-{call.slug}.csv"
    return Response(stream_with_context(csv_chunks(header, lines(), delimiter=";", byte_order_mark=True)),
                    mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
