"""reviews.score: each submitted review's weighted score (0–100), stored when it is submitted, so that the
ranking reads one number per review instead of every mark; the existing reviews get theirs here

Revision ID: b7d2e4f19a03
Revises: a4f1c9e2b7d5
Create Date: 2026-12-05 23:00:00

"""
import math
from decimal import Decimal

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d2e4f19a03'
down_revision = 'a4f1c9e2b7d5'
branch_labels = None
depends_on = None

CONSTRAINT = 'ck_reviews_score_when_submitted'
CONDITION = "score IS NULL OR (state = 'submitted' AND score >= 0 AND score <= 100)"
BATCH = 5000  # reviews per round trip: the marks of a call of 10,000 applications never sit in memory at once

reviews = sa.table('reviews', sa.column('id', sa.Integer), sa.column('state', sa.String),
                   sa.column('score', sa.Numeric(5, 2)))
criterion_scores = sa.table('criterion_scores', sa.column('review_id', sa.Integer),
                            sa.column('criterion_id', sa.Integer), sa.column('score', sa.Numeric(5, 2)))
criteria = sa.table('criteria', sa.column('id', sa.Integer), sa.column('weight', sa.Numeric(6, 2)),
                    sa.column('scale_max', sa.Integer))


def _cents(numerator, denominator):
    whole = (2 * abs(numerator) + denominator) // (2 * denominator)
    return (Decimal(whole if numerator >= 0 else -whole) / 100).quantize(Decimal('0.01'))


def _decimals(value):
    return max(-value.as_tuple().exponent, 0)


def review_score(marks):
    """A frozen copy of grants.reviews.ranking.review_score (a migration must not change when the
    application does): Σ(weight × mark / scale) / Σ weight × 100 in integers, rounded half-up."""
    places = max(max(_decimals(weight), _decimals(mark)) for weight, mark, _ in marks)
    common_scale = math.lcm(*(scale_max for _, _, scale_max in marks))
    numerator = total_weight = 0
    for weight, mark, scale_max in marks:
        whole_weight = int(weight.scaleb(places))
        numerator += whole_weight * int(mark.scaleb(places)) * (common_scale // scale_max)
        total_weight += whole_weight
    return _cents(100 * 100 * numerator, 10**places * common_scale * total_weight)


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        # Added in place with its CHECK: a batch rebuild would drop and recreate a table others reference.
        op.execute(f'ALTER TABLE reviews ADD COLUMN score NUMERIC(5, 2) CONSTRAINT {CONSTRAINT} CHECK ({CONDITION})')
    else:
        op.add_column('reviews', sa.Column('score', sa.Numeric(5, 2), nullable=True))
    after = 0
    while True:
        ids = bind.execute(
            sa.select(reviews.c.id).where(reviews.c.state == 'submitted', reviews.c.id > after)
            .order_by(reviews.c.id).limit(BATCH)
        ).scalars().all()
        if not ids:
            break
        rows = bind.execute(
            sa.select(criterion_scores.c.review_id, criteria.c.weight, criterion_scores.c.score, criteria.c.scale_max)
            .join(criteria, criteria.c.id == criterion_scores.c.criterion_id)
            .where(criterion_scores.c.review_id >= ids[0], criterion_scores.c.review_id <= ids[-1])
        ).all()
        marks = {}
        for review_id, weight, mark, scale_max in rows:
            marks.setdefault(review_id, []).append((Decimal(weight), Decimal(mark), scale_max))
        # A submitted review without marks (none can be transmitted so) has no score, as it had no place
        # in the ranking.
        scored = [{'review_id': review_id, 'value': review_score(marks[review_id])}
                  for review_id in ids if review_id in marks]
        if scored:
            bind.execute(
                sa.update(reviews).where(reviews.c.id == sa.bindparam('review_id'))
                .values(score=sa.bindparam('value', type_=sa.Numeric(5, 2))),
                scored,
            )
        after = ids[-1]
    if bind.dialect.name != 'sqlite':
        op.create_check_constraint(CONSTRAINT, 'reviews', CONDITION)


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(CONSTRAINT, 'reviews', type_='check')
    # SQLite (3.35+) drops the column in place, with the CHECK that belongs to it.
    op.drop_column('reviews', 'score')
