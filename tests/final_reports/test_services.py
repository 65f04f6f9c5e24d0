"""The final report's life, the balance on the accepted report, reduction to actual expenses and
recovery: every figure checked against the ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from grants.awards import closure
from grants.awards import services as awards
from grants.database import db
from grants.errors import DomainError
from grants.final_reports import services
from grants.final_reports.services import Stage
from grants.local_time import local_today
from grants.models import (
    CallEnvelope,
    EnvelopeMovement,
    FinalReport,
    Notification,
    PaymentTranche,
    ReportState,
)
from tests.final_reports.conftest import OPERATING, awarded, filled, member
from tests.test_query_counts import counted_statements


def envelope_of(decision) -> CallEnvelope:
    return db.session.scalar(db.select(CallEnvelope).where(CallEnvelope.call_id == decision.application.call_id,
                                                             CallEnvelope.section == OPERATING))


def submitted(decision, **kwargs):
    report = filled(decision, **kwargs)
    return services.submit_report(report, actor=member(decision))


def test_the_draft_copies_the_forecast_lines_and_totals_come_from_the_lines(decision):
    report = filled(decision)
    assert [(line.account, line.forecast) for line in report.lines] == [
        ("60", Decimal("4000.00")), ("64", Decimal("6000.00")), ("74", Decimal("5000.00")), ("75", Decimal("5000.00"))]
    assert (report.total_expenses, report.total_resources) == (Decimal("8000.00"), Decimal("8000.00"))
    assert report.state == ReportState.DRAFT
    assert services.start_report(decision, actor=member(decision)) is report  # one report per award


def test_totals_that_differ_are_refused_and_nothing_moves(decision):
    report = filled(decision, actuals=("3000", "5000", "4000", "3000"), explanations=("a", "b", "c", "d"))
    with pytest.raises(DomainError, match="doit égaler le total des produits"):
        services.submit_report(report, actor=member(decision))
    assert report.state == ReportState.DRAFT and report.submitted_at is None


def test_a_gap_above_twenty_percent_needs_an_explanation(decision):
    report = filled(decision, explanations=("", "", "", ""))
    with pytest.raises(DomainError, match="Achats") as refused:
        services.submit_report(report, actor=member(decision))
    assert refused.value.field == "lines-0-explanation"
    # 64: 5 000 against 6 000 is 16.7 %: no explanation needed.
    assert not services.gap_needs_explanation(report.lines[1])


def test_a_missing_actual_and_a_negative_one_are_refused(decision):
    report = services.start_report(decision, actor=member(decision))
    with pytest.raises(DomainError) as negative:
        services.save_report(report, activity_report="x", lines={0: ("-1", "")}, actor=member(decision))
    assert negative.value.field == "lines-0-actual"
    services.save_report(report, activity_report="x", lines={0: ("4000", "")}, actor=member(decision))
    with pytest.raises(DomainError, match="montant réalisé"):
        services.submit_report(report, actor=member(decision))


def test_a_submitted_report_is_submitted_once_and_no_longer_edited(decision):
    report = submitted(decision)
    assert report.state == ReportState.SUBMITTED and report.submitted_at is not None
    with pytest.raises(DomainError, match="ne se modifie plus"):
        services.submit_report(report, actor=member(decision))
    with pytest.raises(DomainError, match="ne se modifie plus"):
        services.save_report(report, activity_report="autre", lines={}, actor=member(decision))


def test_no_balance_without_an_accepted_report(decision, manager):
    with pytest.raises(DomainError, match="compte rendu financier accepté"):
        awards.record_payment(decision, amount="2500", tranche=PaymentTranche.BALANCE, actor=manager,
                              paid_on=local_today())
    submitted(decision)
    with pytest.raises(DomainError, match="compte rendu financier accepté"):
        awards.record_payment(decision, amount="2500", tranche=PaymentTranche.BALANCE, actor=manager,
                              paid_on=local_today())
    assert decision.paid == Decimal("2500.00") and decision.balance_paid_at is None


def test_corrections_then_acceptance_then_one_balance_only(decision, manager):
    report = submitted(decision)
    services.request_report_corrections(report, reason="Joignez le détail des salaires.", actor=manager)
    assert report.state == ReportState.CORRECTIONS_REQUESTED
    services.save_report(report, activity_report="Complété.", lines={1: ("5000", "Un poste vacant")},
                         actor=member(decision))
    services.submit_report(report, actor=member(decision))
    services.accept_report(report, actor=manager)
    assert report.state == ReportState.ACCEPTED and decision.report_accepted_at is not None
    events = set(db.session.scalars(db.select(Notification.event)))
    assert {"final_report_corrections", "final_report_accepted"} <= events
    awards.record_payment(decision, amount="1500", tranche=PaymentTranche.BALANCE, actor=manager,
                          paid_on=local_today())
    assert decision.balance_paid_at is not None
    with pytest.raises(DomainError, match="déjà été versé"):
        awards.record_payment(decision, amount="100", tranche=PaymentTranche.BALANCE, actor=manager,
                              paid_on=local_today())
    with pytest.raises(DomainError, match="déjà été versé"):
        awards.record_payment(decision, amount="100", tranche=PaymentTranche.INSTALMENT, actor=manager,
                              paid_on=local_today())
    assert decision.paid == Decimal("4000.00")
    assert awards.ledger_discrepancies() == []


def test_the_balance_never_passes_the_award(decision, manager):
    services.accept_report(submitted(decision), actor=manager)
    with pytest.raises(DomainError, match="reste à verser"):
        awards.record_payment(decision, amount="2500.01", tranche=PaymentTranche.BALANCE, actor=manager,
                              paid_on=local_today())
    assert decision.balance_paid_at is None and decision.paid == Decimal("2500.00")


def test_the_database_refuses_a_second_balance_row(decision, manager):
    services.accept_report(submitted(decision), actor=manager)
    awards.record_payment(decision, amount="1000", tranche=PaymentTranche.BALANCE, actor=manager,
                          paid_on=local_today())
    db.session.commit()
    db.session.add(EnvelopeMovement(envelope_id=envelope_of(decision).id, decision_id=decision.id,
                                    kind="payment", tranche=PaymentTranche.BALANCE, amount=Decimal("1"),
                                    actor_id=manager.id))
    with pytest.raises(Exception, match="one_balance|UNIQUE"):
        db.session.flush()
    db.session.rollback()


def test_the_reduction_releases_the_unpaid_part_to_the_envelope(decision, manager):
    report = submitted(decision)
    services.accept_report(report, actor=manager)
    # 8 000 spent of 10 000 forecast: 5 000 × 80 % = 4 000.
    assert services.proposed_amount(report) == Decimal("4000.00")
    envelope = envelope_of(decision)
    committed_before = envelope.committed
    closure.reduce_to_actual_expenses(decision, amount="4000", actor=manager, reason="Dépenses réalisées à 80 %")
    assert decision.amount == Decimal("4000.00") and decision.released == Decimal("1000.00")
    assert decision.recovery_due == 0
    db.session.refresh(envelope)
    assert envelope.committed == committed_before - Decimal("1000.00")
    awards.record_payment(decision, amount="1500", tranche=PaymentTranche.BALANCE, actor=manager,
                          paid_on=local_today())
    assert decision.paid == decision.amount
    assert awards.ledger_discrepancies() == []


def test_a_reduction_below_what_was_paid_becomes_a_recovery(app, call, manager):
    decision = awarded(call, manager, advance="4000")
    services.accept_report(submitted(decision), actor=manager)
    closure.reduce_to_actual_expenses(decision, amount="3000", actor=manager, reason="Projet réduit")
    # Nothing unpaid is left to release but 1 000; 1 000 paid too much is to recover.
    assert (decision.amount, decision.paid) == (Decimal("4000.00"), Decimal("4000.00"))
    assert (decision.released, decision.recovery_due) == (Decimal("1000.00"), Decimal("1000.00"))
    rows = services.standings(today=date(2027, 1, 1))
    assert rows[0].stage == Stage.TO_RECOVER
    with pytest.raises(DomainError, match="Il reste 1"):
        closure.recover_overpayment(decision, amount="1000.01", actor=manager, reason="Titre", recovered_on=local_today())
    closure.recover_overpayment(decision, amount="1000", actor=manager, reason="Titre n° 42", recovered_on=local_today())
    assert (decision.amount, decision.paid, decision.recovery_due) == (Decimal("3000.00"), Decimal("3000.00"), 0)
    assert decision.released == Decimal("2000.00")
    envelope = envelope_of(decision)
    assert (envelope.committed, envelope.paid) == (Decimal("3000.00"), Decimal("3000.00"))
    assert awards.ledger_discrepancies() == []
    assert services.standings(today=date(2027, 1, 1))[0].stage == Stage.CLOSED


def test_no_reduction_before_the_report_is_accepted_nor_above_the_award(decision, manager):
    with pytest.raises(DomainError, match="compte rendu financier accepté"):
        closure.reduce_to_actual_expenses(decision, amount="4000", actor=manager, reason="x")
    services.accept_report(submitted(decision), actor=manager)
    with pytest.raises(DomainError, match="inférieur au montant accordé"):
        closure.reduce_to_actual_expenses(decision, amount="5000", actor=manager, reason="x")
    with pytest.raises(DomainError, match="motif"):
        closure.reduce_to_actual_expenses(decision, amount="4000", actor=manager, reason=" ")
    assert decision.amount == Decimal("5000.00")


def test_due_date_is_six_months_after_the_financial_year(decision):
    assert services.report_due_on(decision) == date(2027, 6, 30)
    assert services.add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)


def test_stages_on_the_follow_up_list(app, call, manager):
    due = awarded(call, manager, amount="3000", advance="1000")
    late = awarded(call, manager, amount="3000", advance="1000", ends_on=date(2025, 6, 30))
    review = awarded(call, manager, amount="3000", advance="1000")
    submitted(review)
    stages = {row.decision.id: row.stage for row in services.standings(today=date(2026, 12, 1))}
    assert stages == {due.id: Stage.REPORT_DUE, late.id: Stage.REPORT_LATE, review.id: Stage.REPORT_SUBMITTED}
    only_late = services.standings(today=date(2026, 12, 1), stage=Stage.REPORT_LATE)
    assert [row.decision.id for row in only_late] == [late.id]


def test_the_follow_up_list_reads_reports_by_a_join_not_by_a_list_of_award_ids(app, call, manager):
    """At national scale (400,000 awards) a list of ids exceeds the 65,535 parameters of PostgreSQL's
    protocol: the page answered a 500. The reports come with their awards in one statement."""
    awards = [awarded(call, manager, amount="3000", advance="1000") for _ in range(3)]
    submitted(awards[0])
    with counted_statements() as statements:
        rows = services.standings(today=date(2026, 12, 1))
    assert {row.decision.id: row.report is not None for row in rows} == {awards[0].id: True, awards[1].id: False,
                                                                         awards[2].id: False}
    reading_reports = [s for s in statements if "final_reports" in s]
    assert len(reading_reports) == 1 and "JOIN final_reports" in reading_reports[0]


def test_reminders_go_out_before_and_after_the_due_date_once_each(app, call, manager):
    due = awarded(call, manager)  # due 2027-06-30
    awarded(call, manager, ends_on=date(2025, 6, 30))  # due 2026-06-30: late
    with time_machine.travel("2027-06-10 09:00:00+02:00", tick=False):
        assert services.queue_report_reminders() == 2
        assert services.queue_report_reminders() == 0
    with time_machine.travel("2027-07-02 09:00:00+02:00", tick=False):
        assert services.queue_report_reminders() == 1  # the first one now overdue; the late one told already
    keys = sorted(db.session.scalars(db.select(Notification.dedup_key).where(
        Notification.event.like("final_report_%"))))
    assert keys[0].startswith("final_report_due:") or keys[0].startswith("final_report_overdue:")
    assert any(key == f"final_report_overdue:{due.id}:{member(due).id}" for key in keys)
    assert db.session.scalar(db.select(db.func.count(FinalReport.id))) == 0


def test_the_beat_task_runs_the_scan_from_the_morning_hour_only(app, call, manager):
    import worker
    from grants.final_reports.tasks import send_final_report_reminders

    assert worker.beat_schedule(300)["final-report-reminders"]["task"] == send_final_report_reminders.name
    awarded(call, manager, ends_on=date(2025, 6, 30))  # overdue
    db.session.commit()
    with time_machine.travel("2026-12-01 07:30:00+01:00", tick=False):
        assert send_final_report_reminders() == 0
    with time_machine.travel("2026-12-01 08:30:00+01:00", tick=False):
        assert send_final_report_reminders() == 1
    assert db.session.scalar(db.select(Notification.event).where(Notification.event.like("final_report_%"))) == \
        "final_report_overdue"


def test_the_envelope_dashboard_shows_released_and_to_recover(app, call, manager):
    from grants.awards import figures

    overpaid = awarded(call, manager, amount="4000", advance="4000")
    services.accept_report(submitted(overpaid), actor=manager)
    closure.reduce_to_actual_expenses(overpaid, amount="3000", actor=manager, reason="Projet réduit")
    unpaid = awarded(call, manager, amount="4000", advance="1000")
    services.accept_report(submitted(unpaid), actor=manager)
    closure.reduce_to_actual_expenses(unpaid, amount="2500", actor=manager, reason="Dépenses moindres")
    section = figures.call_dashboard(call).figures.sections[0]
    assert section.section == OPERATING
    assert (section.released, section.to_recover) == (Decimal("1500.00"), Decimal("1000.00"))
    assert (section.committed, section.paid) == (Decimal("6500.00"), Decimal("5000.00"))
    closure.recover_overpayment(overpaid, amount="1000", actor=manager, reason="Titre", recovered_on=local_today())
    section = figures.call_dashboard(call).figures.sections[0]
    assert (section.released, section.to_recover) == (Decimal("2500.00"), Decimal("0.00"))
    assert (section.committed, section.paid) == (Decimal("5500.00"), Decimal("4000.00"))
    assert awards.ledger_discrepancies() == []


def test_an_overpayment_due_is_recovered_before_any_other_recovery_or_cancellation(app, call, manager):
    decision = awarded(call, manager, advance="4000")
    services.accept_report(submitted(decision), actor=manager)
    closure.reduce_to_actual_expenses(decision, amount="3000", actor=manager, reason="Projet réduit")
    with pytest.raises(DomainError, match="trop-perçu de 1"):
        awards.record_recovery(decision, amount="500", actor=manager, reason="x", recovered_on=local_today())
    with pytest.raises(DomainError, match="trop-perçu de 1"):
        awards.cancel_award(decision, actor=manager, reason="x", recover_paid=True)
    assert (decision.paid, decision.recovery_due) == (Decimal("4000.00"), Decimal("1000.00"))
