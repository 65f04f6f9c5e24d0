"""The test guard of grants/transactions.py: a request that wrote and did not commit fails."""

from __future__ import annotations

import threading
import time

import pytest

from grants.calls.models import Programme
from grants.database import db
from grants.transactions import UncommittedRequestError
from tests.factories import ProgrammeFactory


def add_route(app, view):
    app.add_url_rule("/test-uncommitted", "test_uncommitted", view)


def test_a_write_left_uncommitted_after_a_rolled_back_savepoint_still_fails_the_request(app, client):
    programme = ProgrammeFactory()

    def view():
        programme.name = "Renamed without a commit"
        db.session.flush()
        savepoint = db.session.begin_nested()
        programme.description = "abandoned"
        db.session.flush()
        savepoint.rollback()  # fires after_rollback: the outer write must not be forgotten
        return "ok"

    add_route(app, view)
    with pytest.raises(UncommittedRequestError):
        client.get("/test-uncommitted")


def test_a_committed_request_passes(app, client):
    programme = ProgrammeFactory()

    def view():
        programme.name = "Renamed and committed"
        db.session.commit()
        return "ok"

    add_route(app, view)
    assert client.get("/test-uncommitted").status_code == 200


def test_a_released_savepoint_is_undone_by_the_outer_rollback(app):
    """SQLAlchemy's pysqlite recipe (grants/database.py): without it, pysqlite began no transaction
    before a SAVEPOINT, whose RELEASE then committed on SQLite; on both databases the outer rollback
    must undo what the savepoint wrote."""
    programme = ProgrammeFactory(name="Before")
    db.session.commit()
    db.session.execute(db.select(Programme.id)).all()  # a read first, as a view does
    with db.session.begin_nested():
        programme.name = "Inside a released savepoint"
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Programme, programme.id).name == "Before"


def test_a_rolled_back_savepoint_keeps_the_outer_transaction_writes(app):
    programme = ProgrammeFactory(name="Before")
    db.session.commit()
    programme.name = "Outer write"
    db.session.flush()
    savepoint = db.session.begin_nested()
    programme.description = "abandoned"
    db.session.flush()
    savepoint.rollback()
    db.session.commit()
    db.session.expire_all()
    reloaded = db.session.get(Programme, programme.id)
    assert reloaded.name == "Outer write" and reloaded.description != "abandoned"


def test_reads_in_one_transaction_are_repeatable_on_both_databases(app):
    """A transaction opens at its first statement, a SELECT included, so another connection's
    commit does not show up halfway through (SQLite: the recipe's explicit BEGIN)."""
    programme = ProgrammeFactory(name="Before")
    db.session.commit()
    assert db.session.scalar(db.select(Programme.name).where(Programme.id == programme.id)) == "Before"
    with db.engine.begin() as other:
        other.execute(db.update(Programme).where(Programme.id == programme.id).values(name="After"))
    # SQLite is SERIALIZABLE: the snapshot of the first read holds until the transaction ends;
    # PostgreSQL's READ COMMITTED shows each statement what was committed before it.
    expected = "Before" if db.engine.dialect.name == "sqlite" else "After"
    assert db.session.scalar(db.select(Programme.name).where(Programme.id == programme.id)) == expected
    db.session.rollback()
    assert db.session.scalar(db.select(Programme.name).where(Programme.id == programme.id)) == "After"


def test_two_requests_that_read_then_write_at_once_both_succeed(app):
    """PostgreSQL queues the second writer; on SQLite a transaction that read and then writes after
    another one committed fails ("database is locked"), so a request that may write begins with
    BEGIN IMMEDIATE and waits for the lock instead (grants/database.py)."""
    programme = ProgrammeFactory(description="")
    db.session.commit()
    programme_id = programme.id
    db.session.remove()
    outcomes: list[str] = []

    def rename(letter: str, pause: float):
        with app.test_request_context("/", method="POST"):
            try:
                # The services' pattern (e.g. attachments.lock_application): a row lock on PostgreSQL,
                # which SQLite ignores; there the BEGIN IMMEDIATE serialises.
                current = db.session.get(Programme, programme_id, with_for_update=True).description
                time.sleep(pause)  # the other request commits meanwhile
                db.session.execute(db.update(Programme).where(Programme.id == programme_id)
                                   .values(description=current + letter))
                db.session.commit()
                outcomes.append("ok")
            except Exception as error:  # noqa: BLE001 — the outcome is what the test compares
                outcomes.append(repr(error))
            finally:
                db.session.remove()

    first = threading.Thread(target=rename, args=("a", 0.5))
    second = threading.Thread(target=rename, args=("b", 0.0))
    first.start()
    time.sleep(0.2)
    second.start()
    first.join()
    second.join()
    assert outcomes == ["ok", "ok"]
    assert db.session.get(Programme, programme_id).description == "ab"  # serialised: no lost update
