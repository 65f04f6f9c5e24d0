"""/api/v1: the JSON API for staff tools and the finance system.

Every view is token-authenticated (grants.api.auth.token_required) and answers JSON, errors
included: 401 without a valid token, 403 when its holder's role does not suffice, 404 for an unknown
id, 409 when the envelope or the application's state refuses an award, 422 for malformed input.
The contract is written in grants/api/openapi.py and served at /api/v1/openapi.json.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from grants.access import Access, acting_user, allow
from grants.api import representations
from grants.api.auth import json_error, token_required
from grants.api.inputs import InvalidRequest, parse_award, parse_choice, parse_page
from grants.api.openapi import openapi_document
from grants.applications.models import Application, ApplicationState
from grants.applications.policies import viewable_application_or_404
from grants.awards.models import Decision, Outcome
from grants.awards.services import (
    EnvelopeExceeded,
    NotAwardable,
    ReviewsPending,
    award_grant,
    payments_by_decision,
)
from grants.calls.models import Call, CallEnvelope, CallState
from grants.conventions.services import current_by_decision
from grants.database import db
from grants.errors import DomainError, NotAllowed
from grants.final_reports.services import reports_by_decision
from grants.input_limits import drain_refused_body
from grants.local_time import local_today
from grants.organisations.models import Applicant

v1 = Blueprint("v1", __name__, url_prefix="/api/v1")


@v1.errorhandler(InvalidRequest)
def invalid_request(error: InvalidRequest):
    db.session.rollback()
    return json_error(422, "invalid", _("Requête invalide."), fields=error.fields)


@v1.errorhandler(404)
def not_found(error):
    return json_error(404, "not_found", _("Ressource introuvable."))


@v1.errorhandler(413)
def too_large(error):
    drain_refused_body(request, current_app.config["REFUSED_BODY_DRAIN_BYTES"])
    return json_error(413, "too_large", _("Le corps de la requête est trop volumineux."))


@v1.errorhandler(NotAllowed)
def not_allowed(error: NotAllowed):
    db.session.rollback()
    return json_error(403, "forbidden", error.message)


@v1.errorhandler(500)
def server_error(error):
    db.session.rollback()
    return json_error(500, "server_error", _("Erreur interne : l'opération n'a pas été enregistrée."))


def call_or_404(call_id: int) -> Call:
    # Managers see every call, drafts included (token_required has checked the role).
    return db.get_or_404(Call, call_id)


@v1.get("/openapi.json")
@allow(Access.PUBLIC)
def openapi():
    """The contract is public: it names no data, and clients need it before they hold a token."""
    return jsonify(openapi_document())


@v1.get("/calls")
@token_required(Access.MANAGER)
def calls():
    limit, offset = parse_page(request.args)
    state = parse_choice(request.args, "state", CallState)
    query = db.select(Call)
    if state is not None:
        query = query.where(Call.state == state)
    total = db.session.scalar(db.select(db.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.options(db.joinedload(Call.programme), db.selectinload(Call.envelopes))
        .order_by(Call.opens_at.desc(), Call.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    items = [representations.call_summary(call) for call in rows]
    return jsonify(representations.page(items, total=total, limit=limit, offset=offset))


@v1.get("/calls/<int:call_id>")
@token_required(Access.MANAGER)
def call(call_id: int):
    return jsonify(representations.call_detail(call_or_404(call_id)))


@v1.get("/calls/<int:call_id>/applications")
@token_required(Access.MANAGER)
def call_applications(call_id: int):
    call = call_or_404(call_id)
    limit, offset = parse_page(request.args)
    state = parse_choice(request.args, "state", ApplicationState)
    # Drafts are the applicants' unfinished work: staff see applications once submitted.
    query = db.select(Application).where(Application.call_id == call.id, Application.state != ApplicationState.DRAFT)
    if state is not None:
        query = query.where(Application.state == state)
    total = db.session.scalar(db.select(db.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.options(
            db.joinedload(Application.applicant).joinedload(Applicant.organisation),
            db.joinedload(Application.applicant).joinedload(Applicant.person),
        )
        .order_by(Application.id)
        .limit(limit)
        .offset(offset)
    ).all()
    items = application_items(rows)
    return jsonify(representations.page(items, total=total, limit=limit, offset=offset))


@v1.get("/applications/<int:application_id>")
@token_required(Access.MANAGER)
def application(application_id: int):
    found = viewable_application_or_404(current_user, application_id)
    if found.state == ApplicationState.DRAFT:
        abort(404)  # the applicant's unfinished work, as in the lists
    return jsonify(application_items([found])[0])


def application_items(rows: list[Application]) -> list[dict]:
    """The applications with their decisions and, for awards, their convention, final report and
    payments: four statements for the whole page, whatever its length."""
    decisions = {
        d.application_id: d
        for d in db.session.scalars(db.select(Decision).where(Decision.application_id.in_([a.id for a in rows])))
    }
    awards = [d.id for d in decisions.values() if d.outcome == Outcome.AWARDED]
    conventions, reports, payments = (
        current_by_decision(awards), reports_by_decision(awards), payments_by_decision(awards))
    today = local_today()
    items = []
    for row in rows:
        decision = decisions.get(row.id)
        records = representations.GrantRecords()
        if decision is not None:
            records = representations.GrantRecords(conventions.get(decision.id), reports.get(decision.id),
                                                   payments.get(decision.id, []))
        items.append(representations.application_item(row, decision, records, today))
    return items


@v1.post("/applications/<int:application_id>/award")
@token_required(Access.MANAGER)
def award(application_id: int):
    application = viewable_application_or_404(current_user, application_id)
    wanted = parse_award(request.get_json(silent=True))
    try:
        decision = award_grant(
            application, amount=wanted.amount, section=wanted.section, actor=acting_user(),
            reason=wanted.reason, before_reviews_reason=wanted.force_reason,
        )
        envelope = db.session.scalar(
            db.select(CallEnvelope).where(CallEnvelope.call_id == application.call_id, CallEnvelope.section == wanted.section)
        )
        body = representations.award(decision, envelope)
        db.session.commit()
    except EnvelopeExceeded as error:
        db.session.rollback()
        return json_error(409, "envelope_exceeded", error.message, remaining=representations.money(error.remaining))
    except NotAwardable as error:
        db.session.rollback()
        return json_error(409, "not_awardable", error.message)
    except ReviewsPending as error:
        db.session.rollback()
        return json_error(409, "reviews_pending", error.message, submitted=error.submitted, pending=error.pending)
    except DomainError as error:
        db.session.rollback()
        return json_error(422, "invalid", _("Requête invalide."), fields={error.field or "body": error.message})
    except (IntegrityError, StaleDataError):
        # Another decision on this application committed first.
        db.session.rollback()
        return json_error(409, "not_awardable", _("Le dossier vient de recevoir une autre décision."))
    return jsonify(body), 201
