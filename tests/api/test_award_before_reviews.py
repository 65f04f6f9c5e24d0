"""#21 finding 7 in the API: an award before the reviews are in is 409 ``reviews_pending`` unless the
request says ``force`` with a ``force_reason`` (audited); both are in the OpenAPI document."""

from __future__ import annotations

from grants.api.openapi import openapi_document
from grants.audit.models import AuditEvent
from grants.awards.models import Decision
from grants.database import db
from tests.api.conftest import matches_schema, open_call, under_review
from tests.factories import ReviewAssignmentFactory, ReviewFactory


def award_url(application_id: int) -> str:
    return f"/api/v1/applications/{application_id}/award"


def test_an_award_with_a_draft_review_is_409_reviews_pending(api, manager):
    application = under_review(open_call())
    ReviewFactory(assignment=ReviewAssignmentFactory(application=application))
    response = api.post(award_url(application.id), json={"amount": "1500.00", "section": "fonctionnement"})
    assert response.status_code == 409, response.json
    assert response.json["error"] == "reviews_pending"
    assert (response.json["submitted"], response.json["pending"]) == (1, 1)
    assert matches_schema(response.json, "ReviewsPending") == []
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 0


def test_force_without_a_reason_is_422_and_a_reason_without_force_too(api, manager):
    application = under_review(open_call(), reviewed=False)
    for body, field in (({"force": True}, "force_reason"), ({"force": True, "force_reason": "  "}, "force_reason"),
                        ({"force_reason": "Urgence"}, "force_reason"), ({"force": "yes", "force_reason": "x"}, "force")):
        response = api.post(award_url(application.id), json={"amount": "1500.00", "section": "fonctionnement", **body})
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["fields"]


def test_force_with_a_reason_awards_and_is_audited(api, manager):
    application = under_review(open_call(), reviewed=False)
    response = api.post(award_url(application.id), json={
        "amount": "1500.00", "section": "fonctionnement", "force": True, "force_reason": "Décision du président"})
    assert response.status_code == 201, response.json
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "application.awarded_before_reviews"))
    assert event.details["reason"] == "Décision du président" and event.actor_id == manager.id
    assert (event.details["submitted"], event.details["pending"]) == ("0", "0")


def test_openapi_documents_force_and_reviews_pending():
    document = openapi_document()
    request = document["components"]["schemas"]["AwardRequest"]["properties"]
    assert request["force"]["type"] == "boolean" and request["force_reason"]["maxLength"] == 2000
    conflict = document["paths"]["/api/v1/applications/{application_id}/award"]["post"]["responses"]["409"]
    assert "reviews_pending" in conflict["content"]["application/json"]["examples"]
