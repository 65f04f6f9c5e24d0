"""Migrations build the schema (the suite's databases are made by them, not create_all), they match
the models, they go down and up again on PostgreSQL, and those that move data keep it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from grants.applications import services
from grants.database import db
from grants.models import Application, ReferenceCounter
from grants.search.schema import include_name
from tests.conftest import MIGRATIONS
from tests.factories import (
    CallFactory,
    CriterionFactory,
    RequiredDocumentFactory,
    SubmittedApplicationFactory,
    complete_draft,
)


def schema_drift(connection):
    # The search's own objects (grants/search/schema.py) are not in the models.
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
    return compare_metadata(context, db.metadata)


def test_models_and_migrations_do_not_drift(app):
    with db.engine.connect() as connection:
        assert schema_drift(connection) == []


def test_upgrade_downgrade_upgrade_on_postgresql(pg_app):
    downgrade(directory=MIGRATIONS, revision="base")
    with db.engine.connect() as connection:
        remaining = set(sa.inspect(connection).get_table_names()) - {"alembic_version"}
    assert remaining == set()
    upgrade(directory=MIGRATIONS)
    with db.engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        assert {"users", "calls", "call_envelopes", "envelope_movements", "audit_events"} <= tables
        assert schema_drift(connection) == []
        triggers = connection.execute(
            sa.text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname")
        ).scalars().all()
    assert triggers == ["applications_count_insert_or_delete", "applications_count_update",
                        "audit_events_no_update_or_delete", "decisions_count_insert_or_delete",
                        "decisions_count_update", "envelope_movements_no_update_or_delete",
                        "notifications_unread_insert_or_delete", "notifications_unread_update",
                        "reviews_transmitted_insert_or_delete", "reviews_transmitted_update"]


def test_reference_counters_start_from_the_existing_references(app):
    """Revision d9a907dc22ca down and up again on a database that holds dossiers: the references, calls
    and grids are as they were, each (prefix, year) counter starts from the highest number already
    given (a reference, or an old per-call counter), and the next submission follows it."""
    source = CallFactory(reference_prefix="SISA", year=2026, partner_regions=[])
    clone = CallFactory(reference_prefix="SISA", year=2026, partner_regions=[])
    older = CallFactory(reference_prefix="FIPCE", year=2025)
    CriterionFactory(call=source)
    RequiredDocumentFactory(call=clone, required=False)
    for call, reference in [(source, "SISA-2026-0001"), (clone, "SISA-2026-0007"), (source, "SISA-2026-0003"),
                            (older, "FIPCE-2025-0002")]:
        SubmittedApplicationFactory(call=call, reference=reference)
    draft_id, older_id = complete_draft(call=clone).id, older.id
    db.session.commit()

    def snapshot():
        with db.engine.connect() as connection:
            return [connection.execute(sa.text(query)).all() for query in (
                "SELECT id, call_id, reference, state FROM applications ORDER BY id",
                "SELECT id, slug, reference_prefix, year FROM calls ORDER BY id",
                "SELECT call_id, name FROM criteria ORDER BY id",
                "SELECT call_id, name FROM required_documents ORDER BY id",
            )]

    before = snapshot()
    db.session.remove()
    downgrade(directory=MIGRATIONS, revision="5e1c0a7d9b42")
    try:
        with db.engine.begin() as connection:  # an old counter ahead of the references
            connection.execute(sa.text("UPDATE calls SET last_reference_number = 5 WHERE id = :id"), {"id": older_id})
    finally:
        upgrade(directory=MIGRATIONS)
    assert snapshot() == before
    counters = {(c.prefix, c.year): c.last_number for c in db.session.scalars(sa.select(ReferenceCounter))}
    assert counters == {("SISA", 2026): 7, ("FIPCE", 2025): 5}
    draft = db.session.get(Application, draft_id)
    services.submit(draft, actor=draft.created_by)
    db.session.commit()
    assert draft.reference == "SISA-2026-0008"
