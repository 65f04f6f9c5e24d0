"""the stored ranking: each call's ranking as rows (ranked_applications), refreshed by a task after every
change it reads, and how current it is (call_rankings)

Revision ID: e3a91c7d5b12
Revises: e5b2d8a4c917
Create Date: 2026-12-06 03:10:00

Backfill: every call with an eligible application gets its status row, stale since the migration; the
sweeper (grants.reviews.tasks.refresh_stale_rankings, every minute) or ``flask reviews refresh-rankings``
computes the rows with the application's code, the one place that computes a ranking.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e3a91c7d5b12'
down_revision = 'e5b2d8a4c917'
branch_labels = None
depends_on = None

SORTS = ("score", "normalised", "spread", "amount", "reference")


def upgrade():
    op.create_table(
        'call_rankings',
        sa.Column('call_id', sa.Integer(), sa.ForeignKey('calls.id', ondelete='CASCADE'), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('ranked_version', sa.BigInteger(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('partner_regions', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('call_id'),
    )
    ranks = []
    for prefix in ("", "section_"):
        for sort in SORTS:
            ranks.append(sa.Column(f'{prefix}rank_{sort}', sa.Integer(), nullable=False))
            ranks.append(sa.Column(f'{prefix}cumulative_{sort}', sa.BigInteger(), nullable=False))
    op.create_table(
        'ranked_applications',
        sa.Column('application_id', sa.Integer(), sa.ForeignKey('applications.id', ondelete='CASCADE'),
                  nullable=False, autoincrement=False),
        sa.Column('call_id', sa.Integer(), sa.ForeignKey('calls.id', ondelete='CASCADE'), nullable=False),
        sa.Column('withdrawn', sa.Boolean(), nullable=False),
        sa.Column('state', sa.String(length=30), nullable=False),
        sa.Column('section', sa.String(length=30), nullable=True),
        sa.Column('partner_region', sa.String(length=100), nullable=True),
        sa.Column('reference', sa.String(length=30), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('assigned', sa.Integer(), nullable=False),
        sa.Column('mean_score', sa.Integer(), nullable=True),
        sa.Column('normalised_mean', sa.Integer(), nullable=True),
        sa.Column('spread', sa.Integer(), nullable=True),
        sa.Column('suggested_count', sa.Integer(), nullable=False),
        sa.Column('suggested_total', sa.BigInteger(), nullable=True),
        sa.Column('fund', sa.Integer(), nullable=False),
        sa.Column('fund_lower', sa.Integer(), nullable=False),
        sa.Column('do_not_fund', sa.Integer(), nullable=False),
        *ranks,
        sa.PrimaryKeyConstraint('application_id'),
    )
    for sort in SORTS:
        op.create_index(f'ix_ranked_applications_{sort}', 'ranked_applications',
                        ['call_id', 'withdrawn', f'rank_{sort}'])
        op.create_index(f'ix_ranked_applications_section_{sort}', 'ranked_applications',
                        ['call_id', 'withdrawn', 'section', f'section_rank_{sort}'])
        op.create_index(f'ix_ranked_applications_cumulative_{sort}', 'ranked_applications',
                        ['call_id', 'withdrawn', f'cumulative_{sort}', f'rank_{sort}'])
        op.create_index(f'ix_ranked_applications_section_cumulative_{sort}', 'ranked_applications',
                        ['call_id', 'withdrawn', 'section', f'section_cumulative_{sort}', f'section_rank_{sort}'])
    op.execute(
        "INSERT INTO call_rankings (call_id, version, ranked_version, changed_at)"
        " SELECT DISTINCT call_id, 1, 0, CURRENT_TIMESTAMP FROM applications WHERE eligible"
    )


def downgrade():
    for sort in SORTS:
        op.drop_index(f'ix_ranked_applications_section_cumulative_{sort}', table_name='ranked_applications')
        op.drop_index(f'ix_ranked_applications_cumulative_{sort}', table_name='ranked_applications')
        op.drop_index(f'ix_ranked_applications_section_{sort}', table_name='ranked_applications')
        op.drop_index(f'ix_ranked_applications_{sort}', table_name='ranked_applications')
    op.drop_table('ranked_applications')
    op.drop_table('call_rankings')
