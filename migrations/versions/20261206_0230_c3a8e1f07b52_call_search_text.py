"""calls.search_text: a call's title, summary and description folded, so that the public list's
words are matched in SQL (indexed by trigrams on PostgreSQL) instead of on every call in Python

Revision ID: c3a8e1f07b52
Revises: b7d2e5a91c46
Create Date: 2026-12-06 02:30:00

"""
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3a8e1f07b52'
down_revision = 'b7d2e5a91c46'
branch_labels = None
depends_on = None


def fold(text: str) -> str:
    """grants.formatting.fold as of this revision: lower case, accents removed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def upgrade():
    op.add_column("calls", sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    calls = sa.table("calls", sa.column("id", sa.Integer), sa.column("title", sa.String),
                     sa.column("summary", sa.String), sa.column("description", sa.Text),
                     sa.column("search_text", sa.Text))
    connection = op.get_bind()
    rows = connection.execute(sa.select(calls.c.id, calls.c.title, calls.c.summary, calls.c.description)).all()
    if rows:
        # Folded by Python's Unicode tables, as the model writes it (grants.calls.models.search_text_of).
        connection.execute(calls.update().where(calls.c.id == sa.bindparam("call_id"))
                           .values(search_text=sa.bindparam("text")),
                           [{"call_id": id_, "text": fold(" ".join((title or "", summary or "", description or "")))}
                            for id_, title, summary, description in rows])
    if connection.dialect.name == "postgresql":
        # LIKE '%word%' uses a trigram GIN index (pg_trgm is created by the full-text search migration).
        op.execute("CREATE INDEX ix_calls_search_text_trigrams ON calls USING gin (search_text gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_calls_search_text_trigrams")
    # A plain DROP COLUMN (SQLite ≥ 3.35): a batch copy of the table would rewrite its CHECK constraints
    # in a form older downgrades cannot drop columns from.
    op.drop_column("calls", "search_text")
