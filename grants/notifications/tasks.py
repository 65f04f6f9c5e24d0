"""The periodic scans (worker.beat_schedule) that queue reminders and digests: each commits what it
queued, and delivery (grants.outbox.tasks) follows the commit."""

from __future__ import annotations

from celery import shared_task

from grants.database import db
from grants.notifications import reminders


@shared_task(ignore_result=True)
def send_deadline_reminders() -> int:
    total = 0
    for queued in reminders.deadline_reminder_batches():
        db.session.commit()  # batch by batch: deliveries of the first start while the scan goes on
        total += queued
    return total


@shared_task(ignore_result=True)
def send_review_reminders() -> int:
    queued = reminders.queue_review_reminders()
    db.session.commit()
    return queued


@shared_task(ignore_result=True)
def send_manager_digests() -> int:
    queued = reminders.queue_manager_digests()
    db.session.commit()
    return queued
