"""What the periodic scans find due, queued as outbox rows keyed so that each is queued once.

No task is scheduled weeks ahead: every few minutes beat runs a scan that looks at today's situation
(Europe/Paris days) and queues what is due and not yet queued. The dedup key of each row is UNIQUE in
the database, so a scan that runs twice, or on two workers at once, queues each reminder once; the
row is committed before any delivery starts (recorded before sent).

- Deadline reminders: to everyone acting for an applicant whose application is still a draft on an
  open call, when the call closes in at most N days for an N of ``Call.reminder_offsets_days``; the
  smallest such N is the one due, so a scan that missed J-7 (or a draft started at J-3) sends one
  reminder, not a stale one too. Key ``deadline_reminder:<application>:<N>:<closing day>:<user>``: a
  deadline pushed back gets its reminders again.
- Reviews: "due soon" from two days before ``ReviewAssignment.due_on``, "overdue" the day after, to the
  reviewer, while the assignment stands and no review of it is submitted. Keys carry ``due_on``.
- The managers' digest: once a day per manager who wants it (``User.wants_digest``), from 08:00.

Reminders and digests go out from ``NOTIFICATION_MORNING_HOUR`` (08:00 Paris), not at midnight.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app
from markupsafe import escape
from sqlalchemy.orm import selectinload

from grants.accounts.models import StaffRole, User
from grants.applications.models import Application, ApplicationState
from grants.calls.models import Call, CallState
from grants.database import db, utcnow
from grants.local_time import local_zone
from grants.organisations.models import Applicant, Membership, Organisation
from grants.outbox.models import Notification
from grants.outbox.services import (
    insert_once,
    notification_values,
    queue_emails_once,
    unqueued_keys,
)
from grants.reviews.models import AssignmentState, Review, ReviewAssignment, ReviewState

REVIEW_DUE_SOON_DAYS = 2
BATCH = 500
REVIEWABLE_STATES = (ApplicationState.SUBMITTED, ApplicationState.UNDER_REVIEW)


def local_today(now: datetime) -> date:
    return now.astimezone(local_zone()).date()


def past_morning(now: datetime) -> bool:
    return now.astimezone(local_zone()).hour >= current_app.config["NOTIFICATION_MORNING_HOUR"]


def closing_day(call: Call) -> date:
    """The last local day on which the call accepts submissions (a midnight deadline ends the day before)."""
    return (call.closes_at - timedelta(microseconds=1)).astimezone(local_zone()).date()


def due_offset(call: Call, today: date) -> int | None:
    days_left = (closing_day(call) - today).days
    offsets = [o for o in (call.reminder_offsets_days or []) if isinstance(o, int) and o >= days_left]
    return min(offsets) if days_left >= 0 and offsets else None


# --- Deadline reminders -------------------------------------------------------------------------


def deadline_reminder_batches(now: datetime | None = None) -> Iterator[int]:
    """Queue the due deadline reminders, one batch of applications at a time; flushes each batch and
    yields how many rows it queued, so that the caller commits between batches."""
    now = now or utcnow()
    if not past_morning(now):
        return
    today = local_today(now)
    calls = db.session.scalars(
        db.select(Call).where(Call.state == CallState.OPEN, Call.closes_at > now).order_by(Call.id)
    ).all()
    due = [(call.id, offset, closing_day(call)) for call in calls if (offset := due_offset(call, today)) is not None]
    for call_id, offset, closes_on in due:
        application_ids = db.session.scalars(
            db.select(Application.id).where(Application.call_id == call_id, Application.state == ApplicationState.DRAFT)
            .order_by(Application.id)
        ).all()
        for start in range(0, len(application_ids), BATCH):
            yield _queue_deadline_reminders(application_ids[start:start + BATCH], offset, closes_on, now)


def _queue_deadline_reminders(application_ids: list[int], offset: int, closes_on: date, now: datetime) -> int:
    applications = db.session.scalars(
        db.select(Application).where(Application.id.in_(application_ids)).order_by(Application.id).options(
            selectinload(Application.call),
            selectinload(Application.applicant).selectinload(Applicant.person),
            selectinload(Application.applicant).selectinload(Applicant.organisation)
            .selectinload(Organisation.memberships).selectinload(Membership.user),
        )
    ).all()
    due = [(user, application, f"deadline_reminder:{application.id}:{offset}:{closes_on:%Y%m%d}:{user.id}")
           for application in applications for user in application.applicant.acting_users() if user.active]
    unqueued = unqueued_keys([key for _, _, key in due])
    due = list({key: (user, application, key) for user, application, key in due if key in unqueued}.values())
    queued = insert_once(deadline_reminder_values(due, (closes_on - local_today(now)).days))
    db.session.flush()
    return len(queued)


# Stand-ins for what differs from one reminder to the next (name, title, applicant, the application's
# id in links): the templates are rendered once per call, language and titled-or-not, then filled in.
_NAME, _TITLE, _APPLICANT = "subventia-name-4e2a", "subventia-title-4e2a", "subventia-applicant-4e2a"
_APPLICATION_ID = 904217356881


def deadline_reminder_values(due: list[tuple[User, Application, str]], days_left: int) -> list[dict]:
    """The rendered reminders of ``due`` (user, application, key) — what rendering each one gives
    (tests/notifications/test_reminders.py compares them), for two renders per call and language
    instead of two per message."""
    patterns: dict[tuple, dict] = {}
    values = []
    for user, application, key in due:
        call, locale, titled = application.call, user.locale or "fr", bool(application.title)
        if (call.id, locale, titled) not in patterns:
            stand_in_user = SimpleNamespace(full_name=_NAME, locale=locale, email=user.email, id=None)
            stand_in = SimpleNamespace(id=_APPLICATION_ID, title=_TITLE if titled else application.title, call=call,
                                       applicant=SimpleNamespace(display_name=_APPLICANT))
            patterns[(call.id, locale, titled)] = notification_values(
                "deadline_reminder", stand_in_user, user=stand_in_user, application=stand_in, call=call,
                days_left=days_left)
        pattern = patterns[(call.id, locale, titled)]
        own = {_NAME: user.full_name, _TITLE: application.title, _APPLICANT: application.applicant.display_name,
               str(_APPLICATION_ID): str(application.id)}
        values.append({
            **pattern, "recipient_email": user.email, "recipient_id": user.id, "dedup_key": key,
            "subject": _fill(pattern["subject"], own), "body_text": _fill(pattern["body_text"], own),
            "body_html": _fill(pattern["body_html"], {mark: str(escape(value)) for mark, value in own.items()}),
            "link": _fill(pattern["link"], own),
        })
    return values


def _fill(text: str, values: dict[str, str]) -> str:
    for mark, value in values.items():
        text = text.replace(mark, value)
    return text


# --- Reviews ------------------------------------------------------------------------------------


def pending_assignments(until: date) -> list[ReviewAssignment]:
    """Standing assignments due on or before ``until`` with no submitted review, on live applications."""
    submitted = db.select(Review.id).where(Review.assignment_id == ReviewAssignment.id,
                                           Review.state == ReviewState.SUBMITTED)
    return db.session.scalars(
        db.select(ReviewAssignment)
        .join(Application, ReviewAssignment.application_id == Application.id)
        .where(ReviewAssignment.state == AssignmentState.ASSIGNED, ReviewAssignment.due_on <= until,
               Application.state.in_(REVIEWABLE_STATES), ~submitted.exists())
        .order_by(ReviewAssignment.due_on, ReviewAssignment.id)
        .options(selectinload(ReviewAssignment.reviewer),
                 selectinload(ReviewAssignment.application).selectinload(Application.call))
    ).all()


def queue_review_reminders(now: datetime | None = None) -> int:
    """Queue "due soon" and "overdue" reminders to reviewers; flushes; returns how many were queued."""
    now = now or utcnow()
    if not past_morning(now):
        return 0
    today = local_today(now)
    messages = []
    for assignment in pending_assignments(today + timedelta(days=REVIEW_DUE_SOON_DAYS)):
        reviewer = assignment.reviewer
        if not reviewer.active:
            continue
        event = "review_overdue" if assignment.due_on < today else "review_due_soon"
        context = {"user": reviewer, "assignment": assignment, "application": assignment.application,
                   "call": assignment.application.call, "days_left": (assignment.due_on - today).days}
        messages.append((event, reviewer, f"{event}:{assignment.id}:{assignment.due_on:%Y%m%d}", context))
    queued = queue_emails_once(messages)
    db.session.flush()
    return len(queued)


# --- The managers' daily digest -------------------------------------------------------------------


def digest_for(manager: User, now: datetime) -> dict:
    """What a manager's digest says: submissions since his previous digest (or the last 24 hours),
    reviews past due, and what remains of each live call's envelope."""
    since = db.session.scalar(
        db.select(sa.func.max(Notification.created_at)).where(
            Notification.event == "manager_digest", Notification.recipient_id == manager.id)
    ) or now - timedelta(days=1)
    submissions = db.session.scalars(
        db.select(Application).where(Application.submitted_at > since, Application.submitted_at <= now)
        .order_by(Application.submitted_at)
        .options(selectinload(Application.call),
                 selectinload(Application.applicant).selectinload(Applicant.organisation),
                 selectinload(Application.applicant).selectinload(Applicant.person))
    ).all()
    today = local_today(now)
    late = pending_assignments(today - timedelta(days=1))
    calls = db.session.scalars(
        db.select(Call).where(Call.state.in_([CallState.OPEN, CallState.CLOSED])).order_by(Call.closes_at, Call.id)
        .options(selectinload(Call.envelopes))
    ).all()
    return {"since": since, "submissions": submissions, "late_reviews": late, "calls": calls, "today": today}


def queue_manager_digests(now: datetime | None = None) -> int:
    """Queue today's digest for each active manager who wants one, once a day from the morning hour;
    nothing when there is nothing to say. Flushes; returns how many were queued."""
    now = now or utcnow()
    if not past_morning(now):
        return 0
    today = local_today(now)
    managers = db.session.scalars(
        db.select(User).where(User.staff_role.in_([StaffRole.MANAGER, StaffRole.ADMIN]), User.active.is_(True),
                              User.wants_digest.is_(True)).order_by(User.id)
    ).all()
    messages = []
    for manager in managers:
        key = f"manager_digest:{manager.id}:{today:%Y%m%d}"
        if db.session.scalar(db.select(Notification.id).where(Notification.dedup_key == key)):
            continue
        digest = digest_for(manager, now)
        if digest["submissions"] or digest["late_reviews"] or digest["calls"]:
            messages.append(("manager_digest", manager, key, {"user": manager, **digest}))
    queued = queue_emails_once(messages)
    db.session.flush()
    return len(queued)
