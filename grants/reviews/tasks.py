"""The refresh of a call's stored ranking (grants/reviews/ranking.py), by a Celery worker (in-process on
the embedded default): queued after the commit of any change the ranking reads, and by the sweeper for
what a lost message left stale."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from flask import current_app

from grants.database import db, utcnow
from grants.reviews import ranking


@shared_task(ignore_result=True)
def refresh_call_ranking(call_id: int) -> bool:
    """Refresh the call's stored ranking if it is stale, in one transaction. Coalesced: of the refreshes
    a burst of submissions queued, the first computes everything committed so far and the others find
    the ranking current and do nothing."""
    try:
        written = ranking.refresh_ranking(call_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return written


@shared_task(ignore_result=True)
def refresh_stale_rankings() -> int:
    """Queue the refresh of every ranking stale for longer than RANKING_SWEEP_AFTER_SECONDS (its message
    lost with a broker outage, or a database just migrated to the stored ranking)."""
    after = timedelta(seconds=current_app.config.get("RANKING_SWEEP_AFTER_SECONDS", 60))
    call_ids = ranking.stale_calls(utcnow() - after)
    ranking.queue_refresh(call_ids)
    return len(call_ids)
