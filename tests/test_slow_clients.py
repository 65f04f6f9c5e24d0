"""Slow clients (README, "Slow clients and uploads"): gunicorn's sync workers behind a proxy that buffers
whole request bodies. Half-sent uploads hold connections of the proxy, never the worker: the public
pages still answer. Straight to gunicorn, one half-sent upload holds its only worker."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import ExitStack

import pytest

from tests.live_servers import forwarding_proxy, gunicorn_server, production_environment

STALLED_UPLOADS = 4


def stalled_upload(base: str) -> socket.socket:
    """A client that announces a 1 MB upload, sends a kilobyte of it, and then nothing."""
    address = urllib.parse.urlsplit(base)
    client = socket.create_connection((address.hostname, address.port), timeout=10)
    client.sendall(
        f"POST /connexion HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {1024 * 1024}\r\n\r\n".encode() + b"x" * 1024
    )
    return client


def answers_within(url: str, seconds: float) -> bool:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=seconds) as response:
            return response.status == 200 and time.monotonic() - started < seconds
    except (TimeoutError, urllib.error.URLError):
        return False


@pytest.fixture
def one_sync_worker(pg_app, redis_url, tmp_path):
    env = production_environment(pg_app.config["SQLALCHEMY_DATABASE_URI"], redis_url, tmp_path / "instance")
    with gunicorn_server(env, tmp_path / "gunicorn.log", workers=1, config="deploy/gunicorn.conf.py") as base:
        yield base


def test_half_sent_uploads_behind_the_buffering_proxy_hold_no_worker(one_sync_worker):
    with forwarding_proxy(one_sync_worker) as proxy, ExitStack() as clients:
        for _ in range(STALLED_UPLOADS):
            clients.callback(stalled_upload(proxy).close)
        time.sleep(0.5)
        assert answers_within(proxy + "/appels/", 5)


def test_straight_to_gunicorn_a_half_sent_upload_holds_its_worker(one_sync_worker):
    assert answers_within(one_sync_worker + "/appels/", 5)
    client = stalled_upload(one_sync_worker)
    try:
        time.sleep(0.5)
        assert not answers_within(one_sync_worker + "/appels/", 2)
    finally:
        client.close()  # the worker reads the end of the body and is free again
    assert answers_within(one_sync_worker + "/appels/", 10)
