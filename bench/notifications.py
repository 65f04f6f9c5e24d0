"""Benchmark: 100,000 due deadline reminders delivered by a Celery worker to a local SMTP sink.

    .venv/bin/python -m bench.notifications [--count 100000] [--concurrency 2]

Creates a throw-away PostgreSQL database (dropped at the end) with one open call closing in 36 hours
and ``--count`` draft applications of individual applicants, so the scan finds ``--count`` reminders
due. Then, in the same run, against the same sink (aiosmtpd on loopback, discarding what it gets):

1. raw ``smtplib``: the same rendered message sent ``--count`` times over one connection, then over a
   new connection per message (what the worker does, through Flask-Mailman);
2. one ``celery worker`` with the settings the README recommends (``--concurrency`` = the CPUs,
   prefork; production configuration: PostgreSQL, Redis) runs the scan task and delivers every
   reminder through the outbox (batches of ``NOTIFICATION_BATCH_SIZE``: claim, send over one SMTP
   connection, record the outcomes).

Reports emails per second for each, the scan's time, the time to drain, each worker process's peak
memory (VmHWM from /proc) and the load average (the machine is shared), and writes them into
bench/RESULTS.md between the ``notifications:results`` markers. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import smtplib
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
BATCH_SIZE = 100  # NOTIFICATION_BATCH_SIZE, the default
RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- notifications:results:start -->", "<!-- notifications:results:end -->"


class CountingSink:
    """An SMTP server that accepts and discards every message, counting them."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
        return "250 OK"


def bench_config(url: str, redis_url: str, queue: str, port: int, tmp: Path):
    from config import ProductionConfig

    return type("BenchConfig", (ProductionConfig,), {
        "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url, "SERVER_NAME": "subventia.bench",
        "REQUIRED_ENVIRONMENT": (), "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "UPLOAD_FOLDER": str(tmp),
        "CELERY": {**ProductionConfig.CELERY, "broker_url": redis_url, "task_default_queue": queue},
    })


def seed(app, count: int) -> None:
    """One open call closing in 36 hours (reminder at J-2) and ``count`` drafts of individual applicants."""
    from grants.database import db, utcnow
    from grants.models import Applicant, Application, Call, Programme, User

    now = utcnow()
    with app.app_context():
        programme = Programme(code="bench", name="Banc d'essai")
        db.session.add(programme)
        db.session.flush()
        call = Call(programme_id=programme.id, year=now.year, title="Appel du banc d'essai", slug="banc",
                    reference_prefix="BANC", opens_at=now - timedelta(days=30), closes_at=now + timedelta(hours=36),
                    state="open", min_grant=Decimal("1000.00"), max_grant=Decimal("20000.00"),
                    reminder_offsets_days=[7, 2])
        db.session.add(call)
        db.session.flush()
        for start in range(0, count, 5000):
            size = min(5000, count - start)
            users = db.session.scalars(sa.insert(User).returning(User.id), [
                {"email": f"porteur{start + i}@bench.example", "password_hash": "x", "full_name": f"Porteur {start + i}",
                 "locale": "fr" if i % 4 else "en"} for i in range(size)]).all()
            applicants = db.session.scalars(sa.insert(Applicant).returning(Applicant.id), [
                {"kind": "individual", "person_id": user_id} for user_id in users]).all()
            db.session.execute(sa.insert(Application), [
                {"call_id": call.id, "applicant_id": applicant_id, "created_by_id": user_id, "state": "draft",
                 "title": f"Projet {start + i}"} for i, (applicant_id, user_id) in enumerate(zip(applicants, users, strict=True))])
        db.session.commit()


def sample_message(app) -> tuple[str, bytes]:
    """One reminder rendered and built exactly as the worker builds it."""
    from grants.database import db
    from grants.models import Application
    from grants.outbox.services import render_notification
    from grants.outbox.tasks import email_message

    with app.app_context():
        application = db.session.scalars(db.select(Application).limit(1)).one()
        user = application.applicant.person
        row = render_notification("deadline_reminder", user, user=user, application=application,
                                  call=application.call, days_left=2)
        row.id = 0
        return user.email, email_message(row).message().as_bytes(linesep="\r\n")


def raw_smtplib(port: int, recipient: str, message: bytes, count: int, *, reuse: bool) -> float:
    started = time.perf_counter()
    if reuse:
        with smtplib.SMTP("127.0.0.1", port) as connection:
            for _ in range(count):
                connection.sendmail("no-reply@subventia.localhost", [recipient], message)
    else:
        for _ in range(count):
            with smtplib.SMTP("127.0.0.1", port) as connection:
                connection.sendmail("no-reply@subventia.localhost", [recipient], message)
    return count / (time.perf_counter() - started)


def peak_memory_kib(pid: int) -> int:
    match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) if match else 0


def process_tree(pid: int) -> list[int]:
    """The worker's main process and its pool children."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [pid, *(int(child) for child in children.read_text().split())] if children.exists() else [pid]


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def run_worker(app, env: dict, count: int, sink: CountingSink, log: Path, concurrency: int) -> dict:
    from grants.database import db
    from grants.models import Notification, NotificationStatus

    with log.open("wb") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.app", "worker", f"--concurrency={concurrency}",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        time.sleep(4)  # let it connect before the clock starts
        before = sink.count
        started = time.perf_counter()
        app.extensions["celery"].send_task("grants.notifications.tasks.send_deadline_reminders")
        queued_at = None
        with app.app_context():
            while True:
                time.sleep(0.5)
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker exited:\n{log.read_text()[-3000:]}")
                rows = db.session.scalar(db.select(sa.func.count(Notification.id)))
                if queued_at is None and rows >= count:
                    queued_at = time.perf_counter()
                sent = db.session.scalar(db.select(sa.func.count(Notification.id)).where(
                    Notification.status == NotificationStatus.SENT))
                db.session.rollback()
                if sent >= count and sink.count - before >= count:
                    break
        elapsed = time.perf_counter() - started
        peaks = [peak_memory_kib(pid) for pid in process_tree(worker.pid)]
    finally:
        worker.terminate()
        worker.wait(30)
    return {"seconds": elapsed, "scan_seconds": (queued_at or started) - started, "rate": count / elapsed,
            "peaks_kib": peaks, "received": sink.count - before,
            "drain_seconds": elapsed - ((queued_at or started) - started)}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 1024 ** 2
    return f"{os.cpu_count()} CPUs (`nproc`), {cpu}, {memory:.1f} GiB RAM; Python {platform.python_version()}"


def write_results(text: str) -> None:
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{START}\n\n{text}\n{END}"
    if START in current and END in current:
        current = current[:current.index(START)] + block + current[current.index(END) + len(END):]
    else:
        current = current.rstrip() + "\n\n## Notifications\n\n" + block + "\n"
    RESULTS.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100000)
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2, help="worker processes (prefork)")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--no-write", action="store_true", help="print the results without writing RESULTS.md")
    arguments = parser.parse_args()

    from flask_migrate import upgrade

    from grants import create_app

    sink = CountingSink()
    with socket.socket() as probe:  # aiosmtpd checks it is up on a real port number
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    admin = sa.create_engine(arguments.postgres_url, isolation_level="AUTOCOMMIT")
    name = f"subventia_bench_notifications_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(arguments.postgres_url).set(database=name).render_as_string(hide_password=False)
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    tmp = ROOT / "instance" / "bench-notifications"
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        app = create_app(bench_config(url, arguments.redis_url, queue, port, tmp))
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision="heads")
        print(f"seeding {arguments.count} drafts …", flush=True)
        seed(app, arguments.count)
        recipient, message = sample_message(app)
        print("raw smtplib …", flush=True)
        reused = raw_smtplib(port, recipient, message, arguments.count, reuse=True)
        per_message_count = min(arguments.count, 5000)  # a sample: the rate, not the whole run
        per_message = raw_smtplib(port, recipient, message, per_message_count, reuse=False)
        print("worker …", flush=True)
        env = {**os.environ, "SUBVENTIA_CONFIG": "production", "SECRET_KEY": "bench", "DATABASE_URL": url,
               "REDIS_URL": arguments.redis_url, "CELERY_QUEUE": queue, "SERVER_NAME": "subventia.bench",
               "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port), "NOTIFICATION_MORNING_HOUR": "0",
               "NOTIFICATION_BATCH_SIZE": str(BATCH_SIZE),
               "INSTANCE_PATH": str(tmp), "GRANTOR_NAME": "Région du banc d'essai",
               "GRANTOR_SIRET": "20005376700014"}
        load_before = load_average()
        worker = run_worker(app, env, arguments.count, sink, tmp / "worker.log", arguments.concurrency)
        load_after = load_average()
        # Again after the worker: the machine is shared, and its load changes within one run.
        reused_after = raw_smtplib(port, recipient, message, min(arguments.count, 20000), reuse=True)
    finally:
        controller.stop()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    text = "\n".join([
        f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}. PostgreSQL, Redis, the worker, "
        "the SMTP sink and this script share these CPUs, and so did other engineers' test runs: load average "
        f"(1 / 5 / 15 min) {load_before} before the worker's run, {load_after} after it.",
        "",
        "Command: `.venv/bin/python -m bench.notifications"
        + (f" --count {arguments.count}" if arguments.count != 100000 else "")
        + (f" --concurrency {arguments.concurrency}" if arguments.concurrency != (os.cpu_count() or 2) else "") + "`",
        "",
        f"{arguments.count:,} deadline reminders due (one open call, {arguments.count:,} drafts of individual applicants, "
        f"a quarter of them in English), {len(message):,}-byte messages (text + HTML), delivered to an aiosmtpd sink "
        "on loopback that discards them.",
        "",
        "| sender | emails/s | time for all (s) |",
        "| --- | ---: | ---: |",
        f"| raw `smtplib`, one connection for all (before the worker) | {reused:,.0f} | {arguments.count / reused:,.1f} |",
        f"| raw `smtplib`, one connection for all (after the worker, rate over {min(arguments.count, 20000):,} messages) "
        f"| {reused_after:,.0f} | {arguments.count / reused_after:,.1f} |",
        f"| raw `smtplib`, one connection per message (rate over {per_message_count:,} messages) | {per_message:,.0f} "
        f"| {arguments.count / per_message:,.1f} |",
        f"| `celery worker --concurrency={arguments.concurrency}`: scan + outbox delivery by batches of "
        f"{BATCH_SIZE} (claim, send, record), end to end | {worker['rate']:,.0f} | {worker['seconds']:,.1f} |",
        "",
        f"End to end the worker ran at **{worker['rate'] / reused:.0%} / {worker['rate'] / reused_after:.0%} of raw "
        "`smtplib` on one connection** (measured before / after it). "
        f"The scan had written all {arguments.count:,} outbox rows after **{worker['scan_seconds']:,.1f} s** "
        f"(it commits by batches of 500, so delivery starts with the first batch); the queue drained "
        f"{worker['drain_seconds']:,.1f} s after that. The sink received {worker['received']:,} messages: each reminder "
        "once. Peak memory (VmHWM) per worker process (main, then pool children): "
        + ", ".join(f"{kib / 1024:,.0f} MiB" for kib in worker["peaks_kib"]) + ".",
        "",
    ])
    print(text)
    if not arguments.no_write:
        write_results(text)


if __name__ == "__main__":
    main()
