"""Read-only queries behind each role's home page (the dashboards).

Every function returns plain rows (dataclasses or loaded models) and issues a fixed number of
statements, whatever the number of calls, applications or assignments: figures per call are
aggregated with GROUP BY, and related rows are loaded with ``selectinload``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from grants.access import is_applicant
from grants.accounts.models import User
from grants.applications.models import Application, ApplicationState
from grants.awards.models import CallApplicationCount, Decision, Outcome
from grants.calls.models import (
    ApplicantKinds,
    BudgetSection,
    Call,
    CallEnvelope,
    CallState,
    Programme,
    ProgrammeBudget,
)
from grants.database import db, utcnow
from grants.local_time import budget_year
from grants.organisations.models import (
    Applicant,
    ApplicantKind,
    LegalForm,
    Membership,
    MembershipRole,
    Organisation,
)

ZERO = Decimal("0.00")


# ---------------------------------------------------------------- programme managers


@dataclass
class CallOverview:
    call: Call
    counts: dict[ApplicationState, int]

    @property
    def envelopes(self) -> list[CallEnvelope]:
        return list(self.call.envelopes)

    @property
    def amount(self) -> Decimal:
        return self.call.envelope_total

    @property
    def committed(self) -> Decimal:
        return sum((e.committed for e in self.call.envelopes), ZERO)

    @property
    def remaining(self) -> Decimal:
        return self.call.envelope_remaining

    @property
    def applications(self) -> int:
        return sum(self.counts.values())

    def count(self, state: ApplicationState) -> int:
        return self.counts.get(state, 0)


@dataclass
class ProgrammeOverview:
    programme: Programme
    budgets: list[ProgrammeBudget]
    calls: list[CallOverview]

    def budget_for(self, section: BudgetSection) -> ProgrammeBudget | None:
        return next((b for b in self.budgets if b.section == section), None)


@dataclass
class ScreeningRow:
    application_id: int
    reference: str
    title: str
    applicant_name: str
    call_title: str
    call_slug: str
    submitted_at: datetime
    call_id: int


@dataclass
class ManagerDashboard:
    year: int
    programmes: list[ProgrammeOverview]
    awaiting_screening: list[ScreeningRow]
    totals: dict[ApplicationState, int] = field(default_factory=dict)


def manager_dashboard(now: datetime | None = None) -> ManagerDashboard:
    """Every programme with this year's authorisations, its calls (archived ones left out) with their
    envelopes and the number of applications per state, and the dossiers waiting for screening.
    Six statements, however many programmes, calls and applications there are."""
    year = budget_year(now)
    programmes = db.session.scalars(sa.select(Programme).order_by(Programme.name)).all()
    budgets = db.session.scalars(
        sa.select(ProgrammeBudget).where(ProgrammeBudget.year == year).order_by(ProgrammeBudget.section)
    ).all()
    calls = db.session.scalars(
        sa.select(Call)
        .where(Call.state != CallState.ARCHIVED)
        .options(selectinload(Call.envelopes))
        .order_by(Call.opens_at, Call.id)
    ).all()
    counts: dict[int, dict[ApplicationState, int]] = defaultdict(dict)
    totals: dict[ApplicationState, int] = defaultdict(int)
    # The counts kept by the database as applications change (awards' dashboard counters), not a count
    # of every application at each visit.
    for call_id, state, number in db.session.execute(
        sa.select(CallApplicationCount.call_id, CallApplicationCount.state, CallApplicationCount.applications)
        .where(CallApplicationCount.applications > 0)
    ):
        counts[call_id][ApplicationState(state)] = number
        totals[ApplicationState(state)] += number

    budgets_by_programme = defaultdict(list)
    for budget in budgets:
        budgets_by_programme[budget.programme_id].append(budget)
    calls_by_programme = defaultdict(list)
    for call in calls:
        calls_by_programme[call.programme_id].append(CallOverview(call=call, counts=counts.get(call.id, {})))
    overviews = [
        ProgrammeOverview(
            programme=programme,
            budgets=budgets_by_programme.get(programme.id, []),
            calls=calls_by_programme.get(programme.id, []),
        )
        for programme in programmes
    ]
    return ManagerDashboard(
        year=year, programmes=overviews, awaiting_screening=awaiting_screening(), totals=dict(totals)
    )


def applicant_name_column():
    """SQL expression: the organisation's name, or the individual applicant's full name."""
    return sa.func.coalesce(Organisation.name, User.full_name)


def awaiting_screening(limit: int = 50) -> list[ScreeningRow]:
    """Submitted dossiers not screened yet, oldest first: the manager's next job."""
    rows = db.session.execute(
        sa.select(
            Application.id,
            Application.reference,
            Application.title,
            applicant_name_column(),
            Call.title,
            Call.slug,
            Application.submitted_at,
            Call.id,
        )
        .join(Call, Call.id == Application.call_id)
        .join(Applicant, Applicant.id == Application.applicant_id)
        .outerjoin(Organisation, Organisation.id == Applicant.organisation_id)
        .outerjoin(User, User.id == Applicant.person_id)
        .where(Application.state == ApplicationState.SUBMITTED, Application.eligible.is_(None))
        .order_by(Application.submitted_at, Application.id)
        .limit(limit)
    ).all()
    return [ScreeningRow(*row) for row in rows]


# ---------------------------------------------------------------- applicants


@dataclass
class OrganisationCard:
    organisation: Organisation
    role: MembershipRole
    missing: list[str]


@dataclass
class ApplicationRow:
    application_id: int
    reference: str | None
    title: str
    applicant_name: str
    call_title: str
    call_slug: str
    state: ApplicationState
    outcome: Outcome | None
    amount_requested: Decimal | None
    updated_at: datetime
    awarded: Decimal | None = None
    paid: Decimal | None = None
    cancelled: bool = False


@dataclass
class OpenCallRow:
    call: Call
    applied: bool


@dataclass
class ApplicantDashboard:
    organisations: list[OrganisationCard]
    individual: Applicant | None
    individual_missing: list[str]
    applications: list[ApplicationRow]
    open_calls: list[OpenCallRow]

    @property
    def profile_incomplete(self) -> bool:
        return bool(self.individual_missing) or any(card.missing for card in self.organisations)


def missing_organisation_fields(organisation: Organisation) -> list[str]:
    """What the profile lacks for an application to be screened without a request for corrections,
    or for a grant to be paid (the bank details)."""
    missing = []
    if not (organisation.street or "").strip() or not (organisation.city or "").strip():
        missing.append(str(_l("adresse du siège")))
    if not (organisation.phone or "").strip():
        missing.append(str(_l("téléphone")))
    if organisation.legal_form == LegalForm.ASSOCIATION and not organisation.rna:
        missing.append(str(_l("numéro RNA")))
    if not organisation.iban:
        missing.append(str(_l("coordonnées bancaires (IBAN)")))
    return missing


def applicant_dashboard(user: User, now: datetime | None = None) -> ApplicantDashboard:
    """The user's organisations (or himself as an individual applicant), the applications of the
    applicants he acts for, and the open calls those applicants may answer."""
    now = now or utcnow()
    memberships = db.session.execute(
        sa.select(Organisation, Membership.role)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .where(Membership.user_id == user.id)
        .order_by(Organisation.name)
    ).all()
    organisations = [
        OrganisationCard(organisation=org, role=role, missing=missing_organisation_fields(org))
        for org, role in memberships
    ]
    organisation_ids = [card.organisation.id for card in organisations]
    applicants = db.session.scalars(
        sa.select(Applicant).where(
            sa.or_(
                Applicant.person_id == user.id,
                Applicant.organisation_id.in_(organisation_ids) if organisation_ids else sa.false(),
            )
        )
    ).all()
    individual = next((a for a in applicants if a.kind == ApplicantKind.INDIVIDUAL), None)
    applicant_ids = [a.id for a in applicants]

    applications: list[ApplicationRow] = []
    if applicant_ids:
        rows = db.session.execute(
            sa.select(
                Application.id,
                Application.reference,
                Application.title,
                applicant_name_column(),
                Call.title,
                Call.slug,
                Application.state,
                Decision.outcome,
                Application.amount_requested,
                Application.updated_at,
                Decision.amount,
                Decision.paid,
                Decision.cancelled_at.is_not(None),
                Application.call_id,
                Application.applicant_id,
            )
            .join(Call, Call.id == Application.call_id)
            .join(Applicant, Applicant.id == Application.applicant_id)
            .outerjoin(Organisation, Organisation.id == Applicant.organisation_id)
            .outerjoin(User, User.id == Applicant.person_id)
            .outerjoin(Decision, Decision.application_id == Application.id)
            .where(Application.applicant_id.in_(applicant_ids))
            .order_by(Application.updated_at.desc(), Application.id.desc())
        ).all()
        applications = [ApplicationRow(*row[:10], awarded=row[10], paid=row[11], cancelled=bool(row[12]))
                        for row in rows]
        active_calls = {row.call_id for row in rows if row.state != ApplicationState.WITHDRAWN}
    else:
        active_calls = set()

    return ApplicantDashboard(
        organisations=organisations,
        individual=individual,
        individual_missing=[str(label) for label, lacking in (
            (_l("adresse postale"), not individual.address), (_l("coordonnées bancaires (IBAN)"), not individual.iban),
        ) if lacking] if individual else [],
        applications=applications,
        open_calls=open_calls_for(organisations, individual, active_calls, now),
    )


def open_calls_for(organisations, individual, active_calls: set[int], now: datetime) -> list[OpenCallRow]:
    """Open calls, before their deadline, that one of the user's applicants may answer: the call takes
    organisations (of an eligible legal form) or individuals."""
    kinds = set()
    if organisations:
        kinds |= {ApplicantKinds.ORGANISATIONS, ApplicantKinds.BOTH}
    if individual is not None:
        kinds |= {ApplicantKinds.INDIVIDUALS, ApplicantKinds.BOTH}
    if not kinds:
        return []
    calls = db.session.scalars(
        sa.select(Call)
        .where(
            Call.state == CallState.OPEN,
            Call.opens_at <= now,
            Call.closes_at > now,
            Call.applicant_kinds.in_(kinds),
        )
        .options(selectinload(Call.programme))
        .order_by(Call.closes_at, Call.id)
    ).all()
    forms = {card.organisation.legal_form.value for card in organisations}

    def may_apply(call: Call) -> bool:
        if individual is not None and call.applicant_kinds in (ApplicantKinds.INDIVIDUALS, ApplicantKinds.BOTH):
            return True
        return not call.eligible_legal_forms or bool(forms & set(call.eligible_legal_forms))

    return [OpenCallRow(call=call, applied=call.id in active_calls) for call in calls if may_apply(call)]


# ---------------------------------------------------------------- which home page


class Role(StrEnum):
    MANAGER = "manager"
    REVIEWER = "reviewer"
    APPLICANT = "applicant"
    NONE = "none"


def home_role(user: User) -> Role:
    """The home page a user lands on: staff first, then applicants; a new account has none."""
    if user.is_manager:
        return Role.MANAGER
    if user.is_reviewer:
        return Role.REVIEWER
    if is_applicant(user):
        return Role.APPLICANT
    return Role.NONE

