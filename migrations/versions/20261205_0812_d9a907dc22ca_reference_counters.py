"""reference counters per (prefix, year) instead of per call

Dossier references (SISA-2026-0042) must be unique across calls, but each call numbered its own
dossiers, so a call cloned within the same year collided with its source at its first submission
(issue 22). Every call sharing a prefix and a year now draws from one row of ``reference_counters``.

Existing references are left as they are. Each counter starts from the highest number already given
for its pair: the highest existing reference, or a call's old counter if that is higher (a number the
old counters gave is never given again).

Revision ID: d9a907dc22ca
Revises: 5e1c0a7d9b42
Create Date: 2026-12-05 08:12:00

"""
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd9a907dc22ca'
down_revision = '5e1c0a7d9b42'
branch_labels = None
depends_on = None

# PREFIX-YEAR-NNNN; a reference of another shape was not drawn from a counter and cannot collide.
REFERENCE = re.compile(r"^(?P<prefix>[^-]{1,8})-(?P<year>\d{4})-(?P<number>\d+)$")


def highest_numbers(connection) -> dict[tuple[str, int], int]:
    highest: dict[tuple[str, int], int] = {}
    for (reference,) in connection.execute(sa.text("SELECT reference FROM applications WHERE reference IS NOT NULL")):
        match = REFERENCE.match(reference)
        if match:
            key = (match["prefix"], int(match["year"]))
            highest[key] = max(highest.get(key, 0), int(match["number"]))
    return highest


def upgrade():
    counters = op.create_table('reference_counters',
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.CheckConstraint('last_number > 0', name=op.f('ck_reference_counters_last_number_positive')),
    sa.PrimaryKeyConstraint('prefix', 'year', name=op.f('pk_reference_counters'))
    )
    connection = op.get_bind()
    highest = highest_numbers(connection)
    calls = connection.execute(sa.text(
        "SELECT reference_prefix, year, last_reference_number FROM calls WHERE last_reference_number > 0"))
    for prefix, year, last in calls:
        highest[(prefix, year)] = max(highest.get((prefix, year), 0), last)
    if highest:
        op.bulk_insert(counters, [{"prefix": prefix, "year": year, "last_number": last}
                                  for (prefix, year), last in sorted(highest.items())])

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_calls_reference_counter_not_negative'), type_='check')
        batch_op.drop_column('last_reference_number')


def downgrade():
    # Each call's counter takes its pair's: its next number then follows every existing reference of
    # the pair (two calls sharing a pair still collide, as they did before this revision).
    op.add_column('calls', sa.Column('last_reference_number', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE calls SET last_reference_number = COALESCE((SELECT last_number FROM reference_counters"
        " WHERE reference_counters.prefix = calls.reference_prefix AND reference_counters.year = calls.year), 0)"
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.alter_column('last_reference_number', existing_type=sa.Integer(), nullable=False)
        batch_op.create_check_constraint(batch_op.f('ck_calls_reference_counter_not_negative'),
                                         'last_reference_number >= 0')

    op.drop_table('reference_counters')
