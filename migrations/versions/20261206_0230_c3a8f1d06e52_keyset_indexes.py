"""indexes for the lists read a page at a time by key (keyset pagination): the reviewer's desk in due
order, the audit log newest first (whole or of one action), each user's notifications newest first; each
replaces the single-column index it starts with (reviewer_id, action, recipient_id), which it serves too

Revision ID: c3a8f1d06e52
Revises: b7d2e5a91c46
Create Date: 2026-12-06 02:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3a8f1d06e52'
down_revision = 'b7d2e5a91c46'
branch_labels = None
depends_on = None

# (table, new index, its columns, the index it replaces, that index's column)
INDEXES = (
    ('review_assignments', 'ix_review_assignments_reviewer_due', ['reviewer_id', 'due_on', 'id'],
     'ix_review_assignments_reviewer_id', 'reviewer_id'),
    ('audit_events', 'ix_audit_events_action_occurred', ['action', 'occurred_at', 'id'],
     'ix_audit_events_action', 'action'),
    ('notifications', 'ix_notifications_recipient_created', ['recipient_id', 'created_at', 'id'],
     'ix_notifications_recipient_id', 'recipient_id'),
)


def upgrade():
    for table, name, columns, replaced, _column in INDEXES:
        op.create_index(name, table, columns)
        op.drop_index(replaced, table_name=table)
    op.create_index('ix_audit_events_occurred', 'audit_events', ['occurred_at', 'id'])


def downgrade():
    op.drop_index('ix_audit_events_occurred', table_name='audit_events')
    for table, name, _columns, replaced, column in INDEXES:
        op.create_index(replaced, table, [column])
        op.drop_index(name, table_name=table)
