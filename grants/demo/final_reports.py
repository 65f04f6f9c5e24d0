"""Demo final reports (comptes rendus financiers): each stage of a grant's life after the award, on the
seed's calls (the titles are those of grants.demo.content and grants.demo.applications):

- the flagship SISA award: its convention signed and countersigned, its advance paid, its report due
  (not yet started, the project still running);
- a DCP award whose project ended long ago and whose report never came: overdue;
- an NQE award: its report submitted, awaiting the manager's review;
- a FIPCE award closed on its accepted report: every euro spent, the balance paid;
- the FIPCE committee's award: its report accepted, the grant reduced to actual expenses (90 % of the
  forecast, the unpaid part released to the envelope), its balance still to pay.

Everything goes through grants.final_reports and grants.awards (conditional updates, ledger rows,
outbox), never around it. Idempotent: once any report exists, nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from grants.applications.models import Application, BudgetLineKind
from grants.awards import closure
from grants.awards import services as awards
from grants.awards.models import Decision, EnvelopeMovement, MovementKind, Outcome, PaymentTranche
from grants.database import db
from grants.demo import content
from grants.demo.awards import ADVANCE_SHARE
from grants.final_reports import services
from grants.final_reports.models import FinalReport

SPENT = Decimal("0.90")
CENT = Decimal("0.01")
REPORT_DUE = "Cantines scolaires solidaires Arras – Kayes"  # nothing to do: its report is simply due
OVERDUE = "Semences partagées entre Fives et Saint-Louis"  # nothing to do: its project dates say it
SUBMITTED = "Marchés d'été des producteurs au quartier Chasse Royale"
CLOSED = "Ressourcerie solidaire des cités minières"
REDUCED = "Groupement d'achat en circuit court de l'Audomarois"


def award_titled(title: str) -> Decision | None:
    return db.session.scalar(db.select(Decision).join(Application).where(
        Application.title == title, Decision.outcome == Outcome.AWARDED, Decision.cancelled_at.is_(None)))


def seed_final_reports(seed) -> None:
    manager = seed.users.get(content.MANAGER_EMAIL)
    if manager is None or db.session.scalar(db.select(FinalReport.id).limit(1)) is not None:
        return

    submitted = award_titled(SUBMITTED)
    if submitted is not None:
        _pay_advance(seed, submitted, manager)
        report = _filled(submitted, SPENT)
        services.submit_report(report, actor=report.created_by)
        seed.report.created["final_reports"] += 1

    closed = award_titled(CLOSED)
    if closed is not None:
        _pay_advance(seed, closed, manager)
        report = _filled(closed, Decimal("1"))
        services.submit_report(report, actor=report.created_by)
        services.accept_report(report, actor=manager)
        awards.record_payment(closed, amount=closed.amount - closed.paid, tranche=PaymentTranche.BALANCE,
                              actor=manager, paid_on=seed.today, reason="Solde sur le compte rendu financier")
        seed.report.created["final_reports"] += 1

    reduced = award_titled(REDUCED)
    if reduced is not None:
        _pay_advance(seed, reduced, manager)
        report = _filled(reduced, SPENT)
        services.submit_report(report, actor=report.created_by)
        services.accept_report(report, actor=manager)
        amount = services.proposed_amount(report)
        if amount < reduced.amount:
            closure.reduce_to_actual_expenses(reduced, amount=amount, actor=manager,
                                              reason="Dépenses réalisées à 90 % du budget prévisionnel")
        seed.report.created["final_reports"] += 1
    db.session.flush()


def _pay_advance(seed, decision: Decision, manager) -> None:
    """The advance of an award that has none yet (the committees' are paid by grants.demo.awards)."""
    paid = db.session.scalar(db.select(EnvelopeMovement.id).where(
        EnvelopeMovement.decision_id == decision.id, EnvelopeMovement.kind == MovementKind.PAYMENT))
    advance = (decision.amount * ADVANCE_SHARE).quantize(Decimal("1"), rounding=ROUND_DOWN)
    if paid is not None or advance <= 0 or not decision.application.applicant.payee_iban:
        return
    awards.record_payment(decision, amount=advance, tranche=PaymentTranche.ADVANCE, actor=manager,
                          paid_on=min(decision.decided_at.date() + timedelta(days=1), seed.today),
                          reason="Avance à la notification de la subvention")
    seed.report.created["payments"] += 1


def _filled(decision: Decision, spent: Decimal) -> FinalReport:
    """The report of ``decision`` with every line at ``spent`` of its forecast, totals balanced."""
    author = decision.application.applicant.acting_users()[0]
    report = services.start_report(decision, actor=author)
    actuals = {line.position: (line.forecast * spent).quantize(CENT, rounding=ROUND_DOWN) for line in report.lines}
    expenses = sum((actuals[line.position] for line in report.lines if line.kind == BudgetLineKind.EXPENSE), Decimal(0))
    resources = [line for line in report.lines if line.kind == BudgetLineKind.RESOURCE]
    if resources:
        others = sum((actuals[line.position] for line in resources[:-1]), Decimal(0))
        actuals[resources[-1].position] = max(expenses - others, Decimal(0))
    lines = {position: (amount, "") for position, amount in actuals.items()}
    for line in report.lines:
        if line.forecast and abs(actuals[line.position] - line.forecast) * 100 > line.forecast * 20:
            lines[line.position] = (actuals[line.position], "Recettes ajustées aux dépenses réalisées.")
    share = f"{spent * 100:.0f} %"
    services.save_report(report, activity_report=f"Les actions prévues ont eu lieu ; le public visé a été "
                         f"touché à {share}. Le détail des actions figure en annexe.", lines=lines, actor=author)
    return report
