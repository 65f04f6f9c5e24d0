"""``flask demo seed``: idempotent, faithful to the budget document, and true to every model invariant."""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from stdnum import luhn

from grants.bank_details import iban_error
from grants.database import db, utcnow
from grants.demo.seed import DEMO_PASSWORD
from grants.local_time import budget_year
from grants.models import (
    Applicant,
    Application,
    ApplicationState,
    AuditEvent,
    BudgetLineKind,
    BudgetSection,
    Call,
    CallEnvelope,
    CallState,
    Decision,
    EnvelopeMovement,
    MovementKind,
    Organisation,
    Outcome,
    ProgrammeBudget,
    ReferenceCounter,
    Review,
    ReviewAssignment,
    ReviewState,
    StaffRole,
    User,
)

SOURCE = Path("/work/shared/seeds/nord-pas-de-calais-2012-budget.txt")


def seed(app) -> str:
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    db.session.rollback()  # the command committed in its own session: read afresh
    return result.output


def row_counts() -> dict[str, int]:
    return {
        table.name: db.session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        for table in db.metadata.sorted_tables
    }


@pytest.fixture
def seeded(app):
    return seed(app)


def test_a_second_run_changes_nothing_and_says_so(app, seeded):
    first = row_counts()
    assert first["calls"] == 6 and first["programmes"] == 2 and first["applications"] > 10
    output = seed(app)
    assert "rien n'a changé" in output
    assert row_counts() == first


def test_the_command_prints_every_demo_login(seeded):
    assert DEMO_PASSWORD in seeded
    for user in db.session.scalars(sa.select(User)):
        assert user.email in seeded
    assert "chargée de mission" in seeded and "évaluat" in seeded and "porteuse individuelle" in seeded


def test_the_summary_is_french_and_the_logins_are_readmes(app):
    output = seed(app)
    first_line = output.splitlines()[0]
    assert first_line.startswith("Données de démonstration créées : ")
    assert "comptes" in first_line and "dossiers" in first_line and "1 commission," in first_line
    assert not re.search(r"\b(users|applications|calls|review_assignments|envelope_movements|final_reports)\b", first_line)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Demo logins", 1)[1].split("\n## ", 1)[0]
    in_readme = set(re.findall(r"`([^`@\s]+@[^`\s]+)`", section))
    printed = set(re.findall(r"^(\S+@\S+)\s", output, re.M))
    assert printed == in_readme
    assert DEMO_PASSWORD in section


def test_the_demo_administrator_reads_the_audit_log_in_words(seeded, client):
    admin = db.session.scalar(sa.select(User).where(User.staff_role == StaffRole.ADMIN))
    assert admin is not None and admin.email in seeded and "administratrice" in seeded
    assert client.post("/connexion", data={"email": admin.email, "password": DEMO_PASSWORD}).status_code == 302
    page = client.get("/admin/journal/")
    assert page.status_code == 200
    body = page.get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ").replace("&#39;", "'")
    assert "s'est connecté(e)." in body and "Nadia Benali a " in body
    assert " #" not in re.sub(r"<[^>]+>", "", body)


def test_demo_accounts_sign_in_with_the_demo_password(seeded, client):
    manager = db.session.scalar(sa.select(User).where(User.staff_role == StaffRole.MANAGER))
    response = client.post("/connexion", data={"email": manager.email, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    body = client.get("/mon-espace").get_data(as_text=True)
    assert "Solidaires Ici Solidaires Ailleurs" in body and "Partenariats associatifs" in body


def test_the_programmes_carry_the_documents_figures(seeded):
    year = budget_year()
    figures = {
        (budget.programme.name, budget.section): budget.authorised
        for budget in db.session.scalars(sa.select(ProgrammeBudget))
    }
    assert figures == {
        ("Relations internationales", BudgetSection.OPERATING): Decimal("4076000.00"),
        ("Relations internationales", BudgetSection.INVESTMENT): Decimal("250000.00"),
        ("Partenariats associatifs", BudgetSection.OPERATING): Decimal("8490000.00"),
        ("Partenariats associatifs", BudgetSection.INVESTMENT): Decimal("2700000.00"),
    }
    assert {b.year for b in db.session.scalars(sa.select(ProgrammeBudget))} == {year}
    if SOURCE.exists():  # the figures are quoted from the document itself
        text = SOURCE.read_text()
        for quoted in ("Fonctionnement : 4 076 000 euros", "Investissement : 250 000 euros", "8,490 M €",
                       "Développement social urbain durable 2,700 M €", "Appels a projets 0,860 M €"):
            assert quoted in text
    # SISA and DCP share the 0,860 M€ "appels à projets" line.
    envelopes = {
        call.reference_prefix: call.envelope_total for call in db.session.scalars(sa.select(Call))
    }
    assert envelopes["SISA"] + envelopes["DCP"] == Decimal("860000.00")


def test_the_calls_cover_every_public_situation(seeded):
    calls = {call.reference_prefix: call for call in db.session.scalars(sa.select(Call))}
    assert set(calls) == {"SISA", "DCP", "FIPCE", "FRADEP", "FITA", "NQE"}
    now = utcnow()
    states = [call.state for call in calls.values()]
    assert states.count(CallState.OPEN) >= 3 and CallState.SCHEDULED in states and CallState.CLOSED in states
    assert all(call.accepts_submissions_at(now) for call in calls.values() if call.state == CallState.OPEN)
    assert calls["FRADEP"].applicant_kinds.value == "individuals"
    assert {f.name: f.share for f in calls["FIPCE"].funders} == {"Région": Decimal("0.6000"),
                                                                  "ADEME": Decimal("0.4000")}
    assert set(calls["SISA"].partner_regions) == {"Kayes", "Saint-Louis", "Matam", "Doukkala-Abda",
                                                   "Analanjirofo", "Minas Gerais"}
    for call in calls.values():
        assert call.criteria and call.required_documents and call.envelopes
        assert call.min_grant <= call.max_grant and 0 < call.max_share_of_cost <= 1


def test_every_application_state_and_outcome_is_present(seeded):
    states = set(db.session.scalars(sa.select(Application.state)))
    assert states == set(ApplicationState)
    outcomes = set(db.session.scalars(sa.select(Decision.outcome)))
    assert {Outcome.AWARDED, Outcome.REJECTED} <= outcomes
    rejected = db.session.scalar(sa.select(Decision).where(Decision.outcome == Outcome.REJECTED))
    assert rejected.reason
    individual = db.session.scalar(sa.select(Application).join(Applicant).where(Applicant.kind == "individual"))
    assert individual.call.reference_prefix == "FRADEP"


def test_carved_is_the_sum_of_envelopes_and_within_the_authorisation(seeded):
    envelopes = defaultdict(Decimal)
    for envelope in db.session.scalars(sa.select(CallEnvelope)):
        envelopes[(envelope.call.programme_id, envelope.call.year, envelope.section)] += envelope.amount
    for budget in db.session.scalars(sa.select(ProgrammeBudget)):
        assert budget.carved == envelopes.get((budget.programme_id, budget.year, budget.section), Decimal("0.00"))
        assert budget.carved <= budget.authorised


def test_committed_is_the_sum_of_commitment_movements(seeded):
    signed = {MovementKind.COMMITMENT: 1, MovementKind.INCREASE: 1, MovementKind.DECREASE: -1,
              MovementKind.CANCELLATION: -1}
    movements = db.session.scalars(sa.select(EnvelopeMovement)).all()
    assert any(m.kind == MovementKind.COMMITMENT for m in movements)
    for envelope in db.session.scalars(sa.select(CallEnvelope)):
        committed = sum((m.amount * signed[m.kind] for m in movements
                         if m.envelope_id == envelope.id and m.kind in signed), Decimal("0.00"))
        assert envelope.committed == committed
        assert envelope.committed <= envelope.amount and envelope.paid <= envelope.committed
    award = db.session.scalar(sa.select(Decision).where(Decision.outcome == Outcome.AWARDED))
    assert sum(m.amount * signed[m.kind] for m in movements if m.decision_id == award.id and m.kind in signed) == award.amount


def test_organisations_have_valid_identifiers(seeded):
    organisations = db.session.scalars(sa.select(Organisation)).all()
    assert len(organisations) >= 5
    for organisation in organisations:
        assert re.fullmatch(r"\d{14}", organisation.siret) and luhn.is_valid(organisation.siret)
        assert luhn.is_valid(organisation.siren)
        assert re.fullmatch(r"W\d{9}", organisation.rna)
        assert organisation.memberships
        assert organisation.iban is None or iban_error(organisation.iban) is None
    assert sum(1 for o in organisations if o.iban) >= 4  # payments can be recorded in the demo
    person = db.session.scalar(sa.select(Applicant).where(Applicant.person_id.is_not(None)))
    assert person.iban and iban_error(person.iban) is None


def test_devenons_citoyens_de_la_planete_asks_the_young_people_reached(seeded):
    calls = {call.slug: call for call in db.session.scalars(sa.select(Call))}
    dcp = calls.pop("devenons-citoyens-de-la-planete")
    assert dcp.asks_young_people_count and not any(call.asks_young_people_count for call in calls.values())
    for application in db.session.scalars(sa.select(Application).where(Application.call_id == dcp.id)):
        assert application.state == ApplicationState.DRAFT or application.young_people_count is not None


def test_applications_are_consistent(seeded):
    for application in db.session.scalars(sa.select(Application)):
        lines = application.budget_lines
        expenses = sum(line.amount for line in lines if line.kind == BudgetLineKind.EXPENSE)
        resources = sum(line.amount for line in lines if line.kind == BudgetLineKind.RESOURCE)
        assert expenses == resources == application.total_expenses == application.total_resources
        region = [line for line in lines if line.is_region_request]
        assert len(region) == 1 and region[0].amount == application.amount_requested
        call = application.call
        assert call.min_grant <= application.amount_requested <= call.max_grant
        assert application.amount_requested <= application.total_expenses * call.max_share_of_cost
        if application.state == ApplicationState.DRAFT:
            assert application.reference is None
        else:
            assert re.fullmatch(rf"{call.reference_prefix}-{call.year}-\d{{4}}", application.reference)
            assert application.submitted_at is not None and application.submitted_at < call.closes_at
    # Each (prefix, year) is numbered 1, 2, 3… without a gap, and its counter stands at the last number.
    numbers = defaultdict(list)
    for reference in db.session.scalars(sa.select(Application.reference).where(Application.reference.is_not(None))):
        prefix, year, number = reference.split("-")
        numbers[(prefix, int(year))].append(int(number))
    counters = {(c.prefix, c.year): c.last_number for c in db.session.scalars(sa.select(ReferenceCounter))}
    assert counters == {pair: len(drawn) for pair, drawn in numbers.items()}
    assert all(sorted(drawn) == list(range(1, len(drawn) + 1)) for drawn in numbers.values())


def test_state_changes_are_audited(seeded):
    for application in db.session.scalars(sa.select(Application).where(Application.state != ApplicationState.DRAFT)):
        last = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.subject_type == "application", AuditEvent.subject_id == application.id)
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        ).first()
        assert last is not None and last.to_state == application.state.value
    for call in db.session.scalars(sa.select(Call)):
        assert db.session.scalar(sa.select(sa.func.count()).where(
            AuditEvent.subject_type == "call", AuditEvent.subject_id == call.id,
            AuditEvent.to_state == call.state.value)) == 1


def test_reviews_exist_for_applications_under_review_or_decided(seeded):
    for application in db.session.scalars(sa.select(Application).where(
            Application.state.in_([ApplicationState.UNDER_REVIEW, ApplicationState.DECIDED]))):
        assert application.eligible is True and application.screened_at is not None
        reviews = db.session.scalars(sa.select(Review).join(Review.assignment).where(
            ReviewAssignment.application_id == application.id)).all()
        assert reviews
        if application.state == ApplicationState.DECIDED:
            assert all(r.state == ReviewState.SUBMITTED and r.scores for r in reviews)
    ineligible = db.session.scalar(sa.select(Application).where(Application.state == ApplicationState.INELIGIBLE))
    assert ineligible.eligible is False and ineligible.eligibility_reason


def test_the_seed_refuses_a_production_configuration(app):
    app.config["REQUIRED_ENVIRONMENT"] = ("SECRET_KEY",)
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code != 0 and "production" in result.output
    db.session.rollback()
    assert row_counts()["users"] == 0
