"""Through the real stack: a Celery worker process on the real Redis broker, delivering to a real
SMTP server on loopback (aiosmtpd), reading and writing the real PostgreSQL test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from grants.database import db
from grants.models import Notification, NotificationStatus
from grants.notifications.services import queue_email
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


class FlakySMTPHandler:
    """Accepts mail, after refusing the first ``failures`` messages with a temporary error."""

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        if self.failures > 0:
            self.failures -= 1
            return "451 4.3.0 Try again later"
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    handler = FlakySMTPHandler()
    with socket.socket() as probe:  # aiosmtpd needs a real port number to check it is up
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, handler
    controller.stop()


@pytest.fixture
def queue_name():
    return f"subventia-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def app_overrides(redis_url, smtp_server, queue_name):
    controller, _ = smtp_server
    from config import Config

    return {
        "TASKS_RUN_IN_PROCESS": False,
        "CELERY": {**Config.CELERY, "broker_url": redis_url, "task_default_queue": queue_name},
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": controller.port,
    }


@pytest.fixture
def worker(pg_app, redis_url, smtp_server, queue_name, tmp_path):
    controller, _ = smtp_server
    env = {
        **os.environ,
        "SUBVENTIA_CONFIG": "production",
        "SECRET_KEY": "worker-test",
        "DATABASE_URL": pg_app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": queue_name,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(controller.port),
        "NOTIFICATION_RETRY_BASE_SECONDS": "1",
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.app", "worker", "--pool=solo",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while "ready" not in log.read_text() and time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the worker exited: {log.read_text()[-3000:]}")
        time.sleep(0.2)
    yield process, log
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_for(condition, timeout=45.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def notification_status(notification_id):
    db.session.expire_all()
    return db.session.get(Notification, notification_id).status


def test_a_real_worker_delivers_after_commit(pg_app, worker, smtp_server):
    _, handler = smtp_server
    user = UserFactory(email="tresoriere@asso.example")
    notification = queue_email("password_reset", user, reset_url="https://x/mot-de-passe/t", user=user)
    db.session.commit()
    _, log = worker
    assert wait_for(lambda: handler.messages), f"no mail delivered; worker log:\n{log.read_text()[-3000:]}"
    assert handler.messages[0].rcpt_tos == ["tresoriere@asso.example"]
    assert wait_for(lambda: notification_status(notification.id) == NotificationStatus.SENT)
    time.sleep(1)
    assert len(handler.messages) == 1


def test_a_temporary_smtp_failure_is_retried_by_the_worker(pg_app, worker, smtp_server):
    _, handler = smtp_server
    handler.failures = 1
    user = UserFactory()
    notification = queue_email("password_reset", user, reset_url="https://x/mot-de-passe/t", user=user)
    db.session.commit()
    _, log = worker
    assert wait_for(lambda: handler.messages), f"not retried; worker log:\n{log.read_text()[-3000:]}"
    assert wait_for(lambda: notification_status(notification.id) == NotificationStatus.SENT)
    assert db.session.get(Notification, notification.id).attempts == 2
