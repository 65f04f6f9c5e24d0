"""The managers' pages for a call's grid of criteria, the documents it asks for and its co-funders.
The add forms sit on the call's page (grants.calls.views.manage.render_manage); a refusal that is not
about a field (a locked grid, an open call's documents) is said there as an error message."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, render_template, request
from flask_babel import gettext as _

from grants.access import Access, acting_user, allow
from grants.calls import services
from grants.calls.forms import CriterionForm, FundersForm, RequiredDocumentForm
from grants.calls.models import Call, Criterion, RequiredDocument
from grants.calls.views.manage import (
    FIXED_STATES,
    failed_post_status,
    render_manage,
    to_manage_page,
)
from grants.calls.views.public import bp
from grants.database import db
from grants.errors import DomainError
from grants.form_errors import refuse

# --- The grid of criteria ------------------------------------------------------------------------


def criterion_fields(form: CriterionForm) -> dict:
    return {"name": form.name.data, "guidance": form.guidance.data or "", "weight": form.weight.data,
            "scale_max": form.scale_max.data}


@bp.post("/gestion/appels/<int:call_id>/criteres")
@allow(Access.MANAGER)
def add_criterion(call_id: int):
    call = db.get_or_404(Call, call_id)
    try:
        services.ensure_grid_editable(call)
    except DomainError as error:
        # A locked grid's page holds no criterion form to show field errors under: said on the call's page.
        flash(error.message, "error")
        return to_manage_page(call.id, "grille")
    form = CriterionForm(prefix="critere")
    errors = []
    if form.validate_on_submit():
        try:
            criterion = services.add_criterion(call, actor=acting_user(), **criterion_fields(form))
        except DomainError as error:
            errors = refuse(form, error)
            if errors:  # about the grid, not a field (a locked grid): said on the call's page
                flash(errors[0], "error")
                return to_manage_page(call.id, "grille")
        else:
            db.session.commit()
            flash(_("Le critère « %(name)s » est ajouté à la grille.", name=criterion.name), "success")
            return to_manage_page(call.id, "grille")
    return render_manage(call, criterion_form=form, criterion_errors=errors, status=422)


@bp.route("/gestion/criteres/<int:criterion_id>", methods=["GET", "POST"])
@allow(Access.MANAGER)
def edit_criterion(criterion_id: int):
    criterion = db.get_or_404(Criterion, criterion_id)
    call = criterion.call
    form = CriterionForm(obj=criterion)
    errors = []
    if form.validate_on_submit():
        try:
            services.update_criterion(criterion, actor=acting_user(), **criterion_fields(form))
        except DomainError as error:
            errors = refuse(form, error)
            if errors:
                flash(errors[0], "error")
                return to_manage_page(call.id, "grille")
        else:
            db.session.commit()
            flash(_("Le critère « %(name)s » est enregistré.", name=criterion.name), "success")
            return to_manage_page(call.id, "grille")
    return render_template("calls/manage/criterion.html", call=call, criterion=criterion, form=form, errors=errors,
                           locked=services.criteria_locked(call)), failed_post_status()


MOVES = {"up": -1, "down": +1}


@bp.post("/gestion/criteres/<int:criterion_id>/deplacer")
@allow(Access.MANAGER)
def move_criterion(criterion_id: int):
    criterion = db.get_or_404(Criterion, criterion_id)
    offset = MOVES.get(request.form.get("direction", ""))
    if offset is None:
        abort(400)
    call_id = criterion.call_id
    try:
        services.move_criterion(criterion, offset, actor=acting_user())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("L'ordre de la grille est enregistré."), "success")
    return to_manage_page(call_id, "grille")


@bp.post("/gestion/criteres/<int:criterion_id>/supprimer")
@allow(Access.MANAGER)
def remove_criterion(criterion_id: int):
    criterion = db.get_or_404(Criterion, criterion_id)
    call_id, name = criterion.call_id, criterion.name
    try:
        services.remove_criterion(criterion, actor=acting_user())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Le critère « %(name)s » est retiré de la grille.", name=name), "success")
    return to_manage_page(call_id, "grille")


# --- Documents to provide ------------------------------------------------------------------------


@bp.post("/gestion/appels/<int:call_id>/pieces")
@allow(Access.MANAGER)
def add_document(call_id: int):
    call = db.get_or_404(Call, call_id)
    form = RequiredDocumentForm(prefix="piece")
    errors = []
    if form.validate_on_submit():
        try:
            document = services.add_required_document(
                call, name=form.name.data, required=form.required.data, accepted_types=form.accepted_types.data,
                actor=acting_user(),
            )
        except DomainError as error:
            errors = refuse(form, error)
            if errors:  # the call is open: the list no longer changes
                flash(errors[0], "error")
                return to_manage_page(call.id, "pieces")
        else:
            db.session.commit()
            flash(_("La pièce « %(name)s » est ajoutée.", name=document.name), "success")
            return to_manage_page(call.id, "pieces")
    return render_manage(call, document_form=form, document_errors=errors, status=422)


@bp.post("/gestion/pieces/<int:document_id>/supprimer")
@allow(Access.MANAGER)
def remove_document(document_id: int):
    document = db.get_or_404(RequiredDocument, document_id)
    call_id, name = document.call_id, document.name
    try:
        services.remove_required_document(document, actor=acting_user())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("La pièce « %(name)s » n'est plus demandée.", name=name), "success")
    return to_manage_page(call_id, "pieces")


# --- Co-funders ----------------------------------------------------------------------------------


def funder_rows(call: Call) -> list[dict]:
    funders = sorted(call.funders, key=lambda f: (-f.share, f.name))
    return [{"name": f.name, "share_percent": (f.share * 100).quantize(Decimal("0.01"))} for f in funders]


def funder_problems(form: FundersForm) -> list[str]:
    """The rows' errors as one list for the summary (the summary macro lists plain fields only); a row
    with a name and no share, or a share and no name, is refused rather than silently dropped."""
    problems = []
    if "csrf_token" in form and form.csrf_token.errors:
        problems.append(_("La session a expiré : renvoyez le formulaire."))
    for number, row in enumerate(form.rows, start=1):
        name, share = row.form.name, row.form.share_percent
        has_name = bool(name.data and name.data.strip())
        if has_name and share.data is None and not share.errors:
            share.errors = [*share.errors, _("Indiquez la part de ce financeur.")]
        if not has_name and share.data is not None:
            name.errors = [*name.errors, _("Nommez ce financeur.")]
        for field in (name, share):
            for message in field.errors:
                problems.append(_("Ligne %(number)d, %(field)s : %(message)s", number=number,
                                  field=field.label.text, message=message))
    return problems


@bp.route("/gestion/appels/<int:call_id>/cofinanceurs", methods=["GET", "POST"])
@allow(Access.MANAGER)
def funders(call_id: int):
    call = db.get_or_404(Call, call_id)
    editable = call.state not in FIXED_STATES
    if request.method == "GET":
        form = FundersForm(formdata=None, rows=funder_rows(call))
        if len(form.rows) < form.rows.max_entries and all(row.form.name.data for row in form.rows):
            form.rows.append_entry()  # always one empty row to add a funder
        return render_template("calls/manage/funders.html", call=call, form=form, problems=[], editable=editable)
    if not editable:
        flash(_("Les cofinanceurs d'un appel clôturé ne changent plus."), "error")
        return to_manage_page(call.id, "cofinanceurs")
    form = FundersForm()
    form.validate()
    problems = funder_problems(form)
    if not problems:
        try:
            services.set_funders(call, form.shares(), actor=acting_user())
        except DomainError as error:
            problems = refuse(form, error)
        else:
            db.session.commit()
            flash(_("Les cofinanceurs de l'appel sont enregistrés."), "success")
            return to_manage_page(call.id, "cofinanceurs")
    return render_template("calls/manage/funders.html", call=call, form=form, problems=problems,
                           editable=editable), 422
