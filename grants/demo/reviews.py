"""Demo instruction on the FIPCE call (open, screened as dossiers come in): three dossiers declared
eligible and shared between three reviewers, one declared conflict of interest, submitted reviews
with one disagreement to discuss in committee and a draft still being written. The SISA and NQE
dossiers are left submitted, for the manager's screening page.

Same rules as grants.demo.seed: everything is found by its natural key (the dossier's title in its
call, the reviewer's e-mail, the reviewer–applicant pair), only what is missing is created, every state
change goes through the model's guarded ``move_to`` and is audited at its date; and every instant is
in the past."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from grants.accounts.models import StaffRole
from grants.applications.models import Application, ApplicationState
from grants.audit.services import record_event
from grants.calls.models import Criterion
from grants.database import db
from grants.demo import content
from grants.reviews.models import (
    ConflictOfInterest,
    CriterionScore,
    Opinion,
    Review,
    ReviewAssignment,
    ReviewState,
)
from grants.reviews.scoring import own_score

REVIEWER_3 = "mathieu.lambert@region.example.org"
HUGO, ELODIE = content.REVIEWER_1, content.REVIEWER_2

# The grid a call gets if it has none: the Region's usual five criteria.
DEFAULT_GRID = [
    ("Pertinence au regard de l'appel", "Le projet répond-il aux objectifs de l'appel ?", "3"),
    ("Qualité du partenariat avec la région partenaire ou des partenariats locaux",
     "Partenaires identifiés, projet construit ensemble, engagements écrits.", "2"),
    ("Impact sur les jeunes ou sur le territoire", "Publics touchés, durée des effets.", "3"),
    ("Réalisme du budget", "Dépenses justifiées et proportionnées, calendrier tenable.", "1"),
    ("Cofinancements", "Part des autres financeurs et des fonds propres, bénévolat valorisé.", "1"),
]

# Mathieu Lambert was a volunteer of Roubaix Nord-Sud Solidarités: he is never given its dossiers.
CONFLICTS = [(REVIEWER_3, "roubaix", "Bénévole de l'association jusqu'en 2024.")]

# FIPCE grid (TERRITORY_CRITERIA): weights 3, 2, 3, 1, 1, each on 0–5.
FIPCE_REVIEWS = [
    {"title": "Groupement d'achat en circuit court de l'Audomarois", "reviews": {
        HUGO: {"scores": [4, 4, 4, 3, 4], "opinion": "fund",
               "comment": "Un besoin réel, des producteurs déjà engagés ; le public de l'aide alimentaire est bien visé."},
        ELODIE: {"scores": [4, 3, 4, 4, 3], "opinion": "fund_lower", "suggested": 6500,
                 "comment": "Bon projet ; le poste de coordination paraît surdimensionné la première année."},
        REVIEWER_3: {"scores": [5, 4, 4, 4, 4], "opinion": "fund",
                     "comment": "Exemplaire pour le dispositif : à soutenir au montant demandé."},
    }},
    {"title": "Repair café et atelier vélo du quartier de l'Épeule", "reviews": {
        HUGO: {"scores": [4, 3, 4, 4, 2], "opinion": "fund",
               "comment": "Ancrage fort dans le quartier, bénévoles nombreux."},
        ELODIE: {"scores": [2, 2, 2, 3, 2], "opinion": "do_not_fund",
                     "comment": "Activité déjà financée par la Ville ; l'effet sur la consommation reste à montrer."},
    }},
    {"title": "École de consommateurs itinérante du Valenciennois", "reviews": {
        HUGO: {"scores": [3, 3], "draft": True, "comment": "À terminer après l'appel au porteur."},
        REVIEWER_3: {"scores": [3, 2, 3, 2, 2], "opinion": "fund_lower", "suggested": 12000,
                 "comment": "Intéressant mais coûteux : le camion pourrait être loué plutôt qu'acheté."},
    }},
]


def seed_reviews(seed) -> None:
    """Give every call a grid, declare the demo conflicts, screen and review the FIPCE dossiers."""
    seed.user(REVIEWER_3, "Mathieu Lambert", "évaluateur", StaffRole.REVIEWER)
    for call in seed.calls.values():
        ensure_grid(seed, call)
    for email, applicant_key, reason in CONFLICTS:
        declare(seed, seed.users[email], seed.applicants[applicant_key], reason)
    call = seed.calls["FIPCE"]
    manager = seed.users[content.MANAGER_EMAIL]
    for spec in FIPCE_REVIEWS:
        application = seed_find(call, spec["title"])
        if application is None:
            continue  # the dossier belongs to another part of the demo that is not there
        screened_at = application.submitted_at + timedelta(hours=20)
        if application.state == ApplicationState.SUBMITTED and application.eligible is None:
            seed.screen(application, manager, screened_at, eligible=True)
        for email, review in spec["reviews"].items():
            reviewer = seed.users[email]
            assignment = assign(seed, application, reviewer, manager, screened_at + timedelta(hours=1))
            if assignment.review is None:
                write_review(seed, assignment, reviewer, review, screened_at + timedelta(hours=26))


def seed_find(call, title: str) -> Application | None:
    return db.session.scalar(sa.select(Application).where(Application.call_id == call.id, Application.title == title))


def ensure_grid(seed, call) -> None:
    if call.criteria:
        return
    for position, (name, guidance, weight) in enumerate(DEFAULT_GRID):
        call.criteria.append(seed.created("criteria", Criterion(
            position=position, name=name, guidance=guidance, weight=Decimal(weight), scale_max=5)))


def declare(seed, reviewer, applicant, reason: str) -> None:
    exists = db.session.scalar(sa.select(ConflictOfInterest.id).where(
        ConflictOfInterest.reviewer_id == reviewer.id, ConflictOfInterest.applicant_id == applicant.id))
    if exists is None:
        conflict = seed.created("conflicts_of_interest", ConflictOfInterest(
            reviewer_id=reviewer.id, applicant_id=applicant.id, reason=reason, declared_at=seed.at(-60, 11)))
        record_event("review.conflict_declared", actor=reviewer, subject=conflict,
                     applicant=applicant.id).occurred_at = conflict.declared_at


def assign(seed, application, reviewer, manager, at) -> ReviewAssignment:
    assignment = db.session.scalar(sa.select(ReviewAssignment).where(
        ReviewAssignment.application_id == application.id, ReviewAssignment.reviewer_id == reviewer.id))
    if assignment is not None:
        return assignment
    assignment = seed.created("review_assignments", ReviewAssignment(
        application=application, reviewer=reviewer, assigned_by_id=manager.id, assigned_at=at,
        due_on=seed.day(10)))
    db.session.flush()
    record_event("review.assigned", actor=manager, subject=assignment, reviewer=reviewer.email,
                 application=application.reference).occurred_at = at
    return assignment


def write_review(seed, assignment, reviewer, spec: dict, at) -> None:
    at = min(at, seed.now - timedelta(hours=1))
    review = seed.created("reviews", Review(assignment=assignment, state=ReviewState.DRAFT,
                                            comment=spec.get("comment", ""), updated_at=at))
    for criterion, score in zip(assignment.application.call.criteria, spec["scores"], strict=False):
        review.scores.append(CriterionScore(criterion=criterion, score=Decimal(score)))
        seed.report.created["criterion_scores"] += 1
    if spec.get("draft"):
        return
    review.opinion = Opinion(spec["opinion"])
    review.suggested_amount = Decimal(spec["suggested"]).quantize(Decimal("0.01")) if spec.get("suggested") else None
    review.submitted_at = at
    review.move_to(ReviewState.SUBMITTED)
    review.score = own_score(review)
    seed.audit("review.submitted", review, ReviewState.DRAFT, ReviewState.SUBMITTED, actor=reviewer, at=at)
