"""Closing an award on its final report: the report's acceptance (which opens the balance), the
reduction to actual expenses and the recovery of what was paid beyond the reduced amount.

When the beneficiary spent less than its forecast, the grant is reduced (in proportion by default, the
manager may set another amount with a reason):
- the part not yet paid is **released** to the call's envelope: a DECREASE row of the ledger, and
  ``decisions.released`` grows by the same amount, in one conditional UPDATE;
- the part already paid beyond the new amount becomes **to recover** (``decisions.recovery_due``, a
  titre de recette to record); recording it (:func:`recover_overpayment`) lowers paid and the
  amount together (a RECOVERY and a DECREASE row), so that paid ≤ amount and the envelope's
  committed ≥ paid hold at every step, and releases that money too.

As everywhere in the awards area, each move is one conditional UPDATE; the caller commits once.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.audit.services import record_event
from grants.awards.models import Decision, MovementKind
from grants.awards.services import (
    ZERO,
    _ensure_active_award,
    _envelope,
    _move,
    _required_reason,
    check_ledger_day,
    parse_amount,
)
from grants.database import db, to_money, utcnow
from grants.errors import DomainError
from grants.formatting import money

CENT = Decimal("0.01")


def mark_report_accepted(decision: Decision) -> None:
    """Record that the award's final report is accepted: the balance becomes payable."""
    _ensure_active_award(decision)
    done = db.session.execute(
        sa.update(Decision).where(Decision.id == decision.id, Decision.report_accepted_at.is_(None))
        .values(report_accepted_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(decision)
    if not done:
        raise DomainError(_("Le compte rendu financier de cette subvention est déjà accepté."))


def proportional_amount(amount: Decimal, forecast_expenses: Decimal, actual_expenses: Decimal) -> Decimal:
    """The rule shown to the manager: the grant × actual expenses ÷ forecast expenses, never above the
    grant, rounded down to the cent."""
    if forecast_expenses <= 0 or actual_expenses >= forecast_expenses:
        return amount
    return (amount * actual_expenses / forecast_expenses).quantize(CENT, rounding=ROUND_DOWN)


def parse_new_amount(value) -> Decimal:
    try:
        amount = to_money(value)
    except (TypeError, ValueError):
        raise DomainError(_("Montant invalide : un nombre d'euros avec au plus deux décimales."), field="amount") from None
    if not amount.is_finite() or amount < 0:
        raise DomainError(_("Le montant ne peut pas être négatif."), field="amount")
    return amount


def reduce_to_actual_expenses(decision: Decision, *, amount, actor, reason: str) -> Decision:
    """Reduce an award whose final report is accepted to ``amount``: the unpaid part goes back to the
    envelope at once, the overpaid part becomes due for recovery."""
    _ensure_active_award(decision)
    if decision.report_accepted_at is None:
        raise DomainError(_("La subvention ne se réduit qu'au vu du compte rendu financier accepté."))
    new_amount = parse_new_amount(amount)
    reason = _required_reason(reason)
    current, paid = decision.amount, decision.paid
    if new_amount >= current:
        raise DomainError(_("Le montant réduit doit être inférieur au montant accordé (%(amount)s).",
                            amount=money(current)), field="amount")
    released = current - max(new_amount, paid)
    recovery_due = max(paid - new_amount, ZERO)
    done = db.session.execute(
        sa.update(Decision)
        .where(Decision.id == decision.id, Decision.cancelled_at.is_(None), Decision.amount == current,
               Decision.paid == paid)
        .values(amount=Decision.amount - released, released=Decision.released + released, recovery_due=recovery_due)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(decision)
    if not done:
        raise DomainError(_("La subvention vient d'être modifiée par quelqu'un d'autre : rechargez la page."), field="amount")
    if released > 0:
        _move(_envelope(decision.application.call_id, decision.section), decision, MovementKind.DECREASE, released,
              actor=actor, reason=reason)
    record_event("award.reduced", actor=actor, subject=decision, before=current, after=new_amount,
                 released=released, recovery_due=recovery_due, reason=reason)
    db.session.flush()
    return decision


def recover_overpayment(decision: Decision, *, amount, actor, reason: str, recovered_on: date) -> Decision:
    """Record the titre de recette for money paid beyond the reduced grant: paid and the amount fall
    together by ``amount`` (at most what is due), and the envelope gets it back."""
    _ensure_active_award(decision)
    amount = parse_amount(amount)
    reason = _required_reason(reason)
    if recovered_on is None:
        raise DomainError(_("Indiquez la date du titre de recette."), field="recovered_on")
    recovered_on = check_ledger_day(decision, recovered_on, field="recovered_on")
    if amount > decision.recovery_due:
        raise DomainError(_("Il reste %(due)s à recouvrer sur cette subvention.", due=money(decision.recovery_due)),
                          field="amount")
    done = db.session.execute(
        sa.update(Decision)
        .where(Decision.id == decision.id, Decision.cancelled_at.is_(None), Decision.recovery_due >= amount)
        .values(paid=Decision.paid - amount, amount=Decision.amount - amount,
                recovery_due=Decision.recovery_due - amount, released=Decision.released + amount)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(decision)
    if not done:
        raise DomainError(_("La subvention vient d'être modifiée par quelqu'un d'autre : rechargez la page."), field="amount")
    envelope = _envelope(decision.application.call_id, decision.section)
    _move(envelope, decision, MovementKind.RECOVERY, amount, actor=actor, reason=reason, effective_on=recovered_on)
    _move(envelope, decision, MovementKind.DECREASE, amount, actor=actor, reason=reason)
    record_event("award.overpayment_recovered", actor=actor, subject=decision, amount=amount, reason=reason)
    db.session.flush()
    return decision
