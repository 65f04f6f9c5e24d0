"""Keyset pagination of the lists that grow without end (the audit log, each user's notifications):
a page is read from where the shown one ends, by the sort key of its edge row, as an index range, never
by OFFSET (which reads and drops every row before the page, so that the thousandth page costs a thousand
pages). Nor is the whole list counted: a page knows only whether there is more beyond it (one row more
is read).

The lists are newest first: ``?avant=<key>`` is the page of what came before that row (older),
``?apres=<key>`` the page of what came after it (newer). A key is the row's instant and its id,
written ``20261206T020045123456-1234`` (UTC, to the microsecond, as stored): bounded, checked where it
enters (:meth:`TimeKey.parse` raises :class:`BadCursor`, which a view answers with a 400)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from grants.database import db
from grants.form_fields import MAX_RECORD_ID

PER_PAGE = 50
MAX_CURSOR_LENGTH = 40

_TIME_KEY = re.compile(r"([0-9]{8}T[0-9]{12})-([0-9]{1,10})")


class BadCursor(ValueError):
    """A page link's key that is not one: typed by hand, cut, or from another list."""


@dataclass(frozen=True)
class TimeKey:
    """Where a row sits in a list ordered by (instant, id)."""

    at: datetime  # aware
    id: int

    def token(self) -> str:
        return f"{self.at.astimezone(UTC):%Y%m%dT%H%M%S%f}-{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> TimeKey | None:
        """The key of a page link; None for no key; :class:`BadCursor` for anything else."""
        if text is None or text == "":
            return None
        match = _TIME_KEY.fullmatch(text) if len(text) <= MAX_CURSOR_LENGTH else None
        if match is None:
            raise BadCursor(text[:MAX_CURSOR_LENGTH])
        try:
            at = datetime.strptime(match[1], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
        except ValueError as error:  # 20261340T…: the shape of a date, not a date
            raise BadCursor(text) from error
        row_id = int(match[2])
        if row_id > MAX_RECORD_ID:
            raise BadCursor(text)
        return cls(at, row_id)


def after_key(time_column, id_column, key: TimeKey):
    """Rows after ``key`` in (instant, id) order. The first condition is the index range the scan starts
    from; the second drops the rows of the key's own instant that were already shown."""
    return sa.and_(time_column >= key.at, sa.or_(time_column > key.at, id_column > key.id))


def before_key(time_column, id_column, key: TimeKey):
    """Rows before ``key`` in (instant, id) order (see :func:`after_key`)."""
    return sa.and_(time_column <= key.at, sa.or_(time_column < key.at, id_column < key.id))


@dataclass
class Page:
    """One page of a newest-first list: its rows, and the keys the links to the newer and the older page
    carry (None: no such page)."""

    rows: list
    newer: TimeKey | None
    older: TimeKey | None


def newest_first(query: sa.Select, time_column, id_column, key_of: Callable[[object], TimeKey], *,
                 before: TimeKey | None = None, after: TimeKey | None = None, per_page: int = PER_PAGE) -> Page:
    """One page of ``query`` (a select of entities), newest first: the first page, the one older than
    ``before``, or the one newer than ``after``. One statement, reading at most ``per_page + 1`` rows
    through an index on (…, instant, id); two when the newer page reaches the newest rows, which are then
    shown as the first page, full."""
    if after is not None:
        rows = db.session.scalars(
            query.where(after_key(time_column, id_column, after))
            .order_by(time_column, id_column).limit(per_page + 1)
        ).all()
        if len(rows) > per_page:
            rows = rows[:per_page][::-1]
            return Page(rows, newer=key_of(rows[0]), older=key_of(rows[-1]))
        return newest_first(query, time_column, id_column, key_of, per_page=per_page)
    if before is not None:
        query = query.where(before_key(time_column, id_column, before))
    rows = db.session.scalars(
        query.order_by(time_column.desc(), id_column.desc()).limit(per_page + 1)
    ).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    return Page(rows, newer=key_of(rows[0]) if before is not None and rows else None,
                older=key_of(rows[-1]) if more else None)
