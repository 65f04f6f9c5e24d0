"""The embedded default in one process: the web app, and the beat schedule run by a thread.

``python -m worker.embedded`` serves http://127.0.0.1:5000 on SQLite with no Redis: tasks queued
by requests run in-process after commit (Celery's eager mode, see DevelopmentConfig), and the
periodic tasks of the app's beat schedule (:func:`worker.beat_schedule`) run on their schedule in a daemon thread, so calls
still open and close by themselves, reminders and digests are still queued, and pending
notifications are still swept. Mail is written to ``instance/outbox/`` as .eml files (the log says
where each one went).

Why in-process rather than a worker on a SQLite-backed Kombu transport: one command, one process,
no second program to start or forget, and no second SQLite writer competing for the database lock;
the same task code runs, only the transport differs. What it cannot show (a worker killed mid-task,
two workers) is shown by the tests on Redis.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime, timedelta

from celery.schedules import schedule as every

from grants import create_app

log = logging.getLogger("subventia.embedded")


def run_beat_schedule(app, stop: threading.Event) -> None:
    celery_app = app.extensions["celery"]
    celery_app.loader.import_default_modules()  # the modules listed in celery_app.conf.include
    entries = celery_app.conf.beat_schedule
    schedules = {
        name: entry["schedule"] if hasattr(entry["schedule"], "is_due") else every(timedelta(seconds=entry["schedule"]))
        for name, entry in entries.items()
    }
    last_run = {name: datetime.now(UTC) for name in schedules}
    while not stop.is_set():
        wait = 60.0
        for name, schedule in schedules.items():
            due, next_check = schedule.is_due(last_run[name])
            if due:
                last_run[name] = datetime.now(UTC)
                try:
                    celery_app.tasks[entries[name]["task"]].apply()
                except Exception:  # one failing task must not stop the schedule
                    log.exception("periodic task %s failed", name)
            wait = min(wait, max(next_check, 1.0))
        stop.wait(wait)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app(os.environ.get("SUBVENTIA_CONFIG", "development"))
    if app.config["MAIL_BACKEND"].startswith("grants.outbox.eml_files"):
        log.info("emails are written to %s as .eml files (open them with any mail reader)",
                 app.config["MAIL_OUTBOX_DIR"])
    stop = threading.Event()
    threading.Thread(target=run_beat_schedule, args=(app, stop), daemon=True, name="beat").start()
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", 5000))
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
