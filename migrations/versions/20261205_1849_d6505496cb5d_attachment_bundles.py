"""attachment bundles: a call's attachments as one ZIP built by the worker for the committee

Revision ID: d6505496cb5d
Revises: 8d41c6b2e7f3
Create Date: 2026-12-05 18:49:00.130331

"""
from alembic import op
import sqlalchemy as sa
import grants.database


# revision identifiers, used by Alembic.
revision = 'd6505496cb5d'
down_revision = '8d41c6b2e7f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attachment_bundles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'building', 'ready', 'failed', name='bundle_state', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('files_total', sa.Integer(), nullable=False),
    sa.Column('files_done', sa.Integer(), nullable=False),
    sa.Column('files_missing', sa.Integer(), nullable=False),
    sa.Column('bundle_storage_key', sa.String(length=100), nullable=True),
    sa.Column('bundle_size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('bundle_sha256', sa.String(length=64), nullable=True),
    sa.Column('created_at', grants.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ready_at', grants.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', grants.database.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state != 'ready' OR (bundle_storage_key IS NOT NULL AND expires_at IS NOT NULL)", name=op.f('ck_attachment_bundles_ready_has_file')),
    sa.CheckConstraint('files_done >= 0 AND files_done <= files_total', name=op.f('ck_attachment_bundles_progress_within_total')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_attachment_bundles_call_id_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_attachment_bundles_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment_bundles')),
    sa.UniqueConstraint('bundle_storage_key', name=op.f('uq_attachment_bundles_bundle_storage_key'))
    )
    with op.batch_alter_table('attachment_bundles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_bundles_call_id'), ['call_id'], unique=False)



def downgrade():
    with op.batch_alter_table('attachment_bundles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_bundles_call_id'))

    op.drop_table('attachment_bundles')
