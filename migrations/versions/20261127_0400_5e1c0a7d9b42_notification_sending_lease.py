"""notification sending lease: when a delivery claimed the row

Revision ID: 5e1c0a7d9b42
Revises: 13d338952037
Create Date: 2026-11-27 12:00:00

"""
from alembic import op
import sqlalchemy as sa
import grants.database


# revision identifiers, used by Alembic.
revision = '5e1c0a7d9b42'
down_revision = '13d338952037'
branch_labels = None
depends_on = None


def upgrade():
    # Plain add_column (no table rebuild on SQLite); nullable: rows never claimed have none.
    op.add_column('notifications', sa.Column('claimed_at', grants.database.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
