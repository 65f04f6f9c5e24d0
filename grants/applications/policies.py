"""Who may see and act on an application.

An application belongs to its applicant: the members of the organisation, or the person. Whoever else
asks for it gets a 404, never a 403, so an id in a URL tells an outsider nothing about what exists.
Staff see applications through their role: managers all of them, reviewers those assigned to them
(and not recused from).
"""

from __future__ import annotations

from flask import abort
from sqlalchemy.orm import joinedload

from grants.applications.models import Application
from grants.database import db
from grants.organisations.models import Applicant, Membership
from grants.reviews.models import AssignmentState, ReviewAssignment


def applicants_of(user) -> list[Applicant]:
    """The applicants ``user`` may act for: his organisations', and himself as an individual."""
    if not getattr(user, "is_authenticated", False):
        return []
    organisation_ids = db.select(Membership.organisation_id).where(Membership.user_id == user.id)
    return list(
        db.session.scalars(
            db.select(Applicant)
            .where((Applicant.organisation_id.in_(organisation_ids)) | (Applicant.person_id == user.id))
            .order_by(Applicant.id)
        )
    )


def represents(user, application: Application) -> bool:
    """True when ``user`` acts for the application's applicant (a member, or the person)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return application.applicant.is_represented_by(user)


def is_assigned_reviewer(user, application: Application) -> bool:
    if not getattr(user, "is_reviewer", False):
        return False
    return (
        db.session.scalar(
            db.select(ReviewAssignment.id).where(
                ReviewAssignment.application_id == application.id,
                ReviewAssignment.reviewer_id == user.id,
                ReviewAssignment.state == AssignmentState.ASSIGNED,
            )
        )
        is not None
    )


def can_view(user, application: Application) -> bool:
    """The applicant, managers, and the reviewers assigned to it may read an application."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_manager or represents(user, application) or is_assigned_reviewer(user, application)


# Every page of a dossier shows its call and its applicant, and the check of who may see it reads the
# applicant: one statement for the three instead of three.
WITH_CALL_AND_APPLICANT = (joinedload(Application.call),
                           joinedload(Application.applicant).joinedload(Applicant.organisation))


def owned_application_or_404(user, application_id: int) -> Application:
    """The application if ``user`` acts for its applicant; 404 otherwise (and if it does not exist)."""
    application = db.session.get(Application, application_id, options=WITH_CALL_AND_APPLICANT)
    if application is None or not represents(user, application):
        abort(404)
    return application


def managed_application_or_404(application_id: int) -> Application:
    """Any application, for the staff's pages that a route already limits to managers; 404 if none."""
    application = db.session.get(Application, application_id, options=WITH_CALL_AND_APPLICANT)
    if application is None:
        abort(404)
    return application


def viewable_application_or_404(user, application_id: int) -> Application:
    """The application if ``user`` may read it (see :func:`can_view`); 404 otherwise."""
    application = db.session.get(Application, application_id, options=WITH_CALL_AND_APPLICANT)
    if application is None or not can_view(user, application):
        abort(404)
    return application
