"""Read-only queries behind the public pages of calls: the list, by what a visitor can do, and one
call's page. Each issues a fixed number of statements, related rows loaded with ``selectinload``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from grants.calls.models import ApplicantKinds, Call, CallState, Programme
from grants.database import db, utcnow
from grants.formatting import fold


class CallPage:
    """One page of a section of the public list, with what the pager macro (templates/macros/pager.html)
    reads; ``total`` counts the whole section."""

    def __init__(self, items: list[Call], page: int, per_page: int, total: int):
        self.items, self.page, self.per_page, self.total = items, page, per_page, total
        self.pages = max(1, -(-total // per_page))
        self.first = (page - 1) * per_page + 1 if total else 0
        self.last = min(page * per_page, total)
        self.has_prev, self.has_next = page > 1, page < self.pages
        self.prev_num, self.next_num = page - 1, page + 1

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


@dataclass
class PublicCalls:
    open: CallPage
    upcoming: CallPage
    closed: CallPage
    # The programmes of every published call, whatever the filters (the filter's choices).
    programmes: list = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.open.total or self.upcoming.total or self.closed.total)


# The list shows each section a page at a time: 10,000 calls would be megabytes per request.
PAGE_SIZE = 20
# Each section's page number in the URL (``?page_clotures=3``); the sections page independently.
PAGE_PARAMETERS = {"open": "page_ouverts", "upcoming": "page_a_venir", "closed": "page_clotures"}
PUBLISHED = (CallState.SCHEDULED, CallState.OPEN, CallState.CLOSED)


def read_pages(args) -> dict[str, int]:
    """The page asked for in each section; anything but a positive number is the first page."""
    pages = {}
    for section, parameter in PAGE_PARAMETERS.items():
        raw = args.get(parameter, "")
        pages[section] = int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 6 and int(raw) > 0 else 1
    return pages


# Who may apply, as the list's filter says it (``?qui=``): the calls open to them.
WHO = {
    "associations": (ApplicantKinds.ORGANISATIONS, ApplicantKinds.BOTH),
    "particuliers": (ApplicantKinds.INDIVIDUALS, ApplicantKinds.BOTH),
}
MAX_QUERY_LENGTH = 200
MAX_AMOUNT = Decimal("1000000000")
WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class CallFilters:
    """The public list's search: words of the title, summary or programme; open now; a programme; who
    may apply; a grant amount range the call's [min, max] must meet."""

    words: tuple[str, ...] = ()
    open_now: bool = False
    programme_id: int | None = None
    who: str | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None

    def __bool__(self) -> bool:
        return bool(self.words or self.open_now or self.programme_id or self.who
                    or self.amount_min is not None or self.amount_max is not None)


def read_call_filters(args) -> tuple[CallFilters, list[str]]:
    """The filters of the URL (``q``, ``ouverts``, ``programme``, ``qui``, ``montant_min``,
    ``montant_max``); what cannot be read is left out and said."""
    errors, values = [], {}
    query = " ".join((args.get("q") or "").split())
    if len(query) > MAX_QUERY_LENGTH:
        errors.append(_("La recherche est trop longue : %(max)d caractères au plus.", max=MAX_QUERY_LENGTH))
    else:
        values["words"] = tuple(dict.fromkeys(w for w in WORD.findall(fold(query)) if w.strip("_")))[:12]
    values["open_now"] = args.get("ouverts") == "1"
    programme = args.get("programme", "")
    if programme:
        if programme.isascii() and programme.isdigit() and 0 < int(programme) < 2**31:
            values["programme_id"] = int(programme)
        else:
            errors.append(_("Programme inconnu : le filtre n'est pas appliqué."))
    who = args.get("qui", "")
    if who:
        if who in WHO:
            values["who"] = who
        else:
            errors.append(_("Public inconnu : le filtre n'est pas appliqué."))
    for parameter in ("montant_min", "montant_max"):
        raw = (args.get(parameter) or "").replace(" ", "").replace("\u202f", "").replace(",", ".")
        if not raw:
            continue
        try:
            amount = Decimal(raw)
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or not 0 <= amount <= MAX_AMOUNT:
            errors.append(_("Montant illisible : un nombre d'euros entre 0 et 1 milliard est attendu."))
            continue
        values[parameter.replace("montant", "amount")] = amount
    return CallFilters(**values), errors


def stem(word: str) -> str:
    return word if len(word) <= 4 else word[: max(4, len(word) - 2)]


def _like_pattern(word: str) -> str:
    """``%word%`` with LIKE's own wildcards escaped: a visitor's ``_`` or ``%`` is a character."""
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _word_conditions(words: tuple[str, ...], programmes) -> list:
    """Each word (stemmed, accents folded) found in the call's folded text or its programme's name.
    Programme names are few and already read for the filter's choices: they are matched here."""
    conditions = []
    for word in words:
        stemmed = stem(word)
        naming = [programme.id for programme in programmes if stemmed in fold(programme.name)]
        found = Call.search_text.like(_like_pattern(stemmed), escape="\\")
        conditions.append(sa.or_(found, Call.programme_id.in_(naming)) if naming else found)
    return conditions


def _sections(now: datetime) -> dict:
    """Where a published call is listed. A call still marked open after its deadline (the scheduled
    task has not run yet) is already closed: the deadline is the instant, not the task."""
    closed = sa.or_(Call.state == CallState.CLOSED, Call.closes_at <= now)
    return {
        "open": sa.and_(Call.state == CallState.OPEN, Call.closes_at > now),
        "upcoming": sa.and_(Call.state == CallState.SCHEDULED, Call.closes_at > now),
        "closed": closed,
    }


def _filter_conditions(filters: CallFilters | None, now: datetime) -> list:
    """The filters other than words (those need the programmes: :func:`_word_conditions`)."""
    if not filters:
        return []
    conditions = []
    if filters.open_now:
        conditions += [Call.state == CallState.OPEN, Call.opens_at <= now, Call.closes_at > now]
    if filters.programme_id is not None:
        conditions.append(Call.programme_id == filters.programme_id)
    if filters.who is not None:
        conditions.append(Call.applicant_kinds.in_(WHO[filters.who]))
    if filters.amount_min is not None:
        conditions.append(Call.max_grant >= filters.amount_min)
    if filters.amount_max is not None:
        conditions.append(Call.min_grant <= filters.amount_max)
    return conditions


def public_calls(now: datetime | None = None, filters: CallFilters | None = None,
                 pages: dict[str, int] | None = None, per_page: int = PAGE_SIZE) -> PublicCalls:
    """Published calls, by what a visitor can do with them, a page of each section (``pages``, the
    first by default; one past the end shows the last). Drafts are never public and archived calls
    are no longer listed.

    Two statements whatever the number of calls and the filters: the programmes, then the three
    sections' pages with their counts (a third, to find the last page, for a page past the end). Words
    are matched in SQL on ``Call.search_text`` (a trigram index on PostgreSQL)."""
    now = now or utcnow()
    pages = pages or {}
    published = Call.state.in_(PUBLISHED)
    conditions = [published, *_filter_conditions(filters, now)]
    sections = _sections(now)
    programmes = db.session.scalars(
        sa.select(Programme)
        .where(Programme.id.in_(sa.select(Call.programme_id).where(published)))
        .order_by(Programme.name, Programme.id)
    ).all()

    if filters and filters.words:
        conditions += _word_conditions(filters.words, programmes)

    # One statement for the three sections' pages and counts: each published call numbered within its
    # section in the section's order — open ones by deadline, upcoming ones by opening, closed ones the
    # latest first (each CASE is NULL, so neutral, outside its own section).
    section = sa.case((sections["closed"], "closed"), (sections["open"], "open"), else_="upcoming")
    ranked = sa.select(
        Call.id.label("call_id"),
        section.label("section"),
        sa.func.row_number().over(partition_by=section, order_by=(
            sa.case((section == "upcoming", Call.opens_at)).asc(),
            sa.case((section != "closed", Call.closes_at)).asc(),
            sa.case((section == "closed", Call.closes_at)).desc(),
            Call.id,
        )).label("position"),
        sa.func.count().over(partition_by=section).label("total"),
    ).where(*conditions).subquery()
    asked = {name: pages.get(name, 1) for name in PAGE_PARAMETERS}
    rows = db.session.execute(
        sa.select(Call, ranked.c.section, ranked.c.total)
        .join(ranked, ranked.c.call_id == Call.id)
        .where(sa.or_(*(
            sa.and_(ranked.c.section == name, ranked.c.position > (page - 1) * per_page,
                    ranked.c.position <= page * per_page)
            for name, page in asked.items()
        )))
        .options(joinedload(Call.programme))
        .order_by(ranked.c.section, ranked.c.position)
    ).all()
    found: dict[str, tuple[list, int]] = {}
    for call, name, total in rows:
        found.setdefault(name, ([], total))[0].append(call)
    if any(page > 1 and name not in found for name, page in asked.items()):
        # A page past the end (an old link, a section that shrank): its last page instead.
        totals = dict(db.session.execute(
            sa.select(section, sa.func.count()).where(*conditions).group_by(section)
        ).all())
        return public_calls(now, filters, {name: _page_number(page, totals.get(name, 0), per_page)
                                           for name, page in asked.items()}, per_page)
    listed = {}
    for name, page in asked.items():
        items, total = found.get(name, ([], 0))
        listed[name] = CallPage(items, page, per_page, total)
    return PublicCalls(**listed, programmes=programmes)


def _page_number(asked: int, total: int, per_page: int) -> int:
    return max(1, min(asked, -(-total // per_page)))


def next_change(now: datetime | None = None) -> datetime | None:
    """The next instant a published call opens or closes: the list reads differently from then on."""
    now = now or utcnow()
    published = Call.state.in_(PUBLISHED)
    opening, closing = db.session.execute(
        sa.select(
            sa.func.min(Call.opens_at).filter(Call.opens_at > now),
            sa.func.min(Call.closes_at).filter(Call.closes_at > now),
        ).where(published)
    ).one()
    # Aggregates come back naive from SQLite: they are UTC.
    instants = [instant if instant.tzinfo else instant.replace(tzinfo=UTC)
                for instant in (opening, closing) if instant is not None]
    return min(instants, default=None)


def call_for_page(slug: str) -> Call | None:
    """One call with everything its public page shows, in a fixed number of statements."""
    return db.session.scalar(
        sa.select(Call)
        .where(Call.slug == slug)
        .options(
            selectinload(Call.programme),
            selectinload(Call.envelopes),
            selectinload(Call.funders),
            selectinload(Call.criteria),
            selectinload(Call.required_documents),
        )
    )
