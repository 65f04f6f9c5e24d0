"""Demo final reports (comptes rendus financiers), on the demo's awards:
- one whose advance is paid: its report accepted, the grant reduced to actual expenses (90 % of the forecast, the unpaid
  part released to the envelope) and the balance paid;
- the next: its report submitted, awaiting the manager's review;
- the next, if the demo has one: a project that ended two years ago whose report was never sent (late).

Everything goes through grants.final_reports and grants.awards (conditional updates, ledger rows,
outbox), never around it, but the late project's dates. Idempotent: once any report exists, nothing."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, Decimal

from grants.applications.models import BudgetLineKind
from grants.awards import closure
from grants.awards import services as awards
from grants.awards.models import Decision, EnvelopeMovement, MovementKind, Outcome, PaymentTranche
from grants.awards.services import convention_required
from grants.database import db
from grants.demo import content
from grants.final_reports import services
from grants.final_reports.models import FinalReport

SPENT = Decimal("0.90")
CENT = Decimal("0.01")


def seed_final_reports(seed) -> None:
    manager = seed.users.get(content.MANAGER_EMAIL)
    if manager is None or db.session.scalar(db.select(FinalReport.id).limit(1)) is not None:
        return
    advanced = set(db.session.scalars(
        db.select(EnvelopeMovement.decision_id).where(EnvelopeMovement.kind == MovementKind.PAYMENT)))
    decisions = [d for d in db.session.scalars(
        db.select(Decision).where(Decision.outcome == Outcome.AWARDED, Decision.cancelled_at.is_(None))
        .order_by(Decision.id)
    ) if d.application.budget_lines and d.application.applicant.payee_iban and d.application.applicant.acting_users()]
    # An award still waiting for its convention's countersignature is not yet running: no report. The
    # grant to close is one whose advance is paid, where possible one without a convention (the flagship
    # SISA award keeps its advance as the conventions' demo shows it); then one submitted, one late.
    decisions = [d for d in decisions if d.convention_countersigned_at is not None or not convention_required(d)]
    decisions.sort(key=lambda d: (d.id not in advanced, convention_required(d), d.id))
    if len(decisions) < 2 or decisions[0].id not in advanced:
        return
    closed, submitted, *others = decisions

    report = _filled(closed)
    services.submit_report(report, actor=report.created_by)
    services.accept_report(report, actor=manager)
    reduced = services.proposed_amount(report)
    if reduced < closed.amount:
        closure.reduce_to_actual_expenses(closed, amount=reduced, actor=manager,
                                          reason="Dépenses réalisées à 90 % du budget prévisionnel")
    if closed.amount > closed.paid:
        awards.record_payment(closed, amount=closed.amount - closed.paid, tranche=PaymentTranche.BALANCE,
                              actor=manager, paid_on=seed.today, reason="Solde sur le compte rendu financier")
    seed.report.created["final_reports"] += 1

    report = _filled(submitted)
    services.submit_report(report, actor=report.created_by)
    seed.report.created["final_reports"] += 1

    if others:
        application = others[0].application
        application.starts_on, application.ends_on = date(seed.year - 2, 1, 1), date(seed.year - 2, 12, 31)
    db.session.flush()


def _filled(decision: Decision) -> FinalReport:
    """The report of ``decision`` with every line at 90 % of its forecast, totals balanced."""
    author = decision.application.applicant.acting_users()[0]
    report = services.start_report(decision, actor=author)
    actuals = {line.position: (line.forecast * SPENT).quantize(CENT, rounding=ROUND_DOWN) for line in report.lines}
    expenses = sum((actuals[line.position] for line in report.lines if line.kind == BudgetLineKind.EXPENSE), Decimal(0))
    resources = [line for line in report.lines if line.kind == BudgetLineKind.RESOURCE]
    if resources:
        others = sum((actuals[line.position] for line in resources[:-1]), Decimal(0))
        actuals[resources[-1].position] = max(expenses - others, Decimal(0))
    lines = {position: (amount, "") for position, amount in actuals.items()}
    for line in report.lines:
        if line.forecast and abs(actuals[line.position] - line.forecast) * 100 > line.forecast * 20:
            lines[line.position] = (actuals[line.position], "Recettes ajustées aux dépenses réalisées.")
    services.save_report(report, activity_report="Les ateliers prévus ont eu lieu ; le public visé a été "
                         "touché à 90 %. Le détail des actions figure en annexe.", lines=lines, actor=author)
    return report
