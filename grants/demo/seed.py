"""Demo data: two programmes of the Nord-Pas-de-Calais budget, six calls, associations, applications
in every state, reviews and decisions, so that every page of the service has something true to show.

Figures come from /work/shared/seeds/nord-pas-de-calais-2012-budget.txt (the Region's 2012 budget
presentation); each one cites the line it is taken from. The seed is idempotent: everything is found by
its natural key (programme code, call slug, e-mail, SIRET, application title within a call) and only
what is missing is created. It flushes and never commits: ``flask demo seed`` commits once.

Invariants kept here, as the services keep them: a programme's ``carved`` is the sum of its calls'
envelopes for that year and section and stays within ``authorised``; an envelope's ``committed`` is the
sum of its commitment movements; every state change goes through the model's guarded ``move_to`` and
is audited with ``record_transition``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from stdnum import luhn

from grants.accounts.models import StaffRole, User
from grants.accounts.passwords import hash_password
from grants.applications.models import (
    Application,
    ApplicationState,
    BudgetLine,
    BudgetLineKind,
    CorrectionRequest,
)
from grants.applications.services import draw_reference_number
from grants.audit.services import record_event, record_transition
from grants.awards.models import Decision, EnvelopeMovement, MovementKind, Outcome
from grants.awards.services import rebuild_ledger_days
from grants.bank_details import iban_from_rib
from grants.calls.models import (
    BudgetSection,
    Call,
    CallEnvelope,
    CallFunder,
    CallState,
    Criterion,
    Programme,
    ProgrammeBudget,
    RequiredDocument,
)
from grants.database import db, utcnow
from grants.demo import content
from grants.local_time import local_zone
from grants.organisations.models import (
    Applicant,
    ApplicantKind,
    LegalForm,
    Membership,
    MembershipRole,
    Organisation,
)
from grants.reviews.models import CriterionScore, Opinion, Review, ReviewAssignment, ReviewState
from grants.reviews.scoring import own_score

DEMO_PASSWORD = "demo-subventia-2026"  # the same, clearly-demo password for every demo account
OPERATING = BudgetSection.OPERATING
INVESTMENT = BudgetSection.INVESTMENT


def euros(amount: int | str) -> Decimal:
    return Decimal(amount).quantize(Decimal("0.01"))


def siret(siren_body: str, establishment: str = "0001") -> str:
    """A valid SIRET from 8 SIREN digits and a 4-digit establishment number: the SIREN gets its Luhn
    key, then the NIC's last digit makes all 14 digits pass Luhn too."""
    siren = siren_body + luhn.calc_check_digit(siren_body)
    body = siren + establishment
    return body + luhn.calc_check_digit(body)


@dataclass
class Login:
    email: str
    role: str
    name: str


@dataclass
class SeedReport:
    created: Counter = field(default_factory=Counter)
    logins: list[Login] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return sum(self.created.values()) > 0


class DemoSeed:
    """Builds the demo data set relative to ``now`` (several calls open now, one upcoming, one closed)."""

    def __init__(self, now: datetime | None = None):
        self.now = now or utcnow()
        self.zone = local_zone()
        self.today = self.now.astimezone(self.zone).date()
        self.year = self.today.year
        self.report = SeedReport()
        self.users: dict[str, User] = {}
        self.applicants: dict[str, Applicant] = {}
        self.calls: dict[str, Call] = {}
        self.budgets: dict[tuple[str, BudgetSection], ProgrammeBudget] = {}

    # -------------------------------------------------------------- helpers
    def at(self, days: int, hour: int = 12, minute: int = 0) -> datetime:
        """The instant at a Paris wall-clock time, ``days`` from today (UTC, aware)."""
        day = self.today + timedelta(days=days)
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone).astimezone(UTC)

    def day(self, days: int) -> date:
        return self.today + timedelta(days=days)

    def created(self, kind: str, obj):
        db.session.add(obj)
        self.report.created[kind] += 1
        return obj

    def audit(self, action: str, subject, before, after, *, actor, at: datetime, **details):
        event = record_transition(action, subject, before, after, actor=actor, **details)
        event.occurred_at = at
        return event

    # -------------------------------------------------------------- run
    def run(self) -> SeedReport:
        for spec in content.STAFF:
            self.user(**spec)
        for spec in content.PROGRAMMES:
            self.programme(spec)
        for spec in content.CALLS:
            self.call(spec)
        for spec in content.ORGANISATIONS:
            self.organisation(spec)
        for spec in content.INDIVIDUALS:
            self.individual(spec)
        for spec in content.APPLICATIONS:
            self.application(spec)
        from grants.demo.applications import seed_applications  # noqa: PLC0415 — the module builds on this one
        seed_applications(self)
        from grants.demo.reviews import seed_reviews  # noqa: PLC0415 — screening, assignments, reviews
        seed_reviews(self)
        from grants.demo.awards import seed_awards  # noqa: PLC0415 — after the dossiers and their reviews
        seed_awards(self)
        from grants.demo.final_reports import seed_final_reports  # noqa: PLC0415 — on the awards just made
        seed_final_reports(self)
        # The demo's awards are written with their past dates, past the ledger's writer: the day summary
        # the dashboard reads is made again from the ledger (idempotent, like the rest of the seed).
        rebuild_ledger_days()
        db.session.flush()
        return self.report

    # -------------------------------------------------------------- people
    def user(self, email: str, full_name: str, role: str, staff_role: StaffRole | None = None) -> User:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = self.created("users", User(
                email=email, full_name=full_name, staff_role=staff_role, locale="fr",
                password_hash=hash_password(DEMO_PASSWORD), created_at=self.at(-120, 9),
                email_confirmed_at=self.at(-120, 9),
            ))
            db.session.flush()
        self.users[email] = user
        self.report.logins.append(Login(email=email, role=role, name=full_name))
        return user

    def organisation(self, spec: dict) -> Organisation:
        number = siret(spec["siren"])
        organisation = db.session.scalar(sa.select(Organisation).where(Organisation.siret == number))
        if organisation is None:
            organisation = self.created("organisations", Organisation(
                name=spec["name"], legal_form=LegalForm.ASSOCIATION, siret=number, rna=spec["rna"],
                street=spec["street"], postal_code=spec["postal_code"], city=spec["city"],
                email=spec["email"], phone=spec.get("phone"), created_at=self.at(-110, 10),
                iban=iban_from_rib(*spec["rib"]) if "rib" in spec else None, bic=spec.get("bic"),
            ))
            db.session.flush()
        for index, (email, full_name) in enumerate(spec["members"]):
            role = MembershipRole.OWNER if index == 0 else MembershipRole.MEMBER
            user = self.user(email, full_name, f"{'responsable' if index == 0 else 'membre'} — {spec['name']}")
            exists = db.session.scalar(sa.select(Membership.id).where(
                Membership.user_id == user.id, Membership.organisation_id == organisation.id))
            if exists is None:
                self.created("memberships", Membership(user=user, organisation=organisation, role=role))
        applicant = db.session.scalar(sa.select(Applicant).where(Applicant.organisation_id == organisation.id))
        if applicant is None:
            applicant = self.created("applicants", Applicant(kind=ApplicantKind.ORGANISATION, organisation=organisation))
            db.session.flush()
        self.applicants[spec["key"]] = applicant
        return organisation

    def individual(self, spec: dict) -> Applicant:
        person = self.user(spec["email"], spec["full_name"], spec["role"])
        applicant = db.session.scalar(sa.select(Applicant).where(Applicant.person_id == person.id))
        if applicant is None:
            applicant = self.created("applicants", Applicant(
                kind=ApplicantKind.INDIVIDUAL, person=person, address=spec["address"],
                iban=iban_from_rib(*spec["rib"]) if "rib" in spec else None))
            db.session.flush()
        self.applicants[spec["key"]] = applicant
        return applicant

    # -------------------------------------------------------------- programmes and calls
    def programme(self, spec: dict) -> Programme:
        programme = db.session.scalar(sa.select(Programme).where(Programme.code == spec["code"]))
        if programme is None:
            programme = self.created("programmes", Programme(
                code=spec["code"], name=spec["name"], description=spec["description"]))
            db.session.flush()
        for section, authorised in spec["authorised"].items():
            budget = db.session.scalar(sa.select(ProgrammeBudget).where(
                ProgrammeBudget.programme_id == programme.id, ProgrammeBudget.year == self.year,
                ProgrammeBudget.section == section))
            if budget is None:
                budget = self.created("programme_budgets", ProgrammeBudget(
                    programme=programme, year=self.year, section=section, authorised=authorised,
                    carved=Decimal("0.00")))
                db.session.flush()
            self.budgets[(spec["code"], section)] = budget
        return programme

    def call(self, spec: dict) -> Call:
        call = db.session.scalar(sa.select(Call).where(Call.slug == spec["slug"]))
        if call is not None:
            self.calls[spec["key"]] = call
            return call
        programme = db.session.scalar(sa.select(Programme).where(Programme.code == spec["programme"]))
        opens_at = self.at(spec["opens"], 9)
        closes_at = self.at(spec["closes"], 12)
        call = self.created("calls", Call(
            programme=programme, year=self.year, title=spec["title"], slug=spec["slug"],
            reference_prefix=spec["key"], summary=spec["summary"], description=spec["description"],
            eligibility_rules=spec["eligibility_rules"], applicant_kinds=spec["applicant_kinds"],
            eligible_legal_forms=spec.get("legal_forms", []), partner_regions=spec.get("partner_regions", []),
            opens_at=opens_at, closes_at=closes_at, state=CallState.DRAFT,
            min_grant=euros(spec["grant"][0]), max_grant=euros(spec["grant"][1]),
            max_share_of_cost=Decimal(spec["max_share"]), created_at=opens_at - timedelta(days=30),
            asks_young_people_count=spec.get("asks_young_people_count", False),
        ))
        for section, amount in spec["envelopes"].items():
            self.carve(spec["programme"], section, amount)
            self.created("call_envelopes", CallEnvelope(call=call, section=section, amount=amount))
        for name, share in spec.get("funders", []):
            self.created("call_funders", CallFunder(call=call, name=name, share=Decimal(share)))
        for position, (name, guidance, weight) in enumerate(spec["criteria"]):
            self.created("criteria", Criterion(
                call=call, position=position, name=name, guidance=guidance, weight=Decimal(weight), scale_max=5))
        for position, (name, required, types) in enumerate(spec["documents"]):
            self.created("required_documents", RequiredDocument(
                call=call, position=position, name=name, required=required, accepted_types=types))
        db.session.flush()
        self.publish(call, spec["state"])
        self.calls[spec["key"]] = call
        return call

    def carve(self, programme_code: str, section: BudgetSection, amount: Decimal) -> None:
        """Set money aside from the programme's line; the line is never over-carved."""
        budget = self.budgets[(programme_code, section)]
        if budget.carved + amount > budget.authorised:
            raise RuntimeError(f"{programme_code} {section}: envelopes exceed the authorisation")
        budget.carved += amount

    def publish(self, call: Call, target: CallState) -> None:
        """Walk the call through its lifecycle up to ``target``, auditing each move at its date."""
        manager = self.users[content.MANAGER_EMAIL]
        published_at = min(call.opens_at - timedelta(days=14), self.now - timedelta(days=1))
        call.published_at = published_at
        steps = [(CallState.SCHEDULED, "call.published", manager, published_at)]
        if target in (CallState.OPEN, CallState.CLOSED):
            steps.append((CallState.OPEN, "call.opened", None, call.opens_at))
        if target == CallState.CLOSED:
            steps.append((CallState.CLOSED, "call.closed", None, call.closes_at))
        for state, action, actor, instant in steps:
            before = call.state
            call.move_to(state)
            self.audit(action, call, before, state, actor=actor, at=instant)

    # -------------------------------------------------------------- applications
    def application(self, spec: dict) -> Application:
        call = self.calls[spec["call"]]
        applicant = self.applicants[spec["applicant"]]
        found = db.session.scalar(sa.select(Application).where(
            Application.call_id == call.id, Application.applicant_id == applicant.id,
            Application.title == spec["title"]))
        if found is not None:
            return found
        creator = self.users[spec["by"]]
        total, asked = euros(spec["total"]), euros(spec["asked"])
        if not (call.min_grant <= asked <= call.max_grant and asked <= total * call.max_share_of_cost):
            raise RuntimeError(f"{spec['title']}: the amount asked breaks the rules of {call.slug}")
        started = max(self.at(spec["days"] - 12, 10), call.opens_at + timedelta(hours=2))
        last_worked = self.at(spec["days"], 16, 30)
        application = self.created("applications", Application(
            call=call, applicant=applicant, created_by=creator, title=spec["title"], summary=spec["summary"],
            objectives=spec.get("objectives", ""), target_public=spec.get("target_public", ""),
            beneficiaries_count=spec.get("beneficiaries"), young_people_count=spec.get("young_people"),
            places=spec.get("places", ""),
            # The project runs from two to eight months after submission, unless the spec dates it.
            partner_region=spec.get("partner_region"), starts_on=self.day(spec.get("starts", spec["days"] + 60)),
            ends_on=self.day(spec.get("ends", spec["days"] + 240)), section=OPERATING, amount_requested=asked,
            total_expenses=total, total_resources=total, created_at=started,
            # a later change of the same value would not count as a change, and onupdate would stamp "now"
            updated_at=last_worked if spec["story"] == "draft" else started,
        ))
        application.budget_lines = budget_lines(total, asked, spec.get("co_funders", []))
        db.session.flush()
        story = spec["story"]
        if story != "draft":
            self.submit(application, creator, last_worked)
        manager = self.users[content.MANAGER_EMAIL]
        screened_at = (application.submitted_at or started) + timedelta(days=3)
        if story == "corrections_requested":
            self.request_corrections(application, manager, spec["correction"], screened_at)
        elif story == "withdrawn":
            self.move(application, ApplicationState.WITHDRAWN, "application.withdrawn", creator, screened_at)
            application.withdrawn_at = screened_at
        elif story == "ineligible":
            self.screen(application, manager, screened_at, eligible=False, reason=spec["reason"])
        elif story in ("under_review", "awarded", "rejected", "waitlisted"):
            self.screen(application, manager, screened_at, eligible=True)
            for reviewer_email, review in spec["reviews"].items():
                self.review(application, self.users[reviewer_email], manager, screened_at, review)
            if story != "under_review":
                self.decide(application, manager, Outcome(story), spec)
        return application

    def move(self, application: Application, target: ApplicationState, action: str, actor, at: datetime, **details):
        before = application.state
        application.move_to(target)
        application.updated_at = at
        self.audit(action, application, before, target, actor=actor, at=at, **details)

    def submit(self, application: Application, user: User, at: datetime) -> None:
        call = application.call
        number = draw_reference_number(call.reference_prefix, call.year)
        application.reference = f"{call.reference_prefix}-{call.year}-{number:04d}"
        application.submitted_at = at
        self.move(application, ApplicationState.SUBMITTED, "application.submitted", user, at,
                  reference=application.reference)

    def request_corrections(self, application: Application, manager: User, message: str, at: datetime) -> None:
        self.created("correction_requests", CorrectionRequest(
            application=application, requested_by_id=manager.id, message=message,
            sections=["pieces", "budget"], due_at=at + timedelta(days=15), created_at=at))
        self.move(application, ApplicationState.CORRECTIONS_REQUESTED, "application.corrections_requested",
                  manager, at)

    def screen(self, application: Application, manager: User, at: datetime, *, eligible: bool, reason=None):
        application.eligible = eligible
        application.eligibility_reason = reason
        application.screened_by_id = manager.id
        application.screened_at = at
        target = ApplicationState.UNDER_REVIEW if eligible else ApplicationState.INELIGIBLE
        self.move(application, target, "application.screened", manager, at, eligible=eligible)

    def review(self, application: Application, reviewer: User, manager: User, assigned_at: datetime, spec: dict):
        assignment = self.created("review_assignments", ReviewAssignment(
            application=application, reviewer=reviewer, assigned_by_id=manager.id, assigned_at=assigned_at,
            due_on=self.day(spec["due"])))
        db.session.flush()
        record_event("review.assigned", actor=manager, subject=assignment,
                     reviewer=reviewer.email).occurred_at = assigned_at
        if spec.get("scores") is None:
            return  # not started yet
        written_at = assigned_at + timedelta(days=4)
        review = self.created("reviews", Review(
            assignment=assignment, state=ReviewState.DRAFT, comment=spec.get("comment", ""),
            updated_at=written_at))
        for criterion, score in zip(application.call.criteria, spec["scores"], strict=False):
            review.scores.append(CriterionScore(criterion=criterion, score=Decimal(score)))
            self.report.created["criterion_scores"] += 1
        if spec.get("opinion"):
            review.opinion = Opinion(spec["opinion"])
            review.suggested_amount = euros(spec["suggested"]) if spec.get("suggested") else None
            review.submitted_at = written_at
            review.move_to(ReviewState.SUBMITTED)
            review.score = own_score(review)
            self.audit("review.submitted", review, ReviewState.DRAFT, ReviewState.SUBMITTED,
                       actor=reviewer, at=written_at)

    def decide(self, application: Application, manager: User, outcome: Outcome, spec: dict) -> None:
        decided_at = self.at(spec["decided"], 15)
        amount = euros(spec["awarded"]) if outcome == Outcome.AWARDED else None
        decision = self.created("decisions", Decision(
            application=application, outcome=outcome, section=OPERATING if amount else None, amount=amount,
            reason=spec.get("decision_reason"), decided_by_id=manager.id, decided_at=decided_at))
        db.session.flush()
        if amount is not None:
            # The award draws on the envelope: one ledger row, and the running total moves by as much.
            envelope = application.call.envelope_for(OPERATING)
            if envelope.committed + amount > envelope.amount:
                raise RuntimeError(f"{application.call.slug}: award exceeds the envelope")
            self.created("envelope_movements", EnvelopeMovement(
                envelope=envelope, decision=decision, kind=MovementKind.COMMITMENT, amount=amount,
                reason=spec["decision_reason"] or "", actor_id=manager.id, created_at=decided_at))
            envelope.committed += amount
        application.decided_at = decided_at
        self.move(application, ApplicationState.DECIDED, "application.decided", manager, decided_at,
                  outcome=outcome.value, amount=amount or "")


def budget_lines(total: Decimal, asked: Decimal, co_funders: list[tuple[str, int]]) -> list[BudgetLine]:
    """A balanced Cerfa 12156 budget: expenses = resources = ``total``; the Region line is the amount
    asked; own resources (75: fees and donations) make up the rest. Volunteering (86/87) stays apart."""
    purchases = (total * Decimal("0.20")).quantize(Decimal("1"))
    services = (total * Decimal("0.35")).quantize(Decimal("1"))
    lines = [
        BudgetLine(kind=BudgetLineKind.EXPENSE, account="60", label="Achats (matériel, fournitures)",
                   amount=euros(purchases)),
        BudgetLine(kind=BudgetLineKind.EXPENSE, account="62", label="Déplacements, missions, prestations",
                   amount=euros(services)),
        BudgetLine(kind=BudgetLineKind.EXPENSE, account="64", label="Rémunération des personnels",
                   amount=total - euros(purchases) - euros(services)),
        BudgetLine(kind=BudgetLineKind.RESOURCE, account="74", label="Subvention demandée à la Région",
                   funder="Région", is_region_request=True, amount=asked),
    ]
    others = Decimal("0.00")
    for funder, amount in co_funders:
        lines.append(BudgetLine(kind=BudgetLineKind.RESOURCE, account="74", label=f"Subvention — {funder}",
                                funder=funder, amount=euros(amount)))
        others += euros(amount)
    own = total - asked - others
    if own < 0:
        raise RuntimeError("co-funding exceeds the project's cost")
    if own:
        lines.append(BudgetLine(kind=BudgetLineKind.RESOURCE, account="75",
                                label="Cotisations, dons et fonds propres", amount=own))
    volunteering = (total * Decimal("0.10")).quantize(Decimal("1"))
    lines += [
        BudgetLine(kind=BudgetLineKind.IN_KIND_USE, account="86", label="Personnel bénévole",
                   amount=euros(volunteering)),
        BudgetLine(kind=BudgetLineKind.IN_KIND_CONTRIBUTION, account="87", label="Bénévolat",
                   amount=euros(volunteering)),
    ]
    for position, line in enumerate(lines):
        line.position = position
    return lines


def seed_demo(now: datetime | None = None) -> SeedReport:
    """Create whatever demo data is missing; flushes, the caller commits."""
    return DemoSeed(now).run()
