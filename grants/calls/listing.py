"""Read-only queries behind the public pages of calls: the list, by what a visitor can do, and one
call's page. Each issues a fixed number of statements, related rows loaded with ``selectinload``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from grants.calls.models import ApplicantKinds, Call, CallState
from grants.database import db, utcnow
from grants.formatting import fold


@dataclass
class PublicCalls:
    open: list[Call]
    upcoming: list[Call]
    closed: list[Call]
    # The programmes of every published call, whatever the filters (the filter's choices).
    programmes: list = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.open or self.upcoming or self.closed)


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


def call_matches(call: Call, filters: CallFilters, now: datetime) -> bool:
    if filters.open_now and not (call.state == CallState.OPEN and call.opens_at <= now < call.closes_at):
        return False
    if filters.programme_id is not None and call.programme_id != filters.programme_id:
        return False
    if filters.who is not None and call.applicant_kinds not in WHO[filters.who]:
        return False
    if filters.amount_min is not None and call.max_grant < filters.amount_min:
        return False
    if filters.amount_max is not None and call.min_grant > filters.amount_max:
        return False
    if filters.words:
        text = fold(" ".join((call.title, call.summary or "", call.programme.name, call.description or "")))
        return all(stem(word) in text for word in filters.words)
    return True


def public_calls(now: datetime | None = None, filters: CallFilters | None = None) -> PublicCalls:
    """Published calls, by what a visitor can do with them. Drafts are never public and archived calls
    are no longer listed. A call still marked open after its deadline (the scheduled task has not run
    yet) is already shown as closed: the deadline is the instant, not the task.

    ``filters`` keep the calls that meet them: the published calls are a few dozen, loaded in one
    statement whatever the filters, and matched here."""
    now = now or utcnow()
    calls = db.session.scalars(
        sa.select(Call)
        .where(Call.state.in_([CallState.SCHEDULED, CallState.OPEN, CallState.CLOSED]))
        .options(selectinload(Call.programme))
        .order_by(Call.closes_at, Call.id)
    ).all()
    listing = PublicCalls(open=[], upcoming=[], closed=[])
    listing.programmes = sorted({call.programme for call in calls}, key=lambda p: (p.name, p.id))
    for call in calls:
        if filters and not call_matches(call, filters, now):
            continue
        if call.state == CallState.CLOSED or call.closes_at <= now:
            listing.closed.append(call)
        elif call.state == CallState.OPEN:
            listing.open.append(call)
        else:
            listing.upcoming.append(call)
    listing.upcoming.sort(key=lambda c: c.opens_at)
    listing.closed.sort(key=lambda c: c.closes_at, reverse=True)
    return listing


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
