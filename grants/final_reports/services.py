"""The final report of an award (compte rendu financier): drafting, submission, the manager's review,
and where each grant stands on its way to closure (the follow-up list and the reminders).

The report is due ``FINAL_REPORT_DUE_MONTHS`` months after the end of the financial year (the calendar
year) in which the project ends. Services flush; the view commits once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from grants.applications.models import Application, BudgetLineKind
from grants.audit.services import record_transition
from grants.awards.closure import mark_report_accepted, proportional_amount
from grants.awards.models import Decision, Outcome
from grants.calls.models import Call
from grants.database import db, to_money, utcnow
from grants.errors import DomainError
from grants.final_reports.models import FinalReport, FinalReportLine, ReportState
from grants.formatting import money
from grants.local_time import local_today, to_local
from grants.organisations.models import Applicant
from grants.outbox.services import queue_email, queue_emails_once

ZERO = Decimal("0.00")
ACTUAL_MAX = Decimal("999999999.99")
TEXT_MAX = 20_000
EXPLANATION_MAX = 2_000
TOTALLED = (BudgetLineKind.EXPENSE, BudgetLineKind.RESOURCE)


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, on the last day of the month when it has fewer days."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last = (next_month - date.resolution).day
    return date(year, month, min(day.day, last))


def report_due_on(decision: Decision) -> date:
    """The final report's due date: months after the end of the year in which the project ends (the
    year of the decision when the application gave no end date)."""
    application = decision.application
    year = application.ends_on.year if application.ends_on else decision.decided_at.year
    return add_months(date(year, 12, 31), current_app.config["FINAL_REPORT_DUE_MONTHS"])


# --- The association's side -------------------------------------------------------------------


def report_of(decision: Decision) -> FinalReport | None:
    return db.session.scalar(db.select(FinalReport).where(FinalReport.decision_id == decision.id))


def reports_by_decision(decision_ids: list[int]) -> dict[int, FinalReport]:
    """The final reports of these awards, by decision id (one statement)."""
    return {report.decision_id: report for report in db.session.scalars(
        db.select(FinalReport).where(FinalReport.decision_id.in_(decision_ids)))}


def reportable_decision(application: Application) -> Decision | None:
    """The active award of an application, the only kind of decision that calls for a final report."""
    decision = db.session.scalar(db.select(Decision).where(Decision.application_id == application.id))
    if decision is None or decision.outcome != Outcome.AWARDED or decision.cancelled_at is not None:
        return None
    return decision


def start_report(decision: Decision, *, actor) -> FinalReport:
    """The award's report, created as a draft with the application's forecast budget lines the first
    time it is opened; a concurrent first opening loses to the other (one report per award)."""
    report = report_of(decision)
    if report is not None:
        return report
    report = FinalReport(decision_id=decision.id, created_by_id=actor.id, state=ReportState.DRAFT)
    for position, line in enumerate(decision.application.budget_lines):
        report.lines.append(FinalReportLine(position=position, kind=line.kind, account=line.account,
                                            label=(f"{line.label} — {line.funder}" if line.funder else line.label)[:200],
                                            forecast=line.amount))
    try:
        with db.session.begin_nested():
            db.session.add(report)
    except IntegrityError:
        report = report_of(decision)
        if report is None:
            raise
    return report


def _ensure_editable(report: FinalReport) -> None:
    if not report.is_editable:
        raise DomainError(_("Le compte rendu financier a été déposé : il ne se modifie plus."))


def parse_actual(value, field: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = to_money(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise DomainError(_("Montant invalide : un nombre d'euros avec au plus deux décimales."), field=field) from None
    if not amount.is_finite() or amount < 0 or amount > ACTUAL_MAX:
        raise DomainError(_("Le montant doit être positif ou nul."), field=field)
    return amount


def save_report(report: FinalReport, *, activity_report: str, lines: dict[int, tuple], actor) -> FinalReport:
    """Save the draft: the actual amount and explanation of each line (by position), the activity
    report; the totals are recomputed here from the lines."""
    _ensure_editable(report)
    activity_report = (activity_report or "").strip()
    if len(activity_report) > TEXT_MAX:
        raise DomainError(_("Le compte rendu d'activité est trop long."), field="activity_report")
    by_position = {line.position: line for line in report.lines}
    unknown = set(lines) - set(by_position)
    if unknown:
        raise DomainError(_("Ligne de budget inconnue."))
    for position, (actual, explanation) in lines.items():
        line = by_position[position]
        explanation = (explanation or "").strip()
        if len(explanation) > EXPLANATION_MAX:
            raise DomainError(_("L'explication est trop longue."), field=f"lines-{position}-explanation")
        line.actual = parse_actual(actual, f"lines-{position}-actual")
        line.explanation = explanation
    report.activity_report = activity_report
    report.total_expenses, report.total_resources = totals(report)
    _flush_report()
    return report


def totals(report: FinalReport) -> tuple[Decimal, Decimal]:
    expenses = sum((line.actual or ZERO for line in report.lines if line.kind == BudgetLineKind.EXPENSE), ZERO)
    resources = sum((line.actual or ZERO for line in report.lines if line.kind == BudgetLineKind.RESOURCE), ZERO)
    return expenses, resources


def gap_needs_explanation(line: FinalReportLine) -> bool:
    """A gap above ``FINAL_REPORT_GAP_PERCENT`` % of the forecast (any actual on a line forecast at 0)."""
    if line.actual is None:
        return False
    gap = abs(line.actual - line.forecast)
    return gap * 100 > line.forecast * current_app.config["FINAL_REPORT_GAP_PERCENT"]


def _flush_report() -> None:
    try:
        db.session.flush()
    except StaleDataError:
        raise DomainError(_("Le compte rendu vient d'être modifié par quelqu'un d'autre : rechargez la page.")) from None


def submit_report(report: FinalReport, *, actor) -> FinalReport:
    """Submit the report once: every line has its actual amount, gaps above the threshold are
    explained, the activity report is written, total expenses equal total resources."""
    _ensure_editable(report)
    missing = [line for line in report.lines if line.kind in TOTALLED and line.actual is None]
    if missing:
        raise DomainError(_("Indiquez le montant réalisé de chaque ligne (0 si rien n'a été dépensé ou reçu)."),
                          field=f"lines-{missing[0].position}-actual")
    unexplained = [line for line in report.lines if gap_needs_explanation(line) and not line.explanation]
    if unexplained:
        raise DomainError(_("Expliquez l'écart de plus de %(percent)s %% sur la ligne « %(label)s ».",
                            percent=current_app.config["FINAL_REPORT_GAP_PERCENT"], label=unexplained[0].label),
                          field=f"lines-{unexplained[0].position}-explanation")
    if not report.activity_report:
        raise DomainError(_("Rédigez le compte rendu d'activité."), field="activity_report")
    expenses, resources = totals(report)
    if expenses != resources:
        raise DomainError(_("Le total des charges réalisées (%(expenses)s) doit égaler le total des produits "
                            "réalisés (%(resources)s).", expenses=money(expenses), resources=money(resources)))
    if expenses <= 0:
        raise DomainError(_("Le compte rendu ne montre aucune dépense réalisée."))
    previous = report.state
    # Every column first, the state last: an autoflush in between would break the state's checks.
    report.total_expenses, report.total_resources = expenses, resources
    report.submitted_at = utcnow()
    report.move_to(ReportState.SUBMITTED)
    report.correction_reason = None if previous == ReportState.DRAFT else report.correction_reason
    _flush_report()
    record_transition("final_report.submitted", report, previous, ReportState.SUBMITTED, actor=actor)
    return report


# --- The manager's side ------------------------------------------------------------------------


def ensure_awaiting_review(report: FinalReport) -> None:
    """Only a submitted report is accepted or sent back: raises otherwise."""
    if report.state != ReportState.SUBMITTED:
        raise DomainError(_("Seul un compte rendu déposé et en attente d'examen peut être accepté ou renvoyé."))


def _notify(event_name: str, report: FinalReport, **context) -> None:
    application = report.decision.application
    for user in application.applicant.acting_users():
        if user.active:
            queue_email(event_name, user, user=user, application=application, report=report, **context)


def accept_report(report: FinalReport, *, actor) -> FinalReport:
    """Accept the report: the balance becomes payable (and the grant may be reduced to actual expenses)."""
    ensure_awaiting_review(report)
    actor_id = actor.id
    report.accepted_at, report.reviewed_by_id = utcnow(), actor_id
    report.move_to(ReportState.ACCEPTED)
    _flush_report()
    mark_report_accepted(report.decision)
    record_transition("final_report.accepted", report, ReportState.SUBMITTED, ReportState.ACCEPTED, actor=actor)
    _notify("final_report_accepted", report)
    db.session.flush()
    return report


def request_report_corrections(report: FinalReport, *, reason: str, actor) -> FinalReport:
    ensure_awaiting_review(report)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Indiquez le motif."), field="reason")
    actor_id = actor.id
    report.correction_reason, report.reviewed_by_id = reason, actor_id
    report.move_to(ReportState.CORRECTIONS_REQUESTED)
    _flush_report()
    record_transition("final_report.corrections_requested", report, ReportState.SUBMITTED,
                      ReportState.CORRECTIONS_REQUESTED, actor=actor, reason=reason)
    _notify("final_report_corrections", report, reason=reason)
    db.session.flush()
    return report


def proposed_amount(report: FinalReport) -> Decimal:
    """The grant reduced in proportion of the actual expenses to the forecast ones (the rule shown)."""
    decision = report.decision
    return proportional_amount(decision.amount + decision.released, decision.application.total_expenses,
                               report.total_expenses)


# --- Where each grant stands -------------------------------------------------------------------


class Stage(StrEnum):
    REPORT_DUE = "report_due"
    REPORT_LATE = "report_late"
    REPORT_SUBMITTED = "report_submitted"
    REPORT_CORRECTIONS = "report_corrections"
    BALANCE_TO_PAY = "balance_to_pay"
    TO_RECOVER = "to_recover"
    CLOSED = "closed"


STAGE_LABELS = {
    Stage.REPORT_DUE: _l("Compte rendu attendu"),
    Stage.REPORT_LATE: _l("Compte rendu en retard"),
    Stage.REPORT_SUBMITTED: _l("Compte rendu à examiner"),
    Stage.REPORT_CORRECTIONS: _l("Compléments demandés"),
    Stage.BALANCE_TO_PAY: _l("Solde à verser"),
    Stage.TO_RECOVER: _l("Trop-perçu à recouvrer"),
    Stage.CLOSED: _l("Soldée"),
}


@dataclass(frozen=True)
class GrantStanding:
    decision: Decision
    application: Application
    report: FinalReport | None
    due_on: date
    stage: Stage


def standing_of_application(application: Application) -> GrantStanding | None:
    """Where an application's active award stands (None without one), for its applicant's page."""
    decision = reportable_decision(application)
    if decision is None:
        return None
    report = report_of(decision)
    due_on = report_due_on(decision)
    return GrantStanding(decision, application, report, due_on, stage_of(decision, report, due_on, local_today()))


def stage_of(decision: Decision, report: FinalReport | None, due_on: date, today: date) -> Stage:
    if decision.recovery_due > 0:
        return Stage.TO_RECOVER
    if report is not None and report.state == ReportState.ACCEPTED:
        return Stage.CLOSED if decision.paid >= decision.amount else Stage.BALANCE_TO_PAY
    if report is not None and report.state == ReportState.SUBMITTED:
        return Stage.REPORT_SUBMITTED
    if report is not None and report.state == ReportState.CORRECTIONS_REQUESTED:
        return Stage.REPORT_CORRECTIONS
    return Stage.REPORT_LATE if today > due_on else Stage.REPORT_DUE


def standings(*, call_id: int | None = None, programme_id: int | None = None, stage: Stage | None = None,
              today: date | None = None, applicant_ids: list[int] | None = None) -> list[GrantStanding]:
    """Every active award with its final report's state and the stage it has reached. The reports come
    by an outer join, not by a list of the awards' ids (a national install has 400,000 awards: more
    parameters than PostgreSQL's protocol takes)."""
    today = today or local_today()
    query = (
        db.select(Decision, FinalReport).join(Decision.application)
        .outerjoin(FinalReport, FinalReport.decision_id == Decision.id)
        .where(Decision.outcome == Outcome.AWARDED, Decision.cancelled_at.is_(None))
        .options(selectinload(Decision.application).selectinload(Application.call),
                 selectinload(Decision.application).selectinload(Application.applicant)
                 .selectinload(Applicant.organisation),
                 selectinload(Decision.application).selectinload(Application.applicant).selectinload(Applicant.person))
        .order_by(Decision.id)
    )
    if call_id is not None:
        query = query.where(Application.call_id == call_id)
    if programme_id is not None:
        query = query.join(Call, Call.id == Application.call_id).where(Call.programme_id == programme_id)
    if applicant_ids is not None:
        query = query.where(Application.applicant_id.in_(applicant_ids))
    rows = []
    for decision, report in db.session.execute(query):
        due_on = report_due_on(decision)
        row = GrantStanding(decision, decision.application, report, due_on,
                            stage_of(decision, report, due_on, today))
        if stage is None or row.stage == stage:
            rows.append(row)
    return rows


# --- Reminders -----------------------------------------------------------------------------------


def queue_report_reminders(now: datetime | None = None) -> int:
    """Remind the association of a final report not yet submitted: once ``FINAL_REPORT_REMINDER_DAYS``
    days before its due date, once when it is overdue (each at most once per award and recipient,
    keyed in the outbox). Flushes; returns how many emails were queued."""
    now = now or utcnow()
    if to_local(now).hour < current_app.config["NOTIFICATION_MORNING_HOUR"]:
        return 0  # reminders go out from the morning hour, not at midnight
    today = local_today(now)
    before = current_app.config["FINAL_REPORT_REMINDER_DAYS"]
    messages = []
    for row in standings(today=today):
        if row.stage == Stage.REPORT_LATE:
            event, key = "final_report_overdue", "overdue"
        elif row.stage == Stage.REPORT_DUE and (row.due_on - today).days <= before:
            event, key = "final_report_due", "due"
        else:
            continue
        for user in row.application.applicant.acting_users():
            if user.active:
                messages.append((event, user, f"final_report_{key}:{row.decision.id}:{user.id}",
                                 {"user": user, "application": row.application, "due_on": row.due_on}))
    queued = queue_emails_once(messages)
    db.session.flush()
    return len(queued)

