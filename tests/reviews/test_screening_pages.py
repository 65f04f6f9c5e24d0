"""Screening a pile of dossiers: both lists paged (each keeping the other's page), "Dossier suivant à
examiner" on a dossier, and the verdict leading straight to the next one waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from grants.database import db, utcnow
from grants.reviews import services
from tests.factories import CallFactory, ManagerFactory, SubmittedApplicationFactory


@pytest.fixture
def pile(app):
    """Four dossiers submitted a minute apart on one call, and one on another call."""
    call = CallFactory()
    start = utcnow() - timedelta(hours=1)
    rows = [SubmittedApplicationFactory(call=call, title=f"Dossier {n}", submitted_at=start + timedelta(minutes=n))
            for n in range(4)]
    SubmittedApplicationFactory(call=CallFactory(), title="Autre appel")
    db.session.commit()
    return rows


def screening_url(application, suffix=""):
    return f"/gestion/appels/{application.call_id}/recevabilite{suffix}"


def test_the_next_dossier_to_screen_follows_the_order_of_arrival_then_rounds(pile):
    zero, one, two, three = pile
    assert services.next_to_screen(zero) == one.id
    assert services.next_to_screen(three) == zero.id  # round to the oldest still waiting
    services.screen_application(one, eligible=True, reason=None, actor=ManagerFactory())
    db.session.commit()
    assert services.next_to_screen(zero) == two.id  # a screened dossier is skipped


def test_a_verdict_leads_to_the_next_dossier_waiting(client, login_as, pile):
    zero, one, two, three = pile
    login_as(ManagerFactory())
    body = client.get(screening_url(zero, f"/{zero.id}")).get_data(as_text=True)
    assert f'href="{screening_url(zero, f"/{one.id}")}" rel="next">Dossier suivant à examiner' in body
    response = client.post(screening_url(zero, f"/{zero.id}"), data={"decision": "eligible"})
    assert response.status_code == 302 and response.headers["Location"].endswith(screening_url(zero, f"/{one.id}"))
    for application in (one, two):
        client.post(screening_url(application, f"/{application.id}"), data={"decision": "eligible"})
    last = client.post(screening_url(three, f"/{three.id}"), data={"decision": "eligible"})
    assert last.headers["Location"].endswith(screening_url(three))  # none left: back to the list


def test_both_lists_are_paged_independently(client, login_as, pile, monkeypatch):
    monkeypatch.setattr(services, "SCREENING_PAGE_SIZE", 2)
    zero, one, two, three = pile
    for application in (zero, one, two):
        services.screen_application(application, eligible=True, reason=None, actor=ManagerFactory())
    db.session.commit()
    login_as(ManagerFactory())
    first = client.get(screening_url(zero)).get_data(as_text=True)
    waiting, screened = first.split('id="screened"')
    assert "Dossier 3" in waiting and "Pages des dossiers à examiner" not in waiting  # one page only
    assert "Dossier 2" in screened and "Dossier 1" in screened and "Dossier 0" not in screened  # latest first
    assert f"{screening_url(zero)}?page_examines=2#screened" in screened
    second = client.get(screening_url(zero, "?page=1&page_examines=2")).get_data(as_text=True)
    assert "Dossier 0" in second.split('id="screened"')[1] and "Dossier 3" in second.split('id="screened"')[0]
    assert "Autre appel" not in first + second
