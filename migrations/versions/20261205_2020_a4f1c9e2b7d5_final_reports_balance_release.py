"""final reports (compte rendu financier), their lines and documents; an award's closure: report accepted,
balance paid once, amount released to the envelope, overpayment to recover

Revision ID: a4f1c9e2b7d5
Revises: 5e1c9a7d3b20
Create Date: 2026-12-05 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4f1c9e2b7d5'
down_revision = '5e1c9a7d3b20'
branch_labels = None
depends_on = None

# (column, type, NOT NULL default or None, constraint name, condition)
DECISION_COLUMNS = (
    ('report_accepted_at', sa.DateTime(timezone=True), None, None, None),
    ('balance_paid_at', sa.DateTime(timezone=True), None, 'ck_decisions_balance_after_report',
     'balance_paid_at IS NULL OR report_accepted_at IS NOT NULL'),
    ('released', sa.BigInteger(), '0', 'ck_decisions_released_not_negative', 'released >= 0'),
    ('recovery_due', sa.BigInteger(), '0', 'ck_decisions_recovery_due_within_paid',
     'recovery_due >= 0 AND recovery_due <= paid'),
)
ONE_BALANCE = 'uq_envelope_movements_one_balance'


def upgrade():
    bind = op.get_bind()
    sqlite = bind.dialect.name == 'sqlite'
    for column, column_type, default, name, condition in DECISION_COLUMNS:
        if sqlite:
            # Added in place with its CHECK: a batch rebuild of decisions would drop and recreate a
            # table that others reference.
            ddl = f'ALTER TABLE decisions ADD COLUMN {column} {column_type.compile(dialect=bind.dialect)}'
            if default is not None:
                ddl += f' DEFAULT {default} NOT NULL'
            if name:
                ddl += f' CONSTRAINT {name} CHECK ({condition})'
            op.execute(ddl)
        else:
            op.add_column('decisions', sa.Column(column, column_type, nullable=default is None,
                                                 server_default=default))
    # A balance paid before this revision counts as paid on an accepted report.
    op.execute("UPDATE decisions SET report_accepted_at = (SELECT min(m.created_at) FROM envelope_movements m "
               "WHERE m.decision_id = decisions.id AND m.tranche = 'balance'), "
               "balance_paid_at = (SELECT min(m.created_at) FROM envelope_movements m "
               "WHERE m.decision_id = decisions.id AND m.tranche = 'balance')")
    if not sqlite:
        for _column, _type, _default, name, condition in DECISION_COLUMNS:
            if name:
                op.create_check_constraint(name, 'decisions', condition)
    op.create_index(ONE_BALANCE, 'envelope_movements', ['decision_id'], unique=True,
                    postgresql_where=sa.text("tranche = 'balance'"), sqlite_where=sa.text("tranche = 'balance'"))

    op.create_table(
        'final_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('decision_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.Enum('draft', 'submitted', 'corrections_requested', 'accepted', name='report_state',
                                   native_enum=False, create_constraint=True, length=29), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('activity_report', sa.Text(), nullable=False),
        sa.Column('total_expenses', sa.BigInteger(), nullable=False),
        sa.Column('total_resources', sa.BigInteger(), nullable=False),
        sa.Column('correction_reason', sa.Text(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state = 'draft' OR submitted_at IS NOT NULL", name=op.f('ck_final_reports_submitted_has_date')),
        sa.CheckConstraint("(state = 'accepted') = (accepted_at IS NOT NULL)", name=op.f('ck_final_reports_accepted_has_date')),
        sa.CheckConstraint("state <> 'corrections_requested' OR correction_reason IS NOT NULL",
                           name=op.f('ck_final_reports_corrections_have_reason')),
        sa.CheckConstraint('total_expenses >= 0 AND total_resources >= 0', name=op.f('ck_final_reports_totals_not_negative')),
        sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_final_reports_decision_id_decisions')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_final_reports_created_by_id_users')),
        sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_final_reports_reviewed_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_final_reports')),
        sa.UniqueConstraint('decision_id', name=op.f('uq_final_reports_decision_id')),
    )
    op.create_table(
        'final_report_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('expense', 'resource', 'in_kind_use', 'in_kind_contribution', name='budget_line_kind',
                                  native_enum=False, create_constraint=True, length=28), nullable=False),
        sa.Column('account', sa.String(length=4), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('forecast', sa.BigInteger(), nullable=False),
        sa.Column('actual', sa.BigInteger(), nullable=True),
        sa.Column('explanation', sa.Text(), nullable=False),
        sa.CheckConstraint('forecast >= 0', name=op.f('ck_final_report_lines_forecast_not_negative')),
        sa.CheckConstraint('actual IS NULL OR actual >= 0', name=op.f('ck_final_report_lines_actual_not_negative')),
        sa.ForeignKeyConstraint(['report_id'], ['final_reports.id'], ondelete='CASCADE',
                                name=op.f('fk_final_report_lines_report_id_final_reports')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_final_report_lines')),
        sa.UniqueConstraint('report_id', 'position', name=op.f('uq_final_report_lines_report_id_position')),
    )
    op.create_index(op.f('ix_final_report_lines_report_id'), 'final_report_lines', ['report_id'], unique=False)
    op.create_table(
        'final_report_documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('original_filename', sa.String(length=255), nullable=False),
        sa.Column('storage_key', sa.String(length=100), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('size_bytes > 0', name=op.f('ck_final_report_documents_size_positive')),
        sa.ForeignKeyConstraint(['report_id'], ['final_reports.id'], ondelete='CASCADE',
                                name=op.f('fk_final_report_documents_report_id_final_reports')),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'],
                                name=op.f('fk_final_report_documents_uploaded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_final_report_documents')),
        sa.UniqueConstraint('storage_key', name=op.f('uq_final_report_documents_storage_key')),
    )
    op.create_index(op.f('ix_final_report_documents_report_id'), 'final_report_documents', ['report_id'],
                    unique=False)


def downgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.drop_index(op.f('ix_final_report_documents_report_id'), table_name='final_report_documents')
    op.drop_table('final_report_documents')
    op.drop_index(op.f('ix_final_report_lines_report_id'), table_name='final_report_lines')
    op.drop_table('final_report_lines')
    op.drop_table('final_reports')
    op.drop_index(ONE_BALANCE, table_name='envelope_movements')
    if not sqlite:
        for _column, _type, _default, name, _condition in DECISION_COLUMNS:
            if name:
                op.drop_constraint(name, 'decisions', type_='check')
    for column, *_ in reversed(DECISION_COLUMNS):
        if sqlite:
            op.execute(f'ALTER TABLE decisions DROP COLUMN {column}')
        else:
            op.drop_column('decisions', column)
