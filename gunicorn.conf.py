"""gunicorn's settings for Subventia, read from the working directory (README: ``gunicorn wsgi:app``
run from the repository's root). Command-line options still win over these.

No server banner: gunicorn writes ``Server: gunicorn`` on every answer, which tells a scanner which
software (and which advisories) to try. It has no setting for it, so its response's default headers
are taken without that line.
"""

from gunicorn.http import wsgi as _gunicorn_wsgi

_default_headers = _gunicorn_wsgi.Response.default_headers


def _default_headers_without_server(self):
    return [line for line in _default_headers(self) if not line.lower().startswith("server:")]


_gunicorn_wsgi.Response.default_headers = _default_headers_without_server
