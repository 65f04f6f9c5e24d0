"""Decisions on applications and the envelope ledger: awards, amendments, cancellations, payments.

Invariants kept here and in the database together, for every call envelope:
- committed ≤ amount and paid ≤ committed (``ck_call_envelopes_committed_within_envelope``,
  ``ck_call_envelopes_paid_within_committed``); for every award, paid ≤ amount
  (``ck_decisions_paid_within_amount``);
- each stored figure equals the sum of the append-only ledger (:class:`EnvelopeMovement`):
  every change of ``committed`` or ``paid`` writes its movement row in the same transaction, and
  :func:`ledger_discrepancies` proves it.

Every move of a figure is ONE conditional UPDATE (``SET committed = committed + :x WHERE id = :id AND
committed + :x <= amount``): a row count of 1 or a refusal. Read-check-write would overspend under
concurrency (measured: 40 awards of 100 on an envelope of 1 000 ended at 4 000 committed); the
conditional UPDATE is re-checked by PostgreSQL after the row lock and runs alone on SQLite. Services
flush; the caller commits once, or rolls back on a DomainError.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from grants.applications.models import Application, ApplicationState
from grants.audit.models import AuditEvent
from grants.audit.services import record_event, record_transition
from grants.audit.services import timeline as audit_timeline
from grants.awards.models import (
    CallApplicationCount,
    CallDecisionFigures,
    CommitteeSession,
    Decision,
    EnvelopeLedgerDay,
    EnvelopeMovement,
    MovementKind,
    Outcome,
    PaymentTranche,
)
from grants.calls.models import BudgetSection, CallEnvelope
from grants.database import Money, UTCDateTime, db, to_money, utcnow
from grants.errors import DomainError
from grants.formatting import local_date, money
from grants.local_time import local_today, to_local
from grants.outbox.services import queue_email
from grants.reviews.models import AssignmentState, Review, ReviewAssignment, ReviewState

ZERO = Decimal("0.00")
# Which way each kind of movement moves the envelope's two figures.
COMMITTED_SIGN = {MovementKind.COMMITMENT: 1, MovementKind.INCREASE: 1,
                  MovementKind.DECREASE: -1, MovementKind.CANCELLATION: -1}
PAID_SIGN = {MovementKind.PAYMENT: 1, MovementKind.RECOVERY: -1}


class EnvelopeExceeded(DomainError):
    """The envelope has not enough left; ``remaining`` is what it has, read after the refusal."""

    def __init__(self, remaining: Decimal):
        super().__init__(_("Enveloppe dépassée : %(remaining)s restants", remaining=money(remaining)), field="amount")
        self.remaining = remaining


class NotAwardable(DomainError):
    """The application cannot receive a decision: unknown, withdrawn, not under review, or decided."""


class ReviewsPending(DomainError):
    """The application's reviews are not all in (a draft, an assignment not started, or no review at
    all): an award then needs a manager's reason for deciding before them."""

    def __init__(self, message: str, *, submitted: int, pending: int):
        super().__init__(message, field="before_reviews_reason")
        self.submitted, self.pending = submitted, pending


class MissingBankDetails(DomainError):
    """The payee has no IBAN on record: nothing can be paid to it."""

    def __init__(self, payee: str, individual: bool):
        super().__init__(
            _("Aucun IBAN n'est enregistré pour %(payee)s : la personne doit saisir ses coordonnées bancaires "
              "sur la page « Mon compte » avant tout versement.", payee=payee) if individual else
            _("Aucun IBAN n'est enregistré pour %(payee)s : un membre de l'organisme doit saisir ses "
              "coordonnées bancaires sur son profil avant tout versement.", payee=payee))
        self.payee = payee


class LedgerInconsistent(DomainError):
    """Stored figures differ from the ledger's sums (see :func:`ledger_discrepancies`)."""

    def __init__(self, discrepancies: list[Discrepancy]):
        super().__init__(ngettext("Le grand livre des enveloppes ne correspond pas aux montants enregistrés : "
                                  "%(num)d écart.",
                                  "Le grand livre des enveloppes ne correspond pas aux montants enregistrés : "
                                  "%(num)d écarts.", len(discrepancies)))
        self.discrepancies = discrepancies


# --- Input checks -----------------------------------------------------------------------------


def parse_amount(value, *, field: str = "amount") -> Decimal:
    """A strictly positive amount in euros with at most two decimals, else a DomainError on ``field``."""
    try:
        amount = to_money(value)
    except (TypeError, ValueError):
        raise DomainError(_("Montant invalide : un nombre d'euros avec au plus deux décimales."), field=field) from None
    if not amount.is_finite() or amount <= 0:
        raise DomainError(_("Le montant doit être strictement positif."), field=field)
    return amount


def parse_section(value) -> BudgetSection:
    try:
        return BudgetSection(getattr(value, "value", value))
    except ValueError:
        raise DomainError(_("Section budgétaire inconnue : fonctionnement ou investissement."), field="section") from None


def _required_reason(reason: str | None, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Indiquez le motif."), field=field)
    return reason


def _envelope(call_id: int, section: BudgetSection) -> CallEnvelope:
    envelope = db.session.scalar(
        db.select(CallEnvelope).where(CallEnvelope.call_id == call_id, CallEnvelope.section == section)
    )
    if envelope is None:
        raise DomainError(_("L'appel n'a pas d'enveloppe en %(section)s.", section=section.value), field="section")
    return envelope


def _open_decision(application: Application | None) -> Decision | None:
    """The application's waiting-list decision, if any; refuses applications that cannot be decided."""
    if application is None:
        raise NotAwardable(_("Dossier introuvable."))
    if application.state == ApplicationState.WITHDRAWN:
        raise NotAwardable(_("Le dossier a été retiré par le porteur de projet."))
    if application.state == ApplicationState.DECIDED:
        raise NotAwardable(_("Le dossier a déjà reçu une décision."))
    if application.state != ApplicationState.UNDER_REVIEW:
        raise NotAwardable(_("Seul un dossier en instruction peut recevoir une décision."))
    decision = db.session.scalar(db.select(Decision).where(Decision.application_id == application.id))
    if decision is not None and decision.outcome != Outcome.WAITLISTED:
        raise NotAwardable(_("Le dossier a déjà reçu une décision."))
    return decision


def _session_id(committee_session) -> int | None:
    if committee_session is None:
        return None
    if committee_session.id is None:
        db.session.flush()
    return committee_session.id


@contextmanager
def _deciding():
    """Write a decision and the application's move; a concurrent decision on the same application
    (unique decision per application, or the application's version counter) makes this one lose.
    The refusal ends the whole operation (the view rolls back; a committee fails as a whole), so no
    savepoint is needed. The message is built first: after a failed flush on PostgreSQL the session
    cannot load anything (such as the user's language) until it is rolled back."""
    lost = _("Le dossier vient de recevoir une autre décision : rechargez la page.")
    try:
        yield
        db.session.flush()
    except (IntegrityError, StaleDataError):
        raise NotAwardable(lost) from None


# --- Ledger moves -----------------------------------------------------------------------------


def _move(envelope: CallEnvelope, decision: Decision, kind: MovementKind, amount: Decimal, *, actor, reason: str = "",
          tranche: PaymentTranche | None = None, effective_on: date | None = None) -> EnvelopeMovement:
    """Move the envelope's committed or paid by one conditional UPDATE and write its ledger row."""
    if kind in COMMITTED_SIGN:
        delta = amount * COMMITTED_SIGN[kind]
        statement = (
            sa.update(CallEnvelope)
            .where(CallEnvelope.id == envelope.id,
                   CallEnvelope.committed + delta <= CallEnvelope.amount,
                   CallEnvelope.committed + delta >= CallEnvelope.paid)
            .values(committed=CallEnvelope.committed + delta)
        )
    else:
        delta = amount * PAID_SIGN[kind]
        statement = (
            sa.update(CallEnvelope)
            .where(CallEnvelope.id == envelope.id,
                   CallEnvelope.paid + delta <= CallEnvelope.committed,
                   CallEnvelope.paid + delta >= 0)
            .values(paid=CallEnvelope.paid + delta)
        )
    done = db.session.execute(statement.execution_options(synchronize_session=False)).rowcount
    db.session.refresh(envelope)
    if not done:
        if kind in COMMITTED_SIGN and delta > 0:
            raise EnvelopeExceeded(envelope.remaining)
        raise DomainError(_("L'enveloppe refuse ce mouvement : engagé %(committed)s, versé %(paid)s.",
                            committed=money(envelope.committed), paid=money(envelope.paid)), field="amount")
    movement = EnvelopeMovement(envelope_id=envelope.id, decision_id=decision.id, kind=kind, tranche=tranche,
                                amount=amount, effective_on=effective_on, reason=reason, actor_id=actor.id,
                                created_at=utcnow())
    db.session.add(movement)
    _add_to_ledger_day(envelope.id, chart_day(kind, movement.created_at, effective_on, decided_on(decision)),
                       kind, amount)
    return movement


# The column of the day summary (:class:`EnvelopeLedgerDay`) each kind of movement adds to.
DAY_COLUMN = {MovementKind.COMMITMENT: "committed", MovementKind.INCREASE: "committed",
              MovementKind.DECREASE: "decommitted", MovementKind.CANCELLATION: "decommitted",
              MovementKind.PAYMENT: "paid", MovementKind.RECOVERY: "recovered"}
_UPSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def chart_day(kind: MovementKind, created_at: datetime, effective_on: date | None, decided_on: date | None) -> date:
    """The local day on which a movement counts in the consumption over time: an award on its
    decision's day, a change of amount on the day it was recorded, a payment on its payment date but
    never before its decision's day (a payment typed with an earlier date, a ledger filled in after
    the fact, would draw more paid than committed: no euro is paid before it is committed), a
    recovery on its date. So the paid line never rises above the committed one."""
    recorded_on = local_today(created_at)
    decided_on = decided_on or recorded_on
    if kind == MovementKind.COMMITMENT:
        return decided_on
    if kind == MovementKind.PAYMENT:
        return max(effective_on or recorded_on, decided_on)
    if kind == MovementKind.RECOVERY:
        return effective_on or recorded_on
    return recorded_on


def _add_to_ledger_day(envelope_id: int, day: date, kind: MovementKind, amount: Decimal) -> None:
    """Add a movement to its envelope's day (one upsert; the envelope's row is already locked by the
    movement's conditional UPDATE, so two movements of one envelope never race here)."""
    column = DAY_COLUMN[kind]
    upsert = _UPSERT[db.session.get_bind().dialect.name](EnvelopeLedgerDay)
    db.session.execute(
        upsert.values(envelope_id=envelope_id, day=day, **{column: amount})
        .on_conflict_do_update(index_elements=[EnvelopeLedgerDay.envelope_id, EnvelopeLedgerDay.day],
                               set_={column: getattr(EnvelopeLedgerDay, column) + upsert.excluded[column]})
    )


def _change_decision(decision: Decision, *, amount_delta: Decimal = ZERO, paid_delta: Decimal = ZERO,
                     expected_amount: Decimal | None = None, payment: PaymentTranche | None = None,
                     **values) -> bool:
    """Move an award's amount or paid by a conditional UPDATE that keeps 0 ≤ paid ≤ amount; with
    ``expected_amount``, only if nobody changed the amount since it was read (compare-and-set). A
    ``payment`` only before the balance; the balance only on an accepted final report (and it marks the
    balance paid): two balances racing, one wins."""
    conditions = [Decision.id == decision.id, Decision.cancelled_at.is_(None),
                  Decision.paid + paid_delta <= Decision.amount + amount_delta,
                  Decision.paid + paid_delta >= Decision.recovery_due]
    if expected_amount is not None:
        conditions.append(Decision.amount == expected_amount)
    if payment is not None:
        conditions.append(Decision.balance_paid_at.is_(None))
    if payment == PaymentTranche.BALANCE:
        conditions.append(Decision.report_accepted_at.is_not(None))
        values["balance_paid_at"] = utcnow()
    done = db.session.execute(
        sa.update(Decision).where(*conditions)
        .values(amount=Decision.amount + amount_delta, paid=Decision.paid + paid_delta, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(decision)
    return bool(done)


def decided_on(decision: Decision) -> date:
    """The day an award was decided: its committee's day, else the day it was recorded (Europe/Paris)."""
    session = decision.committee_session
    return session.held_on if session is not None else to_local(decision.decided_at).date()


def check_ledger_day(decision: Decision, on, *, field: str) -> date:
    """The day a payment or a recovery is dated: a calendar day in the award's life, from the day it was
    decided to today — the ledger records what was mandated, never a date before the award (no money
    goes out on a grant not yet decided) nor a planned one (the dashboard would show it paid already)."""
    if not isinstance(on, date) or isinstance(on, datetime):
        raise DomainError(_("Indiquez la date."), field=field)
    first, today = decided_on(decision), local_today()
    if not first <= on <= today:
        raise DomainError(_("Indiquez une date entre la décision d'attribution (%(first)s) et aujourd'hui (%(today)s).",
                            first=local_date(first), today=local_date(today)), field=field)
    return on


def _notify_applicant(event_name: str, application: Application, **context) -> None:
    for user in application.applicant.acting_users():
        if user.active:
            queue_email(event_name, user, application=application, user=user, **context)


def _ensure_active_award(decision: Decision) -> None:
    if decision.outcome != Outcome.AWARDED:
        raise DomainError(_("Cette décision n'est pas une subvention accordée."))
    if decision.cancelled_at is not None:
        raise DomainError(_("Cette subvention a été annulée."))


# --- Decisions --------------------------------------------------------------------------------


def review_progress(application: Application) -> tuple[int, int]:
    """``(submitted, pending)``: the reviews transmitted by the reviewers still assigned, and the
    assignments whose review is a draft or not started. A reviewer who stepped aside counts in
    neither. One statement."""
    rows = db.session.execute(
        sa.select(Review.state)
        .select_from(ReviewAssignment)
        .outerjoin(Review, Review.assignment_id == ReviewAssignment.id)
        .where(ReviewAssignment.application_id == application.id, ReviewAssignment.state == AssignmentState.ASSIGNED)
    ).scalars().all()
    submitted = sum(1 for state in rows if state == ReviewState.SUBMITTED)
    return submitted, len(rows) - submitted


def _check_reviews_in(application: Application, before_reviews_reason: str, actor) -> None:
    """An award waits for the reviews: every assigned reviewer has transmitted his, and there is at
    least one. A manager may decide before them only by saying why; that choice is audited
    (``application.awarded_before_reviews``)."""
    submitted, pending = review_progress(application)
    if submitted and not pending:
        return
    before_reviews_reason = (before_reviews_reason or "").strip()
    if not before_reviews_reason:
        if not submitted and not pending:
            message = _("Aucune évaluation de ce dossier n'est transmise : pour accorder quand même, "
                        "indiquez pourquoi vous décidez sans évaluation.")
        else:
            message = ngettext("%(num)d évaluation de ce dossier n'est pas encore transmise : pour accorder quand même, "
                               "indiquez pourquoi vous décidez sans l'attendre.",
                               "%(num)d évaluations de ce dossier ne sont pas encore transmises : pour accorder quand "
                               "même, indiquez pourquoi vous décidez sans les attendre.", pending)
        raise ReviewsPending(message, submitted=submitted, pending=pending)
    if len(before_reviews_reason) > BEFORE_REVIEWS_REASON_MAX:
        raise DomainError(_("Le motif ne doit pas dépasser %(count)d caractères.", count=BEFORE_REVIEWS_REASON_MAX),
                          field="before_reviews_reason")
    record_event("application.awarded_before_reviews", actor=actor, subject=application,
                 reason=before_reviews_reason, submitted=submitted, pending=pending)


BEFORE_REVIEWS_REASON_MAX = 2000


def award_grant(application: Application | None, *, amount, section, actor, reason: str = "",
                committee_session=None, before_reviews_reason: str = "") -> Decision:
    """Award ``amount`` to an application under review, drawn from its call's envelope for
    ``section``. The envelope's committed rises by one conditional UPDATE, so the sum of awards never
    passes the envelope, whatever the concurrency; the commitment is written to the ledger and the
    applicant's users are told (outbox) in the same transaction. While its reviews are not all in,
    the award needs ``before_reviews_reason`` (:func:`_check_reviews_in`)."""
    waiting = _open_decision(application)
    _check_reviews_in(application, before_reviews_reason, actor)
    amount = parse_amount(amount)
    section = parse_section(section)
    if application.amount_requested is not None and amount > application.amount_requested:
        raise DomainError(_("Le montant dépasse la somme demandée (%(asked)s).", asked=money(application.amount_requested)),
                          field="amount")
    envelope = _envelope(application.call_id, section)
    previous = application.state
    committee_session_id = _session_id(committee_session)
    with _deciding():
        decision = waiting or Decision(application_id=application.id)
        decision.outcome, decision.section, decision.amount, decision.paid = Outcome.AWARDED, section, amount, ZERO
        decision.reason = reason.strip() or None
        decision.decided_by_id, decision.decided_at = actor.id, utcnow()
        decision.committee_session_id = committee_session_id
        application.move_to(ApplicationState.DECIDED)
        application.decided_at = decision.decided_at
        db.session.add(decision)
    _move(envelope, decision, MovementKind.COMMITMENT, amount, actor=actor, reason=reason.strip())
    record_transition("application.awarded", application, previous, ApplicationState.DECIDED, actor=actor,
                      amount=amount, section=section.value)
    _notify_applicant("decision_awarded", application, decision=decision)
    db.session.flush()
    return decision


def reject_application(application: Application | None, *, reason: str, actor, committee_session=None) -> Decision:
    """Refuse an application under review, with the reason the applicant will read."""
    waiting = _open_decision(application)
    reason = _required_reason(reason)
    previous = application.state
    committee_session_id = _session_id(committee_session)
    with _deciding():
        decision = waiting or Decision(application_id=application.id)
        decision.outcome, decision.section, decision.amount, decision.reason = Outcome.REJECTED, None, None, reason
        decision.decided_by_id, decision.decided_at = actor.id, utcnow()
        decision.committee_session_id = committee_session_id
        application.move_to(ApplicationState.DECIDED)
        application.decided_at = decision.decided_at
        db.session.add(decision)
    record_transition("application.rejected", application, previous, ApplicationState.DECIDED, actor=actor,
                      reason=reason)
    _notify_applicant("decision_rejected", application, decision=decision)
    db.session.flush()
    return decision


def waitlist_application(application: Application | None, *, actor, reason: str = "",
                         committee_session=None) -> Decision:
    """Put an application on the waiting list (liste complémentaire): it stays under review, so
    that it can be funded later when money comes back to the envelope, or refused. The applicant
    is told (outbox)."""
    if _open_decision(application) is not None:
        raise NotAwardable(_("Le dossier est déjà sur la liste d'attente."))
    committee_session_id = _session_id(committee_session)
    with _deciding():
        decision = Decision(application_id=application.id, outcome=Outcome.WAITLISTED, reason=reason.strip() or None,
                            decided_by_id=actor.id, decided_at=utcnow(), committee_session_id=committee_session_id)
        db.session.add(decision)
    record_event("application.waitlisted", actor=actor, subject=decision, reason=reason.strip())
    _notify_applicant("application_waitlisted", application, decision=decision)
    return decision


def amend(decision: Decision, *, amount, actor, reason: str) -> Decision:
    """Change an award's amount (increase or decrease). An increase draws on the envelope like an
    award, never above the amount asked; a decrease never goes below what is already paid. The
    award is changed only if nobody changed it since it was read (compare-and-set)."""
    _ensure_active_award(decision)
    new_amount = parse_amount(amount)
    reason = _required_reason(reason)
    current = decision.amount
    delta = new_amount - current
    if delta == 0:
        raise DomainError(_("Le nouveau montant est égal au montant accordé."), field="amount")
    requested = decision.application.amount_requested
    if requested is not None and new_amount > requested:
        raise DomainError(_("Le montant dépasse la somme demandée (%(asked)s).", asked=money(requested)), field="amount")
    if new_amount < decision.paid:
        raise DomainError(_("Le montant ne peut pas descendre sous ce qui est déjà versé (%(paid)s).",
                            paid=money(decision.paid)), field="amount")
    if not _change_decision(decision, amount_delta=delta, expected_amount=current):
        raise DomainError(_("La subvention vient d'être modifiée par quelqu'un d'autre : rechargez la page."),
                          field="amount")
    envelope = _envelope(decision.application.call_id, decision.section)
    kind = MovementKind.INCREASE if delta > 0 else MovementKind.DECREASE
    _move(envelope, decision, kind, abs(delta), actor=actor, reason=reason)
    record_event(f"award.{kind.value}", actor=actor, subject=decision, before=current, after=new_amount,
                 reason=reason)
    db.session.flush()
    return decision


def record_recovery(decision: Decision, *, amount, actor, reason: str, recovered_on: date) -> EnvelopeMovement:
    """Record money claimed back from the beneficiary (titre de recette): paid falls, never below 0."""
    if decision.outcome != Outcome.AWARDED:
        raise DomainError(_("Cette décision n'est pas une subvention accordée."))
    amount = parse_amount(amount)
    reason = _required_reason(reason)
    recovered_on = check_ledger_day(decision, recovered_on, field="recovered_on")
    if amount > decision.paid:
        raise DomainError(_("On ne peut pas recouvrer plus que ce qui a été versé (%(paid)s).",
                            paid=money(decision.paid)), field="amount")
    if decision.recovery_due > 0:
        raise DomainError(_("Un trop-perçu de %(due)s est à recouvrer au vu du compte rendu financier : "
                            "enregistrez d'abord son titre de recette sur la page du compte rendu.",
                            due=money(decision.recovery_due)), field="amount")
    if not _change_decision(decision, paid_delta=-amount):
        raise DomainError(_("La subvention vient d'être modifiée par quelqu'un d'autre : rechargez la page."),
                          field="amount")
    envelope = _envelope(decision.application.call_id, decision.section)
    movement = _move(envelope, decision, MovementKind.RECOVERY, amount, actor=actor, reason=reason,
                     effective_on=recovered_on)
    record_event("award.recovery", actor=actor, subject=decision, amount=amount, reason=reason)
    db.session.flush()
    return movement


def cancel_award(decision: Decision, *, actor, reason: str, recover_paid: bool = False,
                 recovered_on: date | None = None) -> Decision:
    """Cancel an award: its whole amount goes back to the envelope. If money was paid, the
    cancellation needs a recovery entry for all of it first (``recover_paid``), so that paid never
    exceeds committed."""
    _ensure_active_award(decision)
    reason = _required_reason(reason)
    if decision.paid > 0:
        if not recover_paid:
            raise DomainError(_("%(paid)s ont déjà été versés : l'annulation exige un titre de recette de ce montant.",
                                paid=money(decision.paid)), field="recover_paid")
        record_recovery(decision, amount=decision.paid, actor=actor, reason=reason,
                        recovered_on=recovered_on or local_today())
    amount = decision.amount
    if not _change_decision(decision, amount_delta=-amount, expected_amount=amount, cancelled_at=utcnow()):
        raise DomainError(_("La subvention vient d'être modifiée par quelqu'un d'autre : rechargez la page."))
    if amount > 0:
        envelope = _envelope(decision.application.call_id, decision.section)
        _move(envelope, decision, MovementKind.CANCELLATION, amount, actor=actor, reason=reason)
    record_event("award.cancelled", actor=actor, subject=decision, amount=amount, reason=reason)
    db.session.flush()
    return decision


def convention_required(decision: Decision) -> bool:
    """An award needs a convention from ``CONVENTION_THRESHOLD``, or below it where its call asks."""
    return (decision.amount is not None and decision.amount >= current_app.config["CONVENTION_THRESHOLD"]) \
        or decision.application.call.convention_below_threshold


def next_tranche(decision: Decision) -> PaymentTranche:
    """The tranche a payment on ``decision`` most likely is, offered first by the payment form: the
    advance before anything is paid, the balance once the final report is accepted, an instalment
    in between."""
    if decision.report_accepted_at is not None:
        return PaymentTranche.BALANCE
    return PaymentTranche.INSTALMENT if decision.paid > 0 else PaymentTranche.ADVANCE


def record_payment(decision: Decision, *, amount, tranche, actor, paid_on: date, reason: str = "") -> EnvelopeMovement:
    """Record a payment tranche (avance, acompte, solde): the award's paid and the envelope's paid
    rise by conditional UPDATEs that never let paid pass what is awarded. An advance comes first; a
    balance closes the award (nothing is paid after it). Nothing is paid to a payee without an IBAN,
    nor before the countersignature of the award's convention where one is required."""
    _ensure_active_award(decision)
    if decision.convention_countersigned_at is None and convention_required(decision):
        raise DomainError(_("Aucun versement avant la contresignature de la convention de cette subvention."),
                          field="tranche")
    applicant = decision.application.applicant
    if not applicant.payee_iban:
        raise MissingBankDetails(applicant.display_name, individual=applicant.organisation is None)
    amount = parse_amount(amount)
    try:
        tranche = PaymentTranche(getattr(tranche, "value", tranche))
    except ValueError:
        raise DomainError(_("Type de versement inconnu."), field="tranche") from None
    if paid_on is None:
        raise DomainError(_("Indiquez la date du versement."), field="paid_on")
    paid_on = check_ledger_day(decision, paid_on, field="paid_on")
    tranches = set(db.session.scalars(db.select(EnvelopeMovement.tranche).where(
        EnvelopeMovement.decision_id == decision.id, EnvelopeMovement.kind == MovementKind.PAYMENT)))
    if PaymentTranche.BALANCE in tranches:
        raise DomainError(_("Le solde a déjà été versé : la subvention est soldée."), field="tranche")
    if tranche == PaymentTranche.ADVANCE and tranches:
        raise DomainError(_("L'avance est le premier versement : d'autres versements ont déjà eu lieu."), field="tranche")
    if tranche == PaymentTranche.BALANCE and decision.report_accepted_at is None:
        raise DomainError(_("Le solde se verse sur le compte rendu financier accepté : il n'y en a pas encore."),
                          field="tranche")
    if not _change_decision(decision, paid_delta=amount, payment=tranche):
        if decision.balance_paid_at is not None:
            raise DomainError(_("Le solde a déjà été versé : la subvention est soldée."), field="tranche")
        raise DomainError(_("Versement supérieur au reste à verser : %(left)s.",
                            left=money(decision.amount - decision.paid)), field="amount")
    envelope = _envelope(decision.application.call_id, decision.section)
    movement = _move(envelope, decision, MovementKind.PAYMENT, amount, actor=actor, reason=reason.strip(),
                     tranche=tranche, effective_on=paid_on)
    record_event("award.payment", actor=actor, subject=decision, amount=amount, tranche=tranche.value)
    _notify_applicant("payment_recorded", decision.application, decision=decision, movement=movement)
    db.session.flush()
    return movement


# --- Reading ----------------------------------------------------------------------------------


_DECISIONS_READ = "subventia.decisions_read"


def decision_of(application: Application) -> Decision | None:
    """The decision on ``application``, or None. A dossier's page asks three times (its status line,
    its decision section, its timeline): the answer is kept until the session next writes (a flush),
    or the transaction ends, and not trusted while changes are pending (the query would flush them)."""
    session = db.session
    read = session.info.setdefault(_DECISIONS_READ, {})
    if application.id in read and not (session.new or session.dirty or session.deleted):
        return read[application.id]
    read[application.id] = decision = session.scalar(db.select(Decision).where(Decision.application_id == application.id))
    return decision


@sa.event.listens_for(sa.orm.Session, "after_flush")
def _forget_decisions_read(session, flush_context):
    session.info.pop(_DECISIONS_READ, None)


@sa.event.listens_for(sa.orm.Session, "after_transaction_end")
def _forget_decisions_read_at_the_end(session, transaction):
    session.info.pop(_DECISIONS_READ, None)


def decision_timeline(application: Application) -> list[AuditEvent]:
    """The audit rows of the decision on ``application``, oldest first: the waiting list, changes of
    amount, payments, recoveries, cancellation (the award or refusal itself is an application row)."""
    decision = decision_of(application)
    return [] if decision is None else audit_timeline("decision", decision.id)


def movements_of(decision: Decision | None) -> list[EnvelopeMovement]:
    if decision is None:
        return []
    return db.session.scalars(
        db.select(EnvelopeMovement).options(sa.orm.joinedload(EnvelopeMovement.actor))
        .where(EnvelopeMovement.decision_id == decision.id).order_by(EnvelopeMovement.id)
    ).all()


def decisions_by_application(application_ids: list[int]) -> dict[int, Decision]:
    """The decisions on these applications, cancelled ones included, by application id (one statement)."""
    if not application_ids:
        return {}
    decisions = db.session.scalars(db.select(Decision).where(Decision.application_id.in_(application_ids)))
    return {decision.application_id: decision for decision in decisions}


def payments_by_decision(decision_ids: list[int]) -> dict[int, list[EnvelopeMovement]]:
    """The payments and recoveries of these awards, oldest first, by decision id (one statement)."""
    found: dict[int, list[EnvelopeMovement]] = defaultdict(list)
    for movement in db.session.scalars(
        db.select(EnvelopeMovement)
        .where(EnvelopeMovement.decision_id.in_(decision_ids),
               EnvelopeMovement.kind.in_((MovementKind.PAYMENT, MovementKind.RECOVERY)))
        .order_by(EnvelopeMovement.id)
    ):
        found[movement.decision_id].append(movement)
    return found


@dataclass(frozen=True)
class ApplicantDecision:
    """What the applicant reads of a decision: outcome, amount, reason, payments."""

    outcome: Outcome
    amount: Decimal | None
    paid: Decimal
    reason: str | None
    decided_at: datetime
    cancelled: bool
    payments: list[EnvelopeMovement]


def decision_for_applicant(application: Application) -> ApplicantDecision | None:
    """The decision as the applicant sees it; None while there is none. A place on the waiting list
    is shown too (the application is still under review)."""
    decision = decision_of(application)
    if decision is None:
        return None
    payments = [m for m in movements_of(decision) if m.kind in (MovementKind.PAYMENT, MovementKind.RECOVERY)]
    return ApplicantDecision(outcome=decision.outcome, amount=decision.amount, paid=decision.paid,
                             reason=decision.reason, decided_at=decision.decided_at,
                             cancelled=decision.cancelled_at is not None, payments=payments)


# --- The ledger check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Discrepancy:
    subject: str  # "envelope" or "decision"
    subject_id: int
    figure: str  # "committed", "paid", "amount"
    stored: Decimal
    ledger: Decimal


def _ledger_sums(column) -> dict[int, dict[str, Decimal]]:
    sums: dict[int, dict[str, Decimal]] = defaultdict(lambda: {"committed": ZERO, "paid": ZERO})
    for owner_id, kind, total in db.session.execute(
        db.select(column, EnvelopeMovement.kind, sa.func.sum(EnvelopeMovement.amount))
        .where(column.is_not(None)).group_by(column, EnvelopeMovement.kind)
    ):
        if kind in COMMITTED_SIGN:
            sums[owner_id]["committed"] += total * COMMITTED_SIGN[kind]
        else:
            sums[owner_id]["paid"] += total * PAID_SIGN[kind]
    return sums


def ledger_discrepancies() -> list[Discrepancy]:
    """Every stored figure that differs from the ledger's sum: per envelope (committed, paid) and per
    award (amount, paid). Four aggregate queries whatever the size of the ledger; empty when sound."""
    found = []
    by_envelope = _ledger_sums(EnvelopeMovement.envelope_id)
    for envelope_id, committed, paid in db.session.execute(
        db.select(CallEnvelope.id, CallEnvelope.committed, CallEnvelope.paid).order_by(CallEnvelope.id)
    ):
        ledger = by_envelope.get(envelope_id, {"committed": ZERO, "paid": ZERO})
        if committed != ledger["committed"]:
            found.append(Discrepancy("envelope", envelope_id, "committed", committed, ledger["committed"]))
        if paid != ledger["paid"]:
            found.append(Discrepancy("envelope", envelope_id, "paid", paid, ledger["paid"]))
    by_decision = _ledger_sums(EnvelopeMovement.decision_id)
    for decision_id, outcome, amount, paid in db.session.execute(
        db.select(Decision.id, Decision.outcome, Decision.amount, Decision.paid).order_by(Decision.id)
    ):
        ledger = by_decision.get(decision_id, {"committed": ZERO, "paid": ZERO})
        stored_amount = amount if outcome == Outcome.AWARDED else ZERO
        if stored_amount != ledger["committed"]:
            found.append(Discrepancy("decision", decision_id, "amount", stored_amount, ledger["committed"]))
        if paid != ledger["paid"]:
            found.append(Discrepancy("decision", decision_id, "paid", paid, ledger["paid"]))
    return found


def verify_ledger() -> None:
    """Raise :class:`LedgerInconsistent` unless every stored figure equals the ledger's sum."""
    found = ledger_discrepancies()
    if found:
        raise LedgerInconsistent(found)


# --- What the dashboard reads, against a recount -----------------------------------------------


def _hour_of(column):
    """The UTC hour an instant falls in, computed by the database. The service's zone is a whole
    number of hours from UTC, so an hour belongs to exactly one local day."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.date_trunc("hour", column, type_=UTCDateTime())
    return sa.func.strftime("%Y-%m-%d %H:00:00", column, type_=UTCDateTime())


def ledger_days_recount() -> dict[tuple[int, date], dict[str, Decimal]]:
    """The day summary recomputed from the ledger: (envelope id, day) → the four sums of the day. One
    query, summing the movements by kind and dates (hours for instants) in the database."""
    days: dict[tuple[int, date], dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(DAY_COLUMN.values(), ZERO))
    recorded, decided = _hour_of(EnvelopeMovement.created_at), _hour_of(Decision.decided_at)
    for envelope_id, kind, amount, recorded_hour, effective_on, held_on, decided_hour in db.session.execute(
        db.select(EnvelopeMovement.envelope_id, EnvelopeMovement.kind,
                  sa.func.sum(EnvelopeMovement.amount, type_=Money()), recorded, EnvelopeMovement.effective_on,
                  CommitteeSession.held_on, decided)
        .outerjoin(Decision, EnvelopeMovement.decision_id == Decision.id)
        .outerjoin(CommitteeSession, Decision.committee_session_id == CommitteeSession.id)
        .group_by(EnvelopeMovement.envelope_id, EnvelopeMovement.kind, recorded, EnvelopeMovement.effective_on,
                  CommitteeSession.held_on, decided)
    ):
        decided_day = held_on or (local_today(decided_hour) if decided_hour is not None else None)
        day = chart_day(kind, recorded_hour, effective_on, decided_day)
        days[(envelope_id, day)][DAY_COLUMN[kind]] += amount
    return days


def rebuild_ledger_days() -> int:
    """Write the day summary again from the ledger (for a ledger loaded past the services, such as the
    bench's COPY, or the demo's backdated seed); returns the number of days. Flushes; the caller commits."""
    days = ledger_days_recount()
    db.session.execute(sa.delete(EnvelopeLedgerDay))
    if days:
        db.session.execute(sa.insert(EnvelopeLedgerDay), [
            {"envelope_id": envelope_id, "day": day, **sums} for (envelope_id, day), sums in sorted(days.items())])
    return len(days)


def dashboard_discrepancies() -> list[Discrepancy]:
    """Every counter or day sum the dashboard reads that differs from a recount: applications by call
    and state, decisions in force by call, outcome and section (count, released, recovery due), and
    the ledger by envelope and day. Six aggregate queries; empty when sound. ``stored`` is the
    counter, ``ledger`` the recount."""
    found = []

    def compare(subject, stored: dict, recount: dict) -> None:
        for key in sorted(set(stored) | set(recount), key=str):
            for figure in sorted(set(stored.get(key, {})) | set(recount.get(key, {}))):
                kept, counted = stored.get(key, {}).get(figure, 0), recount.get(key, {}).get(figure, 0)
                if kept != counted:
                    found.append(Discrepancy(subject, key[0], " ".join(map(str, (*key[1:], figure))),
                                             Decimal(kept), Decimal(counted)))

    stored, recount = defaultdict(dict), defaultdict(dict)
    for call_id, state, applications in db.session.execute(
        db.select(CallApplicationCount.call_id, CallApplicationCount.state, CallApplicationCount.applications)
        .where(CallApplicationCount.applications != 0)
    ):
        stored[(call_id, state)]["applications"] = applications
    for call_id, state, applications in db.session.execute(
        db.select(Application.call_id, Application.state, sa.func.count()).group_by(Application.call_id, Application.state)
    ):
        recount[(call_id, state.value)]["applications"] = applications
    compare("call", stored, recount)

    stored, recount = defaultdict(dict), defaultdict(dict)
    for call_id, outcome, section, decisions, released, recovery_due in db.session.execute(
        db.select(CallDecisionFigures.call_id, CallDecisionFigures.outcome, CallDecisionFigures.section,
                  CallDecisionFigures.decisions, CallDecisionFigures.released, CallDecisionFigures.recovery_due)
        .where(sa.or_(CallDecisionFigures.decisions != 0, CallDecisionFigures.released != 0,
                      CallDecisionFigures.recovery_due != 0))
    ):
        stored[(call_id, outcome, section or "-")] = {"decisions": decisions, "released": released,
                                                      "recovery_due": recovery_due}
    for call_id, outcome, section, decisions, released, recovery_due in db.session.execute(
        db.select(Application.call_id, Decision.outcome, Decision.section, sa.func.count(),
                  sa.func.sum(Decision.released, type_=Money()), sa.func.sum(Decision.recovery_due, type_=Money()))
        .join(Application, Decision.application_id == Application.id).where(Decision.cancelled_at.is_(None))
        .group_by(Application.call_id, Decision.outcome, Decision.section)
    ):
        recount[(call_id, outcome.value, section.value if section else "-")] = {
            "decisions": decisions, "released": released, "recovery_due": recovery_due}
    compare("call", stored, recount)

    stored = {(row.envelope_id, row.day): {column: getattr(row, column) for column in DAY_COLUMN.values()}
              for row in db.session.scalars(db.select(EnvelopeLedgerDay))}
    compare("envelope", stored, ledger_days_recount())
    return found
