"""Each user's notifications a page at a time, newest first: ``?avant=`` (older) and ``?apres=`` (newer)
carry the edge row's key; another user's key never shows his notifications; marking one read comes back
to the same page; a key that is not one is a 400; the unread count is the stored column, not a count."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grants.database import db, utcnow
from grants.keyset import PER_PAGE, TimeKey
from grants.models import Notification
from tests.factories import member_of


def received(user, count: int, *, same_instant_every: int = 1) -> list[Notification]:
    """``count`` notifications for ``user``, newest first as listed, ``same_instant_every`` per instant."""
    start = utcnow() - timedelta(days=2)
    rows = [Notification(event="test", recipient_email=user.email, recipient_id=user.id,
                         subject=f"Message {user.id}-{n}", body_text="Corps",
                         created_at=start + timedelta(seconds=n // same_instant_every)) for n in range(count)]
    db.session.add_all(rows)
    db.session.info.pop("subventia.outbox", None)  # listed only, never delivered here
    db.session.commit()
    return sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)


def subjects(html: str) -> list[str]:
    return re.findall(r'<span class="notification-subject">([^<]*)</span>', html)


def link(html: str, rel: str) -> str | None:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def walk(client, url="/notifications", rel="next") -> list[list[str]]:
    pages = []
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        pages.append(subjects(html))
        url = link(html, rel)
        assert len(pages) < 10
    return pages


@pytest.mark.parametrize("count, pages", [(0, 1), (1, 1), (PER_PAGE, 1), (PER_PAGE + 1, 2)])
def test_page_boundaries(client, login_as, count, pages):
    me = member_of()
    rows = received(me, count)
    login_as(me)
    walked = walk(client)
    assert len(walked) == pages and [s for page in walked for s in page] == [r.subject for r in rows]
    if count == 0:
        assert "Vous n'avez encore reçu aucune notification." in client.get("/notifications").get_data(as_text=True)


def test_one_instant_split_by_a_page_end_forwards_and_backwards(client, login_as):
    me = member_of()
    rows = received(me, 2 * PER_PAGE + 5, same_instant_every=7)
    login_as(me)
    forwards = walk(client)
    assert [s for page in forwards for s in page] == [r.subject for r in rows]
    second = link(client.get("/notifications").get_data(as_text=True), "next")
    last = link(client.get(second).get_data(as_text=True), "next")
    assert walk(client, last, rel="prev") == forwards[::-1]


def test_another_users_key_shows_only_my_notifications(client, login_as):
    me, other = member_of(), member_of()
    mine = {r.subject for r in received(me, PER_PAGE + 3)}
    theirs = received(other, PER_PAGE + 3)
    login_as(me)
    for row in theirs[::9]:
        for param in ("avant", "apres"):
            response = client.get(f"/notifications?{param}={TimeKey(row.created_at, row.id).token()}")
            assert response.status_code == 200
            assert set(subjects(response.get_data(as_text=True))) <= mine


def test_marking_one_read_comes_back_to_its_page(client, login_as):
    me = member_of()
    rows = received(me, PER_PAGE + 5)
    login_as(me)
    second = link(client.get("/notifications").get_data(as_text=True), "next")
    page = client.get(second).get_data(as_text=True)
    target = rows[PER_PAGE + 2]
    key = re.search(r'name="avant" value="([^"]+)"', page).group(1)
    response = client.post(f"/notifications/{target.id}/lue", data={"avant": key})
    assert response.status_code == 302
    assert f"avant={key}" in response.location and response.location.endswith(f"#notification-{target.id}")
    db.session.expire_all()
    assert db.session.get(Notification, target.id).read_at is not None
    # a key that is not one leads back to the first page, the row read all the same
    other = rows[0]
    response = client.post(f"/notifications/{other.id}/lue", data={"avant": "n'importe quoi"})
    assert response.status_code == 302 and "avant" not in response.location


@pytest.mark.parametrize("query", [
    "avant=1", "apres=20261206T020045-1", "avant=20261206T020045123456-99999999999",
    "avant=20261206T020045123456-1&apres=20261206T020045123456-2", "avant=" + "2" * 300, "apres=%C3%A9",
])
def test_a_key_that_is_not_one_is_a_400(client, login_as, query):
    login_as(member_of())
    assert client.get(f"/notifications?{query}").status_code == 400


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(param=st.sampled_from(["avant", "apres"]),
       value=st.one_of(st.text(max_size=60), st.from_regex(r"[0-9]{8}T[0-9]{12}-[0-9]{1,12}", fullmatch=True)))
def test_any_key_is_a_page_or_a_400(client, login_as, param, value):
    login_as(member_of())
    assert client.get("/notifications", query_string={param: value}).status_code in (200, 400)
