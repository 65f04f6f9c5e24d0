"""The embedded default runs the beat schedule in a thread, without Redis."""

from __future__ import annotations

import threading

import worker
import worker.embedded
from grants.database import db
from grants.models import CallState
from tests.factories import CallFactory


def test_the_schedule_thread_runs_due_tasks(app):
    from datetime import timedelta

    from grants.database import utcnow

    ended = CallFactory(state=CallState.OPEN, opens_at=utcnow() - timedelta(days=30),
                        closes_at=utcnow() - timedelta(seconds=1))
    # This test's app only: the thread runs the schedule bound to the app's Celery.
    app.extensions["celery"].conf.beat_schedule = {
        "calls": {"task": "grants.calls.tasks.open_and_close_due_calls", "schedule": 0.2},
    }
    stop = threading.Event()
    thread = threading.Thread(target=worker.embedded.run_beat_schedule, args=(app, stop), daemon=True)
    thread.start()
    try:
        for _ in range(100):
            # End the read transaction: on SQLite it keeps the snapshot of its first read (SERIALIZABLE),
            # so only a new one sees the thread's commit; rollback also expires the loaded objects.
            db.session.rollback()
            if db.session.get(type(ended), ended.id).state == CallState.CLOSED:
                break
            stop.wait(0.1)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert db.session.get(type(ended), ended.id).state == CallState.CLOSED
    assert not thread.is_alive()
    assert "open-and-close-calls" in worker.beat_schedule(300)


def test_links_in_emails_name_the_served_host_and_port():
    from config import served_name

    assert served_name("127.0.0.1", 8080) == "127.0.0.1:8080"
    assert served_name("0.0.0.0", 8080) == "localhost:8080"  # every interface: this machine by name
    assert served_name("::1", 8080) == "[::1]:8080"


def test_the_embedded_default_builds_external_links_on_port_from_the_environment(monkeypatch, tmp_path):
    from flask import url_for

    from grants import create_app

    for name in ("HOST", "SERVER_NAME", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PORT", "8765")
    app = create_app("development")
    assert (app.config["HOST"], app.config["PORT"]) == ("127.0.0.1", 8765)
    with app.app_context():
        assert url_for("home.index", _external=True) == "http://127.0.0.1:8765/"
    monkeypatch.setenv("SERVER_NAME", "subventions.region.example")  # an explicit name wins
    with create_app("development").app_context():
        assert url_for("home.index", _external=True) == "http://subventions.region.example/"
