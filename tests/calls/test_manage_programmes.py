"""The managers' programme pages: yearly figures per section, the authorisation form and direct grants."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.database import db
from grants.local_time import budget_year
from grants.models import BudgetSection, CallState, DirectGrant, ProgrammeBudget
from tests.calls.test_manage_pages import count, page
from tests.factories import (
    CallEnvelopeFactory,
    CallFactory,
    ManagerFactory,
    ProgrammeBudgetFactory,
    ProgrammeFactory,
)

OPERATING, INVESTMENT = BudgetSection.OPERATING, BudgetSection.INVESTMENT


@pytest.fixture
def manager(app, login_as):
    user = ManagerFactory(full_name="Camille Instructrice")
    login_as(user)
    return user


@pytest.fixture
def line(app):
    return ProgrammeBudgetFactory(authorised=Decimal("860000.00"), year=2026, section=OPERATING,
                                  carved=Decimal("300000.00"))


def authorisation(year="2026", section="fonctionnement", amount="1 000 000") -> dict:
    return {"autorisation-year": year, "autorisation-section": section, "autorisation-authorised": amount}


def direct_grant(amount="25 000", section="fonctionnement", beneficiary="Région de Kayes") -> dict:
    return {"subvention-year": "2026", "subvention-section": section, "subvention-beneficiary_name": beneficiary,
            "subvention-purpose": "Convention de coopération 2026", "subvention-amount": amount}


def test_the_programmes_page_shows_each_section_of_the_chosen_year(client, manager, line):
    ProgrammeFactory(name="Sport pour tous")  # no line for 2026
    body = page(client.get("/gestion/programmes?annee=2026"))
    section = body[body.index(line.programme.name):]
    assert "860 000,00 €" in section and "300 000,00 €" in section and "560 000,00 €" in section
    assert 'value="300000.00"' in section and "35 % réparti ou engagé" in section  # the meter and its reading
    assert "Aucune autorisation n'est inscrite pour 2026" in body
    assert f"/gestion/appels/nouveau?programme={line.programme_id}" in body
    body = page(client.get("/gestion/programmes?annee=2025"))
    assert "860 000,00 €" not in body
    body = page(client.get("/gestion/programmes?annee=deux-mille"))  # nonsense: the current year
    assert f'<option value="{budget_year()}" selected>' in body


def test_the_programme_page_lists_its_calls_and_direct_grants_of_the_year(client, manager, line):
    call = CallFactory(programme=line.programme, year=2026, state=CallState.OPEN, title="Solidarité internationale")
    CallEnvelopeFactory(call=call, amount=Decimal("300000.00"))
    CallFactory(programme=line.programme, year=2025, title="Édition précédente")
    assert client.post(f"/gestion/programmes/{line.programme_id}/subventions-directes?annee=2026",
                       data=direct_grant()).status_code == 302
    body = page(client.get(f"/gestion/programmes/{line.programme_id}?annee=2026"))
    assert "Solidarité internationale" in body and "Édition précédente" not in body
    grants = body[body.index('id="direct-grants"'):]
    for text in ("Région de Kayes", "Convention de coopération 2026", "25 000,00 €", "Camille Instructrice"):
        assert text in grants


def test_set_an_authorisation_with_a_french_amount(client, manager, line):
    response = client.post(f"/gestion/programmes/{line.programme_id}/autorisation?annee=2026",
                           data=authorisation(year="2027", amount="1 200 000,50"))
    assert response.status_code == 302 and response.headers["Location"].endswith("annee=2027")
    budget = db.session.scalars(sa.select(ProgrammeBudget).where(ProgrammeBudget.year == 2027)).one()
    assert (budget.programme_id, budget.section, budget.authorised) == (line.programme_id, OPERATING, Decimal("1200000.50"))
    assert "fixée à 1 200 000,50 €" in page(client.get(response.headers["Location"]))


@pytest.mark.parametrize("amount, message", [
    ("200 000", "ne peut pas descendre sous ce qui est déjà réparti ou engagé : 300 000,00 €"),
    ("12,345", "au plus deux décimales"),
])
def test_a_bad_authorisation_is_refused_on_its_field(client, manager, line, amount, message):
    body = page(client.post(f"/gestion/programmes/{line.programme_id}/autorisation?annee=2026",
                            data=authorisation(amount=amount)), 422)
    error = body[body.index('id="autorisation-authorised-error"'):]
    assert message in error[:error.index("</p>")] and f'value="{amount}"' in body
    db.session.expire_all()
    assert line.authorised == Decimal("860000.00")


def test_record_a_direct_grant_against_the_line(client, manager, line):
    response = client.post(f"/gestion/programmes/{line.programme_id}/subventions-directes?annee=2026",
                           data=direct_grant(amount="25 000,50"))
    assert response.status_code == 302
    grant = db.session.scalars(sa.select(DirectGrant)).one()
    assert grant.amount == Decimal("25000.50") and grant.decided_by_id == manager.id
    db.session.expire_all()
    assert line.direct_committed == Decimal("25000.50") and line.free == Decimal("534999.50")


@pytest.mark.parametrize("data, field, message", [
    (direct_grant(amount="560 000,01"), "subvention-amount", "Montant supérieur à ce que la ligne budgétaire a de libre : 560 000,00 €"),
    (direct_grant(section="investissement"), "subvention-section", "pas d'autorisation en investissement pour 2026"),
    (direct_grant(amount="0"), "subvention-amount", "Le montant doit être positif."),
])
def test_a_bad_direct_grant_is_refused_on_its_field(client, manager, line, data, field, message):
    body = page(client.post(f"/gestion/programmes/{line.programme_id}/subventions-directes?annee=2026", data=data), 422)
    error = body[body.index(f'id="{field}-error"'):]
    assert message in error[:error.index("</p>")]
    assert 'value="Région de Kayes"' in body and "Convention de coopération 2026</textarea>" in body
    assert count(DirectGrant) == 0
    db.session.expire_all()
    assert line.direct_committed == Decimal("0.00")
