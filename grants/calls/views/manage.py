"""The programme managers' pages for calls: the list, creating and editing a call, the call's own
page and its lifecycle (publish, unpublish, extend, close, archive, clone). The grid, the documents
and the co-funders are in grants.calls.views.grid; programme lines in grants.calls.views.programmes.

Each view parses its form, calls one operation of grants.calls.services and commits once. On a
DomainError it rolls back and shows the message under the field it names, else in the form's error
summary (or, for a button, as an error message on the call's page)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from grants.access import Access, acting_user, allow
from grants.calls import services
from grants.calls.forms import (
    CallForm,
    CloneCallForm,
    CriterionForm,
    ExtendDeadlineForm,
    RequiredDocumentForm,
)
from grants.calls.models import Call, CallState, Programme, ProgrammeBudget
from grants.calls.views.public import bp
from grants.database import db, utcnow
from grants.errors import DomainError, InvalidTransition
from grants.form_errors import refuse
from grants.form_fields import page_number, record_id, year_number
from grants.formatting import local_datetime
from grants.local_time import budget_year, local_zone, to_local

FIXED_STATES = (CallState.CLOSED, CallState.ARCHIVED)




def failed_post_status() -> int:
    return 422 if request.method == "POST" else 200


def to_manage_page(call_id: int, anchor: str | None = None):
    return redirect(url_for("calls.manage", call_id=call_id, _anchor=anchor))


def all_programmes() -> list[Programme]:
    return db.session.scalars(sa.select(Programme).order_by(Programme.name)).all()


def known_years(*extra: int) -> list[int]:
    """Years that have a budget line or a call, plus this year and the next, newest first."""
    years = set(db.session.scalars(sa.select(ProgrammeBudget.year).distinct()))
    years |= set(db.session.scalars(sa.select(Call.year).distinct()))
    current = budget_year()
    years |= {current, current + 1, *extra}
    return sorted(years, reverse=True)


# --- The list of calls ---------------------------------------------------------------------------


@bp.get("/gestion/appels")
@allow(Access.MANAGER)
def manage_list():
    programme_id = request.args.get("programme", type=record_id)
    state = request.args.get("etat", "")
    state = CallState(state) if state in {s.value for s in CallState} else None
    year = request.args.get("annee", type=year_number)
    search = request.args.get("q", "").strip()[:200]
    page = request.args.get("page", 1, type=page_number)
    rows = services.call_rows_page(programme_id=programme_id, state=state, year=year, search=search or None,
                                   page=page)
    return render_template(
        "calls/manage/list.html", rows=rows, programmes=all_programmes(), years=known_years(),
        filters={"programme": programme_id, "state": state.value if state else "", "year": year, "search": search},
        now=utcnow(),
    )


# --- Creating and editing a call -----------------------------------------------------------------


@bp.route("/gestion/appels/nouveau", methods=["GET", "POST"])
@allow(Access.MANAGER)
def create():
    """A new draft call. ``?programme=<id>`` fixes the programme; without it, a select chooses it."""
    fixed = None
    if "programme" in request.args:
        fixed = db.get_or_404(Programme, request.args.get("programme", type=record_id) or 0)
    programme, programme_error = fixed, None
    if fixed is None and request.method == "POST":
        programme = db.session.get(Programme, request.form.get("programme", type=record_id) or 0)
        if programme is None:
            programme_error = _("Choisissez le programme qui finance l'appel.")
    form = CallForm()
    if request.method == "GET":
        # The model's defaults: the current budget year, the whole cost, blind review.
        form.year.data = budget_year()
        form.max_share_percent.data = Decimal("100")
        form.blind_review.data = True
    errors = []
    if form.validate_on_submit() and programme is not None:
        try:
            call = services.create_call(programme, actor=acting_user(), envelopes=form.envelopes(), **form.call_settings())
        except DomainError as error:
            errors = refuse(form, error)
        else:
            db.session.commit()
            flash(_("L'appel « %(title)s » est créé en brouillon.", title=call.title), "success")
            return to_manage_page(call.id)
    return render_template(
        "calls/manage/call_form.html", form=form, call=None, programme=programme, fixed_programme=fixed,
        programmes=all_programmes(), programme_error=programme_error, errors=errors, dates_fixed=False,
    ), failed_post_status()


def keep_dates(form: CallForm, call: Call) -> None:
    """An open call's dates are not in the form: they move only through the deadline extension."""
    for name in ("opens_at", "closes_at"):
        form[name].validators = []
        form[name].data = getattr(call, name)


@bp.route("/gestion/appels/<int:call_id>/modifier", methods=["GET", "POST"])
@allow(Access.MANAGER)
def edit(call_id: int):
    call = db.get_or_404(Call, call_id)
    if call.state in FIXED_STATES:
        flash(_("Un appel clôturé ne se modifie plus."), "error")
        return to_manage_page(call.id)
    dates_fixed = call.state == CallState.OPEN
    form = CallForm()
    if request.method == "GET":
        form.fill_from(call)
    if dates_fixed:
        keep_dates(form, call)
    errors = []
    if form.validate_on_submit():
        settings = form.call_settings()
        if dates_fixed:
            settings.update(opens_at=call.opens_at, closes_at=call.closes_at)
        try:
            services.update_call(call, actor=acting_user(), envelopes=form.envelopes(), **settings)
        except DomainError as error:
            errors = refuse(form, error)
        else:
            db.session.commit()
            flash(_("Les modifications de l'appel sont enregistrées."), "success")
            return to_manage_page(call.id)
    return render_template(
        "calls/manage/call_form.html", form=form, call=call, programme=call.programme, fixed_programme=call.programme,
        programmes=[], programme_error=None, errors=errors, dates_fixed=dates_fixed,
    ), failed_post_status()


# --- The manager's page of a call ----------------------------------------------------------------


def render_manage(call: Call, *, criterion_form=None, document_form=None, criterion_errors=(), document_errors=(),
                  status: int = 200):
    if criterion_form is None:
        criterion_form = CriterionForm(prefix="critere", formdata=None)
    if document_form is None:
        document_form = RequiredDocumentForm(prefix="piece", formdata=None)
    now = utcnow()
    return render_template(
        "calls/manage/call.html",
        call=call,
        now=now,
        locked=services.criteria_locked(call),
        documents_editable=call.state in services.EDITABLE_STATES,
        funders_editable=call.state not in FIXED_STATES,
        can_close=call.state == CallState.OPEN and call.closes_at <= now,
        funders=services.funder_breakdown(call),
        total_weight=sum((c.weight for c in call.criteria), Decimal(0)),
        criterion_form=criterion_form,
        document_form=document_form,
        criterion_errors=criterion_errors,
        document_errors=document_errors,
    ), status


@bp.get("/gestion/appels/<int:call_id>")
@allow(Access.MANAGER)
def manage(call_id: int):
    return render_manage(db.get_or_404(Call, call_id))


# --- Lifecycle -----------------------------------------------------------------------------------


def change_state(call_id: int, operation, success):
    """Run a lifecycle operation from a button; the outcome is said on the call's page."""
    call = db.get_or_404(Call, call_id)
    try:
        operation(call, actor=acting_user())
    except InvalidTransition:
        db.session.rollback()
        flash(_("Cette action n'est pas possible dans l'état actuel de l'appel."), "error")
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(success(call), "success")
    return to_manage_page(call.id)


def published_message(call: Call) -> str:
    if call.state == CallState.OPEN:
        return _("L'appel est publié et ouvert aux dépôts.")
    return _("L'appel est publié : il ouvrira de lui-même le %(date)s.",
             date=local_datetime(call.opens_at, "day_at_time"))


@bp.post("/gestion/appels/<int:call_id>/publier")
@allow(Access.MANAGER)
def publish(call_id: int):
    return change_state(call_id, services.publish_call, published_message)


@bp.post("/gestion/appels/<int:call_id>/depublier")
@allow(Access.MANAGER)
def unpublish(call_id: int):
    return change_state(call_id, services.unpublish_call,
                        lambda call: _("L'appel est repassé en brouillon : il n'est plus visible du public."))


@bp.post("/gestion/appels/<int:call_id>/cloturer")
@allow(Access.MANAGER)
def close(call_id: int):
    return change_state(call_id, services.close_call, lambda call: _("L'appel est clôturé."))


@bp.post("/gestion/appels/<int:call_id>/archiver")
@allow(Access.MANAGER)
def archive(call_id: int):
    return change_state(call_id, services.archive_call, lambda call: _("L'appel est archivé."))


def extended_message(call: Call, notified: int) -> str:
    date = local_datetime(call.closes_at, "day_at_time")
    if not notified:
        return _("La date limite est repoussée au %(date)s. Aucun brouillon n'était en cours : personne n'avait "
                 "à être prévenu.", date=date)
    return ngettext("La date limite est repoussée au %(date)s ; %(num)d porteur de brouillon a été prévenu par courriel.",
                    "La date limite est repoussée au %(date)s ; %(num)d porteurs de brouillons ont été prévenus par courriel.",
                    notified, date=date)


@bp.route("/gestion/appels/<int:call_id>/prolonger", methods=["GET", "POST"])
@allow(Access.MANAGER)
def extend(call_id: int):
    call = db.get_or_404(Call, call_id)
    if call.state != CallState.OPEN:
        flash(_("Seul un appel ouvert peut être prolongé."), "error")
        return to_manage_page(call.id)
    form = ExtendDeadlineForm()
    if request.method == "GET":
        form.closes_at.data = call.closes_at
    errors = []
    if form.validate_on_submit():
        try:
            notified = services.extend_deadline(call, form.closes_at.data, reason=form.reason.data, actor=acting_user())
        except DomainError as error:
            errors = refuse(form, error)
        else:
            db.session.commit()
            flash(extended_message(call, len(notified)), "success")
            return to_manage_page(call.id)
    drafts = len(services.draft_holders(call))
    return render_template("calls/manage/extend.html", call=call, form=form, errors=errors,
                           draft_holders=drafts), failed_post_status()


def one_year_later(instant: datetime) -> datetime:
    """The same wall-clock time in Paris one year later (28 February for a 29th)."""
    local = to_local(instant)
    try:
        shifted = local.replace(year=local.year + 1)
    except ValueError:
        shifted = local.replace(year=local.year + 1, day=28)
    return shifted.replace(tzinfo=local_zone()).astimezone(UTC)


def next_edition(text: str, year: int, separator: str) -> str:
    """``"SISA 2026"`` → ``"SISA 2027"``; a text without the year gets the next year appended."""
    pattern = re.compile(rf"(?<!\d){year}(?!\d)")
    if pattern.search(text):
        return pattern.sub(str(year + 1), text)
    return f"{text}{separator}{year + 1}"


@bp.route("/gestion/appels/<int:call_id>/dupliquer", methods=["GET", "POST"])
@allow(Access.MANAGER)
def clone(call_id: int):
    source = db.get_or_404(Call, call_id)
    form = CloneCallForm()
    if request.method == "GET":
        form.title.data = next_edition(source.title, source.year, " ")
        form.slug.data = next_edition(source.slug, source.year, "-")
        form.year.data = source.year + 1
        form.opens_at.data = one_year_later(source.opens_at)
        form.closes_at.data = one_year_later(source.closes_at)
    errors = []
    if form.validate_on_submit():
        try:
            call = services.clone_call(
                source, actor=acting_user(), title=form.title.data.strip(), slug=form.slug.data.strip(),
                year=form.year.data, opens_at=form.opens_at.data, closes_at=form.closes_at.data,
            )
        except DomainError as error:
            errors = refuse(form, error)
        else:
            db.session.commit()
            flash(_("« %(title)s » est créé en brouillon, avec la grille, les pièces demandées, les cofinanceurs et "
                    "les enveloppes de l'appel d'origine.", title=call.title), "success")
            return to_manage_page(call.id)
    return render_template("calls/manage/clone.html", source=source, form=form, errors=errors), failed_post_status()
