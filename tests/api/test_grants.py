"""The API tells where each award stands after the decision: its convention (none, awaiting signature,
signed, countersigned, the avenant's number), its final report (due date, state, overdue) and its
payments (paid, balance, released, to recover), in the call's list and on the application's own
endpoint, with the same number of statements however many awards a page lists."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event

from grants.applications.models import ApplicationState
from grants.awards import closure
from grants.awards import services as awards
from grants.calls.models import CallState
from grants.conventions import services as conventions
from grants.database import db
from grants.final_reports import services as reports
from grants.local_time import local_today
from grants.models import PaymentTranche
from tests.api.conftest import matches_schema
from tests.awards.conftest import OPERATING, under_review
from tests.factories import ApplicationFactory, CallEnvelopeFactory, CallFactory
from tests.final_reports.conftest import awarded, filled, member


@pytest.fixture
def call(app):
    call = CallFactory(state=CallState.CLOSED, max_grant=Decimal("50000.00"))
    CallEnvelopeFactory(call=call, section=OPERATING, amount=Decimal("100000.00"))
    return call


def shown(api, application_id: int) -> dict:
    response = api.get(f"/api/v1/applications/{application_id}")
    assert response.status_code == 200, response.json
    assert matches_schema(response.json, "Application") == []
    return response.json


def test_a_convention_is_followed_from_none_to_countersigned_then_amended(api, call, manager):
    application = under_review(call, amount_requested=Decimal("30000.00"))
    decision = awards.award_grant(application, amount=Decimal("25000.00"), section=OPERATING, actor=manager)
    db.session.commit()
    convention = shown(api, application.id)["grant"]["convention"]
    assert (convention["required"], convention["state"], convention["version"]) == (True, "none", None)

    document = conventions.generate(decision, actor=manager)
    db.session.commit()
    convention = shown(api, application.id)["grant"]["convention"]
    assert (convention["state"], convention["version"], convention["amendment"]) == ("awaiting_signature", 1, 0)
    assert convention["amount"] == "25000.00" and convention["signed_at"] is None

    signer = decision.application.applicant.organisation.memberships[0].user
    conventions.sign(document, user=signer, consent=True, seen_sha256=document.pdf_sha256)
    db.session.commit()
    convention = shown(api, application.id)["grant"]["convention"]
    assert (convention["state"], convention["signature_method"]) == ("signed", "online")
    assert convention["signed_at"] is not None and convention["countersigned_at"] is None

    conventions.countersign(document, actor=manager)
    awards.record_payment(decision, amount="7500", tranche=PaymentTranche.ADVANCE, actor=manager,
                          paid_on=local_today())
    db.session.commit()
    grant = shown(api, application.id)["grant"]
    assert grant["convention"]["state"] == "countersigned" and grant["convention"]["countersigned_at"] is not None
    assert grant["payments"]["advance_paid"] is True and grant["payments"]["balance_paid"] is False
    assert (grant["payments"]["paid"], grant["payments"]["to_pay"]) == ("7500.00", "17500.00")
    assert grant["payments"]["movements"] == [
        {"kind": "payment", "tranche": "advance", "amount": "7500.00", "on": local_today().isoformat()}]

    awards.amend(decision, amount="28000", actor=manager, reason="Commission du 3 octobre")
    db.session.commit()
    convention = shown(api, application.id)["grant"]["convention"]
    assert convention["amendment_due"] is True and convention["state"] == "countersigned"
    conventions.generate(decision, actor=manager)
    db.session.commit()
    convention = shown(api, application.id)["grant"]["convention"]
    assert (convention["state"], convention["version"], convention["amendment"]) == ("awaiting_signature", 2, 1)
    assert convention["amount"] == "28000.00" and convention["amendment_due"] is False


def test_the_final_report_due_overdue_submitted_and_the_closure(api, call, manager):
    due = awarded(call, manager, ends_on=date(2099, 6, 30))
    late = awarded(call, manager, ends_on=date(2020, 6, 30))
    closed = awarded(call, manager)
    report = filled(closed)
    reports.submit_report(report, actor=member(closed))
    db.session.commit()

    grant = shown(api, due.application_id)["grant"]
    assert grant["stage"] == "report_due"
    assert grant["final_report"] == {"due_on": "2100-06-30", "state": "not_started", "overdue": False,
                                     "submitted_at": None, "accepted_at": None, "total_expenses": None}
    assert grant["convention"] == {**grant["convention"], "required": False, "state": "none"}
    grant = shown(api, late.application_id)["grant"]
    assert grant["stage"] == "report_late" and grant["final_report"]["overdue"] is True
    assert grant["final_report"]["due_on"] == "2021-06-30"
    grant = shown(api, closed.application_id)["grant"]
    assert grant["stage"] == "report_submitted" and grant["final_report"]["state"] == "submitted"
    assert grant["final_report"]["total_expenses"] == "8000.00" and grant["final_report"]["submitted_at"]

    reports.accept_report(report, actor=manager)
    closure.reduce_to_actual_expenses(closed, amount="4000", actor=manager, reason="80 % réalisé")
    db.session.commit()
    grant = shown(api, closed.application_id)["grant"]
    assert grant["stage"] == "balance_to_pay" and grant["final_report"]["accepted_at"] is not None
    assert (grant["payments"]["amount"], grant["payments"]["released"], grant["payments"]["to_pay"]) == (
        "4000.00", "1000.00", "1500.00")

    awards.record_payment(closed, amount="1500", tranche=PaymentTranche.BALANCE, actor=manager,
                          paid_on=local_today())
    db.session.commit()
    grant = shown(api, closed.application_id)["grant"]
    assert grant["stage"] == "closed"
    assert grant["payments"]["balance_paid"] is True and grant["payments"]["balance_paid_at"] is not None
    assert [m["tranche"] for m in grant["payments"]["movements"]] == ["advance", "balance"]


def test_money_paid_beyond_the_reduced_grant_is_shown_to_recover_then_recovered(api, call, manager):
    decision = awarded(call, manager, advance="4000")
    report = filled(decision)
    reports.submit_report(report, actor=member(decision))
    reports.accept_report(report, actor=manager)
    closure.reduce_to_actual_expenses(decision, amount="3000", actor=manager, reason="60 % réalisé")
    db.session.commit()
    grant = shown(api, decision.application_id)["grant"]
    assert grant["stage"] == "to_recover"
    assert (grant["payments"]["recovery_due"], grant["payments"]["released"]) == ("1000.00", "1000.00")

    closure.recover_overpayment(decision, amount="1000", actor=manager, reason="Titre n° 42",
                                recovered_on=local_today())
    db.session.commit()
    payments = shown(api, decision.application_id)["grant"]["payments"]
    assert (payments["paid"], payments["recovery_due"], payments["released"]) == ("3000.00", "0.00", "2000.00")
    assert payments["movements"][-1] == {"kind": "recovery", "tranche": None, "amount": "1000.00", "on": local_today().isoformat()}


def test_a_refusal_has_no_grant_and_a_cancelled_award_says_so(api, call, manager):
    refused = under_review(call)
    awards.reject_application(refused, reason="Hors du champ de l'appel", actor=manager)
    cancelled = awarded(call, manager, advance=None)
    awards.cancel_award(cancelled, actor=manager, reason="Projet abandonné")
    db.session.commit()
    assert shown(api, refused.id)["grant"] is None
    grant = shown(api, cancelled.application_id)["grant"]
    assert grant["stage"] == "cancelled" and grant["final_report"]["overdue"] is False


def test_the_list_carries_the_same_grant_as_the_detail(api, call, manager):
    decision = awarded(call, manager)
    under_review(call)
    db.session.commit()
    listed = api.get(f"/api/v1/calls/{call.id}/applications")
    assert matches_schema(listed.json, "ApplicationPage") == []
    items = {item["id"]: item for item in listed.json["items"]}
    assert items[decision.application_id] == shown(api, decision.application_id)
    assert sum(item["grant"] is None for item in items.values()) == 1


def test_a_draft_or_an_unknown_application_is_a_json_404(api, call):
    draft = ApplicationFactory(call=call)
    assert draft.state == ApplicationState.DRAFT
    for application_id in (draft.id, 987654):
        response = api.get(f"/api/v1/applications/{application_id}")
        assert response.status_code == 404 and response.json["error"] == "not_found"


def test_the_application_endpoint_needs_a_token(client, call):
    response = client.get(f"/api/v1/applications/{under_review(call).id}")
    assert response.status_code == 401 and response.json["error"] == "unauthorized"


def test_listing_awards_with_their_follow_up_costs_a_constant_number_of_queries(app, api, call, manager):
    def count_queries() -> int:
        statements = []

        def record(*args):
            statements.append(args[2])

        db.session.expire_all()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            response = api.get(f"/api/v1/calls/{call.id}/applications")
            assert response.status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        return len(statements)

    def grow():
        decision = awarded(call, manager)
        report = filled(decision)
        reports.submit_report(report, actor=member(decision))
        under_review(call)
        db.session.commit()

    grow()
    count_queries()  # the token's first use of the minute writes last_used_at: not counted below
    with_one = count_queries()
    for _ in range(4):
        grow()
    assert count_queries() == with_one
