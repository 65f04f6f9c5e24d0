"""A realistic data set for the benchmarks, built on a PostgreSQL database of its own.

    .venv/bin/python -m bench.dataset                     # drops and rebuilds ``subventia_bench``
    .venv/bin/python -m bench.dataset --scale 0.1
    .venv/bin/python -m bench.dataset --scale national --database-url postgresql://…/subventia_national

What it holds (at scale 1): 50 calls of 5 programmes (drafts, scheduled, open, closed, archived),
5,000 associations with valid SIRETs, one member each, 120 reviewers, a manager and an admin;
20,000 applications, 10,000 of them in one closed call (the "big call") and the rest spread over
the 40 calls that received some; 3 reviewers per screened application with their reviews and
criterion scores; decisions with their committee sessions; the envelope ledger (commitments and
advance payments); the audit timeline of every application. Any scale works (``--scale 0.01`` for
the tests, ``--scale 10`` for 200,000 applications): every count but the calls' follows it.

At the national scale (:data:`NATIONAL`): 1,000,000 applications in 10,000 calls (the big call keeps
its 10,000), 100,000 associations, 3,000 reviewers, 4 reviewers per screened application: about
3,000,000 reviews, each with a mark per criterion (4 per call, about 12,000,000 criterion scores:
every submitted review keeps the marks its stored score is computed from, so that ``flask reviews
verify-scores`` checks them all), about 33 million rows.

The database is created, then migrated by the project's own migrations, then filled with COPY as a
restore would: rows are computed in Python with explicit ids and written to spool files in COPY's
text format (never all in memory), then each table is truncated and loaded ``WITH (FREEZE)`` in one
transaction, its secondary indexes and foreign keys dropped for the load and created again after it
(the foreign keys are validated then, so a row pointing nowhere fails the build). Every CHECK
constraint holds, and so do the invariants the services keep: an envelope's ``committed`` and
``paid`` are the sums of its ledger rows, an award's ``paid`` the sum of its payments, a programme's
``carved`` the sum of its calls' envelopes, a review's stored score the one its marks give, a
reference counter the last number given. :func:`verify` checks them with the app's own checks.

An envelope is sized on what it awarded (a quarter more), plus 1,000 € for each of its dossiers
under review: the room the web bench's API awards (1,000 € each, bench/run.py) need.

The bench accounts all share :data:`BENCH_PASSWORD`. The last :data:`BENCH_DRAFTS` applications are
drafts in open calls, each of a different association: one per load-generator connection of the
draft save.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path

import psycopg
import sqlalchemy as sa
from psycopg import sql
from stdnum import luhn

from grants.calls.models import search_text_of
from grants.reviews.ranking import review_score

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = str(ROOT / "migrations")
BENCH_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/subventia_bench"
)
BENCH_PASSWORD = "bench-subventia-2026"
MANAGER_EMAIL = "bench-manager@region.example"
REVIEWER_EMAIL = "reviewer001@region.example"
APPLICANT_EMAIL = "membre00001@asso.example"
BIG_CALL_SLUG = "fonds-vie-associative-2026"
BENCH_DRAFTS = 128
SEED = 2026
# The tables the data set fills (loaded in this order, the foreign keys checked once all are in).
TABLE_NAMES = ("users", "organisations", "memberships", "applicants", "programmes", "programme_budgets", "calls",
               "call_envelopes", "criteria", "required_documents", "applications", "budget_lines",
               "correction_requests", "review_assignments", "reviews", "criterion_scores", "committee_sessions",
               "decisions", "envelope_movements", "audit_events", "notifications", "reference_counters")

# Tables whose triggers keep a figure the builder computes itself: notifications → users.unread_notifications,
# reviews → review_assignments.transmitted.
TRIGGERS_COMPUTED = ("notifications", "reviews")

OPERATING = "fonctionnement"
INVESTMENT = "investissement"

FIRST_NAMES = ["Camille", "Léa", "Hugo", "Louise", "Nathan", "Chloé", "Lucas", "Emma", "Jules", "Manon",
               "Arthur", "Inès", "Paul", "Sarah", "Gabriel", "Jade", "Thomas", "Zoé", "Nicolas", "Lina"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Lefebvre", "Leroy", "Moreau", "Lambert", "Fontaine",
              "Rousseau", "Vincent", "Mercier", "Dupont", "Lemaire", "Duhamel", "Caron", "Vasseur",
              "Delattre", "Lecomte", "Carpentier", "Hennebelle"]
CITIES = [("59000", "Lille"), ("59100", "Roubaix"), ("59200", "Tourcoing"), ("62000", "Arras"),
          ("62100", "Calais"), ("59300", "Valenciennes"), ("62300", "Lens"), ("59140", "Dunkerque"),
          ("62200", "Boulogne-sur-Mer"), ("59400", "Cambrai")]
THEMES = ["solidarité", "culture", "sport", "jeunesse", "environnement", "santé", "insertion",
          "éducation populaire", "patrimoine", "coopération internationale"]
PROGRAMMES = [
    ("RI", "Relations internationales"),
    ("VA", "Vie associative"),
    ("CU", "Culture"),
    ("SP", "Sport"),
    ("EN", "Environnement"),
]
CRITERIA = [("Pertinence du projet", 3), ("Impact sur le territoire", 2),
            ("Capacité du porteur", 2), ("Budget réaliste", 1)]
DOCUMENTS = ["Statuts de l'association", "RIB", "Derniers comptes approuvés"]


def euros(cents: int) -> Decimal:
    return Decimal(cents) / 100


def luhn_siret(seed: int) -> str:
    """A valid SIRET from a number (as tests/factories.py makes them): a Luhn-valid SIREN, then a
    NIC whose last digit makes all 14 digits pass Luhn."""
    siren_body = f"{(seed * 7919 + 10000000) % 10**8:08d}"
    siren = siren_body + luhn.calc_check_digit(siren_body)
    body = siren + f"{seed % 10000:04d}"
    return body + luhn.calc_check_digit(body)


def copy_text(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        if "\\" in value or "\n" in value or "\t" in value or "\r" in value:
            return (value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
                    .replace("\r", "\\r"))
        return value
    return str(value)


class Table:
    """Rows for one table, spooled in COPY's text format to a file, with the ids handed out so far."""

    FLUSH_EVERY = 20_000

    def __init__(self, name: str, columns: list[str], spool: Path):
        self.name, self.columns = name, columns
        self.count = 0
        self.path = spool / f"{name}.copy"
        self._lines: list[str] = []
        self._file = self.path.open("w", encoding="utf-8")

    def add(self, **values) -> int:
        """A row from its named values (missing columns are NULL); returns its id."""
        self.count += 1
        if "id" in self.columns:
            values.setdefault("id", self.count)
        self.write(tuple(values.get(c) for c in self.columns))
        return values.get("id")

    def append(self, *row) -> int:
        """A row given in column order, its id first (the fast path of the big tables); returns its id."""
        self.count += 1
        self.write((self.count, *row))
        return self.count

    def write(self, row: tuple) -> None:
        self._lines.append("\t".join(map(copy_text, row)))
        if len(self._lines) >= self.FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self._lines:
            self._file.write("\n".join(self._lines))
            self._file.write("\n")
            self._lines = []

    def close(self) -> None:
        self.flush()
        self._file.close()


@dataclass(frozen=True)
class Size:
    """How much of everything: the scales multiply scale 1's counts, the national scale is its own."""

    associations: int
    reviewers: int
    calls: int  # the big call included
    big_call_applications: int
    other_applications: int
    reviewers_per_application: int
    call_states: tuple[tuple[str, int], ...]  # the other calls: (state, weight)


SCALE_CALL_STATES = (("draft", 4), ("scheduled", 5), ("open", 12), ("closed", 20), ("archived", 8))
NATIONAL = Size(associations=100_000, reviewers=3_000, calls=10_000, big_call_applications=10_000,
                other_applications=1_000_000 - 10_000 - BENCH_DRAFTS, reviewers_per_application=4,
                call_states=(("draft", 1), ("scheduled", 1), ("open", 8), ("closed", 20), ("archived", 70)))


def size_at(scale: float | str) -> Size:
    if scale == "national":
        return NATIONAL
    scale = float(scale)
    return Size(associations=max(20, int(5000 * scale)), reviewers=max(6, int(120 * scale)), calls=50,
                big_call_applications=max(12, int(10000 * scale)), other_applications=max(40, int(10000 * scale)),
                reviewers_per_application=3, call_states=SCALE_CALL_STATES)


@dataclass
class CallPlan:
    id: int
    state: str
    opens_at: datetime
    closes_at: datetime
    prefix: str
    programme: int
    min_cents: int
    max_cents: int
    criteria: list[tuple[int, int, int]]  # (criterion id, weight, scale_max)
    applications: int
    next_reference: int = 0
    session: int | None = None  # its committee session, once a decision is made
    committed: int = 0  # cents awarded
    paid: int = 0  # cents paid (the advances)
    under_review: int = 0  # dossiers the web bench may award through the API
    envelope: int | None = None  # its operating envelope's id

    @cached_property
    def criteria_shape(self) -> tuple[tuple[int, int], ...]:
        return tuple((weight, scale_max) for _, weight, scale_max in self.criteria)


class DatasetBuilder:
    """Computes every row in dependency order, with explicit ids, spooled to one file per table."""

    def __init__(self, size: Size, now: datetime, spool: Path):
        self.rng = random.Random(SEED)
        self.now = now
        self.size = size
        self.associations = size.associations
        self.reviewers = size.reviewers
        self.big_call_applications = size.big_call_applications
        self.other_applications = size.other_applications

        def table(name: str, columns: str) -> Table:
            return Table(name, ["id", *columns.split()], spool)

        self.t = {
            "users": table("users", "email password_hash full_name locale active staff_role created_at "
                                    "last_login_at email_confirmed_at wants_digest wants_call_news "
                                    "unread_notifications"),
            "organisations": table("organisations", "name legal_form siret rna street postal_code city email "
                                                    "phone created_at"),
            "memberships": table("memberships", "user_id organisation_id role joined_at"),
            "applicants": table("applicants", "kind organisation_id person_id address"),
            "programmes": table("programmes", "code name description created_at"),
            "programme_budgets": table("programme_budgets", "programme_id year section authorised carved "
                                                            "direct_committed"),
            "calls": table("calls", "programme_id year title slug reference_prefix summary description "
                                    "eligibility_rules applicant_kinds eligible_legal_forms partner_regions "
                                    "opens_at closes_at state min_grant max_grant max_share_of_cost "
                                    "reminder_offsets_days blind_review show_review_comments "
                                    "disagreement_threshold created_at published_at search_text"),
            "call_envelopes": table("call_envelopes", "call_id section amount committed paid"),
            "criteria": table("criteria", "call_id position name guidance weight scale_max"),
            "required_documents": table("required_documents", "call_id position name required accepted_types"),
            "applications": table("applications", "call_id applicant_id created_by_id reference state version "
                                                  "title summary objectives target_public beneficiaries_count "
                                                  "places partner_region starts_on ends_on section "
                                                  "amount_requested total_expenses total_resources eligible "
                                                  "eligibility_reason screened_by_id screened_at created_at "
                                                  "updated_at submitted_at decided_at withdrawn_at"),
            # The big tables are written in column order (Table.append): keep these lists in step.
            "budget_lines": table("budget_lines", "application_id kind account label funder is_region_request "
                                                  "amount position"),
            "correction_requests": table("correction_requests", "application_id requested_by_id message "
                                                                "sections due_at created_at answered_at"),
            "review_assignments": table("review_assignments", "application_id reviewer_id assigned_by_id "
                                                              "assigned_at due_on state recusal_reason transmitted"),
            "reviews": table("reviews", "assignment_id state opinion suggested_amount comment updated_at "
                                        "submitted_at score"),
            "criterion_scores": table("criterion_scores", "review_id criterion_id score comment"),
            "committee_sessions": table("committee_sessions", "call_id held_on note confirmed_by_id "
                                                              "confirmed_at"),
            "decisions": table("decisions", "application_id outcome section amount paid reason decided_by_id "
                                            "decided_at cancelled_at committee_session_id"),
            "envelope_movements": table("envelope_movements", "envelope_id decision_id kind tranche amount "
                                                              "effective_on reason actor_id created_at"),
            "audit_events": table("audit_events", "occurred_at action actor_id subject_type subject_id "
                                                  "from_state to_state details"),
            "notifications": table("notifications", "event recipient_email recipient_id subject body_text "
                                                    "status attempts created_at sent_at read_at link"),
            "reference_counters": Table("reference_counters", ["prefix", "year", "last_number"], spool),
        }
        self.user_rows: list[dict] = []
        self.unread: dict[int, int] = defaultdict(int)  # user id → unread notifications
        self.calls: list[CallPlan] = []
        self.score_of: dict[tuple, Decimal] = {}  # the marks of a call's grid → the review's score
        self.movements: list[tuple] = []  # the ledger, written once the envelopes have their ids

    # ------------------------------------------------------------------ helpers
    def audit(self, action, subject_type, subject_id, before, after, actor, at, details: str = "{}"):
        self.t["audit_events"].append(at, action, actor, subject_type, subject_id, before, after, details)

    def between(self, start: datetime, end: datetime) -> datetime:
        span = max(1, int((end - start).total_seconds()))
        return start + timedelta(seconds=self.rng.randrange(span))

    def notify(self, event: str, recipient: int, app_id: int, subject: str, at: datetime) -> None:
        """The applicant's message, sent; read unless it is less than a month old."""
        read_at = at + timedelta(hours=6) if at < self.now - timedelta(days=30) else None
        if read_at is None:
            self.unread[recipient] += 1
        self.t["notifications"].append(event, self.member_email[recipient], recipient, subject,
                                       f"{subject}\n\nRetrouvez votre dossier sur le portail des subventions.",
                                       "sent", 1, at, at, read_at, f"/dossiers/{app_id}")

    # ------------------------------------------------------------------ people
    def build_people(self, password_hash: str) -> None:
        users = self.t["users"]
        created = self.now - timedelta(days=400)

        # Users are written last, with the count of their unread notifications (the bell's column).
        def user(email, name, role=None):
            users.count += 1
            self.user_rows.append(dict(
                id=users.count, email=email, password_hash=password_hash, full_name=name, locale="fr",
                active=True, staff_role=role, created_at=created, last_login_at=None, email_confirmed_at=created,
                wants_digest=True, wants_call_news=True))
            return users.count

        self.manager = user(MANAGER_EMAIL, "Claire Vasseur", "manager")
        self.admin = user("bench-admin@region.example", "Marc Delattre", "admin")
        self.reviewer_ids = [
            user(f"reviewer{n:03d}@region.example", self.person_name(n), "reviewer")
            for n in range(1, self.reviewers + 1)
        ]
        self.member_of: dict[int, int] = {}
        self.member_email: dict[int, str] = {}
        organisations = self.t["organisations"]
        for n in range(1, self.associations + 1):
            postal_code, city = CITIES[n % len(CITIES)]
            theme = THEMES[n % len(THEMES)]
            organisation = organisations.add(
                name=f"Association {theme} {city} n°{n}", legal_form="association" if n % 10 else "foundation",
                siret=luhn_siret(n), rna=f"W59{n:07d}", street=f"{n % 200 + 1} rue de la République",
                postal_code=postal_code, city=city, email=f"contact{n:05d}@asso.example", phone="03 20 00 00 00",
                created_at=created,
            )
            member = user(f"membre{n:05d}@asso.example", self.person_name(n + 7))
            self.member_email[member] = f"membre{n:05d}@asso.example"
            self.t["memberships"].add(user_id=member, organisation_id=organisation, role="owner", joined_at=created)
            applicant = self.t["applicants"].add(kind="organisation", organisation_id=organisation,
                                                 person_id=None, address=None)
            self.member_of[applicant] = member

    def person_name(self, n: int) -> str:
        return f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]}"

    # ------------------------------------------------------------------ calls
    def call_states(self) -> list[str]:
        """The big call (closed) first, then the others in the proportions of the size's plan."""
        others = self.size.calls - 1
        total = sum(weight for _, weight in self.size.call_states)
        counts = [(state, others * weight // total) for state, weight in self.size.call_states]
        counts[-1] = (counts[-1][0], others - sum(count for _, count in counts[:-1]))
        return ["closed"] + [state for state, count in counts for _ in range(count)]

    def build_calls(self) -> None:
        for code, name in PROGRAMMES:
            self.t["programmes"].add(code=code, name=name, description=f"Programme budgétaire « {name} ».",
                                     created_at=self.now - timedelta(days=500))
        states = self.call_states()
        receiving = sum(1 for s in states[1:] if s in ("open", "closed", "archived"))
        per_call = self.other_applications // receiving
        extra = self.other_applications - per_call * receiving
        for number, state in enumerate(states, start=1):
            big = number == 1
            days = number % 300  # the national scale's 10,000 calls within two years
            if state == "draft":
                opens_at, closes_at = self.now + timedelta(days=60), self.now + timedelta(days=120)
            elif state == "scheduled":
                opens_at, closes_at = self.now + timedelta(days=10 + days), self.now + timedelta(days=70 + days)
            elif state == "open":
                opens_at, closes_at = self.now - timedelta(days=30 + days), self.now + timedelta(days=15 + days)
            elif state == "closed":
                opens_at, closes_at = self.now - timedelta(days=150 + days), self.now - timedelta(days=60)
            else:
                opens_at, closes_at = self.now - timedelta(days=500 + days), self.now - timedelta(days=420)
            theme = THEMES[number % len(THEMES)]
            title = ("Fonds régional pour la vie associative 2026" if big
                     else f"Appel à projets {theme} n°{number}")
            slug = BIG_CALL_SLUG if big else f"aap-{theme.replace(' ', '-')}-{number}"
            programme = 2 if big else number % len(PROGRAMMES) + 1
            min_cents, max_cents = (100_000, 1_500_000) if big else (100_000, 2_000_000)
            prefix = "FVA" if big else f"A{number:02d}"
            summary = f"Soutenir les projets associatifs ({theme}) de la région."
            description = (f"## Objectifs\n\nSoutenir les projets **{theme}** portés par les associations.\n\n"
                           "- projets d'intérêt général\n- ancrés sur le territoire régional\n")
            call_id = self.t["calls"].add(
                programme_id=programme, year=2026 if state != "archived" else 2025, title=title, slug=slug,
                reference_prefix=prefix, summary=summary, description=description,
                search_text=search_text_of(title, summary, description),
                eligibility_rules="Associations loi 1901 déclarées depuis au moins un an, siège dans la région.",
                applicant_kinds="organisations", eligible_legal_forms="[]", partner_regions="[]",
                opens_at=opens_at, closes_at=closes_at, state=state, min_grant=min_cents, max_grant=max_cents,
                max_share_of_cost=Decimal("0.8000"), reminder_offsets_days="[7, 2]", blind_review=True,
                show_review_comments=False, disagreement_threshold=Decimal("20.00"),
                created_at=opens_at - timedelta(days=30),
                published_at=None if state == "draft" else opens_at - timedelta(days=20),
            )
            criteria = []
            for position, (name, weight) in enumerate(CRITERIA):
                criterion = self.t["criteria"].add(call_id=call_id, position=position, name=name,
                                                   guidance="Noter de 0 à 5.", weight=Decimal(weight),
                                                   scale_max=5)
                criteria.append((criterion, weight, 5))
            for position, name in enumerate(DOCUMENTS):
                self.t["required_documents"].add(call_id=call_id, position=position, name=name, required=True,
                                                 accepted_types='["pdf"]')
            if big:
                count = self.big_call_applications
            elif state in ("open", "closed", "archived"):
                count = per_call + (1 if extra > 0 else 0)
                extra -= 1
            else:
                count = 0
            self.calls.append(CallPlan(call_id, state, opens_at, closes_at, prefix, programme, min_cents,
                                       max_cents, criteria, count))

    # ------------------------------------------------------------------ applications
    STATE_MIX = {
        "big": [("under_review", 60), ("decided", 25), ("ineligible", 10), ("withdrawn", 5)],
        "open": [("draft", 55), ("submitted", 37), ("corrections_requested", 3), ("withdrawn", 5)],
        "closed": [("under_review", 55), ("decided", 30), ("ineligible", 10), ("withdrawn", 5)],
        "archived": [("decided", 85), ("ineligible", 10), ("withdrawn", 5)],
    }

    def build_applications(self) -> None:
        applicants = self.t["applicants"].count
        for call in self.calls:
            if not call.applications:
                continue
            states, weights = zip(*self.STATE_MIX["big" if call.id == 1 else call.state], strict=True)
            for n, state in enumerate(self.rng.choices(states, weights, k=call.applications)):
                # The big call: every association applies twice; elsewhere, any association.
                applicant = n % applicants + 1 if call.id == 1 else self.rng.randrange(2, applicants + 1)
                self.application(call, applicant, state)
        # The draft-save load: one association per connection, each editing its own draft. These
        # are the last applications made (the highest ids), of the last associations (shared below
        # scale 0.03, which has fewer associations than drafts: too small for the web bench).
        open_calls = [c for c in self.calls if c.state == "open"]
        for n in range(BENCH_DRAFTS):
            self.application(open_calls[n % len(open_calls)], applicants - n % applicants, "draft")

    def application(self, call: CallPlan, applicant: int, state: str) -> int:
        rng = self.rng
        creator = self.member_of[applicant]
        requested = rng.randrange(call.min_cents // 100, call.max_cents // 100 + 1) * 100
        total = requested * 2  # the Region pays half: within the call's 80% cap
        created_at = self.between(call.opens_at, min(call.closes_at, self.now) - timedelta(hours=1))
        submitted = state not in ("draft",) and not (state == "withdrawn" and call.state == "open")
        submitted_at = self.between(created_at, min(call.closes_at, self.now)) if submitted else None
        reference = None
        if submitted_at is not None:
            call.next_reference += 1
            reference = f"{call.prefix}-2026-{call.next_reference:04d}"
        screened = state in ("under_review", "decided", "ineligible")
        screened_at = (max(submitted_at, call.closes_at) + timedelta(days=3)) if screened else None
        if screened_at is not None and screened_at > self.now:
            screened_at = self.now - timedelta(hours=2)
        decided_at = None
        if state == "decided":
            decided_at = min(screened_at + timedelta(days=30), self.now - timedelta(hours=1))
        withdrawn_at = None
        if state == "withdrawn":
            withdrawn_at = (submitted_at or created_at) + timedelta(days=1)
        if state == "under_review":
            call.under_review += 1
        theme = THEMES[rng.randrange(len(THEMES))]
        starts_on = date(2026, 1 + rng.randrange(6), 1)
        app_id = self.t["applications"].append(
            call.id, applicant, creator, reference, state, 1, f"Projet {theme} {rng.randrange(1, 10**6):06d}",
            f"Un projet de {theme} au service des habitants du quartier, mené avec les bénévoles.",
            "Renforcer le lien social ; accompagner 200 personnes ; former 15 bénévoles.",
            "Familles, jeunes de 16 à 25 ans.", rng.randrange(20, 2000), "Lille, Roubaix", None, starts_on,
            starts_on + timedelta(days=180), OPERATING, requested, total, total,
            None if not screened else state != "ineligible",
            "Siège hors de la région." if state == "ineligible" else None,
            self.manager if screened else None, screened_at, created_at,
            decided_at or screened_at or withdrawn_at or submitted_at or created_at,
            submitted_at, decided_at, withdrawn_at,
        )
        self.budget(app_id, total, requested)
        if submitted_at is not None:
            self.audit("application.submitted", "application", app_id, "draft", "submitted", creator,
                       submitted_at, f'{{"reference": "{reference}"}}')
            self.notify("application_submitted", creator, app_id, f"Dossier {reference} déposé", submitted_at)
        if state == "corrections_requested":
            self.t["correction_requests"].add(
                application_id=app_id, requested_by_id=self.manager,
                message="Merci de joindre les derniers comptes approuvés.", sections='["budget"]',
                due_at=self.now + timedelta(days=7), created_at=self.now - timedelta(days=1), answered_at=None)
            self.audit("application.corrections_requested", "application", app_id, "submitted",
                       "corrections_requested", self.manager, self.now - timedelta(days=1))
        if screened:
            eligible = state != "ineligible"
            self.audit("application.screened", "application", app_id, "submitted",
                       "under_review" if eligible else "ineligible", self.manager, screened_at,
                       f'{{"eligible": "{eligible}"}}')
        if state in ("under_review", "decided"):
            self.reviews(call, app_id, screened_at, decided=state == "decided")
        if state == "decided":
            self.decide(call, app_id, requested, decided_at)
            self.notify("application_decided", creator, app_id, f"Décision sur le dossier {reference}", decided_at)
        if state == "withdrawn":
            self.audit("application.withdrawn", "application", app_id, "submitted" if submitted_at else "draft",
                       "withdrawn", creator, withdrawn_at)
        return app_id

    def budget(self, app_id: int, total: int, requested: int) -> None:
        """Cerfa 12156 lines, balanced: expenses = resources = total, the Region's request included."""
        append = self.t["budget_lines"].append
        purchases = total * 20 // 100
        services = total * 30 // 100
        staff = total - purchases - services
        commune = total * 20 // 100
        fees = total - requested - commune
        append(app_id, "expense", "60", "Achats (fournitures, petit matériel)", None, False, purchases, 0)
        append(app_id, "expense", "62", "Autres services extérieurs", None, False, services, 1)
        append(app_id, "expense", "64", "Charges de personnel", None, False, staff, 2)
        append(app_id, "resource", "74", "Subvention Région", "Région", True, requested, 3)
        append(app_id, "resource", "74", "Subvention commune", "Commune", False, commune, 4)
        append(app_id, "resource", "75", "Cotisations et dons", None, False, fees, 5)

    def reviews(self, call: CallPlan, app_id: int, screened_at: datetime, *, decided: bool) -> None:
        rng = self.rng
        assignments, reviews, marks_table = (self.t["review_assignments"], self.t["reviews"],
                                             self.t["criterion_scores"])
        assigned_at = screened_at + timedelta(hours=1)
        due_on = (assigned_at + timedelta(days=21)).date()
        for reviewer in rng.sample(self.reviewer_ids, self.size.reviewers_per_application):
            roll = rng.random()
            submitted = decided or roll < 0.80
            # transmitted: the copy of its review's state the reviews' triggers keep (off for the load)
            assignment = assignments.append(app_id, reviewer, self.manager, assigned_at, due_on, "assigned", None,
                                            submitted)
            self.audit("review.assigned", "review_assignment", assignment, None, None, self.manager, assigned_at,
                       f'{{"reviewer": "{reviewer}"}}')
            if not decided and roll > 0.88:
                continue  # not started yet: it waits on the reviewer's desk
            opinion = rng.choice(["fund", "fund", "fund_lower", "do_not_fund"]) if submitted else None
            updated_at = min(assigned_at + timedelta(days=rng.randrange(1, 20)), self.now - timedelta(minutes=5))
            marks = tuple(rng.randrange(0, scale_max + 1) for _, _, scale_max in call.criteria)
            score = None
            if submitted:  # the weighted score the scoring service stores with a transmission
                key = (call.criteria_shape, marks)
                score = self.score_of.get(key)
                if score is None:
                    score = self.score_of[key] = review_score(
                        [(Decimal(weight), Decimal(mark), scale_max)
                         for (_, weight, scale_max), mark in zip(call.criteria, marks, strict=True)])
            review = reviews.append(
                assignment, "submitted" if submitted else "draft", opinion,
                call.min_cents if opinion == "fund_lower" else None,
                "Projet solide, budget cohérent." if submitted else "", updated_at,
                updated_at if submitted else None, score)
            for (criterion, _weight, _scale_max), mark in zip(call.criteria, marks, strict=True):
                marks_table.append(review, criterion, mark, "")

    def decide(self, call: CallPlan, app_id: int, requested: int, decided_at: datetime) -> None:
        sessions = self.t["committee_sessions"]
        if call.session is None:
            call.session = sessions.add(call_id=call.id, held_on=decided_at.date(), note="Commission permanente",
                                        confirmed_by_id=self.manager, confirmed_at=decided_at)
        decisions = self.t["decisions"]
        if self.rng.random() < 0.6:
            amount = requested if self.rng.random() < 0.7 else max(call.min_cents, requested * 8 // 10 // 100 * 100)
            # Half the awards have had their advance: the decision's paid is its payments' sum.
            decision = decisions.count + 1
            advance = (amount // 2 // 100) * 100 if decision % 2 == 0 else 0
            decisions.append(app_id, "awarded", OPERATING, amount, advance, None, self.manager, decided_at, None,
                             call.session)
            call.committed += amount
            call.paid += advance
            self.movements.append((call, decision, "commitment", None, amount))
            if advance:
                self.movements.append((call, decision, "payment", "advance", advance))
            self.audit("application.awarded", "application", app_id, "under_review", "decided", self.manager,
                       decided_at, f'{{"amount": "{euros(amount)}"}}')
        else:
            decisions.append(app_id, "rejected", None, None, 0,
                             "Projet moins prioritaire au regard des critères de l'appel.", self.manager,
                             decided_at, None, call.session)
            self.audit("application.rejected", "application", app_id, "under_review", "decided", self.manager,
                       decided_at)

    # ------------------------------------------------------------------ money
    def build_envelopes(self) -> None:
        """Envelopes sized on their awards; the ledger and every stored figure agree."""
        carved: dict[tuple[int, int, str], int] = defaultdict(int)
        for call in self.calls:
            # A quarter more than awarded, and room for the web bench's API awards (1,000 € each) on
            # the dossiers under review: the envelope can never be overdrawn, at any scale.
            room = call.committed * 5 // 4 + call.under_review * 1_000_00
            amount = max(300_000_00, (room // 100_000 + 1) * 100_000)
            year = 2025 if call.state == "archived" else 2026
            call.envelope = self.t["call_envelopes"].add(call_id=call.id, section=OPERATING, amount=amount,
                                                         committed=call.committed, paid=call.paid)
            carved[(call.programme, year, OPERATING)] += amount
        movements = self.t["envelope_movements"]
        created_at = self.now - timedelta(days=1)
        for call, decision, kind, tranche, cents in self.movements:
            movements.append(call.envelope, decision, kind, tranche, cents,
                             self.now.date() if kind == "payment" else None,
                             "Décision de la commission permanente" if kind == "commitment" else "Avance",
                             self.manager, created_at)
        for (programme, year, section), cents in sorted(carved.items()):
            self.t["programme_budgets"].add(programme_id=programme, year=year, section=section,
                                            authorised=cents * 5 // 4, carved=cents, direct_committed=0)
        for programme in range(1, len(PROGRAMMES) + 1):
            self.t["programme_budgets"].add(programme_id=programme, year=2026, section=INVESTMENT,
                                            authorised=500_000_00, carved=0, direct_committed=0)

    def finish_calls(self) -> None:
        # Each call has a prefix of its own: one counter per call, at its last reference.
        counters = self.t["reference_counters"]
        for call in self.calls:
            if call.next_reference:
                counters.add(prefix=call.prefix, year=2026, last_number=call.next_reference)

    def finish_users(self) -> None:
        users = self.t["users"]
        users.count = 0
        for row in self.user_rows:
            users.add(**row, unread_notifications=self.unread[row["id"]])

    def build(self, password_hash: str) -> dict[str, Table]:
        self.build_people(password_hash)
        self.build_calls()
        self.build_applications()
        self.build_envelopes()
        self.finish_calls()
        self.finish_users()
        for t in self.t.values():
            t.close()
        return self.t


# ---------------------------------------------------------------------- database
def admin_url(url: str) -> str:
    return sa.engine.make_url(url).set(database="postgres").render_as_string(hide_password=False)


def sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


# The planner's cost of a random page read on SSD storage (the default, 4, is a spinning disk's): the
# bench database is created with it, as README's production section asks of a production database.
RANDOM_PAGE_COST = "1.1"


def recreate_database(url: str) -> None:
    name = sa.engine.make_url(url).database
    with psycopg.connect(admin_url(url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
        connection.execute(f'ALTER DATABASE "{name}" SET random_page_cost = {RANDOM_PAGE_COST}')


def migrate(url: str) -> None:
    """Run the project's migrations on the bench database."""
    from flask_migrate import upgrade

    import config
    from grants import create_app
    from grants.database import db

    settings = type("BenchMigrationConfig", (config.Config,), {
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url), "SECRET_KEY": "bench-migrations-only",
    })
    app = create_app(settings)
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="heads")
        db.engine.dispose()


def load(url: str, tables: dict[str, Table], out=sys.stdout) -> None:
    """Load the spooled tables as a restore would, in one transaction: the foreign keys touching them
    and their secondary indexes dropped, each table truncated and copied ``WITH (FREEZE)`` (no vacuum
    needed to make its pages all-visible), then the indexes built and the foreign keys added back,
    which validates every reference in one join per key."""
    names = [t.name for t in tables.values()]
    started = time.monotonic()

    def step(what: str) -> None:
        print(f"  {what} at {time.monotonic() - started:.1f} s", file=out, flush=True)

    with psycopg.connect(url) as connection:
        connection.execute("SET maintenance_work_mem = '256MB'")
        connection.execute("SET synchronous_commit = off")
        foreign_keys = connection.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'f' AND (conrelid::regclass::text = ANY(%s) OR confrelid::regclass::text = ANY(%s))"
            " ORDER BY 1, 2", (names, names)).fetchall()
        indexes = connection.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i"
            " WHERE indrelid::regclass::text = ANY(%s)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY 1",
            (names,)).fetchall()
        for table_name, constraint, _ in foreign_keys:
            connection.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table_name), sql.Identifier(constraint)))
        for index, _ in indexes:
            connection.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(index)))
        connection.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, names))))
        # The figures of TRIGGERS_COMPUTED are computed with the rows: those triggers are off for the
        # load. Every other trigger fires (a counter a later migration keeps by trigger stays right).
        for name in TRIGGERS_COMPUTED:
            connection.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(sql.Identifier(name)))
        with connection.cursor() as cursor:
            for t in tables.values():
                if not t.count:
                    continue
                statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FREEZE)").format(
                    sql.Identifier(t.name), sql.SQL(", ").join(map(sql.Identifier, t.columns))
                )
                with cursor.copy(statement) as copy, t.path.open("rb") as spooled:
                    while block := spooled.read(1 << 20):
                        copy.write(block)
                if "id" in t.columns:
                    # Ids were given explicitly: move each sequence past them for the rows the app adds.
                    cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", (t.name, t.count))
                if t.count >= 100_000:
                    step(f"{t.name} copied ({t.count:,} rows)")
        step("all tables copied")
        for _, definition in indexes:
            connection.execute(definition)
        step(f"{len(indexes)} secondary indexes built")
        for table_name, constraint, definition in foreign_keys:
            connection.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(table_name), sql.Identifier(constraint), sql.SQL(definition)))
        step(f"{len(foreign_keys)} foreign keys added and validated")
        for name in TRIGGERS_COMPUTED:
            connection.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(sql.Identifier(name)))
        connection.commit()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    step("analysed")


def app_on(url: str):
    import config
    from grants import create_app

    return create_app(type("BenchDatasetConfig", (config.Config,), {
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url), "SECRET_KEY": "bench-dataset-only",
    }))


def backfill(url: str) -> None:
    """What the services write beside the rows and COPY went past: the envelope ledger's day summary
    (the counters kept by triggers were kept during the load)."""
    from grants.awards.services import rebuild_ledger_days
    from grants.database import db

    with app_on(url).app_context():
        rebuild_ledger_days()
        db.session.commit()
        db.engine.dispose()


def verify(url: str) -> None:
    """The project's own checks on the data set, which raise on the first inconsistency: the ledger and
    the dashboard's counters (``flask awards verify-ledger``), the review scores (``flask reviews verify-scores``), the
    programme rule (carved = the envelopes carved from it), the reference counters (none behind a
    reference already given), the bell's count (a user's unread notifications) and each assignment's
    copy of its review's state."""
    from grants.awards.services import dashboard_discrepancies, verify_ledger
    from grants.database import db
    from grants.reviews.scoring import score_mismatches

    with app_on(url).app_context():
        verify_ledger()
        dashboard = dashboard_discrepancies()
        if dashboard:
            raise RuntimeError(f"dashboard counters that differ from a recount: {dashboard[:5]}")
        mismatched = db.session.execute(sa.text(
            "SELECT b.id FROM programme_budgets b LEFT JOIN ("
            " SELECT c.programme_id, c.year, e.section, sum(e.amount) AS carved"
            " FROM calls c JOIN call_envelopes e ON e.call_id = c.id GROUP BY 1, 2, 3) s"
            " ON s.programme_id = b.programme_id AND s.year = b.year AND s.section = b.section"
            " WHERE b.carved <> coalesce(s.carved, 0)"
        )).all()
        if mismatched:
            raise RuntimeError(f"programme budgets whose carved differs from their envelopes: {mismatched}")
        scores = score_mismatches()
        if scores:
            raise RuntimeError(f"{len(scores)} review scores differ from their marks, first {scores[:5]}")
        behind = db.session.execute(sa.text(
            "SELECT g.prefix, g.year, g.given, c.last_number FROM ("
            " SELECT split_part(reference, '-', 1) AS prefix, split_part(reference, '-', 2)::int AS year,"
            " max(split_part(reference, '-', 3)::int) AS given FROM applications"
            " WHERE reference IS NOT NULL GROUP BY 1, 2) g"
            " LEFT JOIN reference_counters c ON c.prefix = g.prefix AND c.year = g.year"
            " WHERE c.last_number IS NULL OR c.last_number < g.given"
        )).all()
        if behind:
            raise RuntimeError(f"reference counters behind the references given: {behind[:5]}")
        unread = db.session.execute(sa.text(
            "SELECT u.id FROM users u LEFT JOIN (SELECT recipient_id, count(*) AS n FROM notifications"
            " WHERE read_at IS NULL GROUP BY 1) c ON c.recipient_id = u.id"
            " WHERE u.unread_notifications <> coalesce(c.n, 0) LIMIT 5"
        )).all()
        if unread:
            raise RuntimeError(f"users whose stored unread count differs from their notifications: {unread}")
        copies = db.session.execute(sa.text(
            "SELECT r.id FROM review_assignments r LEFT JOIN reviews v ON v.assignment_id = r.id"
            " WHERE r.transmitted <> coalesce(v.state = 'submitted', false) LIMIT 5"
        )).all()
        if copies:
            raise RuntimeError(f"assignments whose transmitted differs from their review's state: {copies}")
        db.session.rollback()
        db.engine.dispose()


def build(url: str = BENCH_DATABASE_URL, scale: float | str = 1.0, out=sys.stdout) -> dict[str, int]:
    """Drop and build the data set at ``scale`` (a number, or "national"); returns the rows per table."""
    from grants.accounts.passwords import PRODUCTION_HASHER

    started = time.monotonic()
    recreate_database(url)
    migrate(url)
    migrated = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="subventia-dataset-") as spool:
        tables = DatasetBuilder(size_at(scale), datetime.now(UTC).replace(microsecond=0), Path(spool)).build(
            PRODUCTION_HASHER.hash(BENCH_PASSWORD)
        )
        computed = time.monotonic()
        print(f"rows computed in {computed - migrated:.1f} s", file=out, flush=True)
        load(url, tables, out)
    backfill(url)
    loaded = time.monotonic()
    verify(url)
    counts = {name: t.count for name, t in tables.items()}
    print(f"bench database {sa.engine.make_url(url).database} (scale {scale}): migrated in "
          f"{migrated - started:.1f} s, rows computed in {computed - migrated:.1f} s, loaded in "
          f"{loaded - computed:.1f} s (built in {loaded - started:.1f} s), verified in "
          f"{time.monotonic() - loaded:.1f} s; {sum(counts.values()):,} rows; load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()), file=out)
    for name, count in counts.items():
        print(f"  {name:22} {count:>12,}", file=out)
    return counts


def scale_argument(value: str) -> float | str:
    if value == "national":
        return value
    try:
        scale = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("a positive number, or 'national'") from None
    if not scale > 0:
        raise argparse.ArgumentTypeError("a positive number, or 'national'")
    return scale


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=BENCH_DATABASE_URL)
    parser.add_argument("--scale", type=scale_argument, default=1.0,
                        help="1 = 10,000 applications in the big call; 'national' = 1,000,000 in 10,000 calls")
    args = parser.parse_args(argv)
    build(args.database_url, args.scale)


if __name__ == "__main__":
    main()
