"""the lists read a page at a time by key (keyset pagination): review_assignments.transmitted (a copy of
its review's state, kept by triggers on reviews, backfilled here) and the desk's index on (reviewer_id,
state, transmitted, due_on, id); the audit log newest first, whole or of one action; each user's
notifications newest first. Each new index replaces the single-column one it starts with (reviewer_id,
action, recipient_id), which it serves too

Revision ID: c3a8f1d06e52
Revises: e3a8c1d5f702
Create Date: 2026-12-06 02:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3a8f1d06e52'
down_revision = 'e3a8c1d5f702'
branch_labels = None
depends_on = None

# (table, new index, its columns, the index it replaces, that index's column)
INDEXES = (
    ('review_assignments', 'ix_review_assignments_reviewer_due',
     ['reviewer_id', 'state', 'transmitted', 'due_on', 'id'], 'ix_review_assignments_reviewer_id', 'reviewer_id'),
    ('audit_events', 'ix_audit_events_action_occurred', ['action', 'occurred_at', 'id'],
     'ix_audit_events_action', 'action'),
    ('notifications', 'ix_notifications_recipient_created', ['recipient_id', 'created_at', 'id'],
     'ix_notifications_recipient_id', 'recipient_id'),
)

BACKFILL = (
    "UPDATE review_assignments SET transmitted = EXISTS (SELECT 1 FROM reviews"
    " WHERE reviews.assignment_id = review_assignments.id AND reviews.state = 'submitted')"
)

# Every write to reviews keeps its assignment's copy: a review inserted, its state changed (a draft
# transmitted), moved to another assignment, or deleted (then its assignment has no transmitted review).
SQLITE_TRIGGERS = (
    "CREATE TRIGGER reviews_transmitted_insert AFTER INSERT ON reviews BEGIN"
    " UPDATE review_assignments SET transmitted = (new.state = 'submitted') WHERE id = new.assignment_id; END",
    "CREATE TRIGGER reviews_transmitted_update AFTER UPDATE OF state, assignment_id ON reviews BEGIN"
    " UPDATE review_assignments SET transmitted = 0 WHERE id = old.assignment_id;"
    " UPDATE review_assignments SET transmitted = (new.state = 'submitted') WHERE id = new.assignment_id; END",
    "CREATE TRIGGER reviews_transmitted_delete AFTER DELETE ON reviews BEGIN"
    " UPDATE review_assignments SET transmitted = 0 WHERE id = old.assignment_id; END",
)
SQLITE_TRIGGER_NAMES = ("reviews_transmitted_insert", "reviews_transmitted_update", "reviews_transmitted_delete")

POSTGRESQL_FUNCTION = """
CREATE FUNCTION reviews_copy_transmitted() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE review_assignments SET transmitted = false WHERE id = OLD.assignment_id AND transmitted;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE review_assignments SET transmitted = (NEW.state = 'submitted') WHERE id = NEW.assignment_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
# A draft is saved many times (the background save): the trigger fires only when the state or the
# assignment changes.
POSTGRESQL_TRIGGERS = (
    "CREATE TRIGGER reviews_transmitted_insert_or_delete AFTER INSERT OR DELETE ON reviews"
    " FOR EACH ROW EXECUTE FUNCTION reviews_copy_transmitted()",
    "CREATE TRIGGER reviews_transmitted_update AFTER UPDATE OF state, assignment_id ON reviews"
    " FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.assignment_id <> NEW.assignment_id)"
    " EXECUTE FUNCTION reviews_copy_transmitted()",
)


def upgrade():
    op.add_column('review_assignments',
                  sa.Column('transmitted', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(BACKFILL)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(POSTGRESQL_FUNCTION)
        for statement in POSTGRESQL_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    for table, name, columns, replaced, _column in INDEXES:
        op.create_index(name, table, columns)
        op.drop_index(replaced, table_name=table)
    op.create_index('ix_audit_events_occurred', 'audit_events', ['occurred_at', 'id'])


def downgrade():
    op.drop_index('ix_audit_events_occurred', table_name='audit_events')
    for table, name, _columns, replaced, column in INDEXES:
        op.create_index(replaced, table, [column])
        op.drop_index(name, table_name=table)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS reviews_transmitted_update ON reviews")
        op.execute("DROP TRIGGER IF EXISTS reviews_transmitted_insert_or_delete ON reviews")
        op.execute("DROP FUNCTION IF EXISTS reviews_copy_transmitted()")
    else:
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    # SQLite (3.35+) drops a plain column in place, as the unread counter's revision does.
    op.drop_column('review_assignments', 'transmitted')
