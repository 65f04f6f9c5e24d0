"""The ``<int:…>`` of every route is a row id: bounded by the route itself.

Every integer in a URL of the service is a primary key, a PostgreSQL ``integer``. Beyond its range the
database would refuse the lookup with an error instead of finding nothing; the converter answers 404 first,
like for any id that names no row. At most ten digits are matched, so a thousand-digit id never reaches
``int()`` either.
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

from grants.form_fields import MAX_RECORD_ID


class RecordIdConverter(IntegerConverter):
    regex = r"\d{1,10}"

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_RECORD_ID, signed=False):  # noqa: A002 — Werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register_url_converters(app) -> None:
    """Before the blueprints: a rule takes its converter when it is added to the map."""
    app.url_map.converters["int"] = RecordIdConverter
