"""The final report's reminders, run by beat (worker.beat_schedule: ``final-report-reminders``)."""

from __future__ import annotations

from celery import shared_task

from grants.database import db
from grants.final_reports.services import queue_report_reminders


@shared_task(ignore_result=True)
def send_final_report_reminders() -> int:
    queued = queue_report_reminders()
    db.session.commit()
    return queued
