"""Migrations build the schema (the suite's databases are made by them, not create_all), they match
the models, and they go down and up again on PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from grants.database import db
from tests.conftest import MIGRATIONS


def schema_drift(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
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
    assert triggers == ["audit_events_no_update_or_delete", "envelope_movements_no_update_or_delete"]
