"""Reminders through faults, on the real stack: Celery worker processes and two beat processes (by
mistake) on a Redis server of this test's own (its own port, no persistence), an SMTP server on
loopback (aiosmtpd), the real PostgreSQL test database. Beat scans every second; the workers deliver
by batches of 10 at 20 messages a second each, so that every fault lands mid-batch:

- a worker killed with SIGKILL: its batch is taken over once its 3-second lease expires;
- the Redis server killed (SIGKILL) and started again empty: the lost task messages are replaced by
  the sweeper from the rows still pending;
- the workers' PostgreSQL connections terminated again and again (``pg_terminate_backend``).

After each, every due reminder has arrived. A message may arrive twice only if the server had accepted
it and its outcome was not yet committed when its worker was killed: those are counted at the kill
(``in_window``) and the duplicates must be among them; the other faults must send nothing twice.
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from grants.database import db, utcnow
from grants.models import CallState, Notification, NotificationStatus
from tests.conftest import require_service
from tests.factories import ApplicationFactory, CallFactory, IndividualApplicantFactory, UserFactory
from tests.notifications.conftest import received, wait_for
from tests.notifications.smtp import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REMINDERS = 60
WORKER_NAME = "subventia-fault-worker"
# A ceiling, not a speed goal: three processes import the app before the first message, which takes
# over a minute on two CPUs shared with the rest of the suite.
DELIVERY_WAIT = 180


@pytest.fixture
def app_overrides(real_stack_overrides):
    return real_stack_overrides


class OwnRedis:
    """A redis-server process on a free port, without persistence: a restart loses every message."""

    def __init__(self, tmp_path):
        self.port, self.tmp_path, self.process = free_port(), tmp_path, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port)
        assert wait_for(lambda: _pings(client), timeout=10), "redis-server did not start"
        client.close()

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _pings(client) -> bool:
    import redis

    try:
        return client.ping()
    except redis.ConnectionError:
        return False


@pytest.fixture
def own_redis(tmp_path, redis_url):
    if not shutil.which(REDIS_SERVER):
        require_service("redis-server", f"{REDIS_SERVER} not found: the test restarts a Redis of its own")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stack(pg_app, celery, own_redis):
    """Reminders due for REMINDERS draft holders; env for processes on the own Redis, fast settings."""
    call = CallFactory(state=CallState.OPEN, opens_at=utcnow() - timedelta(days=20),
                       closes_at=utcnow() + timedelta(hours=36), reminder_offsets_days=[7, 2])
    for i in range(REMINDERS):
        holder = UserFactory(email=f"porteur{i}@asso.example")
        ApplicationFactory(call=call, applicant=IndividualApplicantFactory(person=holder), created_by=holder)
    db.session.commit()
    url = sa.engine.make_url(pg_app.config["SQLALCHEMY_DATABASE_URI"])
    celery.env.update({
        "REDIS_URL": own_redis.url,
        "DATABASE_URL": url.update_query_dict({"application_name": WORKER_NAME}).render_as_string(hide_password=False),
        "NOTIFICATION_SCAN_SECONDS": "1", "NOTIFICATION_MORNING_HOUR": "0", "NOTIFICATION_BATCH_SIZE": "10",
        "NOTIFICATION_SEND_RATE": "20", "NOTIFICATION_SENDING_LEASE_SECONDS": "3",
        "NOTIFICATION_SWEEP_AFTER_SECONDS": "2", "NOTIFICATION_RETRY_BASE_SECONDS": "1",
        "CELERY_VISIBILITY_TIMEOUT": "30", "CELERY_UNACKED_RESTORE_INTERVAL": "1",
    })
    return celery


def arrivals(handler) -> collections.Counter:
    """How many times each notification id reached the SMTP server."""
    return collections.Counter(int(m["X-Subventia-Notification"]) for m in received(handler))


def sent_ids() -> set[int]:
    db.session.rollback()
    return set(db.session.scalars(db.select(Notification.id).where(Notification.status == NotificationStatus.SENT)))


def all_delivered(handler) -> bool:
    return len(arrivals(handler)) >= REMINDERS and len(sent_ids()) >= REMINDERS


def check_every_reminder_arrived(handler, processes):
    assert wait_for(lambda: all_delivered(handler), timeout=DELIVERY_WAIT), f"reminders missing:\n{processes.logs()}"
    time.sleep(3)  # beats keep scanning, the sweeper keeps sweeping: still nothing more
    db.session.rollback()
    rows = db.session.scalars(db.select(Notification)).all()
    assert len(rows) == REMINDERS and {r.status for r in rows} == {NotificationStatus.SENT}
    recipients = sorted(r for e in handler.messages for r in e.rcpt_tos)
    assert sorted(set(recipients)) == sorted(f"porteur{i}@asso.example" for i in range(REMINDERS))
    return {notification_id: count for notification_id, count in arrivals(handler).items() if count > 1}


def start_two_beats_and_a_worker(stack, before_the_beats=None):
    """The worker, then (``before_the_beats``, to arm a fault before any reminder can be scanned: on a
    loaded machine a beat takes seconds to start, the worker delivers 60 messages in three) two beats."""
    worker = stack.start("worker", name="worker1")
    if before_the_beats is not None:
        before_the_beats(worker)
    stack.start("beat", name="beat1")
    stack.start("beat", name="beat2")
    return worker


def at_message(handler, number, fault):
    """Run ``fault`` in the SMTP server as it takes message ``number``, before it answers "250 OK":
    the fault lands mid-batch however busy the machine is."""
    def on_message(envelope):
        if len(handler.messages) == number:
            fault()
    handler.on_message = on_message


def test_a_worker_killed_mid_batch(pg_app, stack, smtp_server):
    _, handler = smtp_server
    doomed = start_two_beats_and_a_worker(
        stack, lambda worker: at_message(handler, 15, lambda: worker.send_signal(signal.SIGKILL)))
    assert wait_for(lambda: doomed.poll() is not None, timeout=DELIVERY_WAIT), f"no delivery:\n{stack.logs()}"
    # Accepted by the server but not recorded sent: the only ones that may arrive twice.
    in_window = set(arrivals(handler)) - sent_ids()
    assert len(arrivals(handler)) < REMINDERS, "the kill came too late to land mid-run"
    stack.start("worker", name="worker2")
    duplicates = check_every_reminder_arrived(handler, stack)
    print(f"worker SIGKILL: {len(in_window)} accepted but not yet recorded at the kill, "
          f"{len(duplicates)} sent twice")
    assert set(duplicates) <= in_window


def test_the_redis_server_killed_and_restarted_empty(pg_app, stack, smtp_server, own_redis):
    _, handler = smtp_server
    redis_process = own_redis.process
    at_message(handler, 15, lambda: redis_process.send_signal(signal.SIGKILL))
    start_two_beats_and_a_worker(stack)
    assert wait_for(lambda: redis_process.poll() is not None, timeout=DELIVERY_WAIT), f"no delivery:\n{stack.logs()}"
    time.sleep(1)
    own_redis.start()
    assert len(arrivals(handler)) < REMINDERS, "the restart came too late to land mid-run"
    duplicates = check_every_reminder_arrived(handler, stack)
    print(f"redis SIGKILL and restart: {len(duplicates)} sent twice")
    assert duplicates == {}


def test_the_workers_database_connections_terminated_mid_batch(pg_app, stack, smtp_server):
    _, handler = smtp_server
    stack.env["NOTIFICATION_SEND_RATE"] = "10"  # six seconds of delivery to terminate connections in
    start_two_beats_and_a_worker(stack)
    assert wait_for(lambda: len(handler.messages) >= 3, timeout=DELIVERY_WAIT), f"no delivery:\n{stack.logs()}"
    terminated = 0  # while the run is under way: before the last reminder reached the server
    admin = sa.create_engine(pg_app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            while len(arrivals(handler)) < REMINDERS:
                terminated += len(connection.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"
                ), {"name": WORKER_NAME}).all())
                time.sleep(0.2)
    finally:
        admin.dispose()
    print(f"pg_terminate_backend: {terminated} of the worker's connections terminated mid-run")
    assert terminated >= 4, "the terminations came too late to land mid-run"
    duplicates = check_every_reminder_arrived(handler, stack)
    rewritten = sum(process.log.read_text(errors="replace").count("writing again") for process in stack.started)
    print(f"pg_terminate_backend: {rewritten} writes retried on a new connection, {len(duplicates)} sent twice")
    assert duplicates == {}
