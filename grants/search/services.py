"""Finding dossiers: one search service over PostgreSQL's full-text search and SQLite's FTS5.

Every statement is bounded and indexed (the lesson of a first attempt, which ranked every match of a
common word and took seconds at 200,000 dossiers):

- An identifier (a reference ``SISA-2026-0042``, a SIRET, a SIREN, an RNA number, a member's or an
  organisation's email) is an equality or range lookup on a unique index.
- Words are matched in the dossiers' search document (PostgreSQL: the generated tsvector column and its
  GIN index, the query built by ``websearch_to_tsquery``; SQLite: the FTS5 table), and, for managers,
  in the organisations' names and the people's (members, individual applicants: their own GIN indexes /
  FTS5 tables), and the submitted reviews' comments (theirs). At most :data:`CANDIDATES` matches are
  taken (``LIMIT`` inside, before any ranking or join), then ranked; beyond them the page says "more than".
- Typos: only when the words find nothing, and only on a short indexed column, the organisations'
  names (pg_trgm's word similarity on its trigram index; SQLite: an FTS5 trigram table).
- Who may see what is a condition of the candidate query itself (:func:`visible`): the managers the
  dossiers their pages show (not drafts), a reviewer those assigned to him and not recused, never an
  applicant he declared a conflict with, an applicant his own. Names, SIRETs and the fuzzy search are
  the managers' (a reviewer of a blind call must not find a dossier by its applicant's name).

Facets count within the candidates, which are all visible: nothing outside the user's reach is counted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from grants.accounts.models import User
from grants.applications.models import Application, ApplicationState
from grants.awards.models import Decision
from grants.calls.models import BudgetSection, Call, Programme
from grants.database import db
from grants.formatting import fold
from grants.organisations.models import Applicant, Membership, Organisation
from grants.reviews.models import (
    AssignmentState,
    ConflictOfInterest,
    Review,
    ReviewAssignment,
    ReviewState,
)

MAX_QUERY_LENGTH = 200
CANDIDATES = 500  # matches taken from the index, then ranked
NAME_MATCHES = 50  # organisations taken by name
PAGE_SIZE = 25
MAX_WORDS = 12
SIMILARITY = 0.6  # share of the query's trigrams a name must hold (SQLite; pg_trgm's word similarity threshold)

REFERENCE = re.compile(r"^[A-Z0-9]{1,8}-\d{4}-\d{1,8}$")
RNA = re.compile(r"^W\d{9}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WORD = re.compile(r"\w+", re.UNICODE)


class QueryKind(StrEnum):
    EMPTY = "empty"
    REFERENCE = "reference"
    SIRET = "siret"
    SIREN = "siren"
    RNA = "rna"
    EMAIL = "email"
    WORDS = "words"


class QueryTooLong(ValueError):
    pass


@dataclass(frozen=True)
class ParsedQuery:
    kind: QueryKind
    text: str  # the words as typed (whitespace collapsed), or the normalised identifier
    words: tuple[str, ...] = ()  # the words, for SQLite and the highlighting


def parse(raw: str | None) -> ParsedQuery:
    """What the user typed, classified. Control characters are spaces; over MAX_QUERY_LENGTH raises."""
    text = " ".join("".join(" " if unicodedata.category(c).startswith("C") else c for c in raw or "").split())
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryTooLong(text[:MAX_QUERY_LENGTH])
    if not text:
        return ParsedQuery(QueryKind.EMPTY, "")
    compact = text.replace(" ", "").replace(".", "")
    if REFERENCE.match(text.upper()):
        return ParsedQuery(QueryKind.REFERENCE, text.upper())
    if compact.isdigit() and compact.isascii() and len(compact) == 14:
        return ParsedQuery(QueryKind.SIRET, compact)
    if compact.isdigit() and compact.isascii() and len(compact) == 9:
        return ParsedQuery(QueryKind.SIREN, compact)
    if RNA.match(compact.upper()):
        return ParsedQuery(QueryKind.RNA, compact.upper())
    if EMAIL.match(text):
        return ParsedQuery(QueryKind.EMAIL, text.lower())
    words = tuple(dict.fromkeys(w for w in WORD.findall(fold(text)) if w.strip("_")))[:MAX_WORDS]
    if not words:
        return ParsedQuery(QueryKind.EMPTY, "")
    return ParsedQuery(QueryKind.WORDS, text, words)


# The amount requested, by range (euros): key → [low, high).
AMOUNT_RANGES = {
    "0-5000": (Decimal(0), Decimal(5000)),
    "5000-20000": (Decimal(5000), Decimal(20000)),
    "20000-50000": (Decimal(20000), Decimal(50000)),
    "50000-": (Decimal(50000), None),
}
NO_DECISION = "none"


def amount_range(amount: Decimal | None) -> str | None:
    if amount is None:
        return None
    for key, (low, high) in AMOUNT_RANGES.items():
        if amount >= low and (high is None or amount < high):
            return key
    return None


@dataclass(frozen=True)
class Filters:
    programme_id: int | None = None
    call_id: int | None = None
    year: int | None = None
    state: ApplicationState | None = None
    section: BudgetSection | None = None
    amount: str | None = None  # a key of AMOUNT_RANGES
    decision: str | None = None  # an Outcome's value, or NO_DECISION


@dataclass
class Facet:
    name: str
    options: list[tuple[str, str, int]]  # (value, label, count)


@dataclass
class SearchResults:
    query: ParsedQuery
    applications: list[Application] = field(default_factory=list)
    ranks: dict[int, float] = field(default_factory=dict)
    next_cursor: str | None = None
    total: int = 0  # candidates found (capped)
    capped: bool = False  # more than CANDIDATES matched
    fuzzy: bool = False  # found by name similarity, the words finding nothing
    facets: list[Facet] = field(default_factory=list)
    own: set[int] = field(default_factory=set)  # the user's own dossiers on the page
    assignments: dict[int, int] = field(default_factory=dict)  # dossier id → the reviewer's assignment


def is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


# --- Who sees what -------------------------------------------------------------------------------


def own_applicants(user):
    """His organisations' applicants and himself as one (a union: each part on its own index)."""
    organisations = sa.select(Membership.organisation_id).where(Membership.user_id == user.id)
    return sa.union(
        sa.select(Applicant.id).where(Applicant.organisation_id.in_(organisations)),
        sa.select(Applicant.id).where(Applicant.person_id == user.id),
    )


def visible(user) -> sa.ColumnElement[bool]:
    """The dossiers ``user`` may find, as a condition on ``applications``.

    Not a manager: the ids themselves (his own applicants' dossiers, and the assignments he has not
    recused from, less the applicants he declared a conflict with), read first through their indexes. The
    planner then starts from these few hundred ids and checks each against the words; given a subquery
    instead, it misjudged its size and checked every match of a common word against it (0.7 s at
    1,000,000 dossiers, bench/RESULTS.md)."""
    if not getattr(user, "is_authenticated", False):
        return sa.false()
    if user.is_manager:
        return Application.state != ApplicationState.DRAFT
    ids = sa.select(Application.id).where(Application.applicant_id.in_(own_applicants(user)))
    if user.is_reviewer:
        conflicts = sa.select(ConflictOfInterest.applicant_id).where(ConflictOfInterest.reviewer_id == user.id)
        assigned = (
            sa.select(ReviewAssignment.application_id)
            .join(Application, Application.id == ReviewAssignment.application_id)
            .where(ReviewAssignment.reviewer_id == user.id, ReviewAssignment.state == AssignmentState.ASSIGNED,
                   Application.applicant_id.not_in(conflicts))
        )
        ids = sa.union(ids, assigned)
    found = list(db.session.scalars(ids))
    return Application.id.in_(found) if found else sa.false()


def filtered(filters: Filters) -> list[sa.ColumnElement[bool]]:
    conditions = []
    if filters.call_id is not None:
        conditions.append(Application.call_id == filters.call_id)
    if filters.state is not None:
        conditions.append(Application.state == filters.state)
    if filters.section is not None:
        conditions.append(Application.section == filters.section)
    if filters.amount in AMOUNT_RANGES:
        low, high = AMOUNT_RANGES[filters.amount]
        conditions.append(Application.amount_requested >= low)
        if high is not None:
            conditions.append(Application.amount_requested < high)
    if filters.decision is not None:
        standing = sa.select(Decision.application_id).where(Decision.cancelled_at.is_(None))
        if filters.decision == NO_DECISION:
            conditions.append(Application.id.not_in(standing))
        else:
            conditions.append(Application.id.in_(standing.where(Decision.outcome == filters.decision)))
    calls = []
    if filters.programme_id is not None:
        calls.append(Call.programme_id == filters.programme_id)
    if filters.year is not None:
        calls.append(Call.year == filters.year)
    if calls:
        conditions.append(Application.call_id.in_(sa.select(Call.id).where(*calls)))
    return conditions


# --- Candidates: (application id, rank), at most CANDIDATES ----------------------------------------


def applicants_of_people(people):
    """The applicants ``people`` (a subquery of user ids) act for: their organisations', themselves."""
    organisations = sa.select(Membership.organisation_id).where(Membership.user_id.in_(people))
    return sa.union(
        sa.select(Applicant.id).where(Applicant.organisation_id.in_(organisations)),
        sa.select(Applicant.id).where(Applicant.person_id.in_(people)),
    )


def applications_of_applicants(applicants, conditions, boost: float) -> list[tuple[int, float]]:
    rows = db.session.execute(
        sa.select(Application.id).where(Application.applicant_id.in_(applicants), *conditions).limit(CANDIDATES)
    ).scalars()
    return [(application_id, boost) for application_id in rows]


def applications_of_organisations(organisations, conditions, boost: float) -> list[tuple[int, float]]:
    applicants = sa.select(Applicant.id).where(Applicant.organisation_id.in_(organisations))
    rows = db.session.execute(
        sa.select(Application.id).where(Application.applicant_id.in_(applicants), *conditions).limit(CANDIDATES)
    ).scalars()
    return [(application_id, boost) for application_id in rows]


def identifier_candidates(query: ParsedQuery, user, conditions) -> list[tuple[int, float]]:
    if query.kind == QueryKind.REFERENCE:
        ids = db.session.execute(
            sa.select(Application.id).where(Application.reference == query.text, *conditions)
        ).scalars()
        return [(application_id, 1.0) for application_id in ids]
    if not user.is_manager:
        return []
    if query.kind == QueryKind.EMAIL:
        people = sa.select(User.id).where(User.email == query.text)
        by_organisation = applications_of_organisations(
            sa.select(Organisation.id).where(Organisation.email == query.text), conditions, 1.0)
        return list(dict([*by_organisation, *applications_of_applicants(applicants_of_people(people),
                                                                          conditions, 1.0)]).items())
    if query.kind == QueryKind.SIRET:
        organisations = sa.select(Organisation.id).where(Organisation.siret == query.text)
    elif query.kind == QueryKind.SIREN:
        organisations = sa.select(Organisation.id).where(
            Organisation.siret.between(query.text + "00000", query.text + "99999")
        )
    else:
        organisations = sa.select(Organisation.id).where(Organisation.rna == query.text)
    return applications_of_organisations(organisations, conditions, 1.0)


def sqlite_words(words, prefix: bool = True) -> str:
    """An FTS5 query: every word, quoted (so no operator of the user's reaches FTS5), all required.
    Plural ``s``/``x`` dropped and a prefix match: a poor man's stemmer."""
    terms = []
    for word in words:
        stem = word[:-1] if len(word) > 3 and word[-1] in "sx" else word
        terms.append('"' + stem.replace('"', "") + '"' + ("*" if prefix else ""))
    return " AND ".join(terms)


def word_candidates(query: ParsedQuery, conditions) -> list[tuple[int, float]]:
    if is_postgresql():
        tsquery = sa.func.websearch_to_tsquery(sa.literal_column("'subventia_french'::regconfig"), query.text)
        document = sa.column("search_document")
        matches = (
            sa.select(Application.id, document.label("document"))
            .where(document.op("@@")(tsquery), *conditions)
            .limit(CANDIDATES)
            .subquery()
        )
        rank = sa.func.ts_rank_cd(matches.c.document, tsquery, 1)
        rows = db.session.execute(sa.select(matches.c.id, rank)).all()
    else:
        search = sa.table("applications_search", sa.column("rowid"), sa.column("applications_search"))
        rank = -sa.func.bm25(sa.literal_column("applications_search"), 10.0, 10.0, 4.0, 2.0, 2.0, 4.0, 4.0)
        rows = db.session.execute(
            sa.select(Application.id, rank)
            .join(search, search.c.rowid == Application.id)
            .where(search.c.applications_search.op("MATCH")(sqlite_words(query.words)), *conditions)
            .limit(CANDIDATES)
        ).all()
    return [(application_id, float(r or 0)) for application_id, r in rows]


def name_matches(query: ParsedQuery):
    """The organisations whose name holds every word (a subquery of ids, bounded)."""
    if is_postgresql():
        tsquery = sa.func.websearch_to_tsquery(sa.literal_column("'subventia_french'::regconfig"), query.text)
        words = sa.func.to_tsvector(sa.literal_column("'subventia_french'::regconfig"), Organisation.name)
        return sa.select(Organisation.id).where(words.op("@@")(tsquery)).limit(NAME_MATCHES)
    words = [w for w in query.words if len(w) >= 3]  # the trigram table matches substrings of 3+
    if not words:
        return None
    names = sa.table("organisations_names", sa.column("rowid"), sa.column("organisations_names"))
    return (
        sa.select(names.c.rowid)
        .where(names.c.organisations_names.op("MATCH")(sqlite_words(words, prefix=False)))
        .limit(NAME_MATCHES)
    )


def people_matches(query: ParsedQuery):
    """The people (members, individual applicants) whose name holds every word (ids, bounded)."""
    if is_postgresql():
        tsquery = sa.func.websearch_to_tsquery(sa.literal_column("'subventia_french'::regconfig"), query.text)
        words = sa.func.to_tsvector(sa.literal_column("'subventia_french'::regconfig"), User.full_name)
        return sa.select(User.id).where(words.op("@@")(tsquery)).limit(NAME_MATCHES)
    names = sa.table("users_names", sa.column("rowid"), sa.column("users_names"))
    return (
        sa.select(names.c.rowid)
        .where(names.c.users_names.op("MATCH")(sqlite_words(query.words)))
        .limit(NAME_MATCHES)
    )


def commented(query: ParsedQuery):
    """The dossiers whose submitted reviews' comments hold every word (a subquery of ids, bounded)."""
    if is_postgresql():
        tsquery = sa.func.websearch_to_tsquery(sa.literal_column("'subventia_french'::regconfig"), query.text)
        words = sa.func.to_tsvector(sa.literal_column("'subventia_french'::regconfig"), Review.comment)
        reviews = sa.select(Review.id).where(words.op("@@")(tsquery)).limit(CANDIDATES)
    else:
        comments = sa.table("reviews_comments", sa.column("rowid"), sa.column("reviews_comments"))
        reviews = (
            sa.select(comments.c.rowid)
            .where(comments.c.reviews_comments.op("MATCH")(sqlite_words(query.words)))
            .limit(CANDIDATES)
        )
    return (
        sa.select(ReviewAssignment.application_id)
        .join(Review, Review.assignment_id == ReviewAssignment.id)
        .where(Review.id.in_(reviews), Review.state == ReviewState.SUBMITTED)
    )


def trigrams(text: str) -> set[str]:
    found = set()
    for word in WORD.findall(fold(text)):
        padded = f"  {word} "
        found.update(padded[i:i + 3] for i in range(len(padded) - 2))
    return found


def similar_names(query: ParsedQuery) -> list[int]:
    """Organisations whose name is close to the words (typos): ids, best first."""
    if is_postgresql():
        text = " ".join(query.words)
        return list(db.session.execute(
            sa.select(Organisation.id)
            .where(sa.literal(text).op("<%")(Organisation.name))
            .order_by(sa.func.word_similarity(text, Organisation.name).desc(), Organisation.id)
            .limit(NAME_MATCHES)
        ).scalars())
    wanted = {t for t in trigrams(" ".join(query.words)) if t.strip()}
    inner = sorted(t for t in wanted if " " not in t and '"' not in t)
    if not inner:
        return []
    names = sa.table("organisations_names", sa.column("rowid"), sa.column("name"),
                     sa.column("organisations_names"))
    rows = db.session.execute(
        sa.select(names.c.rowid, names.c.name)
        .where(names.c.organisations_names.op("MATCH")(" OR ".join(f'"{t}"' for t in inner)))
        .order_by(sa.func.bm25(sa.literal_column("organisations_names")))
        .limit(NAME_MATCHES * 4)
    ).all()
    scored = []
    for organisation_id, name in rows:
        shared = len(wanted & trigrams(name)) / len(wanted)
        if shared >= SIMILARITY:
            scored.append((-shared, organisation_id))
    return [organisation_id for _, organisation_id in sorted(scored)[:NAME_MATCHES]]


def candidates(query: ParsedQuery, user, conditions) -> tuple[list[tuple[int, float]], bool]:
    """(id, rank) of the matching dossiers, at most CANDIDATES, and whether they came by similarity."""
    if query.kind == QueryKind.EMPTY:
        return [], False
    if query.kind != QueryKind.WORDS:
        return identifier_candidates(query, user, conditions), False
    ranks: dict[int, float] = dict(word_candidates(query, conditions))
    if user.is_manager:
        names = name_matches(query)
        by_name = applications_of_organisations(names, conditions, 1.0) if names is not None else []
        by_person = applications_of_applicants(applicants_of_people(people_matches(query)), conditions, 1.0)
        by_comment = db.session.execute(
            sa.select(Application.id).where(Application.id.in_(commented(query)), *conditions).limit(CANDIDATES)
        ).scalars()
        for application_id, boost in dict([*((i, 0.5) for i in by_comment), *by_name, *by_person]).items():
            ranks[application_id] = ranks.get(application_id, 0.0) + boost
    if ranks or not user.is_manager:
        return list(ranks.items())[:CANDIDATES], False
    close = similar_names(query)
    if not close:
        return [], False
    by_name = applications_of_organisations(close, conditions, 0.0)
    order = {organisation_id: n for n, organisation_id in enumerate(close)}
    applicant_org = dict(db.session.execute(
        sa.select(Application.id, Applicant.organisation_id)
        .join(Applicant, Applicant.id == Application.applicant_id)
        .where(Application.id.in_([application_id for application_id, _ in by_name]))
    ).all())
    return [(application_id, 1.0 / (1 + order.get(applicant_org.get(application_id), 0)))
            for application_id, _ in by_name], True


# --- The page ------------------------------------------------------------------------------------


def parse_cursor(cursor: str | None) -> tuple[float, int] | None:
    if not cursor:
        return None
    try:
        rank, application_id = cursor.split("_", 1)
        return float(rank), int(application_id)
    except ValueError:
        return None


def search(user, raw_query: str | None, filters: Filters = Filters(), *, cursor: str | None = None,
           page_size: int = PAGE_SIZE, with_facets: bool = True) -> SearchResults:
    """One page of the dossiers ``user`` may see matching ``raw_query`` (raises QueryTooLong); with
    ``page_size=CANDIDATES``, every candidate (the export)."""
    query = parse(raw_query)
    results = SearchResults(query)
    conditions = [visible(user), *filtered(filters)]
    found, results.fuzzy = candidates(query, user, conditions)
    if not found:
        return results
    results.total, results.capped = len(found), len(found) >= CANDIDATES
    ordered = sorted(found, key=lambda item: (-item[1], -item[0]))
    after = parse_cursor(cursor)
    if after is not None:
        rank, last_id = after
        ordered = [(i, r) for i, r in ordered if r < rank or (r == rank and i < last_id)]
    page = ordered[:page_size]
    if len(ordered) > page_size:
        last_id, last_rank = page[-1]
        results.next_cursor = f"{last_rank!r}_{last_id}"
    results.ranks = dict(page)
    by_id = {
        a.id: a for a in db.session.scalars(
            sa.select(Application).where(Application.id.in_(list(results.ranks)))
            .options(selectinload(Application.call).selectinload(Call.programme),
                     selectinload(Application.applicant).selectinload(Applicant.organisation),
                     selectinload(Application.applicant).selectinload(Applicant.person))
        )
    }
    results.applications = [by_id[i] for i, _ in page if i in by_id]
    page_ids = [a.id for a in results.applications]
    results.own = set(db.session.scalars(
        sa.select(Application.id).where(Application.id.in_(page_ids), Application.applicant_id.in_(own_applicants(user)))
    ))
    if user.is_reviewer:
        results.assignments = dict(db.session.execute(
            sa.select(ReviewAssignment.application_id, ReviewAssignment.id).where(
                ReviewAssignment.application_id.in_(page_ids), ReviewAssignment.reviewer_id == user.id,
                ReviewAssignment.state == AssignmentState.ASSIGNED)
        ).all())
    if with_facets:
        results.facets = facets([i for i, _ in found])
    return results


FACETS = ("programme", "call", "year", "state", "section", "amount", "decision")


def facets(ids: list[int]) -> list[Facet]:
    """Counts by programme, call, year, state, budget section, amount range and decision among the
    candidates (all visible, at most CANDIDATES): one row per candidate, counted here."""
    rows = db.session.execute(
        sa.select(Programme.id, Programme.name, Call.id, Call.title, Call.year, Application.state,
                  Application.section, Application.amount_requested, Decision.outcome)
        .select_from(Application)
        .join(Call, Call.id == Application.call_id)
        .join(Programme, Programme.id == Call.programme_id)
        .outerjoin(Decision, (Decision.application_id == Application.id) & Decision.cancelled_at.is_(None))
        .where(Application.id.in_(ids))
    ).all()
    counts: dict[str, dict[tuple[str, str], int]] = {name: {} for name in FACETS}
    for programme_id, programme, call_id, call, year, state, section, amount, outcome in rows:
        keys = {
            "programme": (str(programme_id), programme), "call": (str(call_id), call),
            "year": (str(year), str(year)), "state": (state.value, state.value),
            "section": (section.value, section.value) if section else None,
            "amount": (amount_range(amount), amount_range(amount)) if amount_range(amount) else None,
            "decision": (outcome.value, outcome.value) if outcome else (NO_DECISION, NO_DECISION),
        }
        for name, key in keys.items():
            if key is not None:
                counts[name][key] = counts[name].get(key, 0) + 1
    ordered = []
    for name in FACETS:
        options = [(value, label, count) for (value, label), count in counts[name].items()]
        if name == "amount":
            options.sort(key=lambda option: list(AMOUNT_RANGES).index(option[0]))
        else:
            options.sort(key=lambda option: (-option[2], option[1]))
        ordered.append(Facet(name, options))
    return ordered
