"""Business operations on programmes (budget lines) and calls for projects.

Money invariants kept here and in the database together:
- a programme's authorisation for a year and section is never exceeded by what is carved into call
  envelopes plus what direct grants commit (``ck_programme_budgets_carved_within_authorised``);
- a call's envelope never falls below what is committed from it
  (``ck_call_envelopes_committed_within_envelope``).
Each move is one conditional UPDATE (``... WHERE carved + delta + direct_committed <= authorised``):
correct under concurrency on PostgreSQL (the row is re-checked after the lock) and on SQLite (one
writer at a time). Services flush; the caller commits once, or rolls back on a DomainError.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from grants.accounts.models import User
from grants.applications.models import Application, ApplicationState
from grants.audit.services import record_event, record_transition
from grants.calls.followers import announce_call_opened
from grants.calls.models import (
    BudgetSection,
    Call,
    CallEnvelope,
    CallFunder,
    CallState,
    Criterion,
    DirectGrant,
    FileKind,
    Programme,
    ProgrammeBudget,
    RequiredDocument,
)
from grants.database import constraint_violated, db, to_money, utcnow
from grants.errors import DomainError
from grants.formatting import money
from grants.organisations.identifiers import compact_siret, siret_error
from grants.organisations.models import Applicant, Membership, Organisation
from grants.outbox.services import queue_email
from grants.reviews.models import Review, ReviewAssignment, ReviewState

ZERO = Decimal("0.00")
EDITABLE_STATES = (CallState.DRAFT, CallState.SCHEDULED)
SETTINGS_COPIED_BY_CLONE = (
    "programme_id", "reference_prefix", "summary", "description", "eligibility_rules", "applicant_kinds",
    "eligible_legal_forms", "partner_regions", "min_grant", "max_grant", "max_share_of_cost",
    "reminder_offsets_days", "blind_review", "show_review_comments", "asks_young_people_count",
    "convention_below_threshold", "advance_share",
)


# --- Programmes -------------------------------------------------------------------------------


def budget_line(programme_id: int, year: int, section: BudgetSection) -> ProgrammeBudget | None:
    return db.session.scalar(
        db.select(ProgrammeBudget).where(
            ProgrammeBudget.programme_id == programme_id,
            ProgrammeBudget.year == year,
            ProgrammeBudget.section == section,
        )
    )


def set_authorisation(programme: Programme, year: int, section: BudgetSection, authorised, *, actor) -> ProgrammeBudget:
    """Set a programme's yearly authorisation for a section; never below what is carved or committed."""
    authorised = to_money(authorised)
    if authorised < 0:
        raise DomainError(_("L'autorisation ne peut pas être négative."), field="authorised")
    budget = budget_line(programme.id, year, section)
    if budget is None:
        budget = ProgrammeBudget(programme=programme, year=year, section=section, authorised=authorised)
        db.session.add(budget)
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError:  # created meanwhile by someone else: update it instead
            budget = budget_line(programme.id, year, section)
    if budget.authorised != authorised:
        done = db.session.execute(
            sa.update(ProgrammeBudget)
            .where(
                ProgrammeBudget.id == budget.id,
                ProgrammeBudget.carved + ProgrammeBudget.direct_committed <= authorised,
            )
            .values(authorised=authorised)
        ).rowcount
        db.session.refresh(budget)
        if not done:
            raise DomainError(
                _("L'autorisation ne peut pas descendre sous ce qui est déjà réparti ou engagé : %(used)s.",
                  used=money(budget.carved + budget.direct_committed)),
                field="authorised",
            )
    record_event("programme.authorisation_set", actor=actor, subject=budget,
                 year=year, section=section.value, authorised=authorised)
    db.session.flush()
    return budget


def _carve(budget: ProgrammeBudget, delta: Decimal) -> None:
    """Move ``delta`` (positive or negative) between the programme's free amount and its calls."""
    done = db.session.execute(
        sa.update(ProgrammeBudget)
        .where(
            ProgrammeBudget.id == budget.id,
            ProgrammeBudget.carved + delta + ProgrammeBudget.direct_committed <= ProgrammeBudget.authorised,
            ProgrammeBudget.carved + delta >= 0,
        )
        .values(carved=ProgrammeBudget.carved + delta)
    ).rowcount
    db.session.refresh(budget)
    if not done:
        raise DomainError(
            _("L'enveloppe dépasse ce que la ligne budgétaire a de libre : %(free)s.", free=money(budget.free)),
            field=f"envelope_{budget.section.value}",
        )


def set_envelope(call: Call, section: BudgetSection, amount, *, actor) -> CallEnvelope | None:
    """Set a call's envelope for one section: raised only within what its programme line has free,
    lowered never below what is already committed. Envelope and line move in one transaction."""
    amount = to_money(amount)
    field = f"envelope_{section.value}"
    if amount < 0:
        raise DomainError(_("Une enveloppe ne peut pas être négative."), field=field)
    envelope = call.envelope_for(section)
    current = envelope.amount if envelope else ZERO
    delta = amount - current
    if delta == 0:
        return envelope
    budget = budget_line(call.programme_id, call.year, section)
    if budget is None:
        raise DomainError(
            _("Le programme n'a pas d'autorisation en %(section)s pour %(year)s : fixez-la d'abord.",
              section=section.label.lower(), year=call.year),
            field=field,
        )
    if envelope is None:
        envelope = CallEnvelope(call=call, section=section, amount=amount)
        db.session.add(envelope)
        db.session.flush()
    else:
        # Compare-and-set on the amount read: a concurrent change makes this one fail, not vanish.
        done = db.session.execute(
            sa.update(CallEnvelope)
            .where(CallEnvelope.id == envelope.id, CallEnvelope.amount == current, CallEnvelope.committed <= amount)
            .values(amount=amount)
        ).rowcount
        db.session.refresh(envelope)
        if not done:
            if envelope.committed > amount:
                raise DomainError(
                    _("L'enveloppe ne peut pas descendre sous ce qui est déjà engagé : %(committed)s.",
                      committed=money(envelope.committed)),
                    field=field,
                )
            raise DomainError(_("L'enveloppe vient d'être modifiée par quelqu'un d'autre : rechargez la page."), field=field)
    _carve(budget, delta)
    record_event("call.envelope_set", actor=actor, subject=call, section=section.value, before=current, after=amount)
    return envelope


@dataclass(frozen=True)
class SectionFigures:
    section: BudgetSection
    authorised: Decimal
    carved: Decimal
    committed: Decimal
    paid: Decimal
    free: Decimal


def programme_figures(programme_id: int, year: int) -> list[SectionFigures]:
    """Authorised, carved into calls, committed (awards + direct grants), paid and free, per section,
    in three aggregate queries whatever the number of calls."""
    budgets = {b.section: b for b in db.session.scalars(
        db.select(ProgrammeBudget).where(ProgrammeBudget.programme_id == programme_id, ProgrammeBudget.year == year)
    )}
    from_calls = {
        row.section: row
        for row in db.session.execute(
            db.select(
                CallEnvelope.section,
                sa.func.coalesce(sa.func.sum(CallEnvelope.committed), 0).label("committed"),
                sa.func.coalesce(sa.func.sum(CallEnvelope.paid), 0).label("paid"),
            )
            .join(Call)
            .where(Call.programme_id == programme_id, Call.year == year)
            .group_by(CallEnvelope.section)
        )
    }
    direct_paid = dict(db.session.execute(
        db.select(ProgrammeBudget.section, sa.func.coalesce(sa.func.sum(DirectGrant.paid), 0))
        .join(DirectGrant, DirectGrant.programme_budget_id == ProgrammeBudget.id)
        .where(ProgrammeBudget.programme_id == programme_id, ProgrammeBudget.year == year)
        .group_by(ProgrammeBudget.section)
    ).all())
    figures = []
    for section in BudgetSection:
        budget = budgets.get(section)
        if budget is None:
            continue
        calls = from_calls.get(section)
        # Sums keep the Money type: they come back as Decimal euros.
        committed_in_calls = calls.committed if calls else ZERO
        paid_in_calls = calls.paid if calls else ZERO
        figures.append(SectionFigures(
            section=section,
            authorised=budget.authorised,
            carved=budget.carved,
            committed=committed_in_calls + budget.direct_committed,
            paid=paid_in_calls + direct_paid.get(section, ZERO),
            free=budget.free,
        ))
    return figures


def record_direct_grant(budget: ProgrammeBudget, *, beneficiary_name: str, purpose: str, amount,
                        actor, beneficiary_siret: str | None = None) -> DirectGrant:
    """Commit a grant outside any call against a programme line, never past what the line has free.
    A SIRET names the registered organisation that receives it (published in the SCDL file); none
    for a private person."""
    organisation = None
    if (beneficiary_siret or "").strip():
        siret = compact_siret(beneficiary_siret)
        organisation = db.session.scalar(db.select(Organisation).where(Organisation.siret == siret))
        if organisation is None:
            raise DomainError(siret_error(siret) or _("Aucun organisme n'est inscrit avec ce SIRET : il doit "
                                                      "d'abord s'inscrire sur la plateforme."), field="beneficiary_siret")
    amount = to_money(amount)
    if amount <= 0:
        raise DomainError(_("Le montant doit être positif."), field="amount")
    if not beneficiary_name.strip() or not purpose.strip():
        raise DomainError(_("Indiquez le bénéficiaire et l'objet de la subvention."), field="beneficiary_name")
    done = db.session.execute(
        sa.update(ProgrammeBudget)
        .where(
            ProgrammeBudget.id == budget.id,
            ProgrammeBudget.carved + ProgrammeBudget.direct_committed + amount <= ProgrammeBudget.authorised,
        )
        .values(direct_committed=ProgrammeBudget.direct_committed + amount)
    ).rowcount
    db.session.refresh(budget)
    if not done:
        raise DomainError(
            _("Montant supérieur à ce que la ligne budgétaire a de libre : %(free)s.", free=money(budget.free)),
            field="amount",
        )
    grant = DirectGrant(programme_budget=budget, organisation=organisation, beneficiary_name=beneficiary_name.strip(),
                        purpose=purpose.strip(), amount=amount, decided_by_id=actor.id)
    db.session.add(grant)
    db.session.flush()
    record_event("direct_grant.recorded", actor=actor, subject=grant, amount=amount, beneficiary=grant.beneficiary_name)
    return grant


# --- Calls ------------------------------------------------------------------------------------


def _check_call_settings(*, opens_at: datetime, closes_at: datetime, min_grant, max_grant, max_share_of_cost) -> None:
    if closes_at <= opens_at:
        raise DomainError(_("La clôture doit être postérieure à l'ouverture."), field="closes_at")
    if to_money(min_grant) < 0:
        raise DomainError(_("Le montant minimum ne peut pas être négatif."), field="min_grant")
    if to_money(max_grant) < to_money(min_grant):
        raise DomainError(_("Le montant maximum doit être au moins égal au minimum."), field="max_grant")
    share = Decimal(max_share_of_cost)
    if not (Decimal(0) < share <= Decimal(1)):
        raise DomainError(_("La part maximale du coût total est comprise entre 1 et 100 %."), field="max_share_of_cost")


def _flush_unique_slug(call: Call) -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        if constraint_violated(error) == "uq_calls_slug":
            raise DomainError(_("Cette adresse (slug) est déjà prise par un autre appel."), field="slug") from error
        raise


def slug_taken(slug: str, *, except_call_id: int | None = None) -> bool:
    query = db.select(Call.id).where(Call.slug == slug)
    if except_call_id is not None:
        query = query.where(Call.id != except_call_id)
    return db.session.scalar(query) is not None


def create_call(programme: Programme, *, actor, envelopes: dict[BudgetSection, Decimal] | None = None, **settings) -> Call:
    """Create a draft call and carve its envelopes from the programme's line for the call's year."""
    _check_call_settings(**{k: settings[k] for k in ("opens_at", "closes_at", "min_grant", "max_grant", "max_share_of_cost")})
    if slug_taken(settings["slug"]):
        raise DomainError(_("Cette adresse (slug) est déjà prise par un autre appel."), field="slug")
    call = Call(programme=programme, state=CallState.DRAFT, **settings)
    db.session.add(call)
    _flush_unique_slug(call)
    record_transition("call.created", call, None, CallState.DRAFT, actor=actor)
    for section, amount in (envelopes or {}).items():
        if amount:
            set_envelope(call, section, amount, actor=actor)
    return call


def update_call(call: Call, *, actor, envelopes: dict[BudgetSection, Decimal] | None = None, **changes) -> Call:
    """Edit a call's settings. Once open, the opening cannot move and the closing moves only through
    :func:`extend_deadline`; a closed or archived call is no longer edited."""
    if call.state in (CallState.CLOSED, CallState.ARCHIVED):
        raise DomainError(_("Un appel clôturé ne se modifie plus."))
    if call.state == CallState.OPEN:
        if "opens_at" in changes and changes["opens_at"] != call.opens_at:
            raise DomainError(_("L'appel est ouvert : sa date d'ouverture ne change plus."), field="opens_at")
        if "closes_at" in changes and changes["closes_at"] != call.closes_at:
            raise DomainError(
                _("L'appel est ouvert : utilisez « Prolonger la date limite », qui prévient les porteurs de projet."),
                field="closes_at",
            )
    merged = {k: changes.get(k, getattr(call, k)) for k in ("opens_at", "closes_at", "min_grant", "max_grant", "max_share_of_cost")}
    _check_call_settings(**merged)
    if "slug" in changes and slug_taken(changes["slug"], except_call_id=call.id):
        raise DomainError(_("Cette adresse (slug) est déjà prise par un autre appel."), field="slug")
    if "year" in changes and changes["year"] != call.year and call.envelopes:
        raise DomainError(_("L'exercice ne change pas une fois l'enveloppe répartie : dupliquez l'appel."), field="year")
    for name, value in changes.items():
        setattr(call, name, value)
    _flush_unique_slug(call)
    for section, amount in (envelopes or {}).items():
        set_envelope(call, section, amount or ZERO, actor=actor)
    record_event("call.updated", actor=actor, subject=call, fields=",".join(sorted(changes)))
    return call


def criteria_locked(call: Call) -> bool:
    """The grid is locked once any review of the call has been submitted: scores must stay comparable."""
    return db.session.scalar(
        db.select(sa.func.count(Review.id))
        .join(ReviewAssignment, Review.assignment_id == ReviewAssignment.id)
        .join(Application, ReviewAssignment.application_id == Application.id)
        .where(Application.call_id == call.id, Review.state == ReviewState.SUBMITTED)
    ) > 0


def publish_call(call: Call, *, actor, now: datetime | None = None) -> Call:
    """Draft → scheduled (opens by itself at opens_at) or open (if opens_at has passed)."""
    now = now or utcnow()
    problems = []
    if call.envelope_total <= 0:
        problems.append(_("une enveloppe"))
    if not call.criteria:
        problems.append(_("au moins un critère d'évaluation"))
    if call.closes_at <= now:
        problems.append(_("une date de clôture à venir"))
    if not call.description.strip():
        problems.append(_("une description"))
    if problems:
        raise DomainError(_("Avant de publier, il manque : %(missing)s.", missing=", ".join(problems)))
    before = call.state
    target = CallState.OPEN if call.opens_at <= now else CallState.SCHEDULED
    call.move_to(target)
    call.published_at = now
    record_transition("call.published", call, before, target, actor=actor)
    if target == CallState.OPEN:
        announce_call_opened(call)
    db.session.flush()
    return call


def unpublish_call(call: Call, *, actor) -> Call:
    """Scheduled → draft, as long as the call has not opened."""
    call.move_to(CallState.DRAFT)
    call.published_at = None
    record_transition("call.unpublished", call, CallState.SCHEDULED, CallState.DRAFT, actor=actor)
    db.session.flush()
    return call


def draft_holders(call: Call) -> list:
    """Every user acting for an applicant that holds a draft on this call (each once)."""
    organisation_members = (
        db.select(Membership.user_id)
        .join(Applicant, Applicant.organisation_id == Membership.organisation_id)
        .join(Application, Application.applicant_id == Applicant.id)
        .where(Application.call_id == call.id, Application.state == ApplicationState.DRAFT)
    )
    individuals = (
        db.select(Applicant.person_id)
        .join(Application, Application.applicant_id == Applicant.id)
        .where(Application.call_id == call.id, Application.state == ApplicationState.DRAFT,
               Applicant.person_id.is_not(None))
    )
    return db.session.scalars(
        db.select(User).where(User.id.in_(organisation_members.union(individuals)), User.active.is_(True)).order_by(User.id)
    ).all()


def extend_deadline(call: Call, new_closes_at: datetime, *, reason: str, actor) -> list:
    """Push an open call's closing instant later, with a reason; every draft holder is told.
    Shortening is refused: associations plan their evenings on the announced deadline."""
    if call.state != CallState.OPEN:
        raise DomainError(_("Seul un appel ouvert peut être prolongé."))
    if new_closes_at <= call.closes_at:
        raise DomainError(_("La nouvelle date limite doit être postérieure à l'actuelle : on ne raccourcit pas un appel ouvert."),
                          field="closes_at")
    if not reason.strip():
        raise DomainError(_("Indiquez la raison de la prolongation."), field="reason")
    previous = call.closes_at
    call.closes_at = new_closes_at
    record_event("call.deadline_extended", actor=actor, subject=call, before=previous.isoformat(),
                 after=new_closes_at.isoformat(), reason=reason.strip())
    recipients = draft_holders(call)
    for user in recipients:
        queue_email("deadline_extended", user, call=call, previous=previous, reason=reason.strip(), user=user)
    db.session.flush()
    return recipients


def close_call(call: Call, *, actor, now: datetime | None = None) -> Call:
    """Open → closed once the deadline has passed (normally done by the scheduler at closes_at)."""
    now = now or utcnow()
    if call.state == CallState.OPEN and call.closes_at > now:
        raise DomainError(_("La date limite n'est pas passée : l'appel se clôturera de lui-même à l'heure dite. "
                            "Pour l'avancer il faudrait raccourcir un appel ouvert, ce qui est refusé."))
    before = call.state
    call.move_to(CallState.CLOSED)
    record_transition("call.closed", call, before, CallState.CLOSED, actor=actor)
    db.session.flush()
    return call


def archive_call(call: Call, *, actor) -> Call:
    call.move_to(CallState.ARCHIVED)
    record_transition("call.archived", call, CallState.CLOSED, CallState.ARCHIVED, actor=actor)
    db.session.flush()
    return call


def clone_call(source: Call, *, actor, title: str, slug: str, year: int, opens_at: datetime, closes_at: datetime) -> Call:
    """A new draft call with the source's settings, grid, documents, co-funders and envelope amounts
    (carved anew from the new year's line), with new dates and no applications."""
    settings = {name: getattr(source, name) for name in SETTINGS_COPIED_BY_CLONE}
    settings.pop("programme_id")
    for name in ("eligible_legal_forms", "partner_regions", "reminder_offsets_days"):
        settings[name] = list(settings[name] or [])
    call = create_call(
        source.programme, actor=actor, title=title, slug=slug, year=year, opens_at=opens_at, closes_at=closes_at,
        envelopes={e.section: e.amount for e in source.envelopes}, **settings,
    )
    for criterion in source.criteria:
        call.criteria.append(Criterion(position=criterion.position, name=criterion.name, guidance=criterion.guidance,
                                       weight=criterion.weight, scale_max=criterion.scale_max))
    for document in source.required_documents:
        call.required_documents.append(RequiredDocument(position=document.position, name=document.name,
                                                        required=document.required,
                                                        accepted_types=list(document.accepted_types)))
    for funder in source.funders:
        call.funders.append(CallFunder(name=funder.name, share=funder.share))
    record_event("call.cloned", actor=actor, subject=call, source=source.slug)
    db.session.flush()
    return call


def open_and_close_due_calls(now: datetime | None = None) -> dict:
    """Move scheduled calls whose opens_at has passed to open, and open calls whose closes_at has
    passed to closed. Flushes; the caller commits. Submissions never depend on this having run:
    ``Call.accepts_submissions_at`` checks the instant itself."""
    now = now or utcnow()
    opened = db.session.scalars(
        db.select(Call).where(Call.state == CallState.SCHEDULED, Call.opens_at <= now, Call.closes_at > now)
    ).all()
    for call in opened:
        call.move_to(CallState.OPEN)
        record_transition("call.opened", call, CallState.SCHEDULED, CallState.OPEN)
        announce_call_opened(call)
    closed = db.session.scalars(
        db.select(Call).where(Call.state.in_([CallState.OPEN, CallState.SCHEDULED]), Call.closes_at <= now)
    ).all()
    for call in closed:
        before = call.state
        if before == CallState.SCHEDULED:
            call.move_to(CallState.OPEN)
        call.move_to(CallState.CLOSED)
        record_transition("call.closed", call, before, CallState.CLOSED)
    db.session.flush()
    return {"opened": [c.slug for c in opened], "closed": [c.slug for c in closed]}


# --- Criteria grid, documents to provide, co-funders --------------------------------------------


def ensure_grid_editable(call: Call) -> None:
    if criteria_locked(call):
        raise DomainError(_("La grille est verrouillée : une évaluation a déjà été rendue sur cet appel, "
                            "et les notes doivent rester comparables."))


def _check_criterion(weight, scale_max: int) -> Decimal:
    weight = Decimal(weight)
    if weight <= 0:
        raise DomainError(_("Le poids d'un critère doit être strictement positif."), field="weight")
    if weight != weight.quantize(Decimal("0.01")):
        raise DomainError(_("Le poids a au plus deux décimales."), field="weight")
    if not 1 <= int(scale_max) <= 100:
        raise DomainError(_("L'échelle va de 0 à un maximum compris entre 1 et 100."), field="scale_max")
    return weight


def add_criterion(call: Call, *, name: str, guidance: str, weight, scale_max: int, actor) -> Criterion:
    """Add a criterion at the end of the grid, while the grid is not locked."""
    ensure_grid_editable(call)
    weight = _check_criterion(weight, scale_max)
    position = max((c.position for c in call.criteria), default=-1) + 1
    criterion = Criterion(call=call, position=position, name=name.strip(), guidance=guidance.strip(),
                          weight=weight, scale_max=int(scale_max))
    db.session.add(criterion)
    db.session.flush()
    record_event("call.criterion_added", actor=actor, subject=call, criterion=criterion.name)
    return criterion


def update_criterion(criterion: Criterion, *, name: str, guidance: str, weight, scale_max: int, actor) -> Criterion:
    ensure_grid_editable(criterion.call)
    criterion.weight = _check_criterion(weight, scale_max)
    criterion.name, criterion.guidance, criterion.scale_max = name.strip(), guidance.strip(), int(scale_max)
    record_event("call.criterion_updated", actor=actor, subject=criterion.call, criterion=criterion.name)
    db.session.flush()
    return criterion


def move_criterion(criterion: Criterion, offset: int, *, actor) -> None:
    """Swap a criterion with its neighbour above (offset -1) or below (+1)."""
    ensure_grid_editable(criterion.call)
    grid = list(criterion.call.criteria)
    index = grid.index(criterion)
    other = index + offset
    if not 0 <= other < len(grid):
        return
    grid[index], grid[other] = grid[other], grid[index]
    for position, item in enumerate(grid):
        item.position = position
    record_event("call.criteria_reordered", actor=actor, subject=criterion.call)
    db.session.flush()


def remove_criterion(criterion: Criterion, *, actor) -> None:
    call = criterion.call
    ensure_grid_editable(call)
    record_event("call.criterion_removed", actor=actor, subject=call, criterion=criterion.name)
    call.criteria.remove(criterion)
    db.session.flush()


def _ensure_documents_editable(call: Call) -> None:
    if call.state not in EDITABLE_STATES:
        raise DomainError(_("Les pièces demandées ne changent plus une fois l'appel ouvert : "
                            "les porteurs de projet préparent leur dossier sur cette liste."))


def add_required_document(call: Call, *, name: str, required: bool, accepted_types: list[str], actor) -> RequiredDocument:
    _ensure_documents_editable(call)
    kinds = [kind.value for kind in FileKind if kind in accepted_types]
    if not name.strip():
        raise DomainError(_("Nommez la pièce demandée."), field="name")
    if not kinds:
        raise DomainError(_("Choisissez au moins un type de fichier accepté."), field="accepted_types")
    position = max((d.position for d in call.required_documents), default=-1) + 1
    document = RequiredDocument(call=call, position=position, name=name.strip(), required=required, accepted_types=kinds)
    db.session.add(document)
    db.session.flush()
    record_event("call.document_added", actor=actor, subject=call, document=document.name)
    return document


def remove_required_document(document: RequiredDocument, *, actor) -> None:
    call = document.call
    _ensure_documents_editable(call)
    record_event("call.document_removed", actor=actor, subject=call, document=document.name)
    call.required_documents.remove(document)
    db.session.flush()


def set_funders(call: Call, shares: dict[str, Decimal], *, actor) -> None:
    """Record who funds the envelope: shares (fractions) adding up to exactly 1, or none at all
    (the Region alone). Fixed once the call is closed: awards report against them."""
    if call.state in (CallState.CLOSED, CallState.ARCHIVED):
        raise DomainError(_("Les cofinanceurs d'un appel clôturé ne changent plus."))
    cleaned = {name.strip(): Decimal(share) for name, share in shares.items() if name.strip()}
    if any(share <= 0 or share > 1 for share in cleaned.values()):
        raise DomainError(_("Chaque part est comprise entre 0 et 100 %."), field="funders")
    if cleaned and sum(cleaned.values()) != 1:
        raise DomainError(_("Les parts des cofinanceurs doivent faire 100 % au total."), field="funders")
    call.funders.clear()
    db.session.flush()
    for name, share in cleaned.items():
        call.funders.append(CallFunder(name=name, share=share))
    record_event("call.funders_set", actor=actor, subject=call,
                 funders="; ".join(f"{n} {s:.2%}" for n, s in cleaned.items()))
    db.session.flush()


@dataclass(frozen=True)
class FunderShare:
    name: str
    share: Decimal
    envelope: Decimal
    committed: Decimal


def funder_breakdown(call: Call) -> list[FunderShare]:
    """Each co-funder's part of the envelope and of what awards have committed (rounded to the cent;
    the last funder takes the rounding remainder so the parts add up exactly)."""
    if not call.funders:
        return []
    committed = sum((e.committed for e in call.envelopes), ZERO)
    total = call.envelope_total
    parts, envelope_left, committed_left = [], total, committed
    funders = sorted(call.funders, key=lambda f: (-f.share, f.name))
    for index, funder in enumerate(funders):
        last = index == len(funders) - 1
        envelope_part = envelope_left if last else (total * funder.share).quantize(Decimal("0.01"))
        committed_part = committed_left if last else (committed * funder.share).quantize(Decimal("0.01"))
        envelope_left -= envelope_part
        committed_left -= committed_part
        parts.append(FunderShare(funder.name, funder.share, envelope_part, committed_part))
    return parts


# --- Lists ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRow:
    call: Call
    drafts: int
    submitted: int
    envelope: Decimal
    committed: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.envelope - self.committed


# The managers' list of calls shows them a page at a time: a national install has 10,000 calls.
CALLS_PER_PAGE = 50


def _calls_listed(*, programme_id: int | None, state: CallState | None, year: int | None, search: str | None):
    query = db.select(Call).options(sa.orm.selectinload(Call.programme)).order_by(Call.opens_at.desc(), Call.id)
    if programme_id:
        query = query.where(Call.programme_id == programme_id)
    if state:
        query = query.where(Call.state == state)
    if year:
        query = query.where(Call.year == year)
    if search:
        escaped = search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Call.title.ilike(f"%{escaped}%", escape="\\"))
    return query


def call_rows(*, programme_id: int | None = None, state: CallState | None = None, year: int | None = None,
              search: str | None = None) -> list[CallRow]:
    """Calls with their numbers of drafts and submissions, envelope and committed: three queries."""
    return _rows_of(db.session.scalars(_calls_listed(programme_id=programme_id, state=state, year=year,
                                                     search=search)).all())


def call_rows_page(*, programme_id: int | None = None, state: CallState | None = None, year: int | None = None,
                   search: str | None = None, page: int = 1, per_page: int | None = None):
    """One page of :func:`call_rows` (a Flask-SQLAlchemy pagination whose items are the rows): four
    queries, whatever the number of calls."""
    pagination = db.paginate(_calls_listed(programme_id=programme_id, state=state, year=year, search=search),
                             page=page, per_page=per_page or CALLS_PER_PAGE, error_out=False)
    pagination.items = _rows_of(pagination.items)
    return pagination


def _rows_of(calls: list[Call]) -> list[CallRow]:
    ids = [c.id for c in calls]
    drafts: dict[int, int] = {}
    submitted: dict[int, int] = {}
    not_submitted = (ApplicationState.DRAFT, ApplicationState.WITHDRAWN)
    for row in db.session.execute(
        db.select(Application.call_id, Application.state, sa.func.count().label("n"))
        .where(Application.call_id.in_(ids)).group_by(Application.call_id, Application.state)
    ) if ids else ():
        if row.state == ApplicationState.DRAFT:
            drafts[row.call_id] = row.n
        elif row.state not in not_submitted:
            submitted[row.call_id] = submitted.get(row.call_id, 0) + row.n
    sums = {
        row.call_id: row
        for row in db.session.execute(
            db.select(CallEnvelope.call_id, sa.func.sum(CallEnvelope.amount).label("amount"),
                      sa.func.sum(CallEnvelope.committed).label("committed"))
            .where(CallEnvelope.call_id.in_(ids)).group_by(CallEnvelope.call_id)
        )
    } if ids else {}
    rows = []
    for call in calls:
        envelope = sums.get(call.id)
        rows.append(CallRow(call=call, drafts=drafts.get(call.id, 0), submitted=submitted.get(call.id, 0),
                            envelope=envelope.amount if envelope else ZERO,
                            committed=envelope.committed if envelope else ZERO))
    return rows
