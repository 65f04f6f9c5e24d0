"""Submissions at the same instant, for real, on PostgreSQL: one reference each for simultaneous dossiers,
on one call or on two calls sharing a prefix and a year, and one submission (one reference) for a dossier
submitted twice at once."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from grants.applications import services
from grants.database import db
from grants.errors import DomainError
from grants.models import Application, ApplicationState
from tests.applications.conftest import last_reference_number
from tests.factories import CallEnvelopeFactory, CallFactory, complete_draft


@pytest.fixture
def app_overrides() -> dict:
    # Every thread holds a connection while it waits for the others: the pool must hold them all.
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": 20, "max_overflow": 2}}


def submit_in_threads(app, application_ids: list[int]) -> list[str]:
    barrier = threading.Barrier(len(application_ids))
    outcomes = []

    def worker(application_id: int):
        with app.app_context():
            application = db.session.get(Application, application_id)
            _ = application.call, application.applicant.organisation.memberships, application.budget_lines
            barrier.wait()
            try:
                services.submit(application, actor=application.created_by)
                db.session.commit()
                outcomes.append("submitted")
            except (StaleDataError, DomainError) as error:
                db.session.rollback()
                outcomes.append(type(error).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in application_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def a_call():
    call = CallFactory(partner_regions=[], reference_prefix="FIPCE", year=2026)
    CallEnvelopeFactory(call=call)
    return call


def test_simultaneous_submissions_never_share_a_reference(pg_app):
    call = a_call()
    ids = [complete_draft(call=call).id for _ in range(4)]
    db.session.remove()
    assert submit_in_threads(pg_app, ids) == ["submitted"] * 4
    references = db.session.scalars(sa.select(Application.reference).order_by(Application.reference)).all()
    assert references == ["FIPCE-2026-0001", "FIPCE-2026-0002", "FIPCE-2026-0003", "FIPCE-2026-0004"]
    assert last_reference_number("FIPCE", 2026) == 4


def test_twenty_simultaneous_submissions_on_two_calls_sharing_a_prefix_draw_from_one_sequence(pg_app):
    calls = [a_call(), a_call()]  # a call and its second session: same prefix, same year
    ids = [complete_draft(call=calls[n % 2]).id for n in range(20)]
    db.session.remove()
    assert submit_in_threads(pg_app, ids) == ["submitted"] * 20
    per_call = db.session.execute(
        sa.select(Application.call_id, sa.func.count(Application.reference)).group_by(Application.call_id)).all()
    assert sorted(count for _, count in per_call) == [10, 10]
    references = db.session.scalars(sa.select(Application.reference)).all()
    assert sorted(references) == [f"FIPCE-2026-{n:04d}" for n in range(1, 21)]  # distinct, and no gap
    assert last_reference_number("FIPCE", 2026) == 20


def test_a_double_click_at_the_same_instant_is_one_submission(pg_app):
    call = a_call()
    application_id = complete_draft(call=call).id
    db.session.remove()
    outcomes = submit_in_threads(pg_app, [application_id, application_id])
    assert sorted(outcomes) == ["StaleDataError", "submitted"]
    application = db.session.get(Application, application_id)
    assert application.state == ApplicationState.SUBMITTED and application.reference == "FIPCE-2026-0001"
    assert last_reference_number("FIPCE", 2026) == 1
