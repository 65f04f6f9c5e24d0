"""login sessions: one row per signed-in device, so that signing out ends copied cookies too

Revision ID: 7c2e4b9d1a03
Revises: d9a907dc22ca
Create Date: 2026-12-05 08:30:00

"""
from alembic import op
import sqlalchemy as sa
import grants.database


# revision identifiers, used by Alembic.
revision = '7c2e4b9d1a03'
down_revision = 'd9a907dc22ca'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', grants.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', grants.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_sessions_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_login_sessions_token_hash')),
    )
    op.create_index(op.f('ix_login_sessions_user_id'), 'login_sessions', ['user_id'], unique=False)
    # The per-user token that only a password change rotated is replaced by the rows above. Every
    # cookie issued before this revision named that token: all users sign in again once.
    # SQLite (3.35+) drops a plain column in place: no rebuild of the table every other one refers to.
    op.drop_column('users', 'session_token')


def downgrade():
    op.add_column('users', sa.Column('session_token', sa.String(length=64), nullable=False, server_default=''))
    op.drop_index(op.f('ix_login_sessions_user_id'), table_name='login_sessions')
    op.drop_table('login_sessions')
