"""Builders shared by the review tests: a call with a grid, applications under review, reviews."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from grants.database import db, utcnow
from grants.models import ApplicationState
from grants.reviews.models import (
    AssignmentState,
    CriterionScore,
    Opinion,
    Review,
    ReviewAssignment,
    ReviewState,
)
from grants.reviews.scoring import own_score
from tests.factories import (
    CallFactory,
    CriterionFactory,
    ManagerFactory,
    ReviewerFactory,
    SubmittedApplicationFactory,
)


def grid(call, *specs) -> list:
    """Criteria ``(weight, scale_max)`` on ``call``, in order."""
    return [
        CriterionFactory(call=call, position=position, weight=Decimal(str(weight)), scale_max=scale_max)
        for position, (weight, scale_max) in enumerate(specs)
    ]


def under_review(call, **fields):
    fields.setdefault("state", ApplicationState.UNDER_REVIEW)
    fields.setdefault("eligible", True)
    return SubmittedApplicationFactory(call=call, **fields)


def assign(application, reviewer=None, *, manager=None, state=AssignmentState.ASSIGNED, reason=None):
    row = ReviewAssignment(
        application=application, reviewer=reviewer or ReviewerFactory(),
        assigned_by_id=(manager or ManagerFactory()).id, due_on=date.today() + timedelta(days=10),
        state=state, recusal_reason=reason,
    )
    db.session.add(row)
    db.session.commit()
    return row


def review(application, reviewer, marks, *, submitted=True, opinion=Opinion.FUND, suggested=None, comment=""):
    """A review by ``reviewer`` of ``application`` with one mark per criterion of its call's grid."""
    assignment = db.session.scalar(db.select(ReviewAssignment).where(
        ReviewAssignment.application_id == application.id, ReviewAssignment.reviewer_id == reviewer.id))
    if assignment is None:
        assignment = assign(application, reviewer)
    row = Review(assignment=assignment, state=ReviewState.DRAFT, comment=comment)
    db.session.add(row)
    for criterion, mark in zip(application.call.criteria, marks, strict=True):
        row.scores.append(CriterionScore(criterion=criterion, score=Decimal(str(mark))))
    if submitted:
        row.opinion = opinion
        row.suggested_amount = suggested
        row.state = ReviewState.SUBMITTED
        row.submitted_at = utcnow()
        row.score = own_score(row)  # stored with the transmission, as submit_review does
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def scored_call(app):
    """A call with a 0–100-friendly grid (one criterion, weight 1, scale 100) so that marks are scores."""
    call = CallFactory(disagreement_threshold=Decimal("20"))
    grid(call, (1, 100))
    db.session.refresh(call)
    return call
