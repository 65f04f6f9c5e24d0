"""The reviewer's own assignments and how far each review has gone (the reviewer's desk and home page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from grants.accounts.models import User
from grants.applications.models import Application
from grants.calls.models import Call
from grants.database import db
from grants.local_time import local_today
from grants.reviews.models import AssignmentState, ReviewAssignment, ReviewState
from grants.reviews.models import Review as ReviewModel


class ReviewProgress(StrEnum):
    NOT_STARTED = "not_started"
    DRAFT = "draft"
    SUBMITTED = "submitted"


REVIEW_PROGRESS_LABELS = {
    ReviewProgress.NOT_STARTED: _l("Non commencée"),
    ReviewProgress.DRAFT: _l("Brouillon"),
    ReviewProgress.SUBMITTED: _l("Transmise"),
}


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


def reviewer_assignments(reviewer: User, now: datetime | None = None) -> list[AssignmentRow]:
    """The reviewer's own assignments (recused ones left out), soonest due first. The applicant is
    not named: reviews may be blind, and the dashboard never says more than the review page."""
    today = local_today(now)
    rows = db.session.execute(
        sa.select(
            ReviewAssignment.id,
            Application.reference,
            Application.title,
            Call.title,
            ReviewAssignment.due_on,
            ReviewModel.state,
        )
        .join(Application, Application.id == ReviewAssignment.application_id)
        .join(Call, Call.id == Application.call_id)
        .outerjoin(ReviewModel, ReviewModel.assignment_id == ReviewAssignment.id)
        .where(
            ReviewAssignment.reviewer_id == reviewer.id,
            ReviewAssignment.state == AssignmentState.ASSIGNED,
        )
        .order_by(ReviewAssignment.due_on, ReviewAssignment.id)
    ).all()
    assignments = []
    for assignment_id, reference, title, call_title, due_on, review_state in rows:
        if review_state is None:
            progress = ReviewProgress.NOT_STARTED
        elif review_state == ReviewState.SUBMITTED:
            progress = ReviewProgress.SUBMITTED
        else:
            progress = ReviewProgress.DRAFT
        assignments.append(
            AssignmentRow(
                assignment_id=assignment_id,
                reference=reference,
                title=title,
                call_title=call_title,
                due_on=due_on,
                progress=progress,
                overdue=progress != ReviewProgress.SUBMITTED and due_on < today,
            )
        )
    return assignments
