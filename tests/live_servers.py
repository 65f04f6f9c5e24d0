"""Real processes and servers on loopback, for the tests that go through the real stack: gunicorn
serving the app, a Celery worker on Redis, and an SMTP server (aiosmtpd) that keeps what it receives.

Each starter is a context manager that waits until its process answers (or fails the test with the
end of its log) and stops the process on exit.
"""

from __future__ import annotations

import http.client
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"


def production_environment(database_url: str, redis_url: str, instance: Path, **settings: str) -> dict:
    """The environment of README's production set-up (PostgreSQL, Redis), plus ``settings``."""
    return {
        **os.environ,
        "SUBVENTIA_CONFIG": "production",
        "SECRET_KEY": "production-test-secret",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": str(instance),
        "GRANTOR_NAME": "Région test",
        "GRANTOR_SIRET": "20005376700014",
        **settings,
    }


@contextmanager
def gunicorn_server(env: dict, log: Path, workers: int = 2, timeout: float = 60, port: int | None = None,
                    config: str | None = None) -> Iterator[str]:
    """gunicorn serving ``wsgi:app`` on loopback (on a free port by default), with the settings file
    ``config`` if given; yields its base URL."""
    port = port or free_port()
    settings = ["-c", config] if config else []
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *settings, "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
             "wsgi:app"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited: {log_tail(log)}")
            try:
                urllib.request.urlopen(base + "/", timeout=10)
                break
            except urllib.error.HTTPError:  # it answers, even if not with a 200
                break
            except (urllib.error.URLError, OSError):  # not listening yet, or workers still loading
                time.sleep(0.2)
        else:
            pytest.fail(f"gunicorn did not answer within {timeout:.0f} s: {log_tail(log)}")
        yield base
    finally:
        stop(process)


@contextmanager
def celery_worker(env: dict, log: Path, timeout: float = 60) -> Iterator[subprocess.Popen]:
    """A Celery worker process (solo pool) for ``worker.app``, once it says it is ready."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.app", "worker", "--pool=solo",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while "ready" not in log.read_text(errors="replace"):
            if process.poll() is not None:
                pytest.fail(f"the worker exited: {log_tail(log)}")
            if time.monotonic() > deadline:
                pytest.fail(f"the worker was not ready within {timeout:.0f} s: {log_tail(log)}")
            time.sleep(0.2)
        yield process
    finally:
        stop(process)


class ForwardingProxy(http.server.ThreadingHTTPServer):
    """A reverse proxy on loopback, as nginx is in front of gunicorn in production: it passes each
    request to ``backend`` and appends the client's address to X-Forwarded-For, like
    ``proxy_add_x_forwarded_for``. Clients bound to 127.0.0.2, 127.0.0.3 … are distinct users."""

    daemon_threads = True

    def __init__(self, backend: str):
        self.backend = urllib.parse.urlsplit(backend)
        super().__init__(("127.0.0.1", 0), ForwardingHandler)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ForwardingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name: value for name, value in self.headers.items() if name.lower() not in ("connection", "host")}
        forwarded = self.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{forwarded}, {self.client_address[0]}" if forwarded else self.client_address[0]
        headers["X-Forwarded-Proto"] = "http"
        backend = self.server.backend
        connection = http.client.HTTPConnection(backend.hostname, backend.port, timeout=30)
        try:
            connection.request(self.command, self.path, body=body or None, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
        finally:
            connection.close()
        self.send_response_only(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = forward

    def log_message(self, format, *args):  # quiet: the test reads answers, not logs
        pass


@contextmanager
def forwarding_proxy(backend: str) -> Iterator[str]:
    """A ForwardingProxy to ``backend`` in a thread; yields its base URL."""
    proxy = ForwardingProxy(backend)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy.base_url
    finally:
        proxy.shutdown()
        proxy.server_close()


class RecordingSMTPHandler:
    """Keeps every message it accepts, after refusing the first ``failures`` with a temporary error."""

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        if self.failures > 0:
            self.failures -= 1
            return "451 4.3.0 Try again later"
        self.messages.append(envelope)
        return "250 OK"


@contextmanager
def smtp_server(handler) -> Iterator[Controller]:
    """aiosmtpd on a free loopback port (it needs a real port number to check that it is up)."""
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def wait_for(condition, timeout: float = 45.0, interval: float = 0.2):
    """The first truthy value of ``condition()`` within ``timeout`` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value or None
        time.sleep(interval)
