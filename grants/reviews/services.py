"""Instruction: eligibility screening, conflicts of interest, assigning reviewers (by hand or
automatically), recusal, and the review comments an applicant may read. Saving and submitting a
review is in grants.reviews.scoring, the aggregation and the ranking in grants.reviews.ranking.

Every rule is kept here, whatever the page or the form that asked: a conflicted reviewer is refused by
:func:`assign` itself, a score outside its scale by :func:`save_review` itself. Services flush and
never commit; the view commits once, and the emails queued here leave only after that commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import selectinload

from grants.accounts.models import StaffRole, User
from grants.applications.models import Application, ApplicationState
from grants.audit.services import record_event, record_transition
from grants.calls.models import Call
from grants.database import db, utcnow
from grants.errors import DomainError, NotAllowed
from grants.local_time import local_today
from grants.organisations.models import Applicant, Membership, Organisation
from grants.outbox.services import queue_email
from grants.reviews.models import (
    AssignmentState,
    ConflictOfInterest,
    Review,
    ReviewAssignment,
    ReviewState,
)
from grants.reviews.scoring import ReviewLocked


class ConflictOfInterestError(DomainError):
    """The reviewer is tied to the applicant: a member of its organisation, or a declared conflict."""


# ---------------------------------------------------------------- eligibility screening


def screen_application(application: Application, *, eligible: bool, reason: str | None, actor,
                       now: datetime | None = None) -> Application:
    """Record the screening of a submitted application: eligible ones go to review, ineligible ones
    are closed with a reason the applicant sees (and is emailed). Only a submitted, not yet screened
    application can be screened; an ineligible verdict always has a reason."""
    if application.state != ApplicationState.SUBMITTED or application.eligible is not None:
        raise DomainError(_("Ce dossier n'attend pas d'examen de recevabilité."))
    reason = (reason or "").strip()
    if not eligible and not reason:
        raise DomainError(_("Indiquez le motif d'irrecevabilité : le porteur le verra."), field="reason")
    now = now or utcnow()
    before = application.state
    application.eligible = eligible
    application.eligibility_reason = reason or None
    application.screened_by_id = actor.id
    application.screened_at = now
    application.move_to(ApplicationState.UNDER_REVIEW if eligible else ApplicationState.INELIGIBLE)
    record_transition("application.screened", application, before, application.state, actor=actor,
                      eligible=eligible, reason=reason)
    if not eligible:
        for user in application.applicant.acting_users():
            queue_email("eligibility_refused", user, dedup_key=f"eligibility_refused:{application.id}:{user.id}",
                        user=user, application=application, call=application.call, reason=reason)
    db.session.flush()
    return application


SCREENING_PAGE_SIZE = 50


def _screening_query(call: Call, *, waiting: bool) -> sa.Select:
    """The call's applications waiting for screening (oldest first), or those already screened (latest
    verdict first), applicants loaded."""
    query = (
        sa.select(Application)
        .where(Application.call_id == call.id)
        .options(selectinload(Application.applicant).selectinload(Applicant.organisation),
                 selectinload(Application.applicant).selectinload(Applicant.person))
    )
    if waiting:
        return query.where(*_waiting_for_screening()).order_by(Application.submitted_at, Application.id)
    return query.where(Application.eligible.is_not(None)).order_by(Application.screened_at.desc(),
                                                                   Application.id.desc())


def _waiting_for_screening() -> tuple:
    return (Application.state == ApplicationState.SUBMITTED, Application.eligible.is_(None),
            Application.submitted_at.is_not(None))


@dataclass
class ScreeningList:
    waiting: Pagination
    screened: Pagination


def screening_list(call: Call, *, waiting_page: int = 1, screened_page: int = 1,
                   per_page: int | None = None) -> ScreeningList:
    """One page of the dossiers waiting for screening and one page of those screened, each a count and a
    page (with its applicants): the same statements however many dossiers the call holds."""
    per_page = per_page or SCREENING_PAGE_SIZE
    return ScreeningList(
        waiting=db.paginate(_screening_query(call, waiting=True), page=waiting_page, per_page=per_page,
                            error_out=False),
        screened=db.paginate(_screening_query(call, waiting=False), page=screened_page, per_page=per_page,
                             error_out=False),
    )


def next_to_screen(application: Application) -> int | None:
    """The id of the dossier to screen after ``application``: the next one waiting in the call (oldest
    first, after this one by submission, else from the start), never itself. One statement."""
    if application.submitted_at is None:  # not submitted (a draft reached by its id): by id alone
        after = Application.id > application.id
    else:
        after = sa.or_(Application.submitted_at > application.submitted_at,
                       sa.and_(Application.submitted_at == application.submitted_at, Application.id > application.id))
    return db.session.scalar(
        sa.select(Application.id)
        .where(Application.call_id == application.call_id, Application.id != application.id,
               *_waiting_for_screening())
        # the ones after this dossier first, then round to the oldest
        .order_by(sa.case((after, 0), else_=1), Application.submitted_at, Application.id)
        .limit(1)
    ) if application.submitted_at is not None else None


# ---------------------------------------------------------------- conflicts of interest


def conflicted_pairs(reviewer_ids: list[int], applicant_ids: list[int]) -> set[tuple[int, int]]:
    """``(reviewer_id, applicant_id)`` pairs that must never meet: the reviewer is a member of the
    applicant organisation, is the individual applicant himself, or declared a conflict. Two
    statements whatever the numbers."""
    if not reviewer_ids or not applicant_ids:
        return set()
    pairs = set(db.session.execute(
        sa.select(ConflictOfInterest.reviewer_id, ConflictOfInterest.applicant_id).where(
            ConflictOfInterest.reviewer_id.in_(reviewer_ids), ConflictOfInterest.applicant_id.in_(applicant_ids))
    ).tuples().all())
    pairs |= set(db.session.execute(
        sa.select(Membership.user_id, Applicant.id)
        .join(Applicant, Applicant.organisation_id == Membership.organisation_id)
        .where(Membership.user_id.in_(reviewer_ids), Applicant.id.in_(applicant_ids))
    ).tuples().all())
    pairs |= set(db.session.execute(
        sa.select(Applicant.person_id, Applicant.id)
        .where(Applicant.person_id.in_(reviewer_ids), Applicant.id.in_(applicant_ids))
    ).tuples().all())
    return pairs


def has_conflict(reviewer: User, application: Application) -> bool:
    return bool(conflicted_pairs([reviewer.id], [application.applicant_id]))


def declare_conflict(reviewer: User, applicant: Applicant, reason: str, *, now: datetime | None = None
                     ) -> ConflictOfInterest:
    """A reviewer declares a tie to an applicant. From then on he is never assigned its applications,
    and he steps aside (with this reason) from every one assigned to him, at once: a draft review is
    discarded; a review he already transmitted is set aside (kept for the record, out of the ranking,
    the peers' view and the applicant's comments) and the manager who assigned it is told by email.
    Only an applicant he may see (:func:`declarable_applicants`) can be named: a forged id of a private
    individual is refused as if it did not exist, and his name never reaches the reviewer's list."""
    reason = (reason or "").strip()
    if applicant.id not in {applicant_id for applicant_id, _name in declarable_applicants(reviewer)}:
        raise DomainError(_("Choisissez un porteur dans la liste."), field="applicant")
    if not reason:
        raise DomainError(_("Précisez la nature du lien avec ce porteur."), field="reason")
    existing = db.session.scalar(sa.select(ConflictOfInterest).where(
        ConflictOfInterest.reviewer_id == reviewer.id, ConflictOfInterest.applicant_id == applicant.id))
    if existing is not None:
        raise DomainError(_("Vous avez déjà déclaré un lien avec ce porteur."), field="applicant")
    conflict = ConflictOfInterest(reviewer_id=reviewer.id, applicant_id=applicant.id, reason=reason,
                                  declared_at=now or utcnow())
    db.session.add(conflict)
    record_event("review.conflict_declared", actor=reviewer, subject=conflict, applicant=applicant.id)
    open_assignments = db.session.scalars(
        sa.select(ReviewAssignment)
        .join(Application, Application.id == ReviewAssignment.application_id)
        .where(ReviewAssignment.reviewer_id == reviewer.id, ReviewAssignment.state == AssignmentState.ASSIGNED,
               Application.applicant_id == applicant.id)
    ).all()
    for assignment in open_assignments:
        if assignment.review is None or assignment.review.state != ReviewState.SUBMITTED:
            _recuse(assignment, reviewer, _("Conflit d'intérêts déclaré : %(reason)s", reason=reason))
        else:
            _set_aside(assignment, reviewer, reason)
    db.session.flush()
    return conflict


def _set_aside(assignment: ReviewAssignment, reviewer: User, reason: str) -> None:
    """A conflict declared after the review was transmitted: the reviewer loses the dossier (the
    assignment ends, and with it his access), his review stays as written but no longer counts, and
    the manager who assigned it is told, to assign another reviewer."""
    before = assignment.state
    assignment.state = AssignmentState.RECUSED
    assignment.recusal_reason = _("Conflit d'intérêts déclaré après l'évaluation : %(reason)s", reason=reason)
    record_transition("review.recused", assignment, before, AssignmentState.RECUSED, actor=reviewer,
                      reason=assignment.recusal_reason, review_set_aside=assignment.review.id)
    manager = assignment.assigned_by
    if manager is not None and manager.active:
        queue_email("review_set_aside", manager, user=manager, assignment=assignment,
                    application=assignment.application, call=assignment.application.call, reviewer=reviewer)


def withdraw_conflict(reviewer: User, conflict: ConflictOfInterest) -> None:
    """A reviewer takes back a declaration he made (a tie that has ended)."""
    if conflict.reviewer_id != reviewer.id:
        raise NotAllowed(_("Cette déclaration ne vous appartient pas."))
    record_event("review.conflict_withdrawn", actor=reviewer, subject=conflict, applicant=conflict.applicant_id)
    db.session.delete(conflict)
    db.session.flush()


def declared_conflicts(reviewer: User) -> list[tuple[ConflictOfInterest, str]]:
    """The reviewer's declarations with the applicant's name, newest first."""
    return list(db.session.execute(
        sa.select(ConflictOfInterest, sa.func.coalesce(Organisation.name, User.full_name))
        .join(Applicant, Applicant.id == ConflictOfInterest.applicant_id)
        .outerjoin(Organisation, Organisation.id == Applicant.organisation_id)
        .outerjoin(User, User.id == Applicant.person_id)
        .where(ConflictOfInterest.reviewer_id == reviewer.id)
        .order_by(ConflictOfInterest.declared_at.desc(), ConflictOfInterest.id.desc())
    ).tuples().all())


def declarable_applicants(reviewer: User) -> list[tuple[int, str]]:
    """The applicants a reviewer may declare a tie with, as ``(applicant id, label)`` sorted by label.

    Privacy decides the list, as on the research funders' platforms: a reviewer names only parties he
    may legitimately see. Those are the organisations that have submitted an application (legal
    persons, whose name and SIRET are public in the SIRENE register; the SIRET tells namesakes apart),
    and the applicants of the dossiers assigned to him, which he reads anyway (individuals included).
    A private individual who applied is never listed to other reviewers: a tie to one is declared from
    the dossier itself, once it is assigned (recusal), and the declaration then covers his later
    applications too. Two statements."""
    organisations = db.session.execute(
        sa.select(Applicant.id, Organisation.name, Organisation.siret)
        .join(Organisation, Organisation.id == Applicant.organisation_id)
        .where(sa.exists().where(Application.applicant_id == Applicant.id, Application.submitted_at.is_not(None)))
    ).all()
    assigned = db.session.execute(
        sa.select(Applicant.id, sa.func.coalesce(Organisation.name, User.full_name), Organisation.siret)
        .join(Application, Application.applicant_id == Applicant.id)
        .join(ReviewAssignment, ReviewAssignment.application_id == Application.id)
        .outerjoin(Organisation, Organisation.id == Applicant.organisation_id)
        .outerjoin(User, User.id == Applicant.person_id)
        .where(ReviewAssignment.reviewer_id == reviewer.id, ReviewAssignment.state == AssignmentState.ASSIGNED)
    ).all()
    labels = {applicant_id: f"{name} (SIRET {siret})" if siret else name
              for applicant_id, name, siret in [*organisations, *assigned]}
    return sorted(labels.items(), key=lambda row: row[1].lower())


# ---------------------------------------------------------------- assignment


def active_reviewers() -> list[User]:
    return db.session.scalars(
        sa.select(User).where(User.staff_role == StaffRole.REVIEWER, User.active.is_(True)).order_by(User.full_name)
    ).all()


def _check_due_on(due_on: date | None, now: datetime | None) -> None:
    if due_on is None:
        raise DomainError(_("Indiquez la date à laquelle l'évaluation est attendue."), field="due_on")
    if due_on < local_today(now):
        raise DomainError(_("La date d'échéance ne peut pas être passée."), field="due_on")


def _check_reviewable(application: Application) -> None:
    if application.state != ApplicationState.UNDER_REVIEW:
        raise DomainError(_("Le dossier %(reference)s n'est pas en instruction : il ne peut pas être confié à un "
                            "évaluateur.", reference=application.reference))


def _check_reviewer(reviewer: User) -> None:
    if not reviewer.is_reviewer or not reviewer.active:
        raise DomainError(_("%(name)s n'est pas un évaluateur actif.", name=reviewer.full_name), field="reviewers")


@dataclass
class AssignmentOutcome:
    created: list[ReviewAssignment] = field(default_factory=list)
    already: int = 0  # pairs that were already assigned (left as they were)
    shortfalls: list[tuple[Application, int]] = field(default_factory=list)  # (application, reviewers missing)


def assign(applications: list[Application], reviewers: list[User], *, due_on: date, actor,
           now: datetime | None = None) -> AssignmentOutcome:
    """Give each of ``applications`` to each of ``reviewers``, due on ``due_on``.

    Refuses the whole operation (nothing is assigned) when one pair is conflicted, when a reviewer
    recused himself from one of the applications, or when an application is not under review. Pairs
    already assigned are left as they are. Each reviewer gets one email listing his new dossiers."""
    if not applications:
        raise DomainError(_("Choisissez au moins un dossier."), field="applications")
    if not reviewers:
        raise DomainError(_("Choisissez au moins un évaluateur."), field="reviewers")
    _check_due_on(due_on, now)
    for application in applications:
        _check_reviewable(application)
    for reviewer in reviewers:
        _check_reviewer(reviewer)
    conflicts = conflicted_pairs([r.id for r in reviewers], [a.applicant_id for a in applications])
    existing = _existing_assignments([a.id for a in applications])
    outcome = AssignmentOutcome()
    for application in applications:
        for reviewer in reviewers:
            if (reviewer.id, application.applicant_id) in conflicts:
                raise ConflictOfInterestError(
                    _("%(name)s a un conflit d'intérêts avec le porteur du dossier %(reference)s : il ne peut "
                      "pas l'évaluer.", name=reviewer.full_name, reference=application.reference),
                    field="reviewers")
            state = existing.get((application.id, reviewer.id))
            if state == AssignmentState.RECUSED:
                raise DomainError(
                    _("%(name)s s'est déporté du dossier %(reference)s : confiez-le à un autre évaluateur.",
                      name=reviewer.full_name, reference=application.reference), field="reviewers")
            if state == AssignmentState.ASSIGNED:
                outcome.already += 1
                continue
            outcome.created.append(_create_assignment(application, reviewer, due_on, actor, now))
    _notify_reviewers(outcome.created)
    db.session.flush()
    return outcome


def _existing_assignments(application_ids: list[int]) -> dict[tuple[int, int], AssignmentState]:
    if not application_ids:
        return {}
    return {
        (application_id, reviewer_id): state
        for application_id, reviewer_id, state in db.session.execute(
            sa.select(ReviewAssignment.application_id, ReviewAssignment.reviewer_id, ReviewAssignment.state)
            .where(ReviewAssignment.application_id.in_(application_ids))
        )
    }


def _create_assignment(application, reviewer, due_on, actor, now) -> ReviewAssignment:
    assignment = ReviewAssignment(application=application, reviewer=reviewer, assigned_by_id=actor.id,
                                  assigned_at=now or utcnow(), due_on=due_on, state=AssignmentState.ASSIGNED)
    db.session.add(assignment)
    record_event("review.assigned", actor=actor, subject=assignment, reviewer=reviewer.email,
                 application=application.reference)
    return assignment


def _notify_reviewers(created: list[ReviewAssignment]) -> None:
    by_reviewer: dict[int, list[ReviewAssignment]] = defaultdict(list)
    for assignment in created:
        by_reviewer[assignment.reviewer.id].append(assignment)
    for assignments in by_reviewer.values():
        reviewer = assignments[0].reviewer
        queue_email("review_assigned", reviewer, user=reviewer, assignments=assignments)


def auto_assign(call: Call, *, per_application: int, due_on: date, actor, now: datetime | None = None
                ) -> AssignmentOutcome:
    """Bring every application of the call under review up to ``per_application`` reviewers.

    Never a conflicted reviewer, nor one who recused himself from that application. Load is balanced:
    each application takes the eligible reviewers with the fewest active assignments in this call
    (then in all calls, then by name), and the most constrained applications (fewest eligible
    reviewers) are served first. With no conflicts, loads within the call end at most one apart.
    Applications that cannot reach the number are reported, not refused."""
    if per_application is None or not 1 <= per_application <= 10:
        raise DomainError(_("Choisissez entre 1 et 10 évaluateurs par dossier."), field="per_application")
    _check_due_on(due_on, now)
    reviewers = active_reviewers()
    applications = db.session.scalars(
        sa.select(Application)
        .where(Application.call_id == call.id, Application.state == ApplicationState.UNDER_REVIEW)
        .order_by(Application.submitted_at, Application.id)
    ).all()
    outcome = AssignmentOutcome()
    if not applications:
        return outcome
    if not reviewers:
        raise DomainError(_("Aucun évaluateur actif : créez d'abord des comptes d'évaluateurs."),
                          field="per_application")
    conflicts = conflicted_pairs([r.id for r in reviewers], [a.applicant_id for a in applications])
    existing = _existing_assignments([a.id for a in applications])
    call_load = {r.id: 0 for r in reviewers}
    for (_application_id, reviewer_id), state in existing.items():
        if state == AssignmentState.ASSIGNED and reviewer_id in call_load:
            call_load[reviewer_id] += 1
    total_load = dict(db.session.execute(
        sa.select(ReviewAssignment.reviewer_id, sa.func.count(ReviewAssignment.id))
        .where(ReviewAssignment.state == AssignmentState.ASSIGNED)
        .group_by(ReviewAssignment.reviewer_id)
    ).tuples().all())

    def candidates(application: Application) -> list[User]:
        return [r for r in reviewers
                if (r.id, application.applicant_id) not in conflicts and (application.id, r.id) not in existing]

    def needed(application: Application) -> int:
        current = sum(1 for (app_id, _r), state in existing.items()
                      if app_id == application.id and state == AssignmentState.ASSIGNED)
        return max(per_application - current, 0)

    pending = [(a, needed(a), candidates(a)) for a in applications]
    pending.sort(key=lambda item: (len(item[2]) - item[1], item[0].submitted_at, item[0].id))
    for application, missing, pool in pending:
        if missing == 0:
            outcome.already += 1
            continue
        pool.sort(key=lambda r: (call_load[r.id], total_load.get(r.id, 0), r.full_name, r.id))
        for reviewer in pool[:missing]:
            outcome.created.append(_create_assignment(application, reviewer, due_on, actor, now))
            call_load[reviewer.id] += 1
            total_load[reviewer.id] = total_load.get(reviewer.id, 0) + 1
        if len(pool) < missing:
            outcome.shortfalls.append((application, missing - len(pool)))
    _notify_reviewers(outcome.created)
    db.session.flush()
    return outcome


def remove_assignment(assignment: ReviewAssignment, *, actor) -> None:
    """A manager takes back an assignment whose review is not submitted (a submitted review stays)."""
    if assignment.review is not None and assignment.review.state == ReviewState.SUBMITTED:
        raise DomainError(_("L'évaluation est déjà transmise : l'affectation est conservée."))
    record_event("review.unassigned", actor=actor, subject=assignment, reviewer=assignment.reviewer.email,
                 application=assignment.application.reference)
    if assignment.review is not None:  # a draft review goes with its assignment (it cannot outlive it)
        db.session.delete(assignment.review)
    db.session.delete(assignment)
    db.session.flush()


def recuse(assignment: ReviewAssignment, reviewer: User, reason: str) -> ReviewAssignment:
    """The assigned reviewer steps aside, with a reason; a draft review is discarded, a submitted one
    cannot be taken back. The manager then reassigns the dossier to someone else."""
    if assignment.reviewer_id != reviewer.id or assignment.state != AssignmentState.ASSIGNED:
        raise NotAllowed(_("Ce dossier ne vous est pas confié."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Indiquez pourquoi vous vous déportez."), field="reason")
    if assignment.review is not None and assignment.review.state == ReviewState.SUBMITTED:
        raise ReviewLocked(_("Votre évaluation est transmise : vous ne pouvez plus vous déporter."))
    _recuse(assignment, reviewer, reason)
    db.session.flush()
    return assignment


def _recuse(assignment: ReviewAssignment, reviewer: User, reason: str) -> None:
    before = assignment.state
    if assignment.review is not None:
        db.session.delete(assignment.review)
    assignment.state = AssignmentState.RECUSED
    assignment.recusal_reason = reason
    record_transition("review.recused", assignment, before, AssignmentState.RECUSED, actor=reviewer, reason=reason)


@dataclass
class AssignmentBoardRow:
    application: Application
    assignments: list[ReviewAssignment]
    conflicted_reviewer_ids: set[int]

    @property
    def active(self) -> list[ReviewAssignment]:
        return [a for a in self.assignments if a.state == AssignmentState.ASSIGNED]

    @property
    def recused(self) -> list[ReviewAssignment]:
        return [a for a in self.assignments if a.state == AssignmentState.RECUSED]


def assignment_board(call: Call) -> list[AssignmentBoardRow]:
    """The call's applications under review with their assignments (reviewer and review loaded) and
    which reviewers conflict with each, in a fixed number of statements."""
    applications = db.session.scalars(
        sa.select(Application)
        .where(Application.call_id == call.id, Application.state == ApplicationState.UNDER_REVIEW)
        .options(selectinload(Application.applicant).selectinload(Applicant.organisation),
                 selectinload(Application.applicant).selectinload(Applicant.person))
        .order_by(Application.reference)
    ).all()
    assignments = db.session.scalars(
        sa.select(ReviewAssignment)
        .where(ReviewAssignment.application_id.in_([a.id for a in applications]))
        .options(selectinload(ReviewAssignment.reviewer), selectinload(ReviewAssignment.review))
        .order_by(ReviewAssignment.assigned_at, ReviewAssignment.id)
    ).all() if applications else []
    by_application: dict[int, list[ReviewAssignment]] = defaultdict(list)
    for assignment in assignments:
        by_application[assignment.application_id].append(assignment)
    reviewer_ids = [r.id for r in active_reviewers()]
    conflicts = conflicted_pairs(reviewer_ids, [a.applicant_id for a in applications])
    return [
        AssignmentBoardRow(
            application=a, assignments=by_application.get(a.id, []),
            conflicted_reviewer_ids={r for r, applicant_id in conflicts if applicant_id == a.applicant_id},
        )
        for a in applications
    ]


def call_loads(call: Call) -> dict[int, int]:
    """Active assignments per reviewer in this call."""
    return dict(db.session.execute(
        sa.select(ReviewAssignment.reviewer_id, sa.func.count(ReviewAssignment.id))
        .join(Application, Application.id == ReviewAssignment.application_id)
        .where(Application.call_id == call.id, ReviewAssignment.state == AssignmentState.ASSIGNED)
        .group_by(ReviewAssignment.reviewer_id)
    ).tuples().all())


# ---------------------------------------------------------------- what the applicant sees


def applicant_visible_comments(application: Application) -> list[str]:
    """The reviewers' overall comments the applicant may read: only when the call says so, only once
    the application is decided, only submitted reviews, never with a name (the order is the order of
    submission, nothing else)."""
    if not application.call.show_review_comments or application.state != ApplicationState.DECIDED:
        return []
    comments = db.session.scalars(
        sa.select(Review.comment)
        .join(ReviewAssignment, ReviewAssignment.id == Review.assignment_id)
        .where(ReviewAssignment.application_id == application.id, Review.state == ReviewState.SUBMITTED,
               ReviewAssignment.state == AssignmentState.ASSIGNED)
        .order_by(Review.submitted_at, Review.id)
    ).all()
    return [c.strip() for c in comments if c and c.strip()]
