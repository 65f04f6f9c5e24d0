"""The safety net (grants.refused_values): a value that gets past the form fields' bounds and that the
database refuses is a 422 with a message, logged with its route, with nothing written. Each test takes a
bound away to let such a value through."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
import sqlalchemy as sa

import grants.form_fields
from grants.calls.models import ProgrammeBudget
from grants.database import db
from tests.factories import ManagerFactory, ProgrammeBudgetFactory


@pytest.fixture
def unbounded_amounts(monkeypatch):
    """The money fields' ceiling lifted: an amount beyond any integer column of cents gets through."""
    monkeypatch.setattr(grants.form_fields, "MAX_AMOUNT", Decimal("1e30"))


def test_a_refused_amount_is_a_422_page_with_nothing_written(client, login_as, unbounded_amounts, caplog):
    line = ProgrammeBudgetFactory(authorised=Decimal("860000.00"), year=2026)
    login_as(ManagerFactory())
    before = db.session.scalar(sa.select(sa.func.count()).select_from(ProgrammeBudget))
    with caplog.at_level(logging.WARNING):
        response = client.post(f"/gestion/programmes/{line.programme_id}/autorisation?annee=2026", data={
            "autorisation-year": "2027", "autorisation-section": "fonctionnement",
            "autorisation-authorised": "99999999999999999999"})
    assert response.status_code == 422
    body = response.get_data(as_text=True).replace("&#39;", "'")
    assert "Rien n'a été enregistré" in body and 'class="error"' in body
    assert f'href="/gestion/programmes/{line.programme_id}/autorisation"' in body  # back to the page
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgrammeBudget)) == before
    assert any("/gestion/programmes/<int:programme_id>/autorisation" in record.getMessage() for record in caplog.records)


def test_the_bound_is_what_stops_the_amount(client, login_as):
    """The same request with the bound in place: a message under the field, the net never reached."""
    line = ProgrammeBudgetFactory(authorised=Decimal("860000.00"), year=2026)
    login_as(ManagerFactory())
    response = client.post(f"/gestion/programmes/{line.programme_id}/autorisation?annee=2026", data={
        "autorisation-year": "2027", "autorisation-section": "fonctionnement",
        "autorisation-authorised": "99999999999999999999"})
    assert response.status_code == 422
    assert "Un montant ne dépasse pas" in response.get_data(as_text=True)
