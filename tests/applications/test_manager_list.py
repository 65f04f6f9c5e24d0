"""The managers' list of a call's dossiers: pages of a fixed size (a count and a page, whatever the
number of dossiers), the state filter kept from page to page, and "Dossier suivant" on each dossier."""

from __future__ import annotations

from datetime import timedelta

import pytest

from grants.applications import services
from grants.database import db, utcnow
from grants.models import ApplicationState
from tests.applications.conftest import page
from tests.factories import ApplicationFactory, ManagerFactory, SubmittedApplicationFactory
from tests.test_query_counts import counted_statements, own_context


@pytest.fixture
def arrivals(call):
    """Five dossiers submitted a minute apart (two withdrawn), and a draft that managers never list."""
    start = utcnow() - timedelta(hours=1)
    rows = [SubmittedApplicationFactory(call=call, title=f"Dossier {n}", submitted_at=start + timedelta(minutes=n),
                                        state=ApplicationState.WITHDRAWN if n in (1, 3) else ApplicationState.SUBMITTED)
            for n in range(5)]
    ApplicationFactory(call=call, title="Brouillon invisible")
    db.session.commit()
    return rows


def test_the_list_is_paged_and_keeps_its_filter(client, login_as, call, arrivals, monkeypatch):
    monkeypatch.setattr(services, "MANAGER_PAGE_SIZE", 2)
    login_as(ManagerFactory())
    first = page(client.get(f"/gestion/appels/{call.id}/dossiers"))
    assert "Dossier 0" in first and "Dossier 1" in first and "Dossier 2" not in first
    assert "5 dossiers" in first and "page 1 sur 3" in first and "Brouillon invisible" not in first
    assert f'href="/gestion/appels/{call.id}/dossiers?page=2"' in first and 'rel="prev"' not in first
    last = page(client.get(f"/gestion/appels/{call.id}/dossiers?page=3"))
    assert "Dossier 4" in last and "Dossier 3" not in last and 'rel="next"' not in last
    filtered = page(client.get(f"/gestion/appels/{call.id}/dossiers?etat=submitted"))
    assert "3 dossiers" in filtered and "Dossier 1" not in filtered
    assert f"/gestion/appels/{call.id}/dossiers?etat=submitted&amp;page=2" in filtered
    beyond = page(client.get(f"/gestion/appels/{call.id}/dossiers?page=99"))
    assert "Aucun dossier" in beyond


def test_a_page_costs_the_same_statements_wherever_it_is(app, client, login_as, call, arrivals, monkeypatch):
    monkeypatch.setattr(services, "MANAGER_PAGE_SIZE", 2)
    login_as(ManagerFactory())
    own_context(app, lambda: client.get(f"/gestion/appels/{call.id}/dossiers"))  # warm-up
    counts = []
    for number in (1, 2, 3):
        with counted_statements() as statements:
            own_context(app, lambda: client.get(f"/gestion/appels/{call.id}/dossiers?page={number}"))  # noqa: B023
        counts.append(len(statements))
    assert counts[0] == counts[1] == counts[2]


def test_next_dossier_in_the_order_of_arrival_and_within_the_filter(client, login_as, call, arrivals):
    zero, one, two, three, four = arrivals
    assert services.next_in_call(zero) == one.id
    assert services.next_in_call(zero, ApplicationState.SUBMITTED) == two.id
    assert services.next_in_call(four) is None
    login_as(ManagerFactory())
    body = page(client.get(f"/gestion/dossiers/{two.id}?etat=submitted"))
    assert f'href="/gestion/dossiers/{four.id}?etat=submitted">Dossier suivant' in body
    assert f'href="/gestion/appels/{call.id}/dossiers?etat=submitted"' in body  # back to the same list
    assert "Dossier suivant" not in page(client.get(f"/gestion/dossiers/{four.id}"))
