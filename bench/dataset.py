"""A realistic data set for the benchmarks, built on a PostgreSQL database of its own.

    .venv/bin/python -m bench.dataset            # drops and rebuilds ``subventia_bench``
    .venv/bin/python -m bench.dataset --scale 0.1

What it holds (at scale 1): 50 calls of 5 programmes (drafts, scheduled, open, closed, archived),
5,000 associations with valid SIRETs, one member each, 120 reviewers, a manager and an admin;
20,000 applications, 10,000 of them in one closed call (the "big call") and the rest spread over
the 40 calls that received some; 3 reviewers per screened application with their reviews and
criterion scores; decisions with their committee sessions; the envelope ledger (commitments and
advance payments); the audit timeline of every application.

The database is created, then migrated by the project's own migrations, then filled with COPY:
rows are computed in Python with explicit ids and streamed in one transaction (about 600,000 rows
in well under a minute on 2 cores). Every CHECK constraint holds, and so do the invariants the
services keep: an envelope's ``committed`` and ``paid`` are the sums of its ledger rows, an award's
``paid`` the sum of its payments, a programme's ``carved`` the sum of its calls' envelopes.

The bench accounts all share :data:`BENCH_PASSWORD`. The last :data:`BENCH_DRAFTS` applications are
drafts in open calls, each of a different association: one per load-generator connection of the
draft save.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import sqlalchemy as sa
from psycopg import sql
from stdnum import luhn

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
# The tables the data set fills, in the order they are loaded (parents first).
TABLE_NAMES = ("users", "organisations", "memberships", "applicants", "programmes", "programme_budgets", "calls",
               "call_envelopes", "criteria", "required_documents", "applications", "budget_lines",
               "correction_requests", "review_assignments", "reviews", "criterion_scores", "committee_sessions",
               "decisions", "envelope_movements", "audit_events", "reference_counters")

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


@dataclass
class Table:
    """Rows for one table, with the ids handed out so far."""

    name: str
    columns: list[str]
    rows: list[tuple] = field(default_factory=list)

    def add(self, **values) -> int:
        row_id = len(self.rows) + 1
        values.setdefault("id", row_id)
        self.rows.append(tuple(values.get(c) for c in self.columns))
        return values["id"]


def table(name: str, columns: str) -> Table:
    return Table(name, ["id", *columns.split()])


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
    awards: list[tuple[int, int]] = field(default_factory=list)  # (decision id, cents)
    session: int | None = None  # its committee session, once a decision is made


class DatasetBuilder:
    """Computes every row in memory, in dependency order, with explicit ids."""

    def __init__(self, scale: float, now: datetime):
        self.rng = random.Random(SEED)
        self.now = now
        self.scale = scale
        self.associations = max(20, int(5000 * scale))
        self.reviewers = max(6, int(120 * scale))
        self.big_call_applications = max(12, int(10000 * scale))
        self.other_applications = max(40, int(10000 * scale))
        self.t = {
            "users": table("users", "email password_hash full_name locale active staff_role created_at "
                                    "last_login_at email_confirmed_at wants_digest wants_call_news"),
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
                                    "disagreement_threshold created_at published_at"),
            "call_envelopes": table("call_envelopes", "call_id section amount committed paid"),
            "criteria": table("criteria", "call_id position name guidance weight scale_max"),
            "required_documents": table("required_documents", "call_id position name required accepted_types"),
            "applications": table("applications", "call_id applicant_id created_by_id reference state version "
                                                  "title summary objectives target_public beneficiaries_count "
                                                  "places partner_region starts_on ends_on section "
                                                  "amount_requested total_expenses total_resources eligible "
                                                  "eligibility_reason screened_by_id screened_at created_at "
                                                  "updated_at submitted_at decided_at withdrawn_at"),
            "budget_lines": table("budget_lines", "application_id kind account label funder is_region_request "
                                                  "amount position"),
            "correction_requests": table("correction_requests", "application_id requested_by_id message "
                                                                "sections due_at created_at answered_at"),
            "review_assignments": table("review_assignments", "application_id reviewer_id assigned_by_id "
                                                              "assigned_at due_on state recusal_reason"),
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
            "reference_counters": Table("reference_counters", ["prefix", "year", "last_number"]),
        }
        self.calls: list[CallPlan] = []
        self.envelope_of: dict[int, int] = {}  # call id → operating envelope id

    # ------------------------------------------------------------------ helpers
    def audit(self, action, subject_type, subject_id, before, after, actor, at, **details):
        self.t["audit_events"].add(
            occurred_at=at, action=action, actor_id=actor, subject_type=subject_type, subject_id=subject_id,
            from_state=before, to_state=after,
            details=json.dumps({k: str(v) for k, v in details.items()}),
        )

    def between(self, start: datetime, end: datetime) -> datetime:
        span = max(1, int((end - start).total_seconds()))
        return start + timedelta(seconds=self.rng.randrange(span))

    # ------------------------------------------------------------------ people
    def build_people(self, password_hash: str) -> None:
        users = self.t["users"]
        created = self.now - timedelta(days=400)

        def user(email, name, role=None):
            return users.add(email=email, password_hash=password_hash, full_name=name, locale="fr", active=True,
                             staff_role=role, created_at=created, last_login_at=None, email_confirmed_at=created,
                             wants_digest=True, wants_call_news=True)

        self.manager = user(MANAGER_EMAIL, "Claire Vasseur", "manager")
        self.admin = user("bench-admin@region.example", "Marc Delattre", "admin")
        self.reviewer_ids = [
            user(f"reviewer{n:03d}@region.example", self.person_name(n), "reviewer")
            for n in range(1, self.reviewers + 1)
        ]
        self.member_of: dict[int, int] = {}
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
            self.t["memberships"].add(user_id=member, organisation_id=organisation, role="owner", joined_at=created)
            applicant = self.t["applicants"].add(kind="organisation", organisation_id=organisation,
                                                 person_id=None, address=None)
            self.member_of[applicant] = member

    def person_name(self, n: int) -> str:
        return f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]}"

    # ------------------------------------------------------------------ calls
    def build_calls(self) -> None:
        for code, name in PROGRAMMES:
            self.t["programmes"].add(code=code, name=name, description=f"Programme budgétaire « {name} ».",
                                     created_at=self.now - timedelta(days=500))
        # (state, how many calls, share of the spread applications)
        plan = [("draft", 4), ("scheduled", 5), ("open", 12), ("closed", 20), ("archived", 8)]
        states = ["closed"] + [state for state, count in plan for _ in range(count)]
        receiving = sum(1 for s in states[1:] if s in ("open", "closed", "archived"))
        per_call = self.other_applications // receiving
        extra = self.other_applications - per_call * receiving
        for number, state in enumerate(states, start=1):
            big = number == 1
            if state == "draft":
                opens_at, closes_at = self.now + timedelta(days=60), self.now + timedelta(days=120)
            elif state == "scheduled":
                opens_at, closes_at = self.now + timedelta(days=10 + number), self.now + timedelta(days=70 + number)
            elif state == "open":
                opens_at, closes_at = self.now - timedelta(days=30 + number), self.now + timedelta(days=15 + number)
            elif state == "closed":
                opens_at, closes_at = self.now - timedelta(days=150 + number), self.now - timedelta(days=60)
            else:
                opens_at, closes_at = self.now - timedelta(days=500 + number), self.now - timedelta(days=420)
            theme = THEMES[number % len(THEMES)]
            title = ("Fonds régional pour la vie associative 2026" if big
                     else f"Appel à projets {theme} n°{number}")
            slug = BIG_CALL_SLUG if big else f"aap-{theme.replace(' ', '-')}-{number}"
            programme = 2 if big else number % len(PROGRAMMES) + 1
            min_cents, max_cents = (100_000, 1_500_000) if big else (100_000, 2_000_000)
            call_id = self.t["calls"].add(
                programme_id=programme, year=2026 if state != "archived" else 2025, title=title, slug=slug,
                reference_prefix="FVA" if big else f"A{number:02d}",
                summary=f"Soutenir les projets associatifs ({theme}) de la région.",
                description=f"## Objectifs\n\nSoutenir les projets **{theme}** portés par les associations.\n\n"
                            "- projets d'intérêt général\n- ancrés sur le territoire régional\n",
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
            self.calls.append(CallPlan(call_id, state, opens_at, closes_at, "FVA" if big else f"A{number:02d}",
                                       programme, min_cents, max_cents, criteria, count))

    # ------------------------------------------------------------------ applications
    STATE_MIX = {
        "big": [("under_review", 60), ("decided", 25), ("ineligible", 10), ("withdrawn", 5)],
        "open": [("draft", 55), ("submitted", 37), ("corrections_requested", 3), ("withdrawn", 5)],
        "closed": [("under_review", 55), ("decided", 30), ("ineligible", 10), ("withdrawn", 5)],
        "archived": [("decided", 85), ("ineligible", 10), ("withdrawn", 5)],
    }

    def build_applications(self) -> None:
        applicants = len(self.t["applicants"].rows)
        for call in self.calls:
            if not call.applications:
                continue
            states, weights = zip(*self.STATE_MIX["big" if call.id == 1 else call.state], strict=True)
            for n, state in enumerate(self.rng.choices(states, weights, k=call.applications)):
                # The big call: every association applies twice; elsewhere, any association.
                applicant = n % applicants + 1 if call.id == 1 else self.rng.randrange(2, applicants + 1)
                self.application(call, applicant, state)
        # The draft-save load: one association per connection, each editing its own draft. These
        # are the last applications made (the highest ids), of the last associations.
        open_calls = [c for c in self.calls if c.state == "open"]
        for n in range(BENCH_DRAFTS):
            self.application(open_calls[n % len(open_calls)], applicants - n, "draft")

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
        theme = THEMES[rng.randrange(len(THEMES))]
        starts_on = date(2026, 1 + rng.randrange(6), 1)
        app_id = self.t["applications"].add(
            call_id=call.id, applicant_id=applicant, created_by_id=creator, reference=reference, state=state,
            version=1, title=f"Projet {theme} {rng.randrange(1, 10**6):06d}",
            summary=f"Un projet de {theme} au service des habitants du quartier, mené avec les bénévoles.",
            objectives="Renforcer le lien social ; accompagner 200 personnes ; former 15 bénévoles.",
            target_public="Familles, jeunes de 16 à 25 ans.", beneficiaries_count=rng.randrange(20, 2000),
            places="Lille, Roubaix", partner_region=None, starts_on=starts_on,
            ends_on=starts_on + timedelta(days=180), section=OPERATING, amount_requested=requested,
            total_expenses=total, total_resources=total,
            eligible=None if not screened else state != "ineligible",
            eligibility_reason="Siège hors de la région." if state == "ineligible" else None,
            screened_by_id=self.manager if screened else None, screened_at=screened_at,
            created_at=created_at, updated_at=decided_at or screened_at or withdrawn_at or submitted_at or created_at,
            submitted_at=submitted_at, decided_at=decided_at, withdrawn_at=withdrawn_at,
        )
        self.budget(app_id, total, requested)
        if submitted_at is not None:
            self.audit("application.submitted", "application", app_id, "draft", "submitted", creator,
                       submitted_at, reference=reference)
        if state == "corrections_requested":
            self.t["correction_requests"].add(
                application_id=app_id, requested_by_id=self.manager,
                message="Merci de joindre les derniers comptes approuvés.", sections='["budget"]',
                due_at=self.now + timedelta(days=7), created_at=self.now - timedelta(days=1), answered_at=None)
            self.audit("application.corrections_requested", "application", app_id, "submitted",
                       "corrections_requested", self.manager, self.now - timedelta(days=1))
        if screened:
            self.audit("application.screened", "application", app_id, "submitted",
                       "ineligible" if state == "ineligible" else "under_review", self.manager, screened_at,
                       eligible=state != "ineligible")
        if state in ("under_review", "decided"):
            self.reviews(call, app_id, screened_at, decided=state == "decided")
        if state == "decided":
            self.decide(call, app_id, requested, decided_at)
        if state == "withdrawn":
            self.audit("application.withdrawn", "application", app_id, "submitted" if submitted_at else "draft",
                       "withdrawn", creator, withdrawn_at)
        return app_id

    def budget(self, app_id: int, total: int, requested: int) -> None:
        """Cerfa 12156 lines, balanced: expenses = resources = total, the Region's request included."""
        lines = self.t["budget_lines"]
        purchases = total * 20 // 100
        services = total * 30 // 100
        staff = total - purchases - services
        commune = total * 20 // 100
        fees = total - requested - commune
        for position, (kind, account, label, funder, region, amount) in enumerate([
            ("expense", "60", "Achats (fournitures, petit matériel)", None, False, purchases),
            ("expense", "62", "Autres services extérieurs", None, False, services),
            ("expense", "64", "Charges de personnel", None, False, staff),
            ("resource", "74", "Subvention Région", "Région", True, requested),
            ("resource", "74", "Subvention commune", "Commune", False, commune),
            ("resource", "75", "Cotisations et dons", None, False, fees),
        ]):
            lines.add(application_id=app_id, kind=kind, account=account, label=label, funder=funder,
                      is_region_request=region, amount=amount, position=position)

    def reviews(self, call: CallPlan, app_id: int, screened_at: datetime, *, decided: bool) -> None:
        rng = self.rng
        for reviewer in rng.sample(self.reviewer_ids, 3):
            assigned_at = screened_at + timedelta(hours=1)
            assignment = self.t["review_assignments"].add(
                application_id=app_id, reviewer_id=reviewer, assigned_by_id=self.manager, assigned_at=assigned_at,
                due_on=(assigned_at + timedelta(days=21)).date(), state="assigned", recusal_reason=None)
            self.audit("review.assigned", "review_assignment", assignment, None, None, self.manager, assigned_at,
                       reviewer=reviewer)
            roll = rng.random()
            if not decided and roll > 0.88:
                continue  # not started yet: it waits on the reviewer's desk
            submitted = decided or roll < 0.80
            opinion = rng.choice(["fund", "fund", "fund_lower", "do_not_fund"]) if submitted else None
            updated_at = min(assigned_at + timedelta(days=rng.randrange(1, 20)), self.now - timedelta(minutes=5))
            marks = [(criterion, Decimal(weight), Decimal(rng.randrange(0, scale_max + 1)), scale_max)
                     for criterion, weight, scale_max in call.criteria]
            # The weighted score the scoring service stores with a transmission.
            score = review_score([(weight, mark, scale_max) for _, weight, mark, scale_max in marks])
            review = self.t["reviews"].add(
                assignment_id=assignment, state="submitted" if submitted else "draft", opinion=opinion,
                suggested_amount=call.min_cents if opinion == "fund_lower" else None,
                comment="Projet solide, budget cohérent." if submitted else "", updated_at=updated_at,
                submitted_at=updated_at if submitted else None, score=score if submitted else None)
            for criterion, _weight, mark, _scale_max in marks:
                self.t["criterion_scores"].add(review_id=review, criterion_id=criterion, score=mark, comment="")

    def decide(self, call: CallPlan, app_id: int, requested: int, decided_at: datetime) -> None:
        sessions = self.t["committee_sessions"]
        if call.session is None:
            call.session = sessions.add(call_id=call.id, held_on=decided_at.date(), note="Commission permanente",
                                        confirmed_by_id=self.manager, confirmed_at=decided_at)
        if self.rng.random() < 0.6:
            amount = requested if self.rng.random() < 0.7 else max(call.min_cents, requested * 8 // 10 // 100 * 100)
            decision = self.t["decisions"].add(
                application_id=app_id, outcome="awarded", section=OPERATING, amount=amount, paid=0, reason=None,
                decided_by_id=self.manager, decided_at=decided_at, cancelled_at=None,
                committee_session_id=call.session)
            call.awards.append((decision, amount))
            self.audit("application.awarded", "application", app_id, "under_review", "decided", self.manager,
                       decided_at, amount=euros(amount))
        else:
            self.t["decisions"].add(
                application_id=app_id, outcome="rejected", section=None, amount=None, paid=0,
                reason="Projet moins prioritaire au regard des critères de l'appel.", decided_by_id=self.manager,
                decided_at=decided_at, cancelled_at=None, committee_session_id=call.session)
            self.audit("application.rejected", "application", app_id, "under_review", "decided", self.manager,
                       decided_at)

    # ------------------------------------------------------------------ money
    def build_envelopes(self) -> None:
        """Envelopes sized on their awards; the ledger and every stored figure agree."""
        decisions = self.t["decisions"]
        decision_index = {row[0]: i for i, row in enumerate(decisions.rows)}
        paid_col = decisions.columns.index("paid")
        carved: dict[tuple[int, int, str], int] = defaultdict(int)
        for call in self.calls:
            committed = sum(cents for _, cents in call.awards)
            if call.id == 1:
                amount = 20_000_000_00  # room left for the awards made through the API during the bench
            else:
                amount = max(300_000_00, (committed * 5 // 4) // 100_000 * 100_000 + 100_000)
            year = 2025 if call.state == "archived" else 2026
            paid = 0
            movements = []
            for decision, cents in call.awards:
                movements.append(("commitment", None, cents, decision))
                if decision % 2 == 0:  # half the awards have had their advance
                    advance = (cents // 2 // 100) * 100
                    movements.append(("payment", "advance", advance, decision))
                    row = list(decisions.rows[decision_index[decision]])
                    row[paid_col] = advance
                    decisions.rows[decision_index[decision]] = tuple(row)
                    paid += advance
            envelope = self.t["call_envelopes"].add(call_id=call.id, section=OPERATING, amount=amount,
                                                    committed=committed, paid=paid)
            self.envelope_of[call.id] = envelope
            for kind, tranche, cents, decision in movements:
                self.t["envelope_movements"].add(
                    envelope_id=envelope, decision_id=decision, kind=kind, tranche=tranche, amount=cents,
                    effective_on=self.now.date() if kind == "payment" else None,
                    reason="Décision de la commission permanente" if kind == "commitment" else "Avance",
                    actor_id=self.manager, created_at=self.now - timedelta(days=1))
            carved[(call.programme, year, OPERATING)] += amount
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
                counters.rows.append((call.prefix, 2026, call.next_reference))

    def build(self, password_hash: str) -> dict[str, Table]:
        self.build_people(password_hash)
        self.build_calls()
        self.build_applications()
        self.build_envelopes()
        self.finish_calls()
        return self.t


# ---------------------------------------------------------------------- database
def admin_url(url: str) -> str:
    return sa.engine.make_url(url).set(database="postgres").render_as_string(hide_password=False)


def sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def recreate_database(url: str) -> None:
    name = sa.engine.make_url(url).database
    with psycopg.connect(admin_url(url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


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


def load(url: str, tables: dict[str, Table]) -> None:
    with psycopg.connect(url) as connection:
        with connection.cursor() as cursor:
            for t in tables.values():
                if not t.rows:
                    continue
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(t.name), sql.SQL(", ").join(map(sql.Identifier, t.columns))
                )
                with cursor.copy(statement) as copy:
                    for row in t.rows:
                        copy.write_row(row)
                if "id" not in t.columns:
                    continue
                # Ids were given explicitly: move each sequence past them for the rows the app adds.
                cursor.execute(
                    sql.SQL("SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT max(id) FROM {}))").format(
                        sql.Identifier(t.name)
                    ),
                    (t.name,),
                )
        connection.commit()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def verify(url: str) -> None:
    """The project's own ledger check, and the programme rule: carved = the envelopes carved from it."""
    import config
    from grants import create_app
    from grants.awards.services import verify_ledger
    from grants.database import db

    settings = type("BenchCheckConfig", (config.Config,), {
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url), "SECRET_KEY": "bench-check-only",
    })
    app = create_app(settings)
    with app.app_context():
        verify_ledger()
        mismatched = db.session.execute(sa.text(
            "SELECT b.id FROM programme_budgets b LEFT JOIN ("
            " SELECT c.programme_id, c.year, e.section, sum(e.amount) AS carved"
            " FROM calls c JOIN call_envelopes e ON e.call_id = c.id GROUP BY 1, 2, 3) s"
            " ON s.programme_id = b.programme_id AND s.year = b.year AND s.section = b.section"
            " WHERE b.carved <> coalesce(s.carved, 0)"
        )).all()
        if mismatched:
            raise RuntimeError(f"programme budgets whose carved differs from their envelopes: {mismatched}")
        db.engine.dispose()


def build(url: str = BENCH_DATABASE_URL, scale: float = 1.0, out=sys.stdout) -> dict[str, int]:
    from grants.accounts.passwords import PRODUCTION_HASHER

    started = time.monotonic()
    recreate_database(url)
    migrate(url)
    migrated = time.monotonic()
    tables = DatasetBuilder(scale, datetime.now(UTC).replace(microsecond=0)).build(
        PRODUCTION_HASHER.hash(BENCH_PASSWORD)
    )
    computed = time.monotonic()
    load(url, tables)
    verify(url)
    counts = {name: len(t.rows) for name, t in tables.items()}
    print(f"bench database {sa.engine.make_url(url).database}: migrated in {migrated - started:.1f} s, "
          f"rows computed in {computed - migrated:.1f} s, loaded in {time.monotonic() - computed:.1f} s; "
          f"{sum(counts.values()):,} rows", file=out)
    for name, count in counts.items():
        print(f"  {name:22} {count:>8,}", file=out)
    return counts


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=BENCH_DATABASE_URL)
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 10,000 applications in the big call")
    args = parser.parse_args(argv)
    build(args.database_url, args.scale)


if __name__ == "__main__":
    main()
