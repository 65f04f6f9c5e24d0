"""factory_boy factories for every model; objects are committed so that requests see them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory
from stdnum import iban, luhn

from grants.accounts.passwords import hash_password
from grants.bank_details import iban_from_rib
from grants.database import db, utcnow
from grants.models import (
    Applicant,
    ApplicantKind,
    Application,
    ApplicationState,
    BudgetSection,
    Call,
    CallEnvelope,
    CallState,
    Criterion,
    Membership,
    MembershipRole,
    Organisation,
    Programme,
    ProgrammeBudget,
    RequiredDocument,
    ReviewAssignment,
    StaffRole,
    User,
)

TEST_PASSWORD = "correct horse battery staple"

def luhn_siret(seed: int) -> str:
    """A valid SIRET made from a number: a Luhn-valid SIREN, then a NIC that makes all 14 valid."""
    siren_body = f"{(seed * 7919 + 10000000) % 10**8:08d}"
    siren = siren_body + luhn.calc_check_digit(siren_body)
    body = siren + f"{seed % 10000:04d}"
    return body + luhn.calc_check_digit(body)


def french_iban(seed: int, *, rib_key: int | None = None) -> str:
    """A valid French IBAN made from a number; with ``rib_key``, one whose RIB key is wrong (its
    mod-97 check digits still right)."""
    bank, branch, account = f"{30000 + seed % 9000:05d}", f"{seed % 100000:05d}", f"{10000000000 + seed:011d}"
    if rib_key is None:
        return iban_from_rib(bank, branch, account)
    bban = f"{bank}{branch}{account}{rib_key:02d}"
    return "FR" + iban.calc_check_digits("FR00" + bban) + bban


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Faker("name", locale="fr_FR")
    password_hash = factory.LazyFunction(lambda: hash_password(TEST_PASSWORD))
    locale = "fr"
    active = True
    staff_role = None
    email_confirmed_at = factory.LazyFunction(utcnow)


class ManagerFactory(UserFactory):
    staff_role = StaffRole.MANAGER
    email = factory.Sequence(lambda n: f"manager{n}@region.example")


class ReviewerFactory(UserFactory):
    staff_role = StaffRole.REVIEWER
    email = factory.Sequence(lambda n: f"reviewer{n}@region.example")


class AdminFactory(UserFactory):
    staff_role = StaffRole.ADMIN
    email = factory.Sequence(lambda n: f"admin{n}@region.example")


class OrganisationFactory(BaseFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Association Solidarité {n}")
    legal_form = "association"
    siret = factory.Sequence(lambda n: luhn_siret(n + 1))
    rna = factory.Sequence(lambda n: f"W59{n:07d}")
    street = "12 rue de Paris"
    postal_code = "59000"
    city = "Lille"
    email = factory.Sequence(lambda n: f"contact{n}@asso.example")
    phone = "03 20 00 00 00"
    iban = factory.Sequence(lambda n: french_iban(n + 1))
    bic = "CEPAFRPP597"


class MembershipFactory(BaseFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = MembershipRole.OWNER


class OrganisationApplicantFactory(BaseFactory):
    class Meta:
        model = Applicant

    kind = ApplicantKind.ORGANISATION
    organisation = factory.SubFactory(OrganisationFactory)


class IndividualApplicantFactory(BaseFactory):
    class Meta:
        model = Applicant

    kind = ApplicantKind.INDIVIDUAL
    person = factory.SubFactory(UserFactory)
    address = "3 place du Théâtre, 59800 Lille"
    iban = factory.Sequence(lambda n: french_iban(50000 + n))


def member_of(organisation: Organisation | None = None, **user_fields) -> User:
    """A user who is a member (owner) of ``organisation`` (a new one by default), with an Applicant."""
    organisation = organisation or OrganisationFactory()
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, organisation=organisation)
    if db.session.scalar(db.select(Applicant).where(Applicant.organisation_id == organisation.id)) is None:
        OrganisationApplicantFactory(organisation=organisation)
    return user


class ProgrammeFactory(BaseFactory):
    class Meta:
        model = Programme

    code = factory.Sequence(lambda n: f"prog-{n}")
    name = factory.Sequence(lambda n: f"Programme {n}")
    description = ""


class ProgrammeBudgetFactory(BaseFactory):
    class Meta:
        model = ProgrammeBudget

    programme = factory.SubFactory(ProgrammeFactory)
    year = 2026
    section = BudgetSection.OPERATING
    authorised = Decimal("1000000.00")
    carved = Decimal("0.00")


class CallFactory(BaseFactory):
    class Meta:
        model = Call

    programme = factory.SubFactory(ProgrammeFactory)
    year = 2026
    title = factory.Sequence(lambda n: f"Appel à projets {n}")
    slug = factory.Sequence(lambda n: f"appel-{n}")
    reference_prefix = "AAP"
    summary = "Un appel à projets de test."
    description = "Soutenir des projets **associatifs**."
    eligibility_rules = "Associations loi 1901 de la région."
    opens_at = factory.LazyFunction(lambda: utcnow() - timedelta(days=10))
    closes_at = factory.LazyFunction(lambda: utcnow() + timedelta(days=20))
    state = CallState.OPEN
    min_grant = Decimal("1000.00")
    max_grant = Decimal("20000.00")
    max_share_of_cost = Decimal("0.8000")


class CallEnvelopeFactory(BaseFactory):
    class Meta:
        model = CallEnvelope

    call = factory.SubFactory(CallFactory)
    section = BudgetSection.OPERATING
    amount = Decimal("100000.00")


class CriterionFactory(BaseFactory):
    class Meta:
        model = Criterion

    call = factory.SubFactory(CallFactory)
    position = factory.Sequence(int)
    name = factory.Sequence(lambda n: f"Critère {n}")
    weight = Decimal("1.00")
    scale_max = 5


class RequiredDocumentFactory(BaseFactory):
    class Meta:
        model = RequiredDocument

    call = factory.SubFactory(CallFactory)
    name = "Statuts de l'association"
    required = True
    accepted_types = ["pdf"]


class ApplicationFactory(BaseFactory):
    class Meta:
        model = Application

    call = factory.SubFactory(CallFactory)
    applicant = factory.SubFactory(OrganisationApplicantFactory)
    created_by = factory.SubFactory(UserFactory)
    state = ApplicationState.DRAFT
    title = factory.Sequence(lambda n: f"Projet {n}")
    summary = "Un projet de solidarité internationale."
    section = BudgetSection.OPERATING
    amount_requested = Decimal("5000.00")
    total_expenses = Decimal("10000.00")
    total_resources = Decimal("10000.00")


class SubmittedApplicationFactory(ApplicationFactory):
    state = ApplicationState.SUBMITTED
    reference = factory.Sequence(lambda n: f"AAP-2026-{n + 1:04d}")
    submitted_at = factory.LazyFunction(utcnow)


class ReviewAssignmentFactory(BaseFactory):
    class Meta:
        model = ReviewAssignment

    application = factory.SubFactory(SubmittedApplicationFactory, state=ApplicationState.UNDER_REVIEW)
    reviewer = factory.SubFactory(ReviewerFactory)
    assigned_by = factory.SubFactory(ManagerFactory)
    due_on = factory.LazyFunction(lambda: date.today() + timedelta(days=14))


def aware(year, month, day, hour=0, minute=0, second=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- Reviews (appended for the review area) ---------------------------------------------------------
from grants.reviews.models import (  # noqa: E402 — appended section, keeps the shared import block untouched
    ConflictOfInterest,
    CriterionScore,
    Opinion,
    Review,
    ReviewState,
)


class ReviewFactory(BaseFactory):
    """A draft review of an assignment; pass ``state=ReviewState.SUBMITTED`` (with an opinion and
    ``submitted_at``) for a submitted one, and add marks with CriterionScoreFactory."""

    class Meta:
        model = Review

    assignment = factory.SubFactory(ReviewAssignmentFactory)
    state = ReviewState.DRAFT
    comment = ""


class SubmittedReviewFactory(ReviewFactory):
    state = ReviewState.SUBMITTED
    opinion = Opinion.FUND
    submitted_at = factory.LazyFunction(utcnow)


class CriterionScoreFactory(BaseFactory):
    class Meta:
        model = CriterionScore

    review = factory.SubFactory(ReviewFactory)
    criterion = factory.SubFactory(CriterionFactory)
    score = Decimal("3")


class ConflictOfInterestFactory(BaseFactory):
    class Meta:
        model = ConflictOfInterest

    reviewer_id = factory.LazyFunction(lambda: ReviewerFactory().id)
    applicant_id = factory.LazyFunction(lambda: OrganisationApplicantFactory().id)
    reason = "Membre du conseil d'administration"


# --- Applications (appended for the applications area) ---------------------------------------------
from grants.applications.models import (  # noqa: E402 — appended section, keeps the shared import block untouched
    BudgetLine,
    BudgetLineKind,
    CorrectionRequest,
)


class BudgetLineFactory(BaseFactory):
    class Meta:
        model = BudgetLine

    application = factory.SubFactory(ApplicationFactory)
    kind = BudgetLineKind.EXPENSE
    account = "60"
    label = "Achats de matériel"
    amount = Decimal("1000.00")
    position = factory.Sequence(int)


class CorrectionRequestFactory(BaseFactory):
    class Meta:
        model = CorrectionRequest

    application = factory.SubFactory(SubmittedApplicationFactory, state=ApplicationState.CORRECTIONS_REQUESTED)
    requested_by_id = factory.LazyFunction(lambda: ManagerFactory().id)
    message = "Merci de détailler les frais de mission."
    sections = factory.LazyFunction(lambda: ["budget"])
    due_at = factory.LazyFunction(lambda: utcnow() + timedelta(days=10))


def complete_draft(call=None, applicant=None, **fields) -> Application:
    """A draft with every section filled and a balanced budget: 10 000 € of expenses, 5 000 € asked of
    the Region, 3 000 € from the municipality, 2 000 € of own funds."""
    values = dict(
        title="Accès à l'eau à Kayes", summary="Réhabiliter trois forages.", objectives="Former des comités de l'eau.",
        target_public="Habitants de trois villages", beneficiaries_count=2400, places="Cercle de Kayes",
        starts_on=date(2026, 9, 1), ends_on=date(2027, 6, 30), section=BudgetSection.OPERATING,
        amount_requested=Decimal("5000.00"), total_expenses=Decimal("10000.00"), total_resources=Decimal("10000.00"),
    )
    values.update(fields)
    call = call or CallFactory()
    application = ApplicationFactory(call=call, applicant=applicant or OrganisationApplicantFactory(), **values)
    rows = [
        (BudgetLineKind.EXPENSE, "60", "Pompes et pièces", None, False, "6000.00"),
        (BudgetLineKind.EXPENSE, "62", "Missions", None, False, "4000.00"),
        (BudgetLineKind.RESOURCE, "74", "Subvention demandée à la Région", "Région", True, "5000.00"),
        (BudgetLineKind.RESOURCE, "74", "Ville de Roubaix", "Ville de Roubaix", False, "3000.00"),
        (BudgetLineKind.RESOURCE, "75", "Fonds propres", None, False, "2000.00"),
    ]
    for position, (kind, account, label, funder, region, amount) in enumerate(rows):
        BudgetLineFactory(application=application, kind=kind, account=account, label=label, funder=funder,
                          is_region_request=region, amount=Decimal(amount), position=position)
    db.session.refresh(application)
    return application


class ReviewedApplicationFactory(SubmittedApplicationFactory):
    """An application under review whose one assigned reviewer has transmitted his review: what an
    award waits for (awards.services._check_reviews_in). ``reviewed=False`` leaves it without one."""

    state = ApplicationState.UNDER_REVIEW
    eligible = True

    @factory.post_generation
    def reviewed(application, create, extracted, **kwargs):
        if create and extracted is not False:
            SubmittedReviewFactory(assignment=ReviewAssignmentFactory(application=application))


def with_submitted_review(application: Application, **assignment_fields) -> Application:
    """``application`` with one more reviewer assigned (``assignment_fields``: by whom, say), whose
    review is transmitted."""
    SubmittedReviewFactory(assignment=ReviewAssignmentFactory(application=application, **assignment_fields))
    return application
