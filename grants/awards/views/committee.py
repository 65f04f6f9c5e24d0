"""The committee session page: the proposal down the ranking, the manager's adjustments (recomputed
without writing anything), then the confirmation of every decision in one transaction."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from grants.access import Access, acting_user, allow
from grants.awards import committee
from grants.awards.forms import CommitteeForm
from grants.awards.views.decisions import bp
from grants.calls.models import BudgetSection, Call
from grants.database import db, utcnow
from grants.errors import DomainError
from grants.formatting import local_date, money
from grants.local_time import to_local


def chosen_section(call: Call, value: str | None) -> BudgetSection:
    """The section asked for, else the first the call has an envelope in."""
    try:
        return BudgetSection(value)
    except ValueError:
        return call.envelopes[0].section if call.envelopes else BudgetSection.OPERATING


def lines_of(form: CommitteeForm) -> dict[int, committee.CommitteeLine]:
    chosen = {}
    for entry in form.lines:
        try:
            application_id = int(entry.application_id.data)
        except (TypeError, ValueError):
            continue
        chosen[application_id] = committee.CommitteeLine(application_id, entry.choice.data, entry.amount.data,
                                                         (entry.reason.data or "").strip())
    return chosen


def render_committee(call: Call, section: BudgetSection, form: CommitteeForm | None = None, *, errors=(),
                     status: int = 200):
    chosen = lines_of(form) if form is not None else None
    proposal = committee.propose(call, section, chosen)
    if form is None:
        form = CommitteeForm(formdata=None, section=section.value, held_on=to_local(utcnow()).date(),
                             lines=[{"application_id": line.ranked.application_id, "choice": line.choice,
                                     "amount": line.amount, "reason": line.reason} for line in proposal.lines])
    entries = {}
    for entry in form.lines:
        try:
            entries[int(entry.application_id.data)] = entry
        except (TypeError, ValueError):
            continue
    rows = [(line, entries.get(line.ranked.application_id)) for line in proposal.lines]
    return render_template("awards/committee.html", call=call, section=section, proposal=proposal, form=form,
                           rows=rows, errors=errors, sections=[e.section for e in call.envelopes]), status


@bp.get("/gestion/appels/<int:call_id>/commission")
@allow(Access.MANAGER)
def committee_session(call_id: int):
    call = db.get_or_404(Call, call_id)
    return render_committee(call, chosen_section(call, request.args.get("section")))


@bp.post("/gestion/appels/<int:call_id>/commission")
@allow(Access.MANAGER)
def confirm_committee(call_id: int):
    call = db.get_or_404(Call, call_id)
    form = CommitteeForm()
    section = chosen_section(call, form.section.data)
    if request.form.get("action") != "confirm" or not form.validate_on_submit():
        # "Recalculer": show what would remain with the manager's choices; nothing is written.
        status = 422 if request.form.get("action") == "confirm" else 200
        return render_committee(call, section, form, status=status)
    chosen = list(lines_of(form).values())
    try:
        session = committee.confirm_committee(call, section=section, held_on=form.held_on.data, actor=acting_user(),
                                              lines=chosen, note=form.note.data or "")
    except DomainError as error:
        db.session.rollback()
        return render_committee(call, section, form, errors=[error.message], status=422)
    awarded = sum((line.amount for line in chosen if line.choice == "award" and line.amount), 0)
    db.session.commit()
    flash(_("La commission du %(date)s est enregistrée : %(count)s décision(s), %(amount)s engagés.",
            date=local_date(session.held_on, "long"), count=len([c for c in chosen if c.choice != "skip"]),
            amount=money(awarded)), "success")
    return redirect(url_for("awards.call_envelope", call_id=call.id))
