"""gunicorn settings for production (README, "Slow clients and uploads"):
``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

gunicorn sits behind a TLS proxy that buffers whole request bodies before passing them on (nginx's
default, ``proxy_request_buffering on``) and buffers responses (``proxy_buffering on``): a client that
sends or reads slowly holds a slot of the proxy, never a gunicorn worker. So the workers are **sync**
(the pages are CPU-bound: threads would take turns on the GIL) and each request reaches them whole,
at loopback or LAN speed. Never expose gunicorn to clients directly: four stalled uploads would then
hold four sync workers until ``timeout`` kills them.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
# The longest request: a full upload (MAX_CONTENT_LENGTH, ~101 MB) read from the proxy and streamed to
# the object store, or a download streamed from it to the proxy, at 10 MB/s or more; a worker stuck
# longer than this is killed and replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
# The proxy keeps its connections to gunicorn open between requests.
keepalive = 5

# No server banner: gunicorn writes ``Server: gunicorn`` on every answer, which tells a scanner which
# software (and which advisories) to try. It has no setting for it, so its response's default headers
# are taken without that line (tests/test_production_server.py).
from gunicorn.http import wsgi as _gunicorn_wsgi  # noqa: E402

_default_headers = _gunicorn_wsgi.Response.default_headers


def _default_headers_without_server(self):
    return [line for line in _default_headers(self) if not line.lower().startswith("server:")]


_gunicorn_wsgi.Response.default_headers = _default_headers_without_server
