"""The server refuses a submission at and after closes_at, to the second, on the days clocks change in
Paris; a request for corrections reopens its sections until its own deadline, past the call's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from grants.applications import services
from grants.database import db
from grants.errors import DomainError
from grants.local_time import from_local
from grants.models import ApplicationState, CallState
from tests.applications.conftest import last_reference_number
from tests.factories import CallEnvelopeFactory, CallFactory, ManagerFactory, complete_draft

SECOND = timedelta(seconds=1)

# Last Sunday of March 2026 (clocks go forward at 02:00) and of October 2026 (back at 03:00), and the
# same wall-clock instants on ordinary days around them.
CLOSINGS = [
    datetime(2026, 3, 29, 12, 0),
    datetime(2026, 3, 29, 3, 0),  # the first hour that exists after the jump
    datetime(2026, 10, 25, 12, 0),
    datetime(2026, 10, 25, 3, 0),  # the first hour after the repeated one
    datetime(2026, 10, 25, 23, 59, 59),
]


def an_open_call(closes_at: datetime):
    call = CallFactory(state=CallState.OPEN, opens_at=closes_at - timedelta(days=60), closes_at=closes_at,
                       reference_prefix="DCP", year=2026, partner_regions=[])
    CallEnvelopeFactory(call=call)
    db.session.refresh(call)
    return call


@pytest.mark.parametrize("wall_clock", CLOSINGS, ids=lambda d: d.isoformat())
def test_submission_is_accepted_one_second_before_closing_and_refused_one_second_after(app, wall_clock):
    closes_at = from_local(wall_clock)
    call = an_open_call(closes_at)
    late = complete_draft(call=call)
    on_time = complete_draft(call=call)
    actor = late.created_by

    for instant in (closes_at, closes_at + SECOND):
        with pytest.raises(DomainError, match="date limite"):
            services.submit(late, actor=actor, now=instant)
        db.session.rollback()
    assert late.state == ApplicationState.DRAFT and late.reference is None
    assert services.editable_sections(late, closes_at + SECOND) == set()
    assert services.editable_sections(late, closes_at - SECOND) == set(services.SECTIONS)

    services.submit(on_time, actor=actor, now=closes_at - SECOND)
    db.session.commit()
    assert on_time.state == ApplicationState.SUBMITTED and on_time.reference == "DCP-2026-0001"
    assert on_time.submitted_at == closes_at - SECOND


def test_the_paris_offsets_are_the_ones_of_each_side_of_the_change(app):
    assert from_local(datetime(2026, 3, 29, 12, 0)) == datetime(2026, 3, 29, 10, 0, tzinfo=UTC)
    assert from_local(datetime(2026, 3, 28, 12, 0)) == datetime(2026, 3, 28, 11, 0, tzinfo=UTC)
    assert from_local(datetime(2026, 10, 25, 12, 0)) == datetime(2026, 10, 25, 11, 0, tzinfo=UTC)
    assert from_local(datetime(2026, 10, 24, 12, 0)) == datetime(2026, 10, 24, 10, 0, tzinfo=UTC)


def test_a_closed_call_gives_no_reference_even_if_the_state_lags(app):
    """The scheduler has not closed the call yet: the instant decides, and the counter does not move."""
    closes_at = from_local(datetime(2026, 10, 25, 12, 0))
    call = an_open_call(closes_at)
    application = complete_draft(call=call)
    with pytest.raises(DomainError):
        services.submit(application, actor=application.created_by, now=closes_at + timedelta(hours=2))
    db.session.rollback()
    assert last_reference_number(call.reference_prefix, call.year) == 0


def test_corrections_reopen_their_sections_until_their_own_deadline(app):
    closes_at = from_local(datetime(2026, 3, 29, 12, 0))
    call = an_open_call(closes_at)
    application = complete_draft(call=call)
    applicant_user = application.created_by
    manager = ManagerFactory()
    services.submit(application, actor=applicant_user, now=closes_at - timedelta(days=1))
    db.session.commit()

    requested_at = closes_at + timedelta(days=2)  # after the call's closing
    due_at = from_local(datetime(2026, 4, 15, 12, 0))
    services.request_corrections(application, actor=manager, message="Détaillez les missions.",
                                 due_at=due_at, sections=["budget", "pieces"], now=requested_at)
    db.session.commit()
    assert application.state == ApplicationState.CORRECTIONS_REQUESTED
    assert services.editable_sections(application, requested_at) == {"budget", "pieces"}
    assert services.editable_sections(application, due_at) == set()

    with pytest.raises(services.SectionClosed):
        services.save_project(application, {"title": "Autre"}, actor=applicant_user,
                              expected_version=application.version, now=requested_at)
    db.session.rollback()

    with pytest.raises(DomainError, match="délai"):
        services.submit(application, actor=applicant_user, now=due_at)
    db.session.rollback()

    reference = application.reference
    services.submit(application, actor=applicant_user, now=due_at - SECOND)
    db.session.commit()
    assert application.state == ApplicationState.SUBMITTED and application.reference == reference
    assert last_reference_number(call.reference_prefix, call.year) == 1
    assert services.corrections_of(application)[0].answered_at == due_at - SECOND
    actions = [event.action for event in services.timeline(application)]
    assert actions == ["application.submitted", "application.corrections_requested", "application.resubmitted"]
