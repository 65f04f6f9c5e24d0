"""The committee session (commission permanente): a proposal that funds a call's applications down
the ranking until the section's envelope is exhausted, adjusted by the manager, then confirmed as one
act: every decision in one transaction, all or nothing.

The confirmation takes no lock of its own: each award goes through
:func:`grants.awards.services.award_grant`, whose conditional UPDATE holds the envelope's row until
the transaction ends. A single award racing the committee either lands first (and the committee
then fails whole if the money is no longer there) or waits for the committee's commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _

from grants.applications.models import Application, ApplicationState
from grants.audit.services import record_event
from grants.awards import services
from grants.awards.models import CommitteeSession, Decision, Outcome
from grants.calls.models import BudgetSection, Call, CallEnvelope
from grants.database import db
from grants.errors import DomainError
from grants.reviews.ranking import RankedApplication, call_ranking

ZERO = Decimal("0.00")
CHOICES = ("award", "waitlist", "reject", "skip")


@dataclass(frozen=True)
class ProposedLine:
    ranked: RankedApplication
    waitlisted: bool  # already on the waiting list
    choice: str  # award / waitlist / reject / skip
    amount: Decimal | None
    reason: str
    remaining_after: Decimal  # what the envelope would have left after this line and those above


@dataclass(frozen=True)
class Proposal:
    call: Call
    section: BudgetSection
    envelope: CallEnvelope | None
    lines: list[ProposedLine]

    @property
    def remaining_now(self) -> Decimal:
        return self.envelope.remaining if self.envelope else ZERO

    @property
    def awarded_total(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.choice == "award" and line.amount), ZERO)

    @property
    def remaining_after(self) -> Decimal:
        return self.remaining_now - self.awarded_total

    @property
    def exceeds(self) -> bool:
        return self.remaining_after < 0


@dataclass(frozen=True)
class CommitteeLine:
    """The manager's choice for one application."""

    application_id: int
    choice: str
    amount: Decimal | None = None
    reason: str = ""


def candidates(call: Call, section: BudgetSection) -> list[RankedApplication]:
    """Applications still to decide in ``section`` (under review, waiting list included), best first: the
    section's stored ranking, its decided rows left out (ranks and running sums those of the section)."""
    return call_ranking(call.id, section=section, state=ApplicationState.UNDER_REVIEW)


def _waitlisted_ids(application_ids: list[int]) -> set[int]:
    if not application_ids:
        return set()
    return set(db.session.scalars(db.select(Decision.application_id).where(
        Decision.application_id.in_(application_ids), Decision.outcome == Outcome.WAITLISTED)))


def propose(call: Call, section: BudgetSection, choices: dict[int, CommitteeLine] | None = None) -> Proposal:
    """Fund down the ranking, each at the amount asked, until the next one no longer fits; those below
    go to the waiting list. ``choices`` (the manager's adjustments) replace the proposal line by line;
    each line shows what the envelope would have left after it."""
    envelope = call.envelope_for(section)
    remaining = envelope.remaining if envelope else ZERO
    ranked = candidates(call, section)
    waitlisted = _waitlisted_ids([r.application_id for r in ranked])
    lines, exhausted = [], False
    for row in ranked:
        chosen = (choices or {}).get(row.application_id)
        if chosen is not None:
            choice, amount, reason = chosen.choice, chosen.amount, chosen.reason
        elif not exhausted and row.amount_requested is not None and row.amount_requested <= remaining:
            choice, amount, reason = "award", row.amount_requested, ""
        else:
            exhausted = True
            choice, amount, reason = "waitlist", None, ""
        if choice == "award" and amount:
            remaining -= amount
        lines.append(ProposedLine(row, row.application_id in waitlisted, choice, amount, reason, remaining))
    return Proposal(call=call, section=section, envelope=envelope, lines=lines)


def confirm_committee(call: Call, *, section: BudgetSection, held_on: date, actor, lines: list[CommitteeLine],
                      note: str = "") -> CommitteeSession:
    """Record the committee's decisions as one session. Any refusal (envelope exceeded, an application
    decided meanwhile, a bad amount) raises a DomainError naming the application; the caller then rolls
    back, so either every decision of the session is written or none is."""
    section = services.parse_section(section)
    if not isinstance(held_on, date):
        raise DomainError(_("Indiquez la date de la commission."), field="held_on")
    decided = [line for line in lines if line.choice != "skip"]
    if any(line.choice not in CHOICES for line in lines):
        raise DomainError(_("Décision inconnue."))
    if not decided:
        raise DomainError(_("La commission ne prend aucune décision : choisissez au moins un dossier."))
    if len({line.application_id for line in decided}) != len(decided):
        raise DomainError(_("Un dossier figure deux fois dans la commission."))
    applications = {a.id: a for a in db.session.scalars(
        db.select(Application).where(Application.id.in_([line.application_id for line in decided]),
                                     Application.call_id == call.id))}
    session = CommitteeSession(call_id=call.id, held_on=held_on, note=note.strip(), confirmed_by_id=actor.id)
    db.session.add(session)
    db.session.flush()
    counts = dict.fromkeys(CHOICES, 0)
    # Awards first: if the envelope cannot hold them, nothing else is attempted either.
    for line in sorted(decided, key=lambda item: item.choice != "award"):
        application = applications.get(line.application_id)
        label = application.reference if application else f"#{line.application_id}"
        try:
            if line.choice == "award":
                # The committee's observations are its reason to award a dossier whose reviews are not
                # all in (audited as for an award decided alone); without them such an award is refused.
                services.award_grant(application, amount=line.amount, section=section, actor=actor,
                                     reason=line.reason, committee_session=session, before_reviews_reason=note)
            elif line.choice == "reject":
                services.reject_application(application, reason=line.reason, actor=actor, committee_session=session)
            elif application is None or services.decision_of(application) is None:
                # One already on the waiting list stays there as it is.
                services.waitlist_application(application, actor=actor, reason=line.reason, committee_session=session)
        except services.ReviewsPending as error:
            raise DomainError(_("Dossier %(reference)s : %(count)s évaluation(s) sur %(total)s pas encore transmise(s) ; "
                                "pour l'accorder quand même, dites dans les observations de la commission pourquoi "
                                "elle décide sans les attendre.", reference=label, count=error.pending,
                                total=error.submitted + error.pending), field="note") from error
        except DomainError as error:
            raise DomainError(_("Dossier %(reference)s : %(message)s", reference=label, message=error.message),
                              field=error.field) from error
        counts[line.choice] += 1
    total = sum((line.amount for line in decided if line.choice == "award" and line.amount), ZERO)
    record_event("committee.confirmed", actor=actor, subject=session, section=section.value, awarded=counts["award"],
                 waitlisted=counts["waitlist"], rejected=counts["reject"], total=total)
    db.session.flush()
    return session
