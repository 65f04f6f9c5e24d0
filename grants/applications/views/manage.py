"""The programme managers' pages of applications: a call's submitted dossiers, one dossier read-only with
its timeline, and the request for corrections (demande de compléments). Eligibility screening,
assignment and ranking are in grants.reviews."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from grants.access import Access, acting_user, allow
from grants.applications import bundles, services
from grants.applications.forms import CorrectionRequestForm
from grants.applications.models import Application, ApplicationState
from grants.applications.policies import managed_application_or_404
from grants.applications.views.applicant import bp
from grants.calls.models import Call
from grants.database import db, utcnow
from grants.errors import DomainError
from grants.form_errors import attach_domain_error


def render_dossier(application: Application, form: CorrectionRequestForm | None = None, status: int = 200,
                   errors=()):
    if form is None:
        form = CorrectionRequestForm(formdata=None)
        form.due_at.data = (utcnow() + timedelta(days=15)).replace(second=0, microsecond=0)
    state = listed_state()  # "Dossier suivant" follows the list the manager came from
    return render_template(
        "applications/manage/dossier.html", application=application, form=form, errors=errors,
        events=services.timeline(application), corrections=services.corrections_of(application),
        can_request_corrections=application.state == ApplicationState.SUBMITTED,
        listed_state=state, next_id=services.next_in_call(application, state),
    ), status


@bp.get("/gestion/dossiers/<int:application_id>")
@allow(Access.MANAGER)
def manage(application_id: int):
    return render_dossier(managed_application_or_404(application_id))


@bp.post("/gestion/dossiers/<int:application_id>/complements")
@allow(Access.MANAGER)
def request_corrections(application_id: int):
    application = db.get_or_404(Application, application_id)
    form = CorrectionRequestForm()
    if not form.validate_on_submit():
        return render_dossier(application, form, 422)
    try:
        services.request_corrections(application, actor=acting_user(), message=form.message.data,
                                     due_at=form.due_at.data, sections=form.sections.data)
    except (DomainError, StaleDataError) as error:
        db.session.rollback()
        message = getattr(error, "message", _("Le dossier vient de changer : rechargez la page."))
        shown = isinstance(error, DomainError) and attach_domain_error(form, error)
        return render_dossier(application, form, 422, errors=[] if shown else [message])
    db.session.commit()
    flash(_("La demande de compléments est envoyée au porteur de projet."), "success")
    return redirect(url_for("applications.manage", application_id=application.id))


STATE_FILTERS = [state for state in ApplicationState if state != ApplicationState.DRAFT]


def listed_state() -> ApplicationState | None:
    """The state the list is filtered by (``?etat=``); an unknown value is no filter, not an error."""
    value = request.args.get("etat", "")
    return ApplicationState(value) if value in {s.value for s in STATE_FILTERS} else None


@bp.get("/gestion/appels/<int:call_id>/dossiers")
@allow(Access.MANAGER)
def call_applications(call_id: int):
    call = db.get_or_404(Call, call_id)
    state = listed_state()
    return render_template("applications/manage/list.html", call=call, state=state, states=STATE_FILTERS,
                           bundled_files=bundles.count_bundled(call),
                           applications=services.call_applications(call, state,
                                                                   page=request.args.get("page", 1, type=int)))
