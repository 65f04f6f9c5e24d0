"""The Celery app, bound to the Flask app as in Flask's documentation (patterns/celery): every task
runs inside an application context, so it uses the same configuration and database session rules
as a request. Start a worker with ``celery -A worker.app worker`` and the scheduler with
``celery -A worker.app beat`` — exactly one beat process: two would fire every periodic task twice
(harmless for the scans, whose rows are keyed, but wasted work).
"""

from __future__ import annotations

from celery import Celery, Task
from celery.schedules import crontab
from flask import Flask


def beat_schedule(scan_seconds: float, sweep_seconds: float = 3600, notification_sweep_seconds: float = 60.0) -> dict:
    """The periodic tasks. Scans look at what is due now (Europe/Paris days); nothing is scheduled
    weeks ahead per application, so a changed deadline or a missed run needs no rescheduling."""
    scan = float(scan_seconds)
    return {
        # Outbox rows left pending (broker down at commit time, worker crash) are sent again.
        "requeue-stale-notifications": {
            "task": "grants.outbox.tasks.requeue_stale_notifications",
            "schedule": float(notification_sweep_seconds),
        },
        # Calls open and close by themselves; the server enforces closes_at on every submission anyway.
        "open-and-close-calls": {
            "task": "grants.calls.tasks.open_and_close_due_calls",
            "schedule": crontab(minute="*"),
        },
        # Deadline reminders (J-7, J-1… per call), reviews due soon or overdue, the managers' daily
        # digest (from 08:00 Paris, once a day): each scan queues what is due and not yet queued.
        "deadline-reminders": {"task": "grants.notifications.tasks.send_deadline_reminders", "schedule": scan},
        "review-reminders": {"task": "grants.notifications.tasks.send_review_reminders", "schedule": scan},
        "manager-digests": {"task": "grants.notifications.tasks.send_manager_digests", "schedule": scan},
        # Stored files that no row names, older than STORAGE_ORPHAN_GRACE_SECONDS (an upload killed
        # between its file and its row), and unfinished writes (grants/stored_files.py).
        "sweep-stored-files": {"task": "grants.stored_files.sweep_stored_files", "schedule": float(sweep_seconds)},
        # The committee's ZIPs past their expiry lose their row (then their file, at the next sweep).
        "expire-attachment-bundles": {"task": "grants.applications.bundles.expire_bundles", "schedule": 3600.0},
        # Personal data past their retention (grants/privacy/retention.py), every night at 03:17 Paris
        # (off the hour, when nobody works); exports left pending by a broker outage, every 10 minutes.
        "privacy-retention": {"task": "grants.privacy.tasks.apply_retention", "schedule": crontab(hour=3, minute=17)},
        "requeue-pending-exports": {"task": "grants.privacy.tasks.requeue_pending_exports", "schedule": 600.0},
        # Stored rankings left stale (a refresh lost with its message, a database just migrated).
        "refresh-stale-rankings": {"task": "grants.reviews.tasks.refresh_stale_rankings", "schedule": 60.0},
        # Final reports (compte rendu financier): a reminder before the due date and one when overdue.
        "final-report-reminders": {"task": "grants.final_reports.tasks.send_final_report_reminders",
                                   "schedule": scan},
    }


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.conf.beat_schedule = beat_schedule(app.config["NOTIFICATION_SCAN_SECONDS"],
                                                app.config["STORAGE_SWEEP_SECONDS"],
                                                app.config["NOTIFICATION_SWEEP_AFTER_SECONDS"])
    celery_app.conf.include = ["grants.outbox.tasks", "grants.notifications.tasks", "grants.calls.tasks",
                               "grants.stored_files", "grants.applications.bundles", "grants.privacy.tasks",
                               "grants.final_reports.tasks", "grants.reviews.tasks"]
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
