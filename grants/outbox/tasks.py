"""Delivery of outbox rows by Celery workers (or in-process on the embedded default). The periodic
scans that queue reminders and digests are grants.notifications.tasks.

Batches: :func:`deliver_notifications` claims a batch of rows in one statement (pending → sending,
stamped ``claimed_at``; on PostgreSQL ``FOR UPDATE SKIP LOCKED``, so two workers never take the same
row), commits, and only then talks to the SMTP server: no transaction is open during the exchange.
The whole batch goes over one SMTP connection, at ``NOTIFICATION_SEND_RATE`` messages per second at
most, and the outcomes are written in one commit; a database connection lost at that commit (server
restart, ``pg_terminate_backend``) is reconnected and the write retried, so a message the server
accepted is recorded as sent, not sent again. While a batch is in flight its lease is renewed: a
claim older than ``NOTIFICATION_SENDING_LEASE_SECONDS`` (120 s) belongs to a delivery that died
(worker killed) and the sweeper hands it out again. The one window left is between the SMTP server's
"250 OK" and the outcome commit: a worker killed exactly there sends those messages twice, with the
same ``Message-ID`` (``<notification-<id>@<domain>>``, stable across attempts).

Never lost: temporary failures (connection refused or dropped, 4xx) put the row back to pending,
due again after a back-off; permanent ones (5xx, an address the server refuses) mark it failed at
once, with the server's reply, for the managers' monitor; so does the last failed attempt.

``claimed_at`` of a row back to pending after a temporary failure is when it is due again (the
back-off): the claim takes pending rows whose ``claimed_at`` is unset or past.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from email.charset import BASE64, Charset
from email.header import Header

import sqlalchemy as sa
from celery import shared_task
from flask import current_app
from flask_mailman import BadHeaderError, EmailMultiAlternatives
from sqlalchemy.exc import DBAPIError

from grants.database import db, utcnow
from grants.outbox.models import Notification, NotificationStatus

MAX_ATTEMPTS = 5
# Tries of a database write lost with its connection, and the pause between them (seconds).
DB_WRITE_TRIES = 12
DB_WRITE_PAUSE = 0.5


class PermanentFailure(Exception):
    """Retrying cannot help (the server refused the address or the message for good)."""


def with_reconnect(write: Callable[[], object]):
    """Run ``write`` (statements, then commit) again when the database connection is lost under it:
    the session rolls back, the pool hands out a fresh connection (``pool_pre_ping``)."""
    for attempt in range(DB_WRITE_TRIES):
        try:
            result = write()
            db.session.commit()
            return result
        except DBAPIError as exc:
            db.session.rollback()
            if not exc.connection_invalidated and not isinstance(exc, sa.exc.OperationalError):
                raise
            if attempt == DB_WRITE_TRIES - 1:
                raise
            current_app.logger.warning("database connection lost (%s); writing again", type(exc.orig).__name__)
            time.sleep(DB_WRITE_PAUSE * (attempt + 1))
    return None  # not reached


def lease() -> timedelta:
    return timedelta(seconds=current_app.config["NOTIFICATION_SENDING_LEASE_SECONDS"])


def claimable(now: datetime):
    """Pending and due (never tried, or its back-off is over), or sending under an expired lease."""
    return (
        ((Notification.status == NotificationStatus.PENDING)
         & (Notification.claimed_at.is_(None) | (Notification.claimed_at <= now)))
        | ((Notification.status == NotificationStatus.SENDING) & (Notification.claimed_at < now - lease()))
    )


def claim_batch(ids: Iterable[int]) -> list[int]:
    """Atomically take for sending those of ``ids`` that may be sent now, in one statement; commits.
    Returns the ids taken (sorted). On PostgreSQL rows locked by another claim are skipped, not waited
    for; SQLite has a single writer and no row locks (``FOR UPDATE`` is left out there)."""
    ids = sorted(set(ids))
    if not ids:
        return []

    def write():
        now = utcnow()
        chosen = (
            sa.select(Notification.id).where(Notification.id.in_(ids), claimable(now))
            .order_by(Notification.id).limit(len(ids)).with_for_update(skip_locked=True)
        )
        return sorted(db.session.scalars(
            sa.update(Notification).where(Notification.id.in_(chosen.scalar_subquery()))
            .values(status=NotificationStatus.SENDING, attempts=Notification.attempts + 1, claimed_at=now)
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        ).all())

    return with_reconnect(write)


def claim(notification_id: int) -> bool:
    """Take one notification for sending; False if it is sent, failed, or being sent by a delivery
    whose lease has not expired."""
    return claim_batch([notification_id]) == [notification_id]


# Encoded words in base64: the default for UTF-8 ("shortest") measures the quoted-printable form of
# every piece of the subject first, which costs more than the rest of the message.
SUBJECT_CHARSET = Charset("utf-8")
SUBJECT_CHARSET.header_encoding = BASE64


class NotificationEmail(EmailMultiAlternatives):
    """Flask-Mailman encodes a non-ASCII subject with ``Header(value).encode()``, which knows nothing of
    the ``Subject:`` before it: the first encoded word no longer fits after the name, the line breaks
    right after ``Subject:`` and a parser reads the subject with a leading space. The subject is
    folded by a Header that knows its name, written once (Flask-Mailman is given a placeholder)."""

    def message(self):
        subject = str(self.subject)
        if "\n" in subject or "\r" in subject:
            raise BadHeaderError(f"Header values can't contain newlines (got {subject!r} for header 'Subject')")
        self.subject = "-"
        try:
            message = super().message()
        finally:
            self.subject = subject
        charset = "us-ascii" if subject.isascii() else SUBJECT_CHARSET
        message.replace_header("Subject", Header(subject, charset, header_name="Subject"))
        return message


def email_message(notification: Notification) -> EmailMultiAlternatives:
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    domain = sender.rpartition("@")[2].rstrip(">") or "subventia.localhost"
    message = NotificationEmail(
        subject=notification.subject,
        body=notification.body_text,
        from_email=sender,
        to=[notification.recipient_email],
        # The same Message-ID on every attempt: a mail system that got it twice may merge them.
        headers={"X-Subventia-Notification": str(notification.id),
                 "Message-ID": f"<notification-{notification.id}@{domain}>"},
    )
    if notification.body_html:
        message.attach_alternative(notification.body_html, "text/html")
    return message


def is_permanent(exc: Exception) -> bool:
    if isinstance(exc, PermanentFailure):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False  # the relay's credentials: fixed by an administrator, then the retry succeeds
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def connection_lost(exc: Exception) -> bool:
    """The SMTP connection itself is gone (dropped, refused, timed out): the next message reconnects."""
    return isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError | OSError)


def error_text(exc: Exception) -> str:
    """What the managers' monitor shows: the server's own reply where there is one."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = "; ".join(f"{address}: {code} {reply.decode(errors='replace')}"
                            for address, (code, reply) in exc.recipients.items())
        return f"SMTPRecipientsRefused: {replies}"[:2000]
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{type(exc).__name__}: {exc.smtp_code} {reply}"[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


def retry_countdown(attempts: int, base: int) -> int:
    """30 s, 1 min, 2 min, 4 min by default: always far below the broker's visibility timeout."""
    return min(base * 2 ** (attempts - 1), 3600)


def _load(ids: list[int]) -> list[tuple[int, int, EmailMultiAlternatives | Exception]]:
    """(id, attempts, message or the reason it cannot be built) for each claimed row; the read's
    transaction ends before any SMTP exchange."""
    def read():
        rows = db.session.scalars(db.select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id))
        loaded = []
        for row in rows:
            try:
                loaded.append((row.id, row.attempts, email_message(row)))
            except ValueError as exc:  # an address that cannot even be written in a header
                loaded.append((row.id, row.attempts, PermanentFailure(str(exc))))
        return loaded

    return with_reconnect(read)


def _renew_lease(ids: list[int]) -> None:
    if ids:
        with_reconnect(lambda: db.session.execute(
            sa.update(Notification).where(Notification.id.in_(ids), Notification.status == NotificationStatus.SENDING)
            .values(claimed_at=utcnow()).execution_options(synchronize_session=False)))


def send_batch(batch: list[tuple[int, int, EmailMultiAlternatives | Exception]]) -> tuple[list[int], dict[int, Exception]]:
    """Send the batch over one SMTP connection (reconnecting once after a dropped one), at the
    configured rate; returns the ids the server accepted and the failures. No transaction is open."""
    config = current_app.config
    rate = float(config["NOTIFICATION_SEND_RATE"] or 0)
    renew_every = config["NOTIFICATION_SENDING_LEASE_SECONDS"] / 4
    connection = current_app.extensions["mailman"].get_connection()
    sent: list[int] = []
    failed: dict[int, Exception] = {}
    started = renewed = time.monotonic()
    lost_in_a_row, last_error = 0, None
    try:
        for position, (notification_id, _attempts, message) in enumerate(batch):
            if isinstance(message, Exception):
                failed[notification_id] = message
                continue
            if lost_in_a_row >= 2:  # the server is unreachable: the rest waits for the back-off
                failed[notification_id] = last_error
                continue
            if rate > 0 and (wait := started + position / rate - time.monotonic()) > 0:
                time.sleep(wait)
            if time.monotonic() - renewed > renew_every:
                _renew_lease([i for i, _, _ in batch[position:]])
                renewed = time.monotonic()
            message.connection = connection
            try:
                connection.open()  # a no-op while the connection is open: one per batch
                message.send()
            except (smtplib.SMTPException, OSError) as exc:
                failed[notification_id] = exc
                if connection_lost(exc):
                    lost_in_a_row, last_error = lost_in_a_row + 1, exc
                    _close_quietly(connection)
                continue
            lost_in_a_row = 0
            sent.append(notification_id)
    finally:
        _close_quietly(connection)
    return sent, failed


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except (smtplib.SMTPException, OSError):
        connection.connection = None


def record_outcomes(sent: list[int], failed: dict[int, Exception], attempts: dict[int, int]) -> dict[int, list[int]]:
    """Write every outcome of the batch in one commit (again on a fresh connection if the one under
    it is lost). Returns the rows to try again, by back-off in seconds."""
    base = current_app.config["NOTIFICATION_RETRY_BASE_SECONDS"]
    retries: dict[int, list[int]] = {}
    changes = []
    for notification_id, exc in failed.items():
        gave_up = is_permanent(exc) or attempts[notification_id] >= MAX_ATTEMPTS
        countdown = 0 if gave_up else retry_countdown(attempts[notification_id], base)
        changes.append({"id": notification_id, "last_error": error_text(exc), "countdown": countdown,
                        "status": NotificationStatus.FAILED if gave_up else NotificationStatus.PENDING})
        if gave_up:
            current_app.logger.error("notification %s failed for good: %s", notification_id, exc)
        else:
            retries.setdefault(countdown, []).append(notification_id)

    def write():
        now = utcnow()
        if sent:
            db.session.execute(
                sa.update(Notification).where(Notification.id.in_(sent))
                .values(status=NotificationStatus.SENT, sent_at=now, last_error=None)
                .execution_options(synchronize_session=False))
        if changes:
            db.session.execute(sa.update(Notification), [
                {"id": c["id"], "status": c["status"], "last_error": c["last_error"],
                 "claimed_at": now + timedelta(seconds=c["countdown"]) if c["status"] == NotificationStatus.PENDING
                 else now} for c in changes])

    with_reconnect(write)
    return retries


def deliver(ids: Iterable[int]) -> int:
    """Claim, send and record one batch; the temporary failures are handed back to the queue with
    their back-off. Returns how many the server accepted."""
    taken = claim_batch(ids)
    if not taken:
        return 0
    batch = _load(taken)
    sent, failed = send_batch(batch)
    retries = record_outcomes(sent, failed, {i: attempts for i, attempts, _ in batch})
    for countdown, retry_ids in sorted(retries.items()):
        try:
            deliver_notifications.apply_async(args=[retry_ids], countdown=countdown)
        except Exception:  # noqa: BLE001 — a broker outage: the sweeper finds the overdue rows
            current_app.logger.exception("could not enqueue the retry of %s; the sweeper will", retry_ids)
    return len(sent)


@shared_task(ignore_result=True)
def deliver_notifications(notification_ids: list[int]) -> int:
    return deliver(notification_ids)


@shared_task(ignore_result=True)
def deliver_notification(notification_id: int) -> int:
    """One row (the task of earlier releases, still accepted from messages already queued)."""
    return deliver([notification_id])


def batches(ids: list[int], size: int | None = None) -> Iterable[list[int]]:
    size = size or current_app.config["NOTIFICATION_BATCH_SIZE"]
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


@shared_task(ignore_result=True)
def requeue_stale_notifications() -> int:
    """Re-enqueue what no delivery will otherwise pick up: rows still pending
    ``NOTIFICATION_SWEEP_AFTER_SECONDS`` after creation (a crash between commit and enqueue, a broker
    outage), rows whose back-off ended that long ago (the retry message was lost), rows whose sending
    lease expired (worker killed). Claiming keeps this safe against a delivery already under way."""
    now = utcnow()
    after = timedelta(seconds=current_app.config["NOTIFICATION_SWEEP_AFTER_SECONDS"])
    ids = db.session.scalars(
        db.select(Notification.id).where(
            ((Notification.status == NotificationStatus.PENDING) & Notification.claimed_at.is_(None)
             & (Notification.created_at < now - after))
            | ((Notification.status == NotificationStatus.PENDING) & (Notification.claimed_at < now - after))
            | ((Notification.status == NotificationStatus.SENDING) & (Notification.claimed_at < now - lease()))
        ).order_by(Notification.id)
    ).all()
    for chunk in batches(ids):
        deliver_notifications.delay(chunk)
    return len(ids)
