"""POST /api/v1/applications/<id>/award: 201 with the award, 409 when the envelope or the application
refuses, 422 on bad input, 404 for an unknown id; nothing written unless 201."""

from __future__ import annotations

from decimal import Decimal

import pytest

from grants.applications.models import Application, ApplicationState
from grants.audit.models import AuditEvent
from grants.awards.models import Decision, EnvelopeMovement, MovementKind
from grants.awards.services import award_grant
from grants.calls.models import BudgetSection, CallEnvelope
from grants.database import db, utcnow
from tests.api.conftest import matches_schema, open_call, under_review
from tests.factories import SubmittedApplicationFactory


def award_url(application_id: int) -> str:
    return f"/api/v1/applications/{application_id}/award"


def nothing_written(envelope_committed: str = "0.00"):
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 0
    assert db.session.scalar(db.select(db.func.count(EnvelopeMovement.id))) == 0
    for envelope in db.session.scalars(db.select(CallEnvelope)):
        assert envelope.committed == Decimal(envelope_committed)


def test_an_award_is_201_with_the_award_and_the_envelope_after_it(api, manager):
    call = open_call(amount=Decimal("10000.00"))
    application = under_review(call, amount_requested="1800.00")
    response = api.post(
        award_url(application.id),
        json={"amount": "1500.00", "section": "fonctionnement", "reason": "Commission du 12 mai"},
    )
    assert response.status_code == 201, response.json
    assert matches_schema(response.json, "Award") == []
    body = response.json
    assert (body["outcome"], body["amount"], body["section"], body["paid"]) == ("awarded", "1500.00", "fonctionnement", "0.00")
    assert (body["application_id"], body["call_id"]) == (application.id, call.id)
    assert body["decided_by"] == {"id": manager.id, "name": "Claire Martin"}
    assert body["reason"] == "Commission du 12 mai"
    assert body["envelope"] == {
        "section": "fonctionnement", "envelope": "10000.00", "committed": "1500.00", "paid": "0.00", "remaining": "8500.00",
    }
    db.session.expire_all()
    decision = db.session.scalars(db.select(Decision)).one()
    assert (decision.id, decision.amount, decision.decided_by_id) == (body["id"], Decimal("1500.00"), manager.id)
    assert db.session.get(Application, application.id).state == ApplicationState.DECIDED
    movement = db.session.scalars(db.select(EnvelopeMovement)).one()
    assert (movement.kind, movement.amount, movement.actor_id) == (MovementKind.COMMITMENT, Decimal("1500.00"), manager.id)
    assert db.session.scalars(db.select(CallEnvelope)).one().committed == Decimal("1500.00")
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "application.awarded")) is not None


@pytest.mark.parametrize("amount, expected", [(1500, "1500.00"), ("1500", "1500.00"), ("0.5", "0.50"), ("01500.1", "1500.10")])
def test_amounts_as_whole_numbers_or_short_decimal_strings(api, amount, expected):
    application = under_review(open_call())
    response = api.post(award_url(application.id), json={"amount": amount, "section": "fonctionnement"})
    assert response.status_code == 201, response.json
    assert response.json["amount"] == expected


def test_envelope_exceeded_is_409_with_what_remains(api, manager):
    call = open_call(amount=Decimal("2000.00"))
    first, second = under_review(call), under_review(call)
    award_grant(first, amount=Decimal("1500.00"), section=BudgetSection.OPERATING, actor=manager)
    db.session.commit()
    response = api.post(award_url(second.id), json={"amount": "500.01", "section": "fonctionnement"})
    assert response.status_code == 409
    assert matches_schema(response.json, "EnvelopeExceeded") == []
    assert response.json["error"] == "envelope_exceeded"
    assert response.json["remaining"] == "500.00"
    assert "500,00" in response.json["message"]
    db.session.expire_all()
    assert db.session.get(Application, second.id).state == ApplicationState.UNDER_REVIEW
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 1
    assert db.session.scalars(db.select(CallEnvelope)).one().committed == Decimal("1500.00")
    # exactly what remains is accepted
    assert api.post(award_url(second.id), json={"amount": "500.00", "section": "fonctionnement"}).status_code == 201


@pytest.mark.parametrize(
    "make",
    [
        lambda call: SubmittedApplicationFactory(call=call, state=ApplicationState.WITHDRAWN, withdrawn_at=utcnow()),
        lambda call: SubmittedApplicationFactory(call=call),  # submitted, not yet under review
        lambda call: SubmittedApplicationFactory(call=call, state=ApplicationState.DRAFT, reference=None, submitted_at=None),
    ],
    ids=["withdrawn", "submitted", "draft"],
)
def test_an_application_that_cannot_be_awarded_is_409(api, make):
    application = make(open_call())
    response = api.post(award_url(application.id), json={"amount": "1000.00", "section": "fonctionnement"})
    assert response.status_code == 409
    assert response.json["error"] == "not_awardable" and response.json["message"]
    assert matches_schema(response.json, "Error") == []
    nothing_written()


def test_an_application_decided_already_is_409(api, manager):
    application = under_review(open_call())
    assert api.post(award_url(application.id), json={"amount": "1000.00", "section": "fonctionnement"}).status_code == 201
    response = api.post(award_url(application.id), json={"amount": "1000.00", "section": "fonctionnement"})
    assert response.status_code == 409 and response.json["error"] == "not_awardable"
    db.session.expire_all()
    assert db.session.scalars(db.select(CallEnvelope)).one().committed == Decimal("1000.00")


def test_an_unknown_application_is_a_json_404(api):
    response = api.post(award_url(987654), json={"amount": "1000.00", "section": "fonctionnement"})
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"amount": "0", "section": "fonctionnement"}, "amount"),
        ({"amount": "0.00", "section": "fonctionnement"}, "amount"),
        ({"amount": 0, "section": "fonctionnement"}, "amount"),
        ({"amount": "-100.00", "section": "fonctionnement"}, "amount"),
        ({"amount": -100, "section": "fonctionnement"}, "amount"),
        ({"amount": "100.001", "section": "fonctionnement"}, "amount"),
        ({"amount": "100.000", "section": "fonctionnement"}, "amount"),
        ({"amount": 100.5, "section": "fonctionnement"}, "amount"),
        ({"amount": 100.0, "section": "fonctionnement"}, "amount"),
        ({"amount": "NaN", "section": "fonctionnement"}, "amount"),
        ({"amount": "Infinity", "section": "fonctionnement"}, "amount"),
        ({"amount": "1e3", "section": "fonctionnement"}, "amount"),
        ({"amount": "1 500,00", "section": "fonctionnement"}, "amount"),
        ({"amount": "1500.00\n", "section": "fonctionnement"}, "amount"),
        ({"amount": "١٥٠٠", "section": "fonctionnement"}, "amount"),
        ({"amount": "1000000000.00", "section": "fonctionnement"}, "amount"),
        ({"amount": 10**30, "section": "fonctionnement"}, "amount"),
        ({"amount": True, "section": "fonctionnement"}, "amount"),
        ({"amount": None, "section": "fonctionnement"}, "amount"),
        ({"amount": ["1500"], "section": "fonctionnement"}, "amount"),
        ({"section": "fonctionnement"}, "amount"),
        ({"amount": "1000.00"}, "section"),
        ({"amount": "1000.00", "section": "Fonctionnement"}, "section"),
        ({"amount": "1000.00", "section": "fonctionnement", "reason": 12}, "reason"),
        ({"amount": "1000.00", "section": "fonctionnement", "reason": "x" * 2001}, "reason"),
        ({"amount": "1000.00", "section": "fonctionnement", "montant": "1000.00"}, "montant"),
        ({"amount": "5000.01", "section": "fonctionnement"}, "amount"),  # above the 5 000 asked
        ({"amount": "1000.00", "section": "investissement"}, "section"),  # the call has no such envelope
        (["1000.00", "fonctionnement"], "body"),
        ("1000.00", "body"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(api, body, field):
    application = under_review(open_call())
    response = api.post(award_url(application.id), json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"] == "invalid"
    assert field in response.json["fields"], response.json
    assert matches_schema(response.json, "Invalid") == []
    nothing_written()
    assert db.session.get(Application, application.id).state == ApplicationState.UNDER_REVIEW


@pytest.mark.parametrize(
    "data, content_type",
    [('{"amount": "1000.00", "section": "fonc', "application/json"),
     ('{"amount": "1000.00", "section": "fonctionnement"}', "text/plain"),
     ("amount=1000.00&section=fonctionnement", "application/x-www-form-urlencoded"),
     ('{"amount": NaN, "section": "fonctionnement"}', "application/json"),
     ("", "application/json")],
)
def test_a_body_that_is_not_a_json_object_is_422(api, data, content_type):
    application = under_review(open_call())
    response = api.post(award_url(application.id), data=data, content_type=content_type)
    assert response.status_code == 422
    assert set(response.json["fields"]) & {"body", "amount"}
    nothing_written()

