"""The reviewer's own assignments and how far each review has gone (the reviewer's desk and home page).

The desk lists the dossiers still to transmit first, soonest due first, then those transmitted, latest
due first, 50 a page. A reviewer keeps every assignment of every campaign, so no page reads them all: a
page is read from its link's key (:class:`DeskKey`, keyset pagination) as a range of the index
ix_review_assignments_reviewer_due on (reviewer_id, state, transmitted, due_on, id), at most a page and one
row of each part, the open part apart from the transmitted history thanks to ``transmitted`` (a copy of
the review's state that triggers keep). The figures are counts of ranges of that index (index-only): the
open ones and the overdue ones are as many as the reviewer's current work; the transmitted ones and the
total do count his history, which is hundreds of dossiers over the years, not millions: a few hundred
index entries, counted in a fraction of a millisecond (bench/lists.py), where a stored counter would have
to be kept right by every assignment, recusal and transmission.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from grants.accounts.models import User
from grants.applications.models import Application
from grants.calls.models import Call
from grants.database import db
from grants.form_fields import MAX_RECORD_ID
from grants.keyset import BadCursor
from grants.local_time import local_today
from grants.reviews.models import AssignmentState, ReviewAssignment, ReviewState
from grants.reviews.models import Review as ReviewModel

PER_PAGE = 50


class ReviewProgress(StrEnum):
    NOT_STARTED = "not_started"
    DRAFT = "draft"
    SUBMITTED = "submitted"


REVIEW_PROGRESS_LABELS = {
    ReviewProgress.NOT_STARTED: _l("Non commencée"),
    ReviewProgress.DRAFT: _l("Brouillon"),
    ReviewProgress.SUBMITTED: _l("Transmise"),
}

_DESK_KEY = re.compile(r"([ot])([0-9]{4})([0-9]{2})([0-9]{2})-([0-9]{1,10})")


@dataclass(frozen=True)
class DeskKey:
    """A row's place on the desk, which a page link carries (``o20261215-42``: still to transmit, due on
    15 December 2026, assignment 42; ``t…``: transmitted). It only says where a page starts: the rows are
    always the signed-in reviewer's own, whatever key is sent."""

    done: bool
    due_on: date
    id: int

    def token(self) -> str:
        return f"{'t' if self.done else 'o'}{self.due_on:%Y%m%d}-{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> DeskKey | None:
        """None for no key; :class:`grants.keyset.BadCursor` for anything that is not one."""
        if text is None or text == "":
            return None
        match = _DESK_KEY.fullmatch(text) if len(text) <= 20 else None
        if match is None:
            raise BadCursor(text[:20])
        try:
            due_on = date(int(match[2]), int(match[3]), int(match[4]))
        except ValueError as error:  # o20261340-1: the shape of a date, not a date
            raise BadCursor(text) from error
        if int(match[5]) > MAX_RECORD_ID:
            raise BadCursor(text)
        return cls(match[1] == "t", due_on, int(match[5]))

    def rank(self) -> tuple:
        """Sorts rows in the desk's order."""
        sign = -1 if self.done else 1
        return (self.done, sign * self.due_on.toordinal(), sign * self.id)


@dataclass
class AssignmentRow:
    assignment_id: int
    reference: str | None
    title: str
    call_title: str
    due_on: date
    progress: ReviewProgress
    overdue: bool

    @property
    def progress_label(self) -> str:
        return str(REVIEW_PROGRESS_LABELS[self.progress])

    @property
    def key(self) -> DeskKey:
        return DeskKey(self.progress == ReviewProgress.SUBMITTED, self.due_on, self.assignment_id)


@dataclass(frozen=True)
class DeskCounts:
    total: int
    submitted: int
    overdue: int

    @property
    def open(self) -> int:
        return self.total - self.submitted


@dataclass
class DeskPage:
    rows: list[AssignmentRow]
    counts: DeskCounts
    next_open_id: int | None  # the first dossier still to transmit, wherever it is listed
    previous: DeskKey | None  # the keys that the links to the neighbouring pages carry
    next: DeskKey | None


def _own(reviewer_id: int):
    return ReviewAssignment.reviewer_id == reviewer_id, ReviewAssignment.state == AssignmentState.ASSIGNED


def _transmitted():
    return ReviewAssignment.transmitted == sa.true()  # "= true": an index condition, where "IS true" is not


def _open():
    return ReviewAssignment.transmitted == sa.false()


def _beyond(key: DeskKey, ascending: bool):
    """Rows past ``key`` in (due_on, id) order: an index range (the first condition) less the rows of the
    key's own day already shown (the second)."""
    due, row_id = ReviewAssignment.due_on, ReviewAssignment.id
    if ascending:
        return sa.and_(due >= key.due_on, sa.or_(due > key.due_on, row_id > key.id))
    return sa.and_(due <= key.due_on, sa.or_(due < key.due_on, row_id < key.id))


def _part(reviewer_id: int, *, done: bool, key: DeskKey | None, ascending: bool, limit: int) -> sa.Select:
    """One part of the desk (the open or the transmitted dossiers) from ``key``, in one direction."""
    query = (
        sa.select(ReviewAssignment.id, Application.reference, Application.title, Call.title.label("call_title"),
                  ReviewAssignment.due_on, ReviewModel.state.label("review_state"))
        .join(Application, Application.id == ReviewAssignment.application_id)
        .join(Call, Call.id == Application.call_id)
        .outerjoin(ReviewModel, ReviewModel.assignment_id == ReviewAssignment.id)
        .where(*_own(reviewer_id), _transmitted() if done else _open())
    )
    if key is not None:
        query = query.where(_beyond(key, ascending))
    order = (ReviewAssignment.due_on, ReviewAssignment.id)
    return query.order_by(*(order if ascending else [column.desc() for column in order])).limit(limit)


def _union(parts: list[sa.Select]):
    """The parts in one statement: a UNION ALL of each part, ordered and limited on its own."""
    return parts[0] if len(parts) == 1 else sa.union_all(*(sa.select(part.subquery()) for part in parts))


def _row(assignment_id, reference, title, call_title, due_on, review_state, *, today: date) -> AssignmentRow:
    if review_state is None:
        progress = ReviewProgress.NOT_STARTED
    elif review_state == ReviewState.SUBMITTED:
        progress = ReviewProgress.SUBMITTED
    else:
        progress = ReviewProgress.DRAFT
    return AssignmentRow(assignment_id=assignment_id, reference=reference, title=title, call_title=call_title,
                         due_on=due_on, progress=progress,
                         overdue=progress != ReviewProgress.SUBMITTED and due_on < today)


def _read(parts: list[sa.Select], today: date) -> list[AssignmentRow]:
    return [_row(*values, today=today) for values in db.session.execute(_union(parts))]


def desk_counts(reviewer: User, now: datetime | None = None) -> DeskCounts:
    """The reviewer's assignments (recused ones left out), those transmitted and those overdue: one
    aggregate over his range of the index, read from the index alone (the module's docstring says why a
    count is fine here)."""
    today = local_today(now)
    total, submitted, overdue = db.session.execute(
        sa.select(sa.func.count(),
                  sa.func.count().filter(_transmitted()),
                  sa.func.count().filter(_open(), ReviewAssignment.due_on < today))
        .select_from(ReviewAssignment)
        .where(*_own(reviewer.id))
    ).one()
    return DeskCounts(total=total, submitted=submitted, overdue=overdue)


def next_open(reviewer: User, current: ReviewAssignment | None = None) -> int | None:
    """The reviewer's next dossier not yet transmitted after ``current`` in the desk's order (soonest due
    first), round to the start; without ``current``, the first. One statement reading two rows at most."""
    parts = [_part(reviewer.id, done=False, key=None, ascending=True, limit=2)]
    if current is not None:
        key = DeskKey(False, current.due_on, current.id)
        parts.append(_part(reviewer.id, done=False, key=key, ascending=True, limit=1))
    rows = [_row(*values, today=date.min) for values in db.session.execute(_union(parts))]
    if current is None:
        return min((row.key.rank(), row.assignment_id) for row in rows)[1] if rows else None
    here = DeskKey(False, current.due_on, current.id).rank()
    following = sorted((row.key.rank() <= here, row.key.rank(), row.assignment_id) for row in rows
                       if row.assignment_id != current.id)
    return following[0][2] if following else None


@dataclass(frozen=True)
class DeskProgress:
    """Where the reviewer stands on his desk: reviews transmitted out of those assigned, and the next
    dossier still to transmit after the current one (in the desk's order: soonest due first)."""

    submitted: int
    total: int
    next_assignment_id: int | None


def desk_progress(reviewer: User, current: ReviewAssignment | None = None) -> DeskProgress:
    """The reviewer's progress and his next dossier not yet transmitted, after ``current`` and round to the
    start of the list; recused assignments do not count. Two statements, whatever his history."""
    counts = desk_counts(reviewer)
    return DeskProgress(submitted=counts.submitted, total=counts.total,
                        next_assignment_id=next_open(reviewer, current))


def desk_page(reviewer: User, *, after: DeskKey | None = None, before: DeskKey | None = None,
              now: datetime | None = None, per_page: int = PER_PAGE) -> DeskPage:
    """One page of the reviewer's desk: the first, the one after ``after`` or the one before ``before``
    (the keys of page links), with the desk's figures. Three statements, the rows' one reading at most a
    page and one row per part, whatever the reviewer's history. The applicant is not named: reviews may
    be blind, and the desk never says more than the review page."""
    today = local_today(now)
    counts = desk_counts(reviewer, now)
    first_open = next_open(reviewer)
    if before is not None:
        # Backwards: each part read the other way from the key, then the rows put back in the desk's order.
        parts = [_part(reviewer.id, done=False, key=None if before.done else before, ascending=False,
                       limit=per_page + 1)]
        if before.done:
            parts.append(_part(reviewer.id, done=True, key=before, ascending=True, limit=per_page + 1))
        rows = sorted(_read(parts, today), key=lambda row: row.key.rank(), reverse=True)[:per_page + 1]
        if len(rows) > per_page:
            rows = rows[:per_page][::-1]
            return DeskPage(rows, counts, first_open, previous=rows[0].key, next=rows[-1].key)
        after = None  # the start is reached: the first page, full
    parts = []
    if after is None or not after.done:
        parts.append(_part(reviewer.id, done=False, key=after, ascending=True, limit=per_page + 1))
    parts.append(_part(reviewer.id, done=True, key=after if after is not None and after.done else None,
                       ascending=False, limit=per_page + 1))
    rows = sorted(_read(parts, today), key=lambda row: row.key.rank())[:per_page + 1]
    more = len(rows) > per_page
    rows = rows[:per_page]
    return DeskPage(rows, counts, first_open, previous=rows[0].key if after is not None and rows else None,
                    next=rows[-1].key if more else None)
