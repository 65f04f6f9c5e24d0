"""Scheduled lifecycle of calls: scheduled calls open at opens_at, open calls close at closes_at."""

from __future__ import annotations

from celery import shared_task

from grants.calls.services import open_and_close_due_calls as run_due_transitions
from grants.database import db


@shared_task(ignore_result=True)
def open_and_close_due_calls() -> dict:
    changed = run_due_transitions()
    db.session.commit()
    return changed
