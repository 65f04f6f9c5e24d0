"""email confirmation: an account registered from the sign-up pages signs in once its address is confirmed

Revision ID: 5e1c9a7d3b20
Revises: 4f6a2c9e8b1d
Create Date: 2026-12-05 19:00:00

"""
from alembic import op
import sqlalchemy as sa
import grants.database


# revision identifiers, used by Alembic.
revision = '5e1c9a7d3b20'
down_revision = '4f6a2c9e8b1d'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite (3.x) adds a nullable column in place: no rebuild of the table every other one refers to.
    op.add_column('users', sa.Column('email_confirmed_at', grants.database.UTCDateTime(timezone=True), nullable=True))
    # The accounts that exist already keep signing in: their address counts as confirmed when created.
    op.execute("UPDATE users SET email_confirmed_at = created_at")


def downgrade():
    # SQLite (3.35+) drops a plain column in place, as the login sessions revision does.
    op.drop_column('users', 'email_confirmed_at')
