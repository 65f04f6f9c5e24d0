"""The embedded default runs the beat schedule in a thread, without Redis."""

from __future__ import annotations

import threading

import worker
import worker.embedded
from grants.database import db
from grants.models import CallState
from tests.factories import CallFactory


def test_the_schedule_thread_runs_due_tasks(app, monkeypatch):
    from datetime import timedelta

    from grants.database import utcnow

    ended = CallFactory(state=CallState.OPEN, opens_at=utcnow() - timedelta(days=30),
                        closes_at=utcnow() - timedelta(seconds=1))
    monkeypatch.setattr(
        worker.embedded, "BEAT_SCHEDULE",
        {"calls": {"task": "grants.calls.tasks.open_and_close_due_calls", "schedule": 0.2}},
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.embedded.run_beat_schedule, args=(app, stop), daemon=True)
    thread.start()
    try:
        for _ in range(100):
            db.session.expire_all()
            if db.session.get(type(ended), ended.id).state == CallState.CLOSED:
                break
            stop.wait(0.1)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert db.session.get(type(ended), ended.id).state == CallState.CLOSED
    assert not thread.is_alive()
    assert "open-and-close-calls" in worker.BEAT_SCHEDULE


def test_links_in_emails_name_the_served_host_and_port(monkeypatch):
    from config import embedded_server_name

    for name in ("HOST", "PORT", "SERVER_NAME"):
        monkeypatch.delenv(name, raising=False)
    assert embedded_server_name() == "127.0.0.1:5000"
    monkeypatch.setenv("PORT", "8080")
    assert embedded_server_name() == "127.0.0.1:8080"
    monkeypatch.setenv("HOST", "0.0.0.0")  # every interface: this machine by name
    assert embedded_server_name() == "localhost:8080"
    monkeypatch.setenv("HOST", "::1")
    assert embedded_server_name() == "[::1]:8080"


def test_the_embedded_default_builds_external_links_on_port_from_the_environment(tmp_path):
    """The configuration is read at import: a fresh interpreter with PORT set, as ``make run`` has."""
    import os
    import subprocess
    import sys

    environment = {**os.environ, "PORT": "8765", "INSTANCE_PATH": str(tmp_path)}
    for name in ("HOST", "SERVER_NAME", "SUBVENTIA_CONFIG", "DATABASE_URL"):
        environment.pop(name, None)
    script = ("from flask import url_for\nfrom grants import create_app\napp = create_app('development')\n"
              "with app.app_context():\n    print(url_for('home.index', _external=True))")
    result = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "http://127.0.0.1:8765/"
