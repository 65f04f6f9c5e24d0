"""Whole public pages served from a cache to anonymous visitors, and no shared caching of the rest.

What is kept: the HTML of a page as rendered for an anonymous visitor, per scope (``calls``: the
public pages of calls), version of the scope, language and URL. A scope's version is a random token
stored in the same cache: whoever changes what the scope's pages show replaces it after the commit
(:func:`bump`; ``grants.calls.public_cache`` does it for every change to a call's rows), so every web
node reads new keys at once and the old entries die of age. A random token rather than a counter: a
version lost (Redis restarted, the key evicted) can never bring an older page back.

Where: Redis, shared by the web nodes, wherever ``PAGE_CACHE_REDIS_URL`` (by default ``REDIS_URL``)
is set; otherwise files under ``PAGE_CACHE_DIR`` (instance/page-cache), shared by the processes of the
machine: the embedded default is one process, but the same settings under gunicorn are several, and
a version bumped in one worker's memory would leave the others serving the old pages. The store
unreachable: pages are rendered as if there were no cache, for ``UNAVAILABLE_PAUSE`` seconds.

Never kept: a page for a signed-in visitor (its layout names them), a page carrying a flashed message,
an answer other than 200, a URL with parameters the view did not declare. The one part of an
anonymous page that belongs to its visitor, the CSRF token of the language switch, is stored as a
random marker and filled in for each visitor. The ``ETag`` is made from the page and the visitor's
session token: a 304 never leaves a browser with a page whose token its session does not know.

Every response of a signed-in visitor is ``Cache-Control: private, no-store``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import time
from datetime import datetime

from flask import Flask, current_app, g, has_app_context, make_response, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from grants.extensions import cache

log = logging.getLogger(__name__)

# After a failure to reach the cache, this process renders without it for this many seconds.
UNAVAILABLE_PAUSE = 30.0
# A page parameter longer than this is not a page number: rendered, never kept.
MAX_PARAMETER_LENGTH = 6
ANONYMOUS_CACHE_CONTROL = "private, no-cache"
SIGNED_IN_CACHE_CONTROL = "private, no-store"

_unavailable_until = 0.0


def init_app(app: Flask) -> None:
    url = app.config.get("PAGE_CACHE_REDIS_URL")
    if url:
        settings = {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": url,
            "CACHE_KEY_PREFIX": app.config["PAGE_CACHE_KEY_PREFIX"],
            # A page is worth less than the wait: a Redis that does not answer is skipped quickly.
            "CACHE_OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        }
    elif app.config.get("PAGE_CACHE_DIR"):
        settings = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": app.config["PAGE_CACHE_DIR"], "CACHE_THRESHOLD": 2000}
    else:  # one process only (the tests)
        settings = {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 2000}
    cache.init_app(app, config={**settings, "CACHE_DEFAULT_TIMEOUT": app.config["PAGE_CACHE_SECONDS"]})

    @app.after_request
    def private_when_signed_in(response):
        if request.endpoint != "static" and signed_in():
            if "no-store" not in (response.headers.get("Cache-Control") or ""):
                response.headers["Cache-Control"] = SIGNED_IN_CACHE_CONTROL
        return response


def signed_in() -> bool:
    """Whether this request is a signed-in visitor's, without loading the user when no view did (a
    response that never read the user cannot show them; the session's id still counts)."""
    user = g.get("_login_user")
    if user is not None and user.is_authenticated:
        return True
    return "_user_id" in session


# ---------------------------------------------------------------------------------- the cache itself


def _cache_call(method: str, *args):
    """A call to the cache, or None while it is unreachable (logged once per pause)."""
    global _unavailable_until
    if time.monotonic() < _unavailable_until:
        return None
    try:
        return getattr(cache, method)(*args)
    except Exception as error:  # noqa: BLE001 — any failure of the store: render without it
        _unavailable_until = time.monotonic() + UNAVAILABLE_PAUSE
        log.warning("page cache unreachable, pages rendered without it for %ss: %s", UNAVAILABLE_PAUSE, error)
        return None


def _version_key(scope: str) -> str:
    return f"version:{scope}"


def version(scope: str) -> str | None:
    """The scope's current version (made on first use), or None if the cache cannot be reached."""
    current = _cache_call("get", _version_key(scope))
    if current is None:
        _cache_call("add", _version_key(scope), secrets.token_hex(8), 0)
        current = _cache_call("get", _version_key(scope))
    return current


def bump(scope: str) -> None:
    """Drop every cached page of ``scope``, on every node: call it once the change is committed (a
    page rendered between a bump and the commit would otherwise keep the old rows under the new
    version)."""
    if not has_app_context() or "cache" not in current_app.extensions:
        return
    if _cache_call("set", _version_key(scope), secrets.token_hex(8), 0) is None:
        log.error("page cache: the %s pages could not be dropped; they live at most %ss more",
                  scope, current_app.config["PAGE_CACHE_SECONDS"])


# ------------------------------------------------------------------------------------- the views


def is_storing() -> bool:
    """Whether the page being rendered will be kept (views then say until when it holds)."""
    return "page_cache_until" in g


def expire_by(instant: datetime | None) -> None:
    """The page being rendered changes by itself at ``instant`` (a countdown, a deadline): it is not
    served from the cache from then on."""
    if instant is not None and "page_cache_until" in g:
        g.page_cache_until = min(g.page_cache_until, instant.timestamp())


def _page_key(scope: str, parameters: tuple[str, ...]) -> str | None:
    """The key of this request's page, or None when it is not to be cached."""
    if request.method not in ("GET", "HEAD") or current_app.config["PAGE_CACHE_SECONDS"] <= 0:
        return None
    if current_user.is_authenticated or session.get("_flashes"):
        return None
    arguments = []
    for name in sorted(request.args):
        values = request.args.getlist(name)
        # Only the declared page numbers: a search, or a made-up parameter, would fill the cache.
        if name not in parameters or len(values) != 1 or not values[0].isdigit() or len(values[0]) > MAX_PARAMETER_LENGTH:
            return None
        arguments.append(f"{name}={int(values[0])}")
    current = version(scope)
    if current is None:
        return None
    return f"page:{scope}:{current}:{get_locale()}:{request.path}?{'&'.join(arguments)}"


def public_page(scope: str, parameters: tuple[str, ...] = ()):
    """Serve the decorated view's anonymous answers from the cache of ``scope``; ``parameters`` are
    the query parameters (page numbers) that may vary a kept page."""

    def decorate(view):
        @functools.wraps(view)
        def cached_view(*args, **kwargs):
            key = _page_key(scope, parameters)
            if key is None:
                return view(*args, **kwargs)
            now = time.time()
            entry = _cache_call("get", key)
            if entry is not None and not entry[0] <= now < entry[1]:
                entry = None  # past its own end (the clock moved past a deadline), or from the future
            if entry is None:
                lifetime = current_app.config["PAGE_CACHE_SECONDS"]
                g.page_cache_until = now + lifetime
                response = make_response(view(*args, **kwargs))
                until = g.pop("page_cache_until")
                if response.status_code != 200 or response.direct_passthrough or session.get("_flashes"):
                    return response
                entry = _entry(response, now, until)
                if until > now:
                    _cache_call("set", key, entry, max(1, int(until - now) + 1))
            return _answer(entry)

        return cached_view

    return decorate


def _entry(response, now: float, until: float) -> tuple:
    """(valid from, valid until, digest, marker, HTML with the marker for the visitor's CSRF token)."""
    body = response.get_data(as_text=True)
    marker = secrets.token_hex(16)
    token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    if token:
        body = body.replace(token, marker)
    digest = hashlib.sha256(body.encode()).hexdigest()[:32]
    return (now, until, digest, marker, body)


def _answer(entry: tuple):
    _, _, digest, marker, body = entry
    token = generate_csrf()
    own = session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), "")
    response = make_response(body.replace(marker, token))
    response.set_etag(hashlib.sha256(f"{digest}:{own}".encode()).hexdigest()[:32])
    response.headers["Cache-Control"] = ANONYMOUS_CACHE_CONTROL
    return response.make_conditional(request)
