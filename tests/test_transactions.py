"""The test guard of grants/transactions.py: a request that wrote and did not commit fails."""

from __future__ import annotations

import pytest

from grants.database import db
from grants.transactions import UncommittedRequestError
from tests.factories import ProgrammeFactory


def add_route(app, view):
    app.add_url_rule("/test-uncommitted", "test_uncommitted", view)


def test_a_write_left_uncommitted_after_a_rolled_back_savepoint_still_fails_the_request(app, client):
    programme = ProgrammeFactory()

    def view():
        programme.name = "Renamed without a commit"
        db.session.flush()
        savepoint = db.session.begin_nested()
        programme.description = "abandoned"
        db.session.flush()
        savepoint.rollback()  # fires after_rollback: the outer write must not be forgotten
        return "ok"

    add_route(app, view)
    with pytest.raises(UncommittedRequestError):
        client.get("/test-uncommitted")


def test_a_committed_request_passes(app, client):
    programme = ProgrammeFactory()

    def view():
        programme.name = "Renamed and committed"
        db.session.commit()
        return "ok"

    add_route(app, view)
    assert client.get("/test-uncommitted").status_code == 200
