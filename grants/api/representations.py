"""What the API answers: calls, envelopes, applications and awards as JSON-ready dicts.

Money is a decimal string with two decimals ("1500.00"): JSON numbers are binary floats in most
clients. Instants are ISO 8601 in UTC with their offset ("2026-03-01T09:00:00+00:00"). The field
names are part of the contract written in grants/api/openapi.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from grants.applications.models import Application
from grants.awards.models import Decision, EnvelopeMovement, Outcome, PaymentTranche
from grants.awards.services import convention_required
from grants.calls.models import Call, CallEnvelope
from grants.conventions.models import Convention
from grants.final_reports.models import FinalReport
from grants.final_reports.services import Stage, report_due_on, stage_of

CENT = Decimal("0.01")


def money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(Decimal(amount).quantize(CENT))


def instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def envelope_figures(envelope: CallEnvelope) -> dict:
    return {
        "section": envelope.section.value,
        "envelope": money(envelope.amount),
        "committed": money(envelope.committed),
        "paid": money(envelope.paid),
        "remaining": money(envelope.remaining),
    }


def call_summary(call: Call) -> dict:
    paid = sum((e.paid for e in call.envelopes), Decimal("0"))
    committed = sum((e.committed for e in call.envelopes), Decimal("0"))
    return {
        "id": call.id,
        "title": call.title,
        "slug": call.slug,
        "state": call.state.value,
        "year": call.year,
        "programme": {"id": call.programme.id, "code": call.programme.code, "name": call.programme.name},
        "opens_at": instant(call.opens_at),
        "closes_at": instant(call.closes_at),
        "min_grant": money(call.min_grant),
        "max_grant": money(call.max_grant),
        "envelope": money(call.envelope_total),
        "committed": money(committed),
        "paid": money(paid),
        "remaining": money(call.envelope_remaining),
    }


def call_detail(call: Call) -> dict:
    return {**call_summary(call), "summary": call.summary, "sections": [envelope_figures(e) for e in call.envelopes]}


def decision_summary(decision: Decision) -> dict:
    return {
        "id": decision.id,
        "outcome": decision.outcome.value,
        "section": decision.section.value if decision.section else None,
        "amount": money(decision.amount),
        "paid": money(decision.paid),
        "decided_at": instant(decision.decided_at),
        "cancelled_at": instant(decision.cancelled_at),
        "report_accepted_at": instant(decision.report_accepted_at),
        "balance_paid_at": instant(decision.balance_paid_at),
        "released": money(decision.released),
        "recovery_due": money(decision.recovery_due),
    }


def applicant_summary(application: Application) -> dict:
    applicant = application.applicant
    organisation = applicant.organisation
    return {
        "kind": applicant.kind.value,
        "name": applicant.display_name,
        "siret": organisation.siret if organisation is not None else None,
    }


@dataclass
class GrantRecords:
    """What an award's follow-up is read from, loaded for a whole page at once (grants/api/endpoints.py)."""

    convention: Convention | None = None
    report: FinalReport | None = None
    movements: list[EnvelopeMovement] = field(default_factory=list)


def convention_state(convention: Convention | None) -> str:
    if convention is None:
        return "none"
    if convention.countersigned:
        return "countersigned"
    return "signed" if convention.signed else "awaiting_signature"


def convention_summary(decision: Decision, convention: Convention | None) -> dict:
    return {
        "required": convention_required(decision),
        "state": convention_state(convention),
        "version": convention.version if convention else None,
        # 0 for the convention itself, n for its n-th avenant.
        "amendment": convention.version - 1 if convention else None,
        "amount": money(convention.amount) if convention else None,
        # The award's amount changed since this version: an avenant is to be generated and signed.
        "amendment_due": convention is not None and decision.cancelled_at is None
        and convention.amount != decision.amount,
        "generated_at": instant(convention.generated_at) if convention else None,
        "signature_method": convention.signature_method.value if convention and convention.signed else None,
        "signed_at": instant(convention.signed_at) if convention else None,
        "countersigned_at": instant(convention.countersigned_at) if convention else None,
    }


def report_summary(report: FinalReport | None, due_on: date, stage: Stage | None) -> dict:
    return {
        "due_on": day(due_on),
        "state": report.state.value if report is not None else "not_started",
        "overdue": stage == Stage.REPORT_LATE,
        "submitted_at": instant(report.submitted_at) if report else None,
        "accepted_at": instant(report.accepted_at) if report else None,
        "total_expenses": money(report.total_expenses) if report and report.submitted_at else None,
    }


def payments_summary(decision: Decision, movements: list[EnvelopeMovement]) -> dict:
    tranches = {m.tranche for m in movements if m.tranche is not None}
    return {
        "amount": money(decision.amount),
        "paid": money(decision.paid),
        "to_pay": money(decision.amount - decision.paid),
        "advance_paid": PaymentTranche.ADVANCE in tranches,
        "balance_paid": decision.balance_paid_at is not None,
        "balance_paid_at": instant(decision.balance_paid_at),
        "released": money(decision.released),
        "recovery_due": money(decision.recovery_due),
        "movements": [
            {"kind": m.kind.value, "tranche": m.tranche.value if m.tranche else None, "amount": money(m.amount),
             "on": day(m.effective_on)}
            for m in movements
        ],
    }


def grant(decision: Decision, records: GrantRecords, today: date) -> dict | None:
    """An award's life after the decision: its convention, its final report, its payments; None for a
    refusal or a place on the waiting list."""
    if decision.outcome != Outcome.AWARDED:
        return None
    due_on = report_due_on(decision)
    stage = None if decision.cancelled_at is not None else stage_of(decision, records.report, due_on, today)
    return {
        "stage": stage.value if stage is not None else "cancelled",
        "convention": convention_summary(decision, records.convention),
        "final_report": report_summary(records.report, due_on, stage),
        "payments": payments_summary(decision, records.movements),
    }


def application_item(application: Application, decision: Decision | None, records: GrantRecords, today: date) -> dict:
    return {
        "id": application.id,
        "reference": application.reference,
        "title": application.title,
        "state": application.state.value,
        "applicant": applicant_summary(application),
        "section": application.section.value if application.section else None,
        "amount_requested": money(application.amount_requested),
        "submitted_at": instant(application.submitted_at),
        "decision": decision_summary(decision) if decision is not None else None,
        "grant": grant(decision, records, today) if decision is not None else None,
    }


def award(decision: Decision, envelope: CallEnvelope) -> dict:
    """The award just made, and the envelope it drew on as it stands after it."""
    return {
        **decision_summary(decision),
        "application_id": decision.application_id,
        "call_id": envelope.call_id,
        "reason": decision.reason or "",
        "decided_by": {"id": decision.decided_by.id, "name": decision.decided_by.full_name},
        "envelope": envelope_figures(envelope),
    }


def page(items: list[dict], *, total: int, limit: int, offset: int) -> dict:
    return {"items": items, "total": total, "limit": limit, "offset": offset}
