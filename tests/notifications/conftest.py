"""The real stack for the worker tests (test_worker*.py): a Celery worker (and beat) on the real Redis
broker, delivering to a real SMTP server on loopback (aiosmtpd), on the real PostgreSQL test database.

Nothing here applies by itself: a module opts in by asking for ``worker`` or ``celery`` and by setting
its ``app_overrides`` to ``real_stack_overrides``. The Redis database is one of their own
(``TEST_NOTIFICATIONS_REDIS_DB``, default 14) and the queue name is new for each test, so that nothing
else on the test Redis hands their messages out or takes them.
"""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

from tests.notifications.smtp import ScriptedSMTPHandler, start_smtp_server

ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = int(os.environ.get("TEST_NOTIFICATIONS_REDIS_DB", 14))


@pytest.fixture
def smtp_server():
    handler = ScriptedSMTPHandler()
    controller = start_smtp_server(handler)
    yield controller, handler
    if handler.release is not None:
        controller.loop.call_soon_threadsafe(handler.release.set)
    controller.stop()


@pytest.fixture
def broker_url(redis_url):
    url = f"{redis_url.rsplit('/', 1)[0]}/{REDIS_DB}"
    yield url
    redis.Redis.from_url(url).close()


@pytest.fixture
def queue_name(broker_url):
    name = f"subventia-test-{uuid.uuid4().hex[:8]}"
    yield name
    with redis.Redis.from_url(broker_url) as client:
        client.delete(name)


@pytest.fixture
def real_stack_overrides(broker_url, smtp_server, queue_name):
    """The app's configuration for these tests: tasks go to the broker, mail to the SMTP server."""
    controller, _ = smtp_server
    from config import Config

    return {
        "TASKS_RUN_IN_PROCESS": False,
        "CELERY": {**Config.CELERY, "broker_url": broker_url, "task_default_queue": queue_name},
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": controller.port,
    }


class Processes:
    """Celery processes started for one test, stopped at its end (SIGKILL where the test says)."""

    def __init__(self, env, tmp_path):
        self.env, self.tmp_path, self.started = env, tmp_path, []

    def start(self, kind="worker", name=None, **env):
        name = name or f"{kind}{len(self.started) + 1}"
        log = self.tmp_path / f"{name}.log"
        if kind == "worker":
            arguments = ["worker", "--pool=solo", "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
                         "--without-heartbeat", "-l", "INFO"]
            ready = "ready"
        else:
            arguments = ["beat", "-s", str(self.tmp_path / f"{name}-schedule"), "-l", "INFO"]
            ready = "beat: Starting"
        with log.open("wb") as output:
            process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "worker.app", *arguments], cwd=ROOT,
                                       env={**self.env, **env}, stdout=output, stderr=subprocess.STDOUT)
        self.started.append(process)
        process.log = log
        deadline = time.monotonic() + 60
        while ready not in log.read_text() and time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"{name} exited: {log.read_text()[-3000:]}")
            time.sleep(0.2)
        return process

    def logs(self) -> str:
        return "\n".join(f"--- {p.args[5]}:\n{p.log.read_text()[-2500:]}" for p in self.started)

    def stop(self):
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def celery(pg_app, broker_url, smtp_server, queue_name, tmp_path):
    controller, _ = smtp_server
    env = {
        **os.environ,
        "SUBVENTIA_CONFIG": "production",
        "SECRET_KEY": "worker-test",
        "GRANTOR_NAME": "Région test",
        "GRANTOR_SIRET": "20005376700014",
        "DATABASE_URL": pg_app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": broker_url,
        "CELERY_QUEUE": queue_name,
        "SERVER_NAME": "subventia.test",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(controller.port),
        "NOTIFICATION_RETRY_BASE_SECONDS": "1",
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    processes = Processes(env, tmp_path)
    yield processes
    processes.stop()


@pytest.fixture
def worker(celery):
    return celery.start()


def wait_for(condition, timeout=45.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def received(handler):
    return [email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            for envelope in handler.messages]
