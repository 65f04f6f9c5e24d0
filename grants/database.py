"""Database foundations shared by every domain area.

- A metadata naming convention names every constraint, so a violation can be turned into a domain
  error that says which rule was broken (:func:`constraint_violated`).
- :class:`Money` stores euros as integer cents and hands out :class:`~decimal.Decimal`: exact on SQLite
  and PostgreSQL alike, and the SQL arithmetic of a conditional update stays exact.
- :class:`UTCDateTime` stores UTC and always returns timezone-aware datetimes, on SQLite too.
"""

from __future__ import annotations

import operator
import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
from flask import has_request_context, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

CENT = Decimal("0.01")


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_money(value) -> Decimal:
    """A euro amount as a Decimal with two places; refuses floats and sub-cent precision."""
    if isinstance(value, float):
        raise TypeError("money is never a float")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if amount != amount.quantize(CENT):
        raise ValueError(f"more than two decimal places: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class Money(sa.types.TypeDecorator):
    """Euros in Python (Decimal), integer cents in the database."""

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return int(to_money(value) * 100)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)

    def coerce_compared_value(self, op, value):
        return self

    class comparator_factory(sa.types.TypeDecorator.Comparator):
        # Money ± Money stays Money, so that in ``carved + direct <= :amount`` the amount is bound in
        # cents too (the impl's rule would make the sum a plain Integer and bind euros).
        def _adapt_expression(self, op, other_comparator):
            if op in (operator.add, operator.sub):
                return op, self.type
            return super()._adapt_expression(op, other_comparator)


class UTCDateTime(sa.types.TypeDecorator):
    """An aware datetime stored in UTC; naive values are refused rather than guessed."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: attach a time zone before storing it")
        value = value.astimezone(UTC)
        # SQLite has no time zone type: store the UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _is_pysqlite(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record):
    # Only for SQLite: enforce foreign keys, wait for writers instead of failing at once, and let
    # readers and one writer work together (the embedded server and an in-process task).
    if _is_pysqlite(dbapi_connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
        # SQLAlchemy's recipe for pysqlite ("Serializable isolation / Savepoints / Transactional
        # DDL"): the driver's own transaction control opens a transaction only before INSERT, UPDATE
        # or DELETE, so a SAVEPOINT or a SELECT ran outside any transaction and a released savepoint
        # was committed for good. The driver now issues nothing and _begin_sqlite says BEGIN, so
        # transactions, savepoints and DDL behave as on PostgreSQL.
        dbapi_connection.isolation_level = None


@event.listens_for(Engine, "begin")
def _begin_sqlite(connection):
    if connection.dialect.name == "sqlite" and connection.dialect.driver == "pysqlite":
        # A request that may write takes SQLite's write lock at once (waiting up to busy_timeout for
        # another writer): a transaction that read first and then tried to write after another one
        # committed would fail at once with "database is locked" (its snapshot is stale), where
        # PostgreSQL lets the writes queue. Pages that only read stay concurrent.
        # Sent on the driver's connection, as psycopg sends PostgreSQL's BEGIN: not a statement of
        # the application's (statement counts and logs read the same on both databases).
        writes = has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
        connection.connection.driver_connection.execute("BEGIN IMMEDIATE" if writes else "BEGIN")


_CONSTRAINT_IN_MESSAGE = re.compile(r"\b((?:ck|uq|fk|pk)_[a-z0-9_]+)")


def constraint_violated(error: IntegrityError) -> str | None:
    """The name of the constraint an IntegrityError broke, on PostgreSQL or SQLite."""
    diag = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
    if diag:
        return diag
    match = _CONSTRAINT_IN_MESSAGE.search(str(error.orig))
    if match:
        return match.group(1)
    # SQLite names UNIQUE violations by columns ("UNIQUE constraint failed: users.email", or
    # "attachments.application_id, attachments.required_document_id"): the naming convention's
    # uq_<table>_<columns> gives the name back.
    unique = re.search(r"UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)", str(error.orig))
    if unique:
        columns = [item.partition(".") for item in unique.group(1).split(", ")]
        return f"uq_{columns[0][0]}_" + "_".join(column for _, _, column in columns)
    return None


def enum_type(enum_cls, name: str) -> sa.Enum:
    """A portable enum column: a VARCHAR with a named CHECK constraint listing the values."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum_cls) + 8,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
