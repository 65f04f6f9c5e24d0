"""50 parallel award requests against one envelope, through a real threaded HTTP server on loopback, on
PostgreSQL: exactly envelope // amount succeed, committed never passes the envelope, and every
refusal is a 409 that says what remains.

Each request is served by its own server thread with its own app context, hence its own database
session and connection, as under gunicorn's threads.
"""

from __future__ import annotations

import http.client
import json
import threading
from decimal import Decimal

import pytest
from werkzeug.serving import make_server

from grants.applications.models import Application, ApplicationState
from grants.awards.models import Decision, EnvelopeMovement
from grants.calls.models import CallEnvelope
from grants.database import db
from tests.api.conftest import new_token, open_call, under_review
from tests.factories import ManagerFactory

PARALLEL = 50


@pytest.fixture
def server(pg_app):
    """The app served on 127.0.0.1 by Werkzeug's threaded server; yields its port."""
    httpd = make_server("127.0.0.1", 0, pg_app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_port
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


def post_all(port: int, secret: str, paths: list[str], body: dict) -> list[tuple[int, dict]]:
    """POST ``body`` to every path at once (a barrier releases all threads together)."""
    barrier = threading.Barrier(len(paths))
    results: list[tuple[int, dict] | None] = [None] * len(paths)

    def send(index: int, path: str):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        payload = json.dumps(body)
        headers = {
            "Host": "subventia.test",  # the testing configuration's SERVER_NAME
            "Authorization": f"Bearer {secret}",
            "Content-Type": "application/json",
        }
        barrier.wait()
        try:
            connection.request("POST", path, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            try:
                results[index] = (response.status, json.loads(raw))
            except ValueError:  # not JSON: keep the text, for the assertion message
                results[index] = (response.status, {"text": raw.decode(errors="replace")[:2000]})
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i, path)) for i, path in enumerate(paths)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert all(result is not None for result in results), "a request did not finish"
    return results


@pytest.mark.postgresql_only
def test_fifty_parallel_awards_never_overspend_the_envelope(pg_app, server):
    manager = ManagerFactory()
    secret = new_token(manager)
    call = open_call(amount=Decimal("10500.00"))
    applications = [under_review(call) for _ in range(PARALLEL)]
    paths = [f"/api/v1/applications/{a.id}/award" for a in applications]

    results = post_all(server, secret, paths, {"amount": "1000.00", "section": "fonctionnement"})

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 10 + [409] * 40, statuses
    refusals = [body for status, body in results if status == 409]
    assert all(body["error"] == "envelope_exceeded" for body in refusals)
    assert {body["remaining"] for body in refusals} == {"500.00"}
    assert all("500,00" in body["message"] for body in refusals)

    db.session.expire_all()
    envelope = db.session.scalars(db.select(CallEnvelope).where(CallEnvelope.call_id == call.id)).one()
    assert envelope.committed == Decimal("10000.00") <= envelope.amount
    ledger = db.session.scalar(db.select(db.func.count(EnvelopeMovement.id)).where(EnvelopeMovement.envelope_id == envelope.id))
    assert ledger == 10
    assert sum(m.amount for m in db.session.scalars(db.select(EnvelopeMovement))) == Decimal("10000.00")
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 10
    decided = db.session.scalar(
        db.select(db.func.count(Application.id)).where(Application.state == ApplicationState.DECIDED)
    )
    assert decided == 10


@pytest.mark.postgresql_only
def test_parallel_awards_of_one_application_make_one_decision(pg_app, server):
    manager = ManagerFactory()
    secret = new_token(manager)
    call = open_call(amount=Decimal("100000.00"))
    application = under_review(call)

    results = post_all(server, secret, [f"/api/v1/applications/{application.id}/award"] * 10,
                       {"amount": "1000.00", "section": "fonctionnement"})

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 9, results
    assert all(body["error"] == "not_awardable" for status, body in results if status == 409)
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 1
    assert db.session.scalars(db.select(CallEnvelope)).one().committed == Decimal("1000.00")
