"""personal data: exports, account closures, audit addresses apart from the append-only log, and the
audit log's retention horizon

Revision ID: c4e8a2f61d37
Revises: c4f1a7e2b9d3
Create Date: 2026-12-05 19:00:00

"""
from alembic import op
import sqlalchemy as sa
import grants.database


# revision identifiers, used by Alembic.
revision = 'c4e8a2f61d37'
down_revision = 'c4f1a7e2b9d3'
branch_labels = None
depends_on = None


# The log stays append-only: no UPDATE ever, and a DELETE only of an event older than the horizon the
# retention job sets (audit_purge_horizons, one row; none: nothing may go).
PG_FUNCTION_WITH_HORIZON = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.occurred_at < (SELECT purge_before FROM audit_purge_horizons WHERE id = 1) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql
"""
PG_FUNCTION_BEFORE = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql
"""
SQLITE_DELETE_WITH_HORIZON = (
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
    "WHEN OLD.occurred_at >= COALESCE((SELECT purge_before FROM audit_purge_horizons WHERE id = 1), '0000') "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
)
SQLITE_DELETE_BEFORE = (
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
)
SQLITE_UPDATE = (
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
)


def is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    op.create_table(
        'audit_purge_horizons',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('purge_before', grants.database.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_audit_purge_horizons_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_purge_horizons')),
    )
    op.create_table(
        'audit_event_origins',
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('ip_address', sa.String(length=45), nullable=False),
        sa.Column('occurred_at', grants.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['audit_events.id'], name=op.f('fk_audit_event_origins_event_id_audit_events'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('event_id', name=op.f('pk_audit_event_origins')),
    )
    op.create_index(op.f('ix_audit_event_origins_occurred_at'), 'audit_event_origins', ['occurred_at'], unique=False)
    op.create_table(
        'data_exports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.Enum('pending', 'ready', 'failed', 'expired', name='export_status', native_enum=False,
                                    create_constraint=True, length=15), nullable=False),
        sa.Column('requested_at', grants.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ready_at', grants.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column('expires_at', grants.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column('archive_storage_key', sa.String(length=100), nullable=True),
        sa.Column('size_bytes', sa.Integer(), nullable=True),
        sa.CheckConstraint("(status = 'ready') = (archive_storage_key IS NOT NULL)", name=op.f('ck_data_exports_ready_has_archive')),
        sa.CheckConstraint('size_bytes IS NULL OR size_bytes >= 0', name=op.f('ck_data_exports_size_not_negative')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_data_exports_requested_by_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_data_exports_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_exports')),
        sa.UniqueConstraint('archive_storage_key', name=op.f('uq_data_exports_archive_storage_key')),
    )
    op.create_index('ix_data_exports_user_requested', 'data_exports', ['user_id', 'requested_at'], unique=False)
    op.create_table(
        'account_closures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.Enum('done', 'deferred', name='closure_status', native_enum=False,
                                    create_constraint=True, length=16), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('requested_at', grants.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('completed_at', grants.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_closures_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_closures')),
    )
    op.create_index(op.f('ix_account_closures_user_id'), 'account_closures', ['user_id'], unique=False)

    # The client addresses leave the append-only log for a table of their own, which retention and
    # erasure may empty without touching an event.
    op.execute(
        "INSERT INTO audit_event_origins (event_id, ip_address, occurred_at) "
        "SELECT id, ip_address, occurred_at FROM audit_events WHERE ip_address IS NOT NULL"
    )
    # SQLite (3.35+) drops a plain column in place; PostgreSQL's ALTER fires no row trigger.
    op.drop_column('audit_events', 'ip_address')
    if is_postgresql():
        op.execute(PG_FUNCTION_WITH_HORIZON)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
        op.execute(SQLITE_DELETE_WITH_HORIZON)


def downgrade():
    if is_postgresql():
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update_or_delete ON audit_events")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    op.add_column('audit_events', sa.Column('ip_address', sa.String(length=45), nullable=True))
    op.execute(
        "UPDATE audit_events SET ip_address = "
        "(SELECT ip_address FROM audit_event_origins WHERE audit_event_origins.event_id = audit_events.id)"
    )
    if is_postgresql():
        op.execute(PG_FUNCTION_BEFORE)
        op.execute(
            "CREATE TRIGGER audit_events_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        op.execute(SQLITE_UPDATE)
        op.execute(SQLITE_DELETE_BEFORE)
    op.drop_index(op.f('ix_account_closures_user_id'), table_name='account_closures')
    op.drop_table('account_closures')
    op.drop_index('ix_data_exports_user_requested', table_name='data_exports')
    op.drop_table('data_exports')
    op.drop_index(op.f('ix_audit_event_origins_occurred_at'), table_name='audit_event_origins')
    op.drop_table('audit_event_origins')
    op.drop_table('audit_purge_horizons')
