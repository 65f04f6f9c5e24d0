"""bench/dataset.py builds a consistent data set at any scale: a tiny one is built on the test
PostgreSQL server and checked with the app's own verifications (the ledger, the review scores, the
reference counters, the bell's count, the dashboard's counters), which must also catch a figure broken
on purpose."""

from __future__ import annotations

import uuid

import psycopg
import pytest
import sqlalchemy as sa

from bench import dataset
from tests.conftest import POSTGRES_ADMIN_URL, require_service

SCALE = 0.01


@pytest.fixture(scope="module")
def built():
    """A data set at scale 0.01 in a database of its own, dropped at the end: (url, rows per table)."""
    admin = sa.engine.make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql")
    try:
        psycopg.connect(admin.render_as_string(hide_password=False), connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        require_service("PostgreSQL", f"{admin.render_as_string()}: {exc}")
    url = admin.set(database=f"subventia_test_dataset_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    try:
        yield url, dataset.build(url, scale=SCALE, out=open("/dev/null", "w"))  # noqa: SIM115 — closed at exit
    finally:
        with psycopg.connect(dataset.admin_url(url), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{sa.engine.make_url(url).database}" WITH (FORCE)')


def query(url: str, statement: str, *args):
    with psycopg.connect(url) as connection:
        return connection.execute(statement, args).fetchall()


def test_the_counts_follow_the_scale(built):
    url, counts = built
    size = dataset.size_at(SCALE)
    assert counts["applications"] == size.big_call_applications + size.other_applications + dataset.BENCH_DRAFTS
    assert counts["organisations"] == size.associations
    assert counts["calls"] == size.calls
    assert query(url, "SELECT count(*) FROM applications")[0][0] == counts["applications"]
    assert query(url, "SELECT count(*) FROM criterion_scores")[0][0] == counts["criterion_scores"] > 0
    assert counts["notifications"] > 0


def test_the_apps_own_checks_pass_on_the_data_set(built):
    url, _ = built
    dataset.verify(url)  # raises on the first inconsistency
    from grants.awards.services import ledger_discrepancies
    from grants.reviews.scoring import score_mismatches

    with checked_app(url).app_context():
        assert ledger_discrepancies() == []
        assert score_mismatches() == []


def test_envelopes_are_sized_on_what_they_award(built):
    url, _ = built
    rows = query(url, "SELECT e.amount, e.committed, (SELECT count(*) FROM applications a"
                      " WHERE a.call_id = e.call_id AND a.state = 'under_review') FROM call_envelopes e")
    assert rows
    for amount, committed, under_review in rows:
        # room for the web bench's API awards of 1,000 € on each dossier under review
        assert amount >= committed + under_review * 1_000_00


def test_every_figure_checked_can_fail(built):
    """Each check is proven able to fail: one stored figure broken, verify refuses, then restored."""
    from grants.awards.services import LedgerInconsistent

    url, _ = built
    review = query(url, "SELECT min(id) FROM reviews WHERE score < 99")[0][0]
    breakages = [  # (table, column, row, what verify raises)
        ("reviews", "score", f"id = {review}", RuntimeError),
        ("call_envelopes", "committed", "id = 1", LedgerInconsistent),
        ("reference_counters", "last_number", "prefix = 'FVA'", RuntimeError),
        ("users", "unread_notifications", "id = 1", RuntimeError),
        ("review_assignments", "transmitted", "id = 1", RuntimeError),
        ("call_application_counts", "applications", "call_id = 1 AND state = 'under_review'", RuntimeError),
        ("envelope_ledger_days", "committed", "(envelope_id, day) = (SELECT envelope_id, min(day) FROM envelope_ledger_days"
                                                   " WHERE envelope_id = 1 GROUP BY 1)", RuntimeError),
    ]
    for table, column, where, refusal in breakages:
        if column == "transmitted":  # a flag: flipped, then flipped back
            broken = restored = f"UPDATE {table} SET {column} = NOT {column} WHERE {where}"  # noqa: S608
        else:
            change = -1 if table == "reference_counters" else 1
            broken = f"UPDATE {table} SET {column} = {column} + {change} WHERE {where}"  # noqa: S608
            restored = f"UPDATE {table} SET {column} = {column} - {change} WHERE {where}"  # noqa: S608
        with psycopg.connect(url, autocommit=True) as connection:
            assert connection.execute(broken).rowcount == 1
        try:
            with pytest.raises(refusal):
                dataset.verify(url)
        finally:
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute(restored)
    dataset.verify(url)


def test_the_bench_database_plans_for_ssd(built):
    url, _ = built
    assert query(url, "SHOW random_page_cost")[0][0] == dataset.RANDOM_PAGE_COST


def test_the_national_size():
    national = dataset.size_at("national")
    assert national.big_call_applications + national.other_applications + dataset.BENCH_DRAFTS == 1_000_000
    assert (national.calls, national.associations) == (10_000, 100_000)


def test_copy_text_escapes_what_copy_reads_specially():
    assert dataset.copy_text(None) == "\\N"
    assert dataset.copy_text("a\tb\nc\\d\re") == "a\\tb\\nc\\\\d\\re"
    assert (dataset.copy_text(True), dataset.copy_text(False)) == ("t", "f")


def checked_app(url: str):
    import config
    from grants import create_app

    return create_app(type("DatasetTestConfig", (config.Config,), {
        "SQLALCHEMY_DATABASE_URI": dataset.sqlalchemy_url(url), "SECRET_KEY": "dataset-test-only"}))
