"""conventions (grant agreements and their avenants), the call's convention settings, the
countersignature instant on the decision

Revision ID: c4f1a7e2b9d3
Revises: d6505496cb5d
Create Date: 2026-12-05 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4f1a7e2b9d3'
down_revision = 'd6505496cb5d'
branch_labels = None
depends_on = None

ADVANCE_CHECK = ('ck_calls_advance_share_is_a_fraction', 'advance_share >= 0 AND advance_share <= 1')


def upgrade():
    bind = op.get_bind()
    sqlite = bind.dialect.name == 'sqlite'
    op.create_table(
        'conventions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('decision_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('previous_amount', sa.BigInteger(), nullable=True),
        sa.Column('advance', sa.BigInteger(), nullable=False),
        sa.Column('pdf_storage_key', sa.String(length=100), nullable=False),
        sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
        sa.Column('generated_by_id', sa.Integer(), nullable=False),
        sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('signature_method', sa.Enum('online', 'scan', name='signature_method', native_enum=False,
                                              create_constraint=True, length=14), nullable=True),
        sa.Column('signed_by_id', sa.Integer(), nullable=True),
        sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('signed_sha256', sa.String(length=64), nullable=True),
        sa.Column('scan_storage_key', sa.String(length=100), nullable=True),
        sa.Column('countersigned_by_id', sa.Integer(), nullable=True),
        sa.Column('countersigned_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('version >= 1', name=op.f('ck_conventions_version_positive')),
        sa.CheckConstraint('amount > 0', name=op.f('ck_conventions_amount_positive')),
        sa.CheckConstraint('advance >= 0 AND advance <= amount', name=op.f('ck_conventions_advance_within_amount')),
        sa.CheckConstraint('length(pdf_sha256) = 64', name=op.f('ck_conventions_pdf_sha256_length')),
        sa.CheckConstraint(
            '(signed_at IS NULL) = (signed_by_id IS NULL) AND (signed_at IS NULL) = (signature_method IS NULL)'
            ' AND (signed_at IS NULL) = (signed_sha256 IS NULL)',
            name=op.f('ck_conventions_signature_complete')),
        sa.CheckConstraint("signature_method IS NULL OR signature_method <> 'scan' OR scan_storage_key IS NOT NULL",
                           name=op.f('ck_conventions_scan_signature_has_scan')),
        sa.CheckConstraint('(countersigned_at IS NULL) = (countersigned_by_id IS NULL)',
                           name=op.f('ck_conventions_countersignature_complete')),
        sa.CheckConstraint('countersigned_at IS NULL OR signed_at IS NOT NULL',
                           name=op.f('ck_conventions_countersigned_after_signature')),
        sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_conventions_decision_id_decisions')),
        sa.ForeignKeyConstraint(['generated_by_id'], ['users.id'], name=op.f('fk_conventions_generated_by_id_users')),
        sa.ForeignKeyConstraint(['signed_by_id'], ['users.id'], name=op.f('fk_conventions_signed_by_id_users')),
        sa.ForeignKeyConstraint(['countersigned_by_id'], ['users.id'],
                                name=op.f('fk_conventions_countersigned_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_conventions')),
        sa.UniqueConstraint('decision_id', 'version', name=op.f('uq_conventions_decision_id_version')),
        sa.UniqueConstraint('pdf_storage_key', name=op.f('uq_conventions_pdf_storage_key')),
        sa.UniqueConstraint('scan_storage_key', name=op.f('uq_conventions_scan_storage_key')),
    )
    op.create_index(op.f('ix_conventions_decision_id'), 'conventions', ['decision_id'], unique=False)
    op.add_column('calls', sa.Column('convention_below_threshold', sa.Boolean(), server_default=sa.false(),
                                     nullable=False))
    if sqlite:
        # In place with its CHECK: a batch rebuild of calls would drop a table others reference.
        op.execute(f"ALTER TABLE calls ADD COLUMN advance_share NUMERIC(5, 4) DEFAULT '0.3' NOT NULL "
                   f"CONSTRAINT {ADVANCE_CHECK[0]} CHECK ({ADVANCE_CHECK[1]})")
    else:
        op.add_column('calls', sa.Column('advance_share', sa.Numeric(precision=5, scale=4), server_default='0.3',
                                         nullable=False))
        op.create_check_constraint(ADVANCE_CHECK[0], 'calls', ADVANCE_CHECK[1])
    op.add_column('decisions', sa.Column('convention_countersigned_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table, column in (('decisions', 'convention_countersigned_at'), ('calls', 'advance_share'),
                          ('calls', 'convention_below_threshold')):
        if sqlite:
            op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
        else:
            if column == 'advance_share':
                op.drop_constraint(ADVANCE_CHECK[0], 'calls', type_='check')
            op.drop_column(table, column)
    op.drop_index(op.f('ix_conventions_decision_id'), table_name='conventions')
    op.drop_table('conventions')
