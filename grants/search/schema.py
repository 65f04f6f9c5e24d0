"""The search objects the migration 4f6a2c9e8b1d makes and the models do not declare.

They are the database's own (a generated tsvector column, GIN indexes, FTS5 tables and their
triggers), so the models leave them out; Alembic's comparison (tests/test_migrations.py, and
``flask db migrate`` through migrations/env.py) skips them by these names.
"""

from __future__ import annotations

# PostgreSQL
SEARCH_COLUMNS = {("applications", "search_document")}
SEARCH_INDEXES = {"ix_applications_search_document", "ix_organisations_name_words", "ix_organisations_name_trigrams",
                  "ix_users_full_name_words", "ix_reviews_comment_words",
                  "ix_calls_search_text_trigrams"}  # the public call list's words (grants/calls/listing.py)
# SQLite: the FTS5 tables, each with its shadow tables (<name>_data, _idx, _docsize, _config).
SEARCH_TABLES = ("applications_search", "organisations_names", "users_names", "reviews_comments")


def is_search_object(name: str | None, type_: str, parent: str | None = None) -> bool:
    """For Alembic's ``include_name`` hook: True for an object of the search (to be skipped)."""
    if name is None:
        return False
    if type_ == "table":
        return any(name == table or name.startswith(table + "_") for table in SEARCH_TABLES)
    if type_ == "column":
        return (parent, name) in SEARCH_COLUMNS
    if type_ == "index":
        return name in SEARCH_INDEXES
    return False


def include_name(name, type_, parent_names) -> bool:
    return not is_search_object(name, type_, (parent_names or {}).get("table_name"))
