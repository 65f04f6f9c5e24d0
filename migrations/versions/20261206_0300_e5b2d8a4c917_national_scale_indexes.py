"""indexes the national data set asks for (bench/RESULTS.md, "National scale"): the manager's dossiers
awaiting screening by a partial index on the submitted, unscreened ones in their order; the count of
each call's dossiers by state from the (call_id, state) index alone, the id included on PostgreSQL

Revision ID: e5b2d8a4c917
Revises: c3a8f1d06e52
Create Date: 2026-12-06 03:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5b2d8a4c917'
down_revision = 'c3a8f1d06e52'
branch_labels = None
depends_on = None

AWAITING = "state = 'submitted' AND eligible IS NULL"


def upgrade():
    op.create_index('ix_applications_awaiting_screening', 'applications', ['submitted_at', 'id'],
                    postgresql_where=sa.text(AWAITING), sqlite_where=sa.text(AWAITING))
    if op.get_bind().dialect.name == 'postgresql':  # SQLite has no INCLUDE: its index stays as it is
        op.drop_index('ix_applications_call_state', table_name='applications')
        op.create_index('ix_applications_call_state', 'applications', ['call_id', 'state'],
                        postgresql_include=['id'])


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_applications_call_state', table_name='applications')
        op.create_index('ix_applications_call_state', 'applications', ['call_id', 'state'])
    op.drop_index('ix_applications_awaiting_screening', table_name='applications')
