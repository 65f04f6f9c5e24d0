"""bank details (organisations, individual applicants), the young-people count asked by a call, the
page a notification is about

Revision ID: 8d41c6b2e7f3
Revises: 9b7e4c2f1a06
Create Date: 2026-12-05 08:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8d41c6b2e7f3'
down_revision = '9b7e4c2f1a06'
branch_labels = None
depends_on = None

# (table, column, type, constraint name, condition): new nullable columns with a check.
CHECKED_COLUMNS = (
    ('organisations', 'iban', sa.String(34), 'ck_organisations_iban_length',
     'iban IS NULL OR length(iban) BETWEEN 15 AND 34'),
    ('organisations', 'bic', sa.String(11), 'ck_organisations_bic_length',
     'bic IS NULL OR length(bic) IN (8, 11)'),
    ('applicants', 'iban', sa.String(34), 'ck_applicants_iban_length',
     'iban IS NULL OR length(iban) BETWEEN 15 AND 34'),
    ('applicants', 'bic', sa.String(11), 'ck_applicants_bic_length',
     'bic IS NULL OR length(bic) IN (8, 11)'),
    ('applications', 'young_people_count', sa.Integer(), 'ck_applications_young_people_count_bounded',
     'young_people_count IS NULL OR young_people_count BETWEEN 0 AND 1000000'),
)
PERSON_ONLY = ('ck_applicants_bank_details_of_person_only', "kind = 'individual' OR (iban IS NULL AND bic IS NULL)")


def upgrade():
    bind = op.get_bind()
    sqlite = bind.dialect.name == 'sqlite'
    for table, column, column_type, name, condition in CHECKED_COLUMNS:
        if sqlite:
            # SQLite adds a column with its CHECK in place, where a batch rebuild would drop and
            # recreate tables that others reference (with foreign keys enforced, dropping cascades).
            checks = f'CONSTRAINT {name} CHECK ({condition})'
            if (table, column) == ('applicants', 'bic'):
                checks += f' CONSTRAINT {PERSON_ONLY[0]} CHECK ({PERSON_ONLY[1]})'
            op.execute(f'ALTER TABLE {table} ADD COLUMN {column} {column_type.compile(dialect=bind.dialect)} {checks}')
        else:
            op.add_column(table, sa.Column(column, column_type, nullable=True))
            op.create_check_constraint(name, table, condition)
    if not sqlite:
        op.create_check_constraint(PERSON_ONLY[0], 'applicants', PERSON_ONLY[1])
    op.add_column('calls', sa.Column('asks_young_people_count', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('notifications', sa.Column('link', sa.String(length=300), nullable=True))


def downgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if not sqlite:
        op.drop_constraint(PERSON_ONLY[0], 'applicants', type_='check')
        for table, _column, _type, name, _condition in CHECKED_COLUMNS:
            op.drop_constraint(name, table, type_='check')
    # Each column goes with its own checks; on SQLite, applicants.bic (which carries the
    # person-only check naming iban) before applicants.iban.
    for table, column in (('notifications', 'link'), ('calls', 'asks_young_people_count'),
                          *((table, column) for table, column, *_ in reversed(CHECKED_COLUMNS))):
        if sqlite:
            op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
        else:
            op.drop_column(table, column)
