"""The read endpoints: their shape (checked against the served OpenAPI schemas), figures, pages and filters."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from grants.applications.models import ApplicationState
from grants.awards.services import award_grant
from grants.calls.models import BudgetSection, CallState
from grants.database import db, utcnow
from tests.api.conftest import matches_schema, open_call, under_review
from tests.factories import (
    ApplicationFactory,
    CallEnvelopeFactory,
    CallFactory,
    IndividualApplicantFactory,
    ProgrammeFactory,
    SubmittedApplicationFactory,
)


def test_calls_list_shape_and_totals(api):
    programme = ProgrammeFactory(code="relations-internationales", name="Relations internationales")
    call = CallFactory(programme=programme, title="Solidarité internationale", slug="solidarite")
    CallEnvelopeFactory(call=call, section=BudgetSection.OPERATING, amount=Decimal("250000.00"),
                        committed=Decimal("61500.00"), paid=Decimal("20000.00"))
    CallEnvelopeFactory(call=call, section=BudgetSection.INVESTMENT, amount=Decimal("50000.50"))
    response = api.get("/api/v1/calls")
    assert response.status_code == 200
    assert matches_schema(response.json, "CallPage") == []
    assert (response.json["total"], response.json["limit"], response.json["offset"]) == (1, 50, 0)
    item = response.json["items"][0]
    assert item["id"] == call.id and item["slug"] == "solidarite" and item["state"] == "open"
    assert item["programme"] == {"id": programme.id, "code": "relations-internationales", "name": "Relations internationales"}
    assert (item["envelope"], item["committed"], item["paid"], item["remaining"]) == (
        "300000.50", "61500.00", "20000.00", "238500.50"
    )
    assert item["opens_at"].endswith("+00:00")


def test_calls_are_paged_newest_opening_first(api):
    now = utcnow()
    calls = [CallFactory(opens_at=now - timedelta(days=30 - i), closes_at=now + timedelta(days=5)) for i in range(5)]
    first = api.get("/api/v1/calls?limit=2")
    second = api.get("/api/v1/calls?limit=2&offset=2")
    last = api.get("/api/v1/calls?limit=2&offset=4")
    ids = [item["id"] for page in (first, second, last) for item in page.json["items"]]
    assert ids == [c.id for c in reversed(calls)]
    assert first.json["total"] == 5 and len(last.json["items"]) == 1


def test_calls_filtered_by_state(api):
    open_one = CallFactory(state=CallState.OPEN)
    CallFactory(state=CallState.DRAFT)
    response = api.get("/api/v1/calls?state=open")
    assert [item["id"] for item in response.json["items"]] == [open_one.id]
    assert response.json["total"] == 1


@pytest.mark.parametrize(
    "query, field",
    [("limit=0", "limit"), ("limit=201", "limit"), ("limit=abc", "limit"), ("offset=-1", "offset"),
     ("limit=1%0A", "limit"), ("offset=99999999999", "offset"), ("state=ouvert", "state")],
)
def test_bad_list_parameters_are_422(api, query, field):
    response = api.get(f"/api/v1/calls?{query}")
    assert response.status_code == 422
    assert response.json["error"] == "invalid" and field in response.json["fields"]
    assert matches_schema(response.json, "Invalid") == []


def test_call_detail_gives_the_figures_per_section_as_decimal_strings(api, manager):
    call = open_call(amount=Decimal("10000.00"))
    CallEnvelopeFactory(call=call, section=BudgetSection.INVESTMENT, amount=Decimal("5000.00"))
    application = under_review(call)
    award_grant(application, amount=Decimal("1234.56"), section=BudgetSection.OPERATING, actor=manager)
    db.session.commit()
    response = api.get(f"/api/v1/calls/{call.id}")
    assert response.status_code == 200
    assert matches_schema(response.json, "Call") == []
    sections = {s["section"]: s for s in response.json["sections"]}
    assert sections["fonctionnement"] == {
        "section": "fonctionnement", "envelope": "10000.00", "committed": "1234.56", "paid": "0.00", "remaining": "8765.44",
    }
    assert sections["investissement"]["remaining"] == "5000.00"
    assert response.json["remaining"] == "13765.44"


def test_a_draft_call_is_visible_to_managers(api):
    call = CallFactory(state=CallState.DRAFT)
    assert api.get(f"/api/v1/calls/{call.id}").json["state"] == "draft"


def test_an_unknown_call_is_a_json_404(api):
    for url in ("/api/v1/calls/987654", "/api/v1/calls/987654/applications"):
        response = api.get(url)
        assert response.status_code == 404
        assert response.json == {"error": "not_found", "message": "Ressource introuvable."}


def test_applications_of_a_call_with_their_decisions(api, manager):
    call = open_call()
    other_call = open_call()
    decided = under_review(call, amount_requested="1800.00")
    waiting = under_review(call)
    person = SubmittedApplicationFactory(call=call, applicant=IndividualApplicantFactory())
    ApplicationFactory(call=call)  # a draft: never listed
    under_review(other_call)
    award_grant(decided, amount=Decimal("1500.00"), section=BudgetSection.OPERATING, actor=manager)
    db.session.commit()

    response = api.get(f"/api/v1/calls/{call.id}/applications")
    assert response.status_code == 200
    assert matches_schema(response.json, "ApplicationPage") == []
    items = {item["id"]: item for item in response.json["items"]}
    assert list(items) == [decided.id, waiting.id, person.id]
    assert response.json["total"] == 3
    first = items[decided.id]
    assert first["state"] == "decided" and first["amount_requested"] == "1800.00"
    assert first["applicant"] == {
        "kind": "organisation", "name": decided.applicant.organisation.name, "siret": decided.applicant.organisation.siret,
    }
    assert first["decision"]["outcome"] == "awarded" and first["decision"]["amount"] == "1500.00"
    assert first["decision"]["paid"] == "0.00" and first["decision"]["cancelled_at"] is None
    assert items[waiting.id]["decision"] is None
    assert items[person.id]["applicant"]["kind"] == "individual" and items[person.id]["applicant"]["siret"] is None


def test_applications_filtered_by_state_and_paged(api):
    call = open_call()
    reviewed = [under_review(call) for _ in range(3)]
    SubmittedApplicationFactory(call=call)
    response = api.get(f"/api/v1/calls/{call.id}/applications?state=under_review&limit=2&offset=1")
    assert [item["id"] for item in response.json["items"]] == [a.id for a in reviewed[1:]]
    assert response.json["total"] == 3
    assert api.get(f"/api/v1/calls/{call.id}/applications?state=draft").json["items"] == []
    assert api.get(f"/api/v1/calls/{call.id}/applications?state=bidon").status_code == 422


def test_listing_applications_costs_a_constant_number_of_queries(app, api):
    call = open_call()

    def count_queries():
        statements = []

        def record(*args):
            statements.append(args[2])

        db.session.expire_all()  # as in a fresh request: nothing already loaded
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert api.get(f"/api/v1/calls/{call.id}/applications").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        return len(statements)

    under_review(call)
    count_queries()  # the token's first use of the minute writes last_used_at: not counted below
    with_one = count_queries()
    for _ in range(5):
        under_review(call)
        SubmittedApplicationFactory(call=call, applicant=IndividualApplicantFactory())
    assert count_queries() == with_one


def test_the_openapi_document_is_public_json(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json["openapi"] == "3.1.0"


def test_applications_of_withdrawn_state_are_listed_with_it(api):
    call = open_call()
    application = SubmittedApplicationFactory(call=call, state=ApplicationState.WITHDRAWN, withdrawn_at=utcnow())
    response = api.get(f"/api/v1/calls/{call.id}/applications")
    assert [(i["id"], i["state"]) for i in response.json["items"]] == [(application.id, "withdrawn")]
