"""The demo shows each stage of a grant's life after the award, the flagship SISA call included: a
convention awaiting signature, a signed convention with the advance paid and the report due, a report
overdue, one to review, one accepted with the balance paid, one whose unspent money went back to the
envelope; the ledger agrees with the figures, and a second run changes nothing."""

from __future__ import annotations

from decimal import Decimal

from grants.awards import services as awards
from grants.database import db
from grants.demo import final_reports as demo
from grants.demo.conventions import AWAITING_SIGNATURE
from grants.final_reports import services
from grants.final_reports.services import Stage
from grants.local_time import local_today
from grants.models import FinalReport, MovementKind, PaymentTranche, ReportState
from tests.demo.test_seed import row_counts, seed


def test_the_demo_has_every_stage_of_a_grant_and_stays_idempotent(app):
    seed(app)
    rows = {row.application.title: row for row in services.standings()}

    flagship = rows[demo.REPORT_DUE]
    assert flagship.application.call.title == "Solidaires Ici Solidaires Ailleurs"
    assert flagship.stage == Stage.REPORT_DUE and flagship.report is None and flagship.due_on > local_today()
    assert flagship.decision.convention_countersigned_at is not None and flagship.decision.paid > 0

    waiting = rows[AWAITING_SIGNATURE]
    assert waiting.decision.convention_countersigned_at is None and waiting.decision.paid == 0

    overdue = rows[demo.OVERDUE]
    assert overdue.stage == Stage.REPORT_LATE and overdue.report is None and overdue.due_on < local_today()

    submitted = rows[demo.SUBMITTED]
    assert submitted.stage == Stage.REPORT_SUBMITTED and submitted.report.state == ReportState.SUBMITTED

    closed = rows[demo.CLOSED]
    assert closed.stage == Stage.CLOSED and closed.report.state == ReportState.ACCEPTED
    assert closed.decision.balance_paid_at is not None and closed.decision.paid == closed.decision.amount
    assert closed.decision.released == Decimal("0.00")
    tranches = [m.tranche for m in awards.movements_of(closed.decision) if m.kind == MovementKind.PAYMENT]
    assert tranches == [PaymentTranche.ADVANCE, PaymentTranche.BALANCE]

    reduced = rows[demo.REDUCED]
    assert reduced.stage == Stage.BALANCE_TO_PAY and reduced.report.state == ReportState.ACCEPTED
    decision = reduced.decision
    assert decision.released == Decimal("800.00") and decision.amount == Decimal("7200.00")
    assert decision.balance_paid_at is None and decision.paid < decision.amount
    assert [m.amount for m in awards.movements_of(decision) if m.kind == MovementKind.DECREASE] == [Decimal("800.00")]

    assert {Stage.REPORT_DUE, Stage.REPORT_LATE, Stage.REPORT_SUBMITTED, Stage.BALANCE_TO_PAY,
            Stage.CLOSED} <= {row.stage for row in rows.values()}
    assert awards.ledger_discrepancies() == []
    assert db.session.scalar(db.select(db.func.count()).select_from(FinalReport)) == 3
    before = row_counts()
    seed(app)
    assert row_counts() == before


def test_the_api_reads_the_demo_grants(app, client):
    from grants.api.services import create_token
    from grants.models import User

    seed(app)
    manager = db.session.scalar(db.select(User).where(User.email == "nadia.benali@region.example.org"))
    _, secret = create_token(manager, name="démo", actor=manager)
    db.session.commit()
    rows = {row.application.title: row for row in services.standings()}
    headers = {"Authorization": f"Bearer {secret}"}

    def grant(title: str) -> dict:
        return client.get(f"/api/v1/applications/{rows[title].application.id}", headers=headers).json["grant"]

    assert grant(demo.REPORT_DUE)["convention"]["state"] == "countersigned"
    assert grant(demo.REPORT_DUE)["payments"]["advance_paid"] is True
    assert grant(AWAITING_SIGNATURE)["convention"]["state"] == "awaiting_signature"
    assert grant(demo.OVERDUE)["final_report"]["overdue"] is True
    assert grant(demo.CLOSED)["payments"]["balance_paid"] is True
    assert grant(demo.REDUCED)["payments"]["released"] == "800.00"
