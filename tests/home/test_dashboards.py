"""« Mon espace »: each role lands on its own home page, with its own data and nobody else's."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import html5lib
import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy import event

from grants.awards.models import CallApplicationCount
from grants.database import db, utcnow
from grants.local_time import budget_year
from grants.models import (
    ApplicantKinds,
    ApplicationState,
    AssignmentState,
    BudgetSection,
    CallState,
    Opinion,
    Review,
    ReviewAssignment,
    ReviewState,
)
from tests.factories import (
    AdminFactory,
    ApplicationFactory,
    CallEnvelopeFactory,
    CallFactory,
    IndividualApplicantFactory,
    ManagerFactory,
    OrganisationApplicantFactory,
    OrganisationFactory,
    ProgrammeBudgetFactory,
    ProgrammeFactory,
    ReviewerFactory,
    SubmittedApplicationFactory,
    UserFactory,
    member_of,
)

PARSER = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)


def page(client, path="/mon-espace") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    body = response.get_data(as_text=True)
    PARSER.parse(body)  # every dashboard is well-formed HTML
    # Babel separates French thousands with narrow no-break spaces: compare with plain ones.
    return body.replace("\u202f", " ").replace("\xa0", " ")


def assignment(title: str, reviewer=None, due_on: date | None = None, **fields) -> ReviewAssignment:
    """An application under review assigned to ``reviewer`` (tests.factories.ReviewAssignmentFactory
    passes ``assigned_by``, which the model does not take)."""
    application = SubmittedApplicationFactory(state=ApplicationState.UNDER_REVIEW, title=title)
    row = ReviewAssignment(application=application, reviewer=reviewer or ReviewerFactory(),
                           assigned_by_id=ManagerFactory().id,
                           due_on=due_on or date.today() + timedelta(days=14), **fields)
    db.session.add(row)
    db.session.commit()
    return row


def applicant_of(user):
    from grants.models import Applicant

    organisation_id = user.memberships[0].organisation_id
    return db.session.scalar(db.select(Applicant).where(Applicant.organisation_id == organisation_id))


@contextmanager
def counted_statements():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


# ---------------------------------------------------------------- access


def test_the_dashboard_needs_a_signed_in_user(client):
    response = client.get("/mon-espace")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_a_user_without_any_role_gets_a_page_that_says_what_to_do(client, login_as):
    login_as(UserFactory(full_name="Léa Martin"))
    body = page(client)
    assert "Bienvenue, Léa Martin" in body
    assert "aucune association" in body
    assert "Mes évaluations" not in body and "Programmes et appels" not in body


# ---------------------------------------------------------------- programme managers


def manager_data(calls: int = 2):
    year = budget_year()
    programme = ProgrammeFactory(name="Relations internationales")
    ProgrammeBudgetFactory(programme=programme, year=year, section=BudgetSection.OPERATING,
                           authorised=Decimal("4076000.00"), carved=Decimal("0.00"))
    made = []
    for index in range(calls):
        call = CallFactory(programme=programme, year=year, title=f"Appel numéro {index}")
        CallEnvelopeFactory(call=call, amount=Decimal("100000.00"), committed=Decimal("25000.00"))
        SubmittedApplicationFactory(call=call, title=f"Dossier déposé {index}")
        ApplicationFactory(call=call)
        made.append(call)
    return programme, made


def test_the_manager_sees_programmes_envelopes_and_applications_to_screen(client, login_as):
    programme, (first, second) = manager_data()
    CallFactory(programme=programme, title="Appel archivé", state=CallState.ARCHIVED)
    login_as(ManagerFactory())
    body = page(client)
    assert "Programmes et appels à projets" in body
    assert "Relations internationales" in body
    assert "4 076 000,00" in body  # authorised, French formatting
    assert "Appel numéro 0" in body and "Appel numéro 1" in body
    assert "Appel archivé" not in body
    assert "Engagé : 25 000,00" in body and "Reste : 75 000,00" in body
    assert '<meter class="meter"' in body
    # both submitted applications await screening, with their reference
    assert "Dossier déposé 0" in body and "Dossier déposé 1" in body
    assert "badge-submitted" in body and "badge-draft" in body


def test_an_admin_gets_the_manager_home_page(client, login_as):
    manager_data(calls=1)
    login_as(AdminFactory())
    assert "Programmes et appels à projets" in page(client)


def test_the_manager_dashboard_does_not_run_one_query_per_call(app, client, login_as):
    programme, _ = manager_data(calls=2)
    login_as(ManagerFactory())
    # Each request in an app context of its own, as in production (the fixture's context is shared).
    with app.app_context(), counted_statements() as few:
        page(client)
    for index in range(6):
        call = CallFactory(programme=programme, year=budget_year(), title=f"Appel supplémentaire {index}")
        CallEnvelopeFactory(call=call)
        CallEnvelopeFactory(call=call, section=BudgetSection.INVESTMENT)
        SubmittedApplicationFactory(call=call)
    with app.app_context(), counted_statements() as many:
        body = page(client)
    assert "Appel supplémentaire 5" in body
    assert len(many) == len(few), many


def test_the_manager_dashboard_reads_the_counts_kept_by_the_database(app, client, login_as):
    """No count of every application at each visit: the figures are the call's stored counters."""
    programme, _ = manager_data(calls=1)
    login_as(ManagerFactory())
    with app.app_context(), counted_statements() as statements:
        page(client)
    assert not [s for s in statements if "count(" in s.lower() and "FROM applications" in s], statements
    counted = db.session.scalars(sa.select(CallApplicationCount).where(CallApplicationCount.applications > 0)).all()
    assert counted, "the factories' applications are counted by the triggers"


# ---------------------------------------------------------------- reviewers


def test_a_reviewer_sees_his_assignments_and_never_another_reviewers(client, login_as):
    mine = assignment("Projet confié à moi")
    theirs = assignment("Projet confié à un autre")
    login_as(mine.reviewer)
    body = page(client)
    assert "Mes évaluations" in body
    assert "Projet confié à moi" in body
    assert mine.application.reference in body
    assert "Projet confié à un autre" not in body
    assert theirs.application.reference not in body


def test_the_reviewer_dashboard_shows_progress_and_overdue_assignments(client, login_as):
    reviewer = ReviewerFactory()
    late = assignment("Dossier en retard", reviewer, due_on=date.today() - timedelta(days=3))
    drafted = assignment("Dossier commencé", reviewer)
    db.session.add(Review(assignment=drafted, state=ReviewState.DRAFT))
    done = assignment("Dossier évalué", reviewer, due_on=date.today() - timedelta(days=10))
    db.session.add(Review(assignment=done, state=ReviewState.SUBMITTED, opinion=Opinion.FUND, submitted_at=utcnow()))
    assignment("Dossier récusé", reviewer, state=AssignmentState.RECUSED,
               recusal_reason="Je suis adhérent de l'association.")
    db.session.commit()
    login_as(reviewer)
    body = page(client)
    assert "Dossier récusé" not in body
    rows = {title: body[body.index(title):].split("</tr>", 1)[0]
            for title in ("Dossier en retard", "Dossier commencé", "Dossier évalué")}
    assert "En retard" in rows["Dossier en retard"] and "Non commencée" in rows["Dossier en retard"]
    assert "Brouillon" in rows["Dossier commencé"] and "En retard" not in rows["Dossier commencé"]
    # a submitted review is never late, even past its due date
    assert "Transmise" in rows["Dossier évalué"] and "En retard" not in rows["Dossier évalué"]
    assert late.application.title in body


# ---------------------------------------------------------------- applicants


def test_an_applicant_sees_his_organisations_applications_and_not_another_ones(client, login_as):
    alice = member_of(OrganisationFactory(name="Les Amis de Kayes"))
    bob = member_of(OrganisationFactory(name="Solidarité Matam"))
    call = CallFactory(title="Solidaires Ici Solidaires Ailleurs")
    SubmittedApplicationFactory(call=call, applicant=applicant_of(alice), created_by=alice,
                                title="Puits à Kayes", amount_requested=Decimal("12000.00"))
    SubmittedApplicationFactory(call=call, applicant=applicant_of(bob), created_by=bob, title="Dispensaire à Matam")
    login_as(alice)
    body = page(client)
    assert "Mes dossiers de subvention" in body
    assert "Les Amis de Kayes" in body and "Solidarité Matam" not in body
    assert "Puits à Kayes" in body and "12 000,00" in body and "Déposé" in body
    assert "Dispensaire à Matam" not in body


def test_an_applicant_sees_the_outcome_of_a_decided_application(client, login_as):
    from grants.models import Decision, Outcome

    alice = member_of()
    application = SubmittedApplicationFactory(applicant=applicant_of(alice), state=ApplicationState.DECIDED,
                                              title="Projet accordé")
    decision = Decision(application=application, outcome=Outcome.AWARDED, section=BudgetSection.OPERATING,
                        amount=Decimal("5500.00"), decided_by_id=ManagerFactory().id)
    db.session.add(decision)
    db.session.commit()
    login_as(alice)
    assert "Accordé : 5 500,00 € — rien de versé pour l'instant" in page(client)

    decision.paid = Decimal("3300.00")
    db.session.commit()
    body = page(client)
    assert "Accordé : 5 500,00 € — 3 300,00 € versés" in body
    assert ">Décidé<" not in body


def test_a_cancelled_grant_reads_as_cancelled_not_as_awarded(client, login_as):
    from grants.models import Decision, Outcome

    alice = member_of()
    application = SubmittedApplicationFactory(applicant=applicant_of(alice), state=ApplicationState.DECIDED)
    db.session.add(Decision(application=application, outcome=Outcome.AWARDED, section=BudgetSection.OPERATING,
                            amount=Decimal("0.00"), decided_by_id=ManagerFactory().id, cancelled_at=utcnow()))
    db.session.commit()
    login_as(alice)
    body = page(client)
    assert "Subvention annulée" in body
    assert "Accordé" not in body


def test_open_calls_show_the_time_left_against_the_paris_deadline(client, login_as):
    # 10 March 2026, 10:00 in Paris (UTC+1); the call closes on Friday 13 March at noon, Paris time.
    with time_machine.travel(datetime(2026, 3, 10, 9, 0, tzinfo=UTC), tick=False):
        alice = member_of()
        CallFactory(title="Appel qui ferme vendredi", closes_at=datetime(2026, 3, 13, 11, 0, tzinfo=UTC))
        CallFactory(title="Appel qui ferme demain", closes_at=datetime(2026, 3, 11, 8, 30, tzinfo=UTC))
        CallFactory(title="Appel déjà clos", closes_at=datetime(2026, 3, 9, 11, 0, tzinfo=UTC))
        CallFactory(title="Appel à venir", state=CallState.SCHEDULED,
                    opens_at=datetime(2026, 3, 20, 8, 0, tzinfo=UTC), closes_at=datetime(2026, 4, 20, 10, 0, tzinfo=UTC))
        login_as(alice)
        body = page(client)
    assert "Appel qui ferme vendredi" in body and "clôture dans 3 jours" in body
    assert "vendredi 13 mars 2026, 12:00" in body
    assert "Appel qui ferme demain" in body and "clôture demain à 09:30" in body
    assert "Appel déjà clos" not in body
    assert "Appel à venir" not in body


def test_calls_for_individuals_are_offered_to_individuals_only(client, login_as):
    CallFactory(title="FRADEP", applicant_kinds=ApplicantKinds.INDIVIDUALS)
    CallFactory(title="Appel réservé aux coopératives", eligible_legal_forms=["cooperative"])
    CallFactory(title="Appel pour associations", eligible_legal_forms=["association"])
    person = IndividualApplicantFactory().person
    member = member_of()

    login_as(member)
    body = page(client)
    assert "Appel pour associations" in body
    assert "FRADEP" not in body and "Appel réservé aux coopératives" not in body

    login_as(person)
    body = page(client)
    assert "FRADEP" in body
    assert "Appel pour associations" not in body
    assert "à titre individuel" in body


def test_an_incomplete_organisation_profile_is_pointed_out(client, login_as):
    incomplete = member_of(OrganisationFactory(name="Association sans téléphone", phone=None))
    login_as(incomplete)
    body = page(client)
    assert "Profil incomplet" in body and "téléphone" in body

    complete = member_of(OrganisationFactory(name="Association complète"))
    login_as(complete)
    assert "Profil incomplet" not in page(client)


def test_a_member_of_an_organisation_applicant_without_applications_is_invited_to_start(client, login_as):
    login_as(member_of())
    body = page(client)
    assert "Vous n'avez pas encore de dossier" in body


@pytest.mark.parametrize("role", ["reviewer", "manager"])
def test_staff_never_get_the_applicant_page(client, login_as, role):
    user = ReviewerFactory() if role == "reviewer" else ManagerFactory()
    OrganisationApplicantFactory()
    login_as(user)
    assert "Mes dossiers de subvention" not in page(client)
