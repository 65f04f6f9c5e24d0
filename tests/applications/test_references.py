"""Dossier references: one sequence per (prefix, year), shared by every call that has them, so a call
cloned within its year receives applications (issue 22); a refused submission gives its number back."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from grants.applications import services
from grants.calls import services as calls_services
from grants.database import db, utcnow
from grants.models import ApplicationState, BudgetSection, CallState
from tests.applications.conftest import last_reference_number, page
from tests.factories import (
    CallFactory,
    CriterionFactory,
    ManagerFactory,
    ProgrammeBudgetFactory,
    SubmittedApplicationFactory,
    complete_draft,
)


@pytest.fixture
def manager(app):
    return ManagerFactory()


@pytest.fixture
def source(app, manager):
    """An open SISA 2026 call, with its envelope carved from its programme's line and a grid."""
    line = ProgrammeBudgetFactory(authorised=Decimal("900000.00"), year=2026, section=BudgetSection.OPERATING)
    call = CallFactory(programme=line.programme, title="Solidaires Ici Solidaires Ailleurs", slug="sisa",
                       reference_prefix="SISA", year=2026, partner_regions=[])
    calls_services.set_envelope(call, BudgetSection.OPERATING, Decimal("300000.00"), actor=manager)
    CriterionFactory(call=call)
    db.session.commit()
    return call


def second_session(source, manager):
    """The source cloned into the same year, published and open."""
    now = utcnow()
    clone = calls_services.clone_call(source, actor=manager, title="Solidaires Ici Solidaires Ailleurs, 2e session",
                                      slug="sisa-2e-session", year=source.year, opens_at=now - timedelta(hours=1),
                                      closes_at=now + timedelta(days=30))
    calls_services.publish_call(clone, actor=manager)
    db.session.commit()
    assert clone.state == CallState.OPEN and clone.reference_prefix == "SISA" and clone.year == 2026
    return clone


def submit(application) -> str:
    services.submit(application, actor=application.created_by)
    db.session.commit()
    return application.reference


def test_a_call_cloned_within_its_year_receives_applications(client, login_as, source, manager, member, applicant):
    assert submit(complete_draft(call=source)) == "SISA-2026-0001"
    clone = second_session(source, manager)

    draft = complete_draft(call=clone, applicant=applicant)
    login_as(member)
    response = client.post(f"/dossiers/{draft.id}/depot", data={"version": draft.version})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/dossiers/{draft.id}/recu")
    db.session.refresh(draft)
    assert draft.state == ApplicationState.SUBMITTED and draft.reference == "SISA-2026-0002"
    assert "SISA-2026-0002" in page(client.get(f"/dossiers/{draft.id}/recu"))

    # Both calls go on drawing from the one sequence.
    assert submit(complete_draft(call=source)) == "SISA-2026-0003"
    assert submit(complete_draft(call=clone)) == "SISA-2026-0004"
    assert last_reference_number("SISA", 2026) == 4


def test_each_prefix_and_year_has_its_own_sequence(app):
    numbers = [services.draw_reference_number("SISA", 2026) for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert services.draw_reference_number("SISA", 2027) == 1
    assert services.draw_reference_number("FIPCE", 2026) == 1
    db.session.commit()
    assert (last_reference_number("SISA", 2026), last_reference_number("SISA", 2027)) == (3, 1)


def test_a_rolled_back_draw_gives_its_number_back(app):
    assert services.draw_reference_number("SISA", 2026) == 1
    db.session.commit()
    assert services.draw_reference_number("SISA", 2026) == 2
    db.session.rollback()
    assert services.draw_reference_number("SISA", 2026) == 2


def test_a_database_refusal_at_submission_is_a_422_that_keeps_the_draft_and_the_number(
        client, login_as, source, member, applicant):
    # A reference the counter does not know of (written by hand, or imported): the number drawn
    # collides with it, and the database refuses the submission.
    SubmittedApplicationFactory(call=source, reference="SISA-2026-0001")
    db.session.commit()
    draft = complete_draft(call=source, applicant=applicant)
    login_as(member)
    response = client.post(f"/dossiers/{draft.id}/depot", data={"version": draft.version})
    body = page(response, 422)
    assert "Votre brouillon est intact et aucun numéro n'a été attribué" in body
    db.session.refresh(draft)
    assert draft.state == ApplicationState.DRAFT and draft.reference is None and draft.submitted_at is None
    assert draft.title == "Accès à l'eau à Kayes" and len(draft.budget_lines) == 5
    assert last_reference_number("SISA", 2026) == 0
