"""What the API answers: calls, envelopes, applications and awards as JSON-ready dicts.

Money is a decimal string with two decimals ("1500.00"): JSON numbers are binary floats in most
clients. Instants are ISO 8601 in UTC with their offset ("2026-03-01T09:00:00+00:00"). The field
names are part of the contract written in grants/api/openapi.py.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from grants.applications.models import Application
from grants.awards.models import Decision
from grants.calls.models import Call, CallEnvelope

CENT = Decimal("0.01")


def money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(Decimal(amount).quantize(CENT))


def instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


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


def application_item(application: Application, decision: Decision | None) -> dict:
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
