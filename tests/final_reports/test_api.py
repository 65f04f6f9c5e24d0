"""The API tells a grant's closure: report accepted, balance paid, released, to recover."""

from __future__ import annotations

from grants.awards import closure
from grants.awards import services as awards
from grants.database import db
from grants.final_reports import services
from grants.local_time import local_today
from grants.models import PaymentTranche
from tests.api.conftest import api, bearer, matches_schema, secret  # noqa: F401 — fixtures
from tests.final_reports.conftest import filled, member


def test_a_decision_in_the_api_shows_its_closure(decision, manager, api):  # noqa: F811
    report = filled(decision)
    services.submit_report(report, actor=member(decision))
    services.accept_report(report, actor=manager)
    closure.reduce_to_actual_expenses(decision, amount="4000", actor=manager, reason="80 % réalisé")
    awards.record_payment(decision, amount="1500", tranche=PaymentTranche.BALANCE, actor=manager,
                          paid_on=local_today())
    db.session.commit()
    response = api.get(f"/api/v1/calls/{decision.application.call_id}/applications")
    assert response.status_code == 200 and matches_schema(response.json, "ApplicationPage") == []
    shown = response.json["items"][0]["decision"]
    assert shown["released"] == "1000.00" and shown["recovery_due"] == "0.00"
    assert shown["report_accepted_at"] is not None and shown["balance_paid_at"] is not None
