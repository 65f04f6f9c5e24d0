"""What a request may carry, limited before any view reads it (``app.request_class``).

- NUL characters are removed from form fields and query strings, and from the strings of a JSON body: no
  text of the service holds one, a browser never sends one, and PostgreSQL refuses them in text columns.
- A JSON body is at most :data:`MAX_JSON_BYTES` (413) and :data:`MAX_JSON_DEPTH` levels deep (400, or
  None for ``get_json(silent=True)``): Python's parser recurses once per level and would exhaust the stack
  on a body nested fifty thousand times.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

MAX_JSON_BYTES = 64 * 1024  # the API's bodies are a few hundred bytes
MAX_JSON_DEPTH = 20


def without_nul(value):
    """``value`` with NUL characters removed from its strings (keys included), at any depth."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value


def json_depth(data: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (brackets inside strings not counted)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


class TextWithoutNul(ImmutableMultiDict):
    """The storage of ``request.args`` and ``request.form``: Werkzeug builds it from (name, value) pairs."""

    def __init__(self, mapping=None):
        if mapping is not None and not isinstance(mapping, Mapping):
            mapping = [(without_nul(name), without_nul(value)) for name, value in mapping]
        super().__init__(mapping)


class LimitedRequest(Request):
    parameter_storage_class = TextWithoutNul

    def get_json(self, force=False, silent=False, cache=True):
        if not (force or self.is_json):
            return super().get_json(force=force, silent=silent, cache=cache)
        data = self.get_data(cache=cache)
        if len(data) > MAX_JSON_BYTES:
            raise RequestEntityTooLarge()
        if (data.count(b"[") + data.count(b"{") > MAX_JSON_DEPTH) and json_depth(data) > MAX_JSON_DEPTH:
            if silent:
                return None
            raise BadRequest(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        return without_nul(super().get_json(force=force, silent=silent, cache=cache))


DRAIN_CHUNK_BYTES = 64 * 1024


def drain_refused_body(request: Request, bound: int) -> None:
    """Read and drop what is left of a refused body (a 413), at most ``bound`` bytes, so that the
    client, which sends its whole body before reading the answer, then reads the error page: a server
    that answers and closes with the body unread makes the client's system reset the connection. A
    declared length over ``bound`` is not read at all (the connection is closed on it)."""
    length = request.content_length
    if length is not None and length > bound:
        return
    stream = request.environ.get("wsgi.input")
    if stream is None:
        return
    remaining = bound if length is None else length
    while remaining > 0:
        chunk = stream.read(min(DRAIN_CHUNK_BYTES, remaining))
        if not chunk:
            return
        remaining -= len(chunk)
