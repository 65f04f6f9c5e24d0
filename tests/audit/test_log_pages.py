"""The audit log a page at a time, newest first: ``?avant=`` (older) and ``?apres=`` (newer) carry the
edge event's key, a filter is kept across pages, events of one instant are neither lost nor repeated,
a key that is not one is a 400, and a page reads the same statements wherever it is in the log."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event as sa_event

from grants.audit.models import AuditEvent
from grants.database import db, utcnow
from grants.keyset import PER_PAGE, TimeKey
from tests.factories import AdminFactory

ACTION = "test.paged"


def log(count: int, *, same_instant_every: int = 1, action: str = ACTION) -> list[AuditEvent]:
    """``count`` events of ``action``, numbered in their details, a second apart (``same_instant_every``
    of them sharing each instant), in the past; the list newest first, as the page shows it."""
    start = utcnow() - timedelta(days=1)
    rows = [AuditEvent(action=action, occurred_at=start + timedelta(seconds=n // same_instant_every),
                       details={"n": str(n)}) for n in range(count)]
    db.session.add_all(rows)
    db.session.commit()
    return sorted(rows, key=lambda e: (e.occurred_at, e.id), reverse=True)


def numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"<dt>n</dt><dd>(\d+)</dd>", html)]


def link(html: str, rel: str) -> str | None:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def walk(client, url: str, rel: str = "next") -> list[list[int]]:
    pages = []
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        pages.append(numbers(html))
        url = link(html, rel)
        assert len(pages) < 10
    return pages


@pytest.fixture
def admin(client, login_as):
    login_as(AdminFactory())


@pytest.mark.parametrize("count, pages", [(0, 0), (1, 1), (PER_PAGE, 1), (PER_PAGE + 1, 2)])
def test_page_boundaries(client, admin, count, pages):
    events = log(count)
    walked = walk(client, f"/admin/journal/?action={ACTION}")
    if count == 0:
        assert walked == [[]]
        assert "Aucun événement ne correspond." in client.get(f"/admin/journal/?action={ACTION}").get_data(as_text=True)
        return
    assert [n for page in walked for n in page] == [int(e.details["n"]) for e in events]
    assert [len(page) for page in walked] == [PER_PAGE] * (pages - 1) + [count - PER_PAGE * (pages - 1)]


def test_events_of_one_instant_are_neither_lost_nor_repeated_both_ways(client, admin):
    events = log(2 * PER_PAGE + 7, same_instant_every=9)  # pages end inside an instant
    first = f"/admin/journal/?action={ACTION}"
    forwards = walk(client, first)
    assert [n for page in forwards for n in page] == [int(e.details["n"]) for e in events]
    html = client.get(first).get_data(as_text=True)
    last = link(client.get(link(html, "next")).get_data(as_text=True), "next")
    assert f"action={ACTION}" in last  # the filter is kept across pages
    assert walk(client, last, rel="prev") == forwards[::-1]


def test_the_whole_log_is_paged_too(client, admin):
    log(PER_PAGE + 3)
    log(4, action="test.other")
    walked = walk(client, "/admin/journal/")
    total = db.session.scalar(db.select(db.func.count(AuditEvent.id)))
    assert sum(len(page) for page in walked) == total - 1  # the admin's sign-in has no number
    assert len(walked) == 2


def test_a_key_past_the_end_shows_the_way_back(client, admin):
    log(3)
    html = client.get("/admin/journal/?avant=19000101T000000000000-1").get_data(as_text=True)
    assert "Aucun événement ne correspond." in html and 'href="/admin/journal/">Voir les plus récents' in html


@pytest.mark.parametrize("query", [
    "avant=1", "avant=20261206T020045-1", "avant=20261206T0200451234567-1", "avant=20261340T000000000000-1",
    "apres=20261206T250000000000-1", "avant=20261206T020045123456-2147483648", "avant=20261206T020045123456-",
    "avant=20261206T020045123456-1&apres=20261206T020045123456-2", "apres=" + "1" * 500, "avant=%C3%A9",
])
def test_a_key_that_is_not_one_is_a_400(client, admin, query):
    response = client.get(f"/admin/journal/?{query}")
    assert response.status_code == 400
    assert "La requête n'a pas pu être traitée" in response.get_data(as_text=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(param=st.sampled_from(["avant", "apres"]),
       value=st.one_of(st.text(max_size=60), st.from_regex(r"[0-9]{8}T[0-9]{12}-[0-9]{1,12}", fullmatch=True)))
def test_any_key_is_a_page_or_a_400(client, admin, param, value):
    assert client.get("/admin/journal/", query_string={param: value}).status_code in (200, 400)


def statements_of(client, url) -> int:
    statements = []

    def count(*args):
        statements.append(args[2])

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_a_page_deep_in_the_log_reads_the_same_statements_as_the_first(client, admin):
    events = log(3 * PER_PAGE + 1)
    first = statements_of(client, f"/admin/journal/?action={ACTION}")
    deep = TimeKey(events[2 * PER_PAGE].occurred_at, events[2 * PER_PAGE].id).token()
    assert statements_of(client, f"/admin/journal/?action={ACTION}&avant={deep}") == first
    back = TimeKey(events[-1].occurred_at, events[-1].id).token()
    assert statements_of(client, f"/admin/journal/?action={ACTION}&apres={back}") == first
