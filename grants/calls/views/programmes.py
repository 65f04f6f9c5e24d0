"""The programme managers' pages for programme lines: each line's yearly figures, its authorisation
(AP / AE), its calls and the direct grants drawn on it outside any call."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from grants.access import Access, acting_user, allow
from grants.calls import services
from grants.calls.forms import SECTION_LABELS, AuthorisationForm, DirectGrantForm
from grants.calls.models import BudgetSection, DirectGrant, Programme, ProgrammeBudget
from grants.calls.views.manage import all_programmes, known_years
from grants.calls.views.public import bp
from grants.database import db
from grants.errors import DomainError
from grants.form_errors import refuse
from grants.formatting import money
from grants.local_time import budget_year


def chosen_year() -> int:
    """``?annee=`` when it is a plausible year, else the current budget year (the civil year in Paris)."""
    year = request.args.get("annee", type=int)
    return year if year and 2000 <= year <= 2100 else budget_year()


@bp.get("/gestion/programmes")
@allow(Access.MANAGER)
def programmes():
    year = chosen_year()
    overview = [(programme, services.programme_figures(programme.id, year)) for programme in all_programmes()]
    return render_template("calls/manage/programmes.html", overview=overview, year=year, years=known_years(year))


def direct_grants(programme_id: int, year: int) -> list[DirectGrant]:
    return db.session.scalars(
        sa.select(DirectGrant)
        .join(ProgrammeBudget, DirectGrant.programme_budget_id == ProgrammeBudget.id)
        .where(ProgrammeBudget.programme_id == programme_id, ProgrammeBudget.year == year)
        .options(selectinload(DirectGrant.programme_budget), selectinload(DirectGrant.decided_by))
        .order_by(DirectGrant.decided_at.desc(), DirectGrant.id.desc())
    ).all()


def render_programme(programme: Programme, *, authorisation_form=None, grant_form=None, authorisation_errors=(),
                     grant_errors=(), status: int = 200):
    year = chosen_year()
    # Each form has a prefix: both have a year and a section, and ids must stay unique on the page.
    if authorisation_form is None:
        authorisation_form = AuthorisationForm(prefix="autorisation", formdata=None, year=year)
    if grant_form is None:
        grant_form = DirectGrantForm(prefix="subvention", formdata=None, year=year)
    return render_template(
        "calls/manage/programme.html",
        programme=programme,
        year=year,
        years=known_years(year),
        figures=services.programme_figures(programme.id, year),
        rows=services.call_rows(programme_id=programme.id, year=year),
        grants=direct_grants(programme.id, year),
        authorisation_form=authorisation_form,
        grant_form=grant_form,
        authorisation_errors=authorisation_errors,
        grant_errors=grant_errors,
    ), status


@bp.get("/gestion/programmes/<int:programme_id>")
@allow(Access.MANAGER)
def programme(programme_id: int):
    return render_programme(db.get_or_404(Programme, programme_id))


@bp.post("/gestion/programmes/<int:programme_id>/autorisation")
@allow(Access.MANAGER)
def set_authorisation(programme_id: int):
    programme = db.get_or_404(Programme, programme_id)
    form = AuthorisationForm(prefix="autorisation")
    errors = []
    if form.validate_on_submit():
        section = BudgetSection(form.section.data)
        try:
            services.set_authorisation(programme, form.year.data, section, form.authorised.data, actor=acting_user())
        except DomainError as error:
            errors = refuse(form, error)
        else:
            db.session.commit()
            flash(_("L'autorisation %(year)s en %(section)s est fixée à %(amount)s.", year=form.year.data,
                    section=str(SECTION_LABELS[section]).lower(), amount=money(form.authorised.data)), "success")
            return redirect(url_for("calls.programme", programme_id=programme.id, annee=form.year.data))
    return render_programme(programme, authorisation_form=form, authorisation_errors=errors, status=422)


@bp.post("/gestion/programmes/<int:programme_id>/subventions-directes")
@allow(Access.MANAGER)
def record_direct_grant(programme_id: int):
    programme = db.get_or_404(Programme, programme_id)
    form = DirectGrantForm(prefix="subvention")
    errors = []
    if form.validate_on_submit():
        section = BudgetSection(form.section.data)
        budget = services.budget_line(programme.id, form.year.data, section)
        if budget is None:
            form.section.errors.append(_("Le programme n'a pas d'autorisation en %(section)s pour %(year)s : "
                                         "fixez-la d'abord.", section=str(SECTION_LABELS[section]).lower(),
                                         year=form.year.data))
        else:
            try:
                grant = services.record_direct_grant(budget, beneficiary_name=form.beneficiary_name.data,
                                                     purpose=form.purpose.data, amount=form.amount.data, actor=acting_user())
            except DomainError as error:
                errors = refuse(form, error)
            else:
                db.session.commit()
                flash(_("La subvention directe de %(amount)s à %(beneficiary)s est enregistrée.",
                        amount=money(grant.amount), beneficiary=grant.beneficiary_name), "success")
                return redirect(url_for("calls.programme", programme_id=programme.id, annee=form.year.data))
    return render_programme(programme, grant_form=form, grant_errors=errors, status=422)
