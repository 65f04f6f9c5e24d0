"""Demo awards: on each call with enough dossiers under review, a committee already held funds
the better-ranked half (at the amount asked, within the envelope) and the advances are paid, so the
envelope dashboard has something to show; the other half is left for a manager to take to a
committee live and watch the envelope fall.

Everything goes through grants.awards (conditional updates, ledger rows, outbox), never around it.
Idempotent: a call that already has a committee session, or an award with a payment, is left alone."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from grants.awards import committee, services
from grants.awards.models import (
    CommitteeSession,
    Decision,
    EnvelopeMovement,
    MovementKind,
    PaymentTranche,
)
from grants.calls.models import Call, CallState
from grants.database import db
from grants.demo import content
from grants.reviews.ranking import refresh_ranking

ADVANCE_SHARE = Decimal("0.30")  # the usual advance on signature
MINIMUM_UNDER_REVIEW = 3


def seed_awards(seed) -> None:
    manager = seed.users.get(content.MANAGER_EMAIL)
    if manager is None:
        return
    for call in db.session.scalars(db.select(Call).where(Call.state.in_((CallState.OPEN, CallState.CLOSED))).order_by(Call.id)):
        if db.session.scalar(db.select(CommitteeSession.id).where(CommitteeSession.call_id == call.id)):
            continue
        for envelope in call.envelopes:
            _hold_committee(seed, call, envelope.section, manager)
    from grants.demo.conventions import seed_conventions  # noqa: PLC0415 — after the committees' awards
    seed_conventions(seed, manager)
    _pay_advances(seed, manager)


def _hold_committee(seed, call: Call, section, manager) -> None:
    # The committee proposes from the stored ranking, which the worker refreshes after a commit: the
    # seed's reviews are not committed yet, so the ranking is written here first.
    db.session.flush()
    refresh_ranking(call.id)
    proposal = committee.propose(call, section)
    if len(proposal.lines) < MINIMUM_UNDER_REVIEW:
        return
    funded = [line for line in proposal.lines[: len(proposal.lines) // 2] if line.choice == "award"]
    if not funded:
        return
    lines = [committee.CommitteeLine(line.ranked.application_id, "award", line.amount) for line in funded]
    committee.confirm_committee(call, section=section, held_on=seed.day(-10), actor=manager, lines=lines,
                                note="Commission permanente (données de démonstration)")
    seed.report.created["committee_sessions"] += 1
    seed.report.created["decisions"] += len(lines)


def _pay_advances(seed, manager) -> None:
    """An advance on each committee award that has no payment yet, a week after the committee."""
    paid = db.select(EnvelopeMovement.decision_id).where(EnvelopeMovement.kind == MovementKind.PAYMENT)
    awards = db.session.scalars(
        db.select(Decision).where(Decision.committee_session_id.is_not(None), Decision.cancelled_at.is_(None),
                                  Decision.amount > 0, Decision.id.not_in(paid)).order_by(Decision.id)
    ).all()
    for decision in awards:
        if decision.convention_countersigned_at is None and services.convention_required(decision):
            continue  # its convention awaits signature: no advance before (grants.demo.conventions)
        advance = (decision.amount * ADVANCE_SHARE).quantize(Decimal("1"), rounding=ROUND_DOWN)
        if advance <= 0:
            continue
        paid_on = min(decision.committee_session.held_on + timedelta(days=7), seed.today)
        services.record_payment(decision, amount=advance, tranche=PaymentTranche.ADVANCE, actor=manager,
                                paid_on=paid_on, reason="Avance à la signature de la convention")
        seed.report.created["payments"] += 1
