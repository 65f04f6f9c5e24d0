"""Demo conventions: the international-solidarity calls (SISA, DCP) ask for a convention for every
award, below the legal threshold too. Every such award gets its convention generated; each is signed
online by its association's legal representative and countersigned, so that its advance can be paid —
the flagship SISA award included — except one, left awaiting its signature for a live walk-through
(the DCP dossier awarded outside committee).

Everything goes through grants.conventions and grants.awards (PDF, hashes, audit, outbox), never around
them. Idempotent: an award that already has a convention is left alone."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from grants.awards import services as awards
from grants.awards.models import Decision, EnvelopeMovement, MovementKind, Outcome, PaymentTranche
from grants.calls.models import Call
from grants.conventions import services
from grants.conventions.models import Convention
from grants.database import db

CALLS_WITH_CONVENTIONS = ("SISA", "DCP")
# The award left for the association to sign in the demo (content.APPLICATIONS, DCP, story "awarded").
AWAITING_SIGNATURE = "Jeunes reporters de la solidarité Saint-Omer – El Jadida"


def seed_conventions(seed, manager) -> None:
    for call in db.session.scalars(db.select(Call).where(Call.reference_prefix.in_(CALLS_WITH_CONVENTIONS))):
        if not call.convention_below_threshold:
            call.convention_below_threshold = True
    db.session.flush()
    has_convention = db.select(Convention.decision_id)
    decisions = db.session.scalars(
        db.select(Decision).where(Decision.outcome == Outcome.AWARDED, Decision.cancelled_at.is_(None),
                                  Decision.amount > 0, Decision.id.not_in(has_convention)).order_by(Decision.id)
    ).all()
    for decision in decisions:
        if not awards.convention_required(decision):
            continue
        convention = services.generate(decision, actor=manager)
        seed.report.created["conventions"] += 1
        if decision.application.title == AWAITING_SIGNATURE:
            continue
        representative = services.legal_representative(decision.application.applicant)
        services.sign(convention, user=representative, consent=True, seen_sha256=convention.pdf_sha256)
        services.countersign(convention, actor=manager)
        if decision.committee_session_id is None:
            _pay_advance(seed, decision, convention, manager)


def _pay_advance(seed, decision: Decision, convention: Convention, manager) -> None:
    """The advance of an award decided outside a committee (the committees' are paid by demo.awards)."""
    paid = db.session.scalar(db.select(EnvelopeMovement.id).where(
        EnvelopeMovement.decision_id == decision.id, EnvelopeMovement.kind == MovementKind.PAYMENT))
    advance = convention.advance.quantize(Decimal("1"), rounding=ROUND_DOWN)
    if paid is not None or advance <= 0 or not decision.application.applicant.payee_iban:
        return
    paid_on = min(decision.decided_at.date() + timedelta(days=7), seed.today)
    awards.record_payment(decision, amount=advance, tranche=PaymentTranche.ADVANCE, actor=manager, paid_on=paid_on,
                          reason="Avance à la signature de la convention")
    seed.report.created["payments"] += 1
