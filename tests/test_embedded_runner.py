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
            db.session.expire_all()
            if db.session.get(type(ended), ended.id).state == CallState.CLOSED:
                break
            stop.wait(0.1)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert db.session.get(type(ended), ended.id).state == CallState.CLOSED
    assert not thread.is_alive()
    assert "open-and-close-calls" in worker.beat_schedule(300)
