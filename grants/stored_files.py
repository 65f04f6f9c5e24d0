"""Bookkeeping of stored files: which rows name which stored file, and what to do with the rest.

A column whose name ends in ``storage_key`` holds the key of a stored file (README, "Adding an
area"). Those columns are found in the SQLAlchemy metadata, so a table added later by any area is
covered without being listed here. For each such column ``<prefix>storage_key``, the columns
``<prefix>size_bytes`` and ``<prefix>sha256`` of the same table, where they exist, are what the
stored file must match.

- :func:`sweep` deletes the orphans: stored files that no row names and that are older than
  ``STORAGE_ORPHAN_GRACE_SECONDS`` (2 h), and the writes that never finished (temporary files, an
  object store's incomplete multipart uploads). An upload writes its file before its row and
  commits right after, so a file without a row for that long belongs to a request that died (a
  worker killed between the two) or a transaction that never committed. Beat runs it every
  ``STORAGE_SWEEP_SECONDS`` (1 h): an orphan lives at most 3 h.
- :func:`verify` checks every row against the store (``flask attachments verify``).
- :func:`migrate` copies every named file from one store to another under the same key, checking
  each checksum (``flask attachments migrate --to s3``); it can be interrupted and run again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import click
import sqlalchemy as sa
from celery import shared_task
from flask import current_app
from flask.cli import AppGroup

from grants.database import db
from grants.storage import (
    AttachmentStorage,
    StorageIntegrityError,
    StorageUnavailable,
    attachment_storage,
    sha256_of,
    storage_named,
)

log = logging.getLogger(__name__)

KEY_SUFFIX = "storage_key"
BATCH = 500


@dataclass(frozen=True)
class KeyColumn:
    """A ``…storage_key`` column, and its table's size and digest columns for that file (or None)."""

    column: sa.Column
    size: sa.Column | None
    sha256: sa.Column | None

    @property
    def label(self) -> str:
        return f"{self.column.table.name}.{self.column.name}"


def key_columns() -> list[KeyColumn]:
    """Every column of the metadata that holds a stored file's key."""
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if column.name.endswith(KEY_SUFFIX):
                prefix = column.name[: -len(KEY_SUFFIX)]
                found.append(KeyColumn(column, table.columns.get(f"{prefix}size_bytes"),
                                       table.columns.get(f"{prefix}sha256")))
    return found


def named_keys(keys: list[str]) -> set[str]:
    """Those of ``keys`` that some row names."""
    named: set[str] = set()
    for item in key_columns():
        named.update(db.session.scalars(sa.select(item.column).where(item.column.in_(keys))))
    return named


@dataclass(frozen=True)
class StoredRow:
    where: str
    key: str
    size: int | None
    sha256: str | None


def stored_rows() -> Iterator[StoredRow]:
    """Every row's stored file, with the size and digest the row records."""
    for item in key_columns():
        columns = [item.column,
                   item.size if item.size is not None else sa.null(),
                   item.sha256 if item.sha256 is not None else sa.null()]
        query = sa.select(*columns).where(item.column.is_not(None)).order_by(item.column)
        for key, size, sha256 in db.session.execute(query.execution_options(yield_per=BATCH)):
            yield StoredRow(item.label, key, size, sha256)


# --- The sweeper ---------------------------------------------------------------------------------


@dataclass
class SweepReport:
    deleted: list[str] = field(default_factory=list)
    abandoned_uploads: int = 0


def sweep(storage: AttachmentStorage, *, grace: timedelta, now: datetime | None = None) -> SweepReport:
    """Delete the stored files that no row names and that were stored before ``now - grace``."""
    cutoff = (now or datetime.now(UTC)) - grace
    report = SweepReport(abandoned_uploads=storage.clean_abandoned_uploads(cutoff))
    batch: list[str] = []

    def settle():
        # Rows are read after the listing: a file old enough to be swept has had its row long since.
        named = named_keys(batch)
        for key in batch:
            if key not in named:
                storage.delete(key)
                report.deleted.append(key)
                log.info("stored file %s deleted: no row names it", key)
        batch.clear()

    for stored in storage.objects():
        if stored.modified_at < cutoff:
            batch.append(stored.key)
            if len(batch) >= BATCH:
                settle()
    if batch:
        settle()
    return report


@shared_task(ignore_result=True)
def sweep_stored_files() -> dict:
    """Beat's hourly sweep (worker.beat_schedule)."""
    grace = timedelta(seconds=current_app.config["STORAGE_ORPHAN_GRACE_SECONDS"])
    report = sweep(attachment_storage(), grace=grace)
    return {"deleted": len(report.deleted), "abandoned_uploads": report.abandoned_uploads}


# --- Verification --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    row: StoredRow
    reason: str

    def __str__(self) -> str:
        return f"{self.row.where} {self.row.key}: {self.reason}"


def check_row(storage: AttachmentStorage, row: StoredRow, *, deep: bool = False) -> str | None:
    """What is wrong with the row's stored file, or None. ``deep`` reads the bytes and hashes them;
    otherwise the store's own checksum is compared where it keeps one."""
    stored = storage.stat(row.key)
    if stored is None:
        return "missing from the store"
    if row.size is not None and stored.size != row.size:
        return f"{stored.size} bytes stored, {row.size} recorded"
    if row.sha256 is not None:
        if deep or stored.sha256 is None:
            with storage.open(row.key) as stream:
                digest, _size = sha256_of(stream)
        else:
            digest = stored.sha256
        if digest != row.sha256:
            return "checksum differs from the one recorded at upload"
    return None


def verify(storage: AttachmentStorage, *, deep: bool = False) -> tuple[int, list[Problem]]:
    """Check every row's file in the store; return how many rows were checked and the problems."""
    checked, problems = 0, []
    for row in stored_rows():
        checked += 1
        reason = check_row(storage, row, deep=deep)
        if reason:
            problems.append(Problem(row, reason))
    return checked, problems


@shared_task(ignore_result=True)
def verify_stored_files(deep: bool = False) -> dict:
    """``flask attachments verify`` on a worker (any node: the store is shared); logs what it finds."""
    storage = attachment_storage()
    checked, problems = verify(storage, deep=deep)
    for problem in problems:
        log.error("stored file problem: %s", problem)
    log.info("%d stored files checked in the %s store, %d problem(s)", checked, storage.name, len(problems))
    return {"checked": checked, "problems": [str(problem) for problem in problems]}


# --- Moving files between stores -----------------------------------------------------------------


@dataclass
class MigrationReport:
    copied: list[str] = field(default_factory=list)
    already_there: int = 0
    missing_at_source: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def migrate(source: AttachmentStorage, target: AttachmentStorage, *, echo=lambda line: None) -> MigrationReport:
    """Copy every row's file from ``source`` to ``target`` under the same key, each checked against
    the digest its row records (and the store's checksum). A file already in the target with the
    recorded size and digest is left as it is, so an interrupted run is simply run again; nothing is
    deleted from the source."""
    report = MigrationReport()
    for row in stored_rows():
        if check_row(target, row) is None:
            report.already_there += 1
            continue
        try:
            stream = source.open(row.key)
        except FileNotFoundError:
            report.missing_at_source.append(row.key)
            echo(f"{row.where} {row.key}: missing from the source store")
            continue
        try:
            with stream:
                target.put(row.key, stream, sha256=row.sha256)
        except StorageIntegrityError as error:
            report.failed.append(row.key)
            echo(f"{row.where} {row.key}: not copied ({error})")
            continue
        problem = check_row(target, row, deep=True)
        if problem:
            report.failed.append(row.key)
            echo(f"{row.where} {row.key}: copied but {problem}")
            continue
        report.copied.append(row.key)
        echo(f"{row.where} {row.key}: copied")
    return report


# --- flask attachments … -------------------------------------------------------------------------

attachments_cli = AppGroup("attachments", help="Fichiers stockés : vérifier, déplacer, nettoyer.")


def _storage_or_exit(name: str | None = None) -> AttachmentStorage:
    app = current_app._get_current_object()
    try:
        return storage_named(app, name) if name else attachment_storage()
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None


@attachments_cli.command("verify")
@click.option("--deep", is_flag=True, help="Read every file and compare its SHA-256 (slow).")
def verify_command(deep: bool):
    """Check every stored-file row against the store; exit 1 if one is missing or differs."""
    storage = _storage_or_exit()
    try:
        checked, problems = verify(storage, deep=deep)
    except StorageUnavailable as error:
        raise click.ClickException(f"the store cannot be reached: {error}") from None
    for problem in problems:
        click.echo(str(problem))
    click.echo(f"{checked} stored files checked in the {storage.name} store, {len(problems)} problem(s).")
    if problems:
        raise SystemExit(1)


@attachments_cli.command("migrate")
@click.option("--to", "target_name", type=click.Choice(["s3", "local"]), required=True,
              help="The store to copy into; the files are read from the other one.")
def migrate_command(target_name: str):
    """Copy every stored file into the other store, checking each checksum; safe to run again."""
    source_name = "local" if target_name == "s3" else "s3"
    source, target = _storage_or_exit(source_name), _storage_or_exit(target_name)
    try:
        report = migrate(source, target, echo=click.echo)
    except StorageUnavailable as error:
        raise click.ClickException(f"a store cannot be reached: {error}; run the command again") from None
    click.echo(
        f"{len(report.copied)} copied, {report.already_there} already in the {target_name} store, "
        f"{len(report.missing_at_source)} missing from the {source_name} store, {len(report.failed)} failed."
    )
    if report.failed or report.missing_at_source:
        raise SystemExit(1)
    click.echo(f"Set ATTACHMENT_STORAGE={target_name} and restart the web servers and workers.")


@attachments_cli.command("sweep")
@click.option("--grace-seconds", type=click.IntRange(min=0), default=None,
              help="Keep files younger than this (default STORAGE_ORPHAN_GRACE_SECONDS).")
def sweep_command(grace_seconds: int | None):
    """Delete the stored files that no row names (what beat does every hour)."""
    grace = current_app.config["STORAGE_ORPHAN_GRACE_SECONDS"] if grace_seconds is None else grace_seconds
    try:
        report = sweep(_storage_or_exit(), grace=timedelta(seconds=grace))
    except StorageUnavailable as error:
        raise click.ClickException(f"the store cannot be reached: {error}") from None
    click.echo(f"{len(report.deleted)} orphan file(s) deleted, {report.abandoned_uploads} unfinished upload(s) removed.")
