"""The demo shows a grant closed on its final report (reduced, the balance paid) and one report to review."""

from __future__ import annotations

from decimal import Decimal

from grants.awards import services as awards
from grants.database import db
from grants.final_reports import services
from grants.final_reports.services import Stage
from grants.models import FinalReport, ReportState
from tests.demo.test_seed import row_counts, seed


def test_the_demo_has_every_stage_of_the_closure_and_stays_idempotent(app):
    seed(app)
    reports = db.session.scalars(db.select(FinalReport).order_by(FinalReport.id)).all()
    assert [report.state for report in reports] == [ReportState.ACCEPTED, ReportState.SUBMITTED]
    closed = reports[0].decision
    assert closed.balance_paid_at is not None and closed.paid == closed.amount
    assert closed.released > Decimal("0.00")
    stages = {row.stage for row in services.standings()}
    assert {Stage.CLOSED, Stage.REPORT_SUBMITTED} <= stages
    assert awards.ledger_discrepancies() == []
    before = row_counts()
    seed(app)
    assert row_counts() == before
