"""When the database cannot take one more connection, every page answers 503 with Retry-After at
once (never a 500, never a request queued until the proxy gives up), and the next request after the
rush is served again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from grants.database import db
from grants.home.errors import database_is_out_of_reach
from tests.conftest import login
from tests.factories import UserFactory


@pytest.fixture
def app_overrides():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2}}


def hold_every_connection():
    db.session.remove()  # the test's own session gives its connection back to the pool first
    return db.engine.connect()


def test_an_exhausted_pool_answers_503_with_retry_after(pg_app):
    held = hold_every_connection()
    try:
        response = pg_app.test_client().get("/appels/")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "30"
        assert "Service momentanément indisponible" in response.get_data(as_text=True)
        api = pg_app.test_client().get("/api/v1/calls", headers={"Authorization": "Bearer sbv_not-a-real-token-but-well-formed"})
        assert api.status_code == 503 and api.get_json()["error"] == "unavailable"
    finally:
        held.close()
    assert pg_app.test_client().get("/appels/").status_code == 200


def test_a_signed_in_user_gets_the_same_503(pg_app):
    user = UserFactory()
    db.session.commit()
    client = pg_app.test_client()
    assert login(client, user).status_code == 302
    held = hold_every_connection()
    try:
        response = client.get("/mon-espace")
        assert response.status_code == 503 and "Retry-After" in response.headers
    finally:
        held.close()


def test_only_connection_refusals_count_as_out_of_reach():
    class Refused(Exception):
        sqlstate = "53300"  # too_many_connections

    class Syntax(Exception):
        sqlstate = "42601"

    assert database_is_out_of_reach(sa.exc.OperationalError("SELECT 1", {}, Refused("too many clients")))
    assert not database_is_out_of_reach(sa.exc.OperationalError("SELECT 1", {}, Syntax("syntax error")))
