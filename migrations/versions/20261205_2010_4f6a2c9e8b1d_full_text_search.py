"""full-text search: the dossiers' search document and the applicants' names, kept by the database

Revision ID: 4f6a2c9e8b1d
Revises: c4e8a2f61d37
Create Date: 2026-12-05 18:45:00

PostgreSQL: the ``unaccent`` and ``pg_trgm`` extensions, a text search configuration
``subventia_french`` (the french stemmer after unaccent), a generated (STORED) tsvector column
``applications.search_document`` with a GIN index, and on ``organisations.name`` a GIN index of its
words (same configuration) and a trigram GIN index (typos), on ``users.full_name`` a GIN index of its
words (members and individual applicants), on ``reviews.comment`` a GIN index of its words.

SQLite: two FTS5 tables with external content, kept current by triggers: ``applications_search``
(unicode61 without diacritics) over the dossiers' text, ``organisations_names`` (trigram tokenizer)
over the organisations' names, ``users_names`` (unicode61) over the people's names, ``reviews_comments`` (unicode61) over the reviewers'
comments. A later migration that rebuilds ``applications``, ``organisations``, ``users`` or ``reviews``
in batch mode (copy, drop, rename) drops their triggers: it must create them again
(tests/search/test_search.py fails otherwise).

None of these objects is in the models: grants/search/schema.py names them for
tests/test_migrations.py and migrations/env.py.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '4f6a2c9e8b1d'
down_revision = 'c4e8a2f61d37'
branch_labels = None
depends_on = None

# Weights: A the reference and the title, B the summary and the places, C the rest.
POSTGRES_DOCUMENT = """
    setweight(to_tsvector('subventia_french'::regconfig,
        coalesce(reference, '') || ' ' || coalesce(title, '')), 'A')
    || setweight(to_tsvector('subventia_french'::regconfig,
        coalesce(summary, '') || ' ' || coalesce(places, '') || ' ' || coalesce(partner_region, '')), 'B')
    || setweight(to_tsvector('subventia_french'::regconfig,
        coalesce(objectives, '') || ' ' || coalesce(target_public, '')), 'C')
"""

SQLITE_COLUMNS = "reference, title, summary, objectives, target_public, places, partner_region"


def sqlite_values(prefix):
    return ", ".join(f"{prefix}.{column.strip()}" for column in SQLITE_COLUMNS.split(","))


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE TEXT SEARCH CONFIGURATION subventia_french (COPY = pg_catalog.french)")
        op.execute(
            "ALTER TEXT SEARCH CONFIGURATION subventia_french"
            " ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem"
        )
        op.execute(
            f"ALTER TABLE applications ADD COLUMN search_document tsvector"
            f" GENERATED ALWAYS AS ({POSTGRES_DOCUMENT}) STORED"
        )
        op.execute("CREATE INDEX ix_applications_search_document ON applications USING gin (search_document)")
        op.execute(
            "CREATE INDEX ix_organisations_name_words ON organisations"
            " USING gin (to_tsvector('subventia_french'::regconfig, name))"
        )
        op.execute("CREATE INDEX ix_organisations_name_trigrams ON organisations USING gin (name gin_trgm_ops)")
        op.execute(
            "CREATE INDEX ix_users_full_name_words ON users"
            " USING gin (to_tsvector('subventia_french'::regconfig, full_name))"
        )
        op.execute(
            "CREATE INDEX ix_reviews_comment_words ON reviews"
            " USING gin (to_tsvector('subventia_french'::regconfig, comment))"
        )
        return

    op.execute(
        f"CREATE VIRTUAL TABLE applications_search USING fts5({SQLITE_COLUMNS},"
        " content='applications', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        f"CREATE TRIGGER applications_search_insert AFTER INSERT ON applications BEGIN"
        f" INSERT INTO applications_search (rowid, {SQLITE_COLUMNS}) VALUES (new.id, {sqlite_values('new')});"
        f" END"
    )
    op.execute(
        f"CREATE TRIGGER applications_search_delete AFTER DELETE ON applications BEGIN"
        f" INSERT INTO applications_search (applications_search, rowid, {SQLITE_COLUMNS})"
        f" VALUES ('delete', old.id, {sqlite_values('old')});"
        f" END"
    )
    op.execute(
        f"CREATE TRIGGER applications_search_update AFTER UPDATE ON applications BEGIN"
        f" INSERT INTO applications_search (applications_search, rowid, {SQLITE_COLUMNS})"
        f" VALUES ('delete', old.id, {sqlite_values('old')});"
        f" INSERT INTO applications_search (rowid, {SQLITE_COLUMNS}) VALUES (new.id, {sqlite_values('new')});"
        f" END"
    )
    op.execute("INSERT INTO applications_search (applications_search) VALUES ('rebuild')")

    op.execute(
        "CREATE VIRTUAL TABLE organisations_names USING fts5(name,"
        " content='organisations', content_rowid='id', tokenize='trigram')"
    )
    op.execute(
        "CREATE TRIGGER organisations_names_insert AFTER INSERT ON organisations BEGIN"
        " INSERT INTO organisations_names (rowid, name) VALUES (new.id, new.name); END"
    )
    op.execute(
        "CREATE TRIGGER organisations_names_delete AFTER DELETE ON organisations BEGIN"
        " INSERT INTO organisations_names (organisations_names, rowid, name) VALUES ('delete', old.id, old.name);"
        " END"
    )
    op.execute(
        "CREATE TRIGGER organisations_names_update AFTER UPDATE OF name ON organisations BEGIN"
        " INSERT INTO organisations_names (organisations_names, rowid, name) VALUES ('delete', old.id, old.name);"
        " INSERT INTO organisations_names (rowid, name) VALUES (new.id, new.name); END"
    )
    op.execute("INSERT INTO organisations_names (organisations_names) VALUES ('rebuild')")

    op.execute(
        "CREATE VIRTUAL TABLE users_names USING fts5(full_name,"
        " content='users', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER users_names_insert AFTER INSERT ON users BEGIN"
        " INSERT INTO users_names (rowid, full_name) VALUES (new.id, new.full_name); END"
    )
    op.execute(
        "CREATE TRIGGER users_names_delete AFTER DELETE ON users BEGIN"
        " INSERT INTO users_names (users_names, rowid, full_name) VALUES ('delete', old.id, old.full_name); END"
    )
    op.execute(
        "CREATE TRIGGER users_names_update AFTER UPDATE OF full_name ON users BEGIN"
        " INSERT INTO users_names (users_names, rowid, full_name) VALUES ('delete', old.id, old.full_name);"
        " INSERT INTO users_names (rowid, full_name) VALUES (new.id, new.full_name); END"
    )
    op.execute("INSERT INTO users_names (users_names) VALUES ('rebuild')")

    op.execute(
        "CREATE VIRTUAL TABLE reviews_comments USING fts5(comment,"
        " content='reviews', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER reviews_comments_insert AFTER INSERT ON reviews BEGIN"
        " INSERT INTO reviews_comments (rowid, comment) VALUES (new.id, new.comment); END"
    )
    op.execute(
        "CREATE TRIGGER reviews_comments_delete AFTER DELETE ON reviews BEGIN"
        " INSERT INTO reviews_comments (reviews_comments, rowid, comment) VALUES ('delete', old.id, old.comment); END"
    )
    op.execute(
        "CREATE TRIGGER reviews_comments_update AFTER UPDATE OF comment ON reviews BEGIN"
        " INSERT INTO reviews_comments (reviews_comments, rowid, comment) VALUES ('delete', old.id, old.comment);"
        " INSERT INTO reviews_comments (rowid, comment) VALUES (new.id, new.comment); END"
    )
    op.execute("INSERT INTO reviews_comments (reviews_comments) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_reviews_comment_words")
        op.execute("DROP INDEX ix_users_full_name_words")
        op.execute("DROP INDEX ix_organisations_name_trigrams")
        op.execute("DROP INDEX ix_organisations_name_words")
        op.execute("DROP INDEX ix_applications_search_document")
        op.execute("ALTER TABLE applications DROP COLUMN search_document")
        op.execute("DROP TEXT SEARCH CONFIGURATION subventia_french")
        op.execute("DROP EXTENSION IF EXISTS pg_trgm")
        op.execute("DROP EXTENSION IF EXISTS unaccent")
        return
    for trigger in ("reviews_comments_update", "reviews_comments_delete", "reviews_comments_insert",
                    "users_names_update", "users_names_delete", "users_names_insert", "organisations_names_update", "organisations_names_delete", "organisations_names_insert",
                    "applications_search_update", "applications_search_delete", "applications_search_insert"):
        op.execute(f"DROP TRIGGER {trigger}")
    op.execute("DROP TABLE reviews_comments")
    op.execute("DROP TABLE users_names")
    op.execute("DROP TABLE organisations_names")
    op.execute("DROP TABLE applications_search")
