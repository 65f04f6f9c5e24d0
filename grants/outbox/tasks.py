"""Delivery of outbox rows by Celery workers (or in-process on the embedded default). The periodic
scans that queue reminders and digests are grants.notifications.tasks.

At most once: a delivery first claims the row with a conditional UPDATE (pending → sending, stamped
``claimed_at``); only the one that claimed it sends. A claim older than the sending lease belongs to a
delivery that died mid-way (worker killed): the message redelivered by the broker (``acks_late``,
``task_reject_on_worker_lost``) or the sweeper may take it over. The one window left is between the
SMTP server's "250 OK" and our commit, a few milliseconds: a worker killed exactly there sends twice.

Never lost: temporary failures (connection refused, 4xx) put the row back to pending and retry with
back-off; permanent ones (5xx, an address the server refuses) mark it failed at once, with the error,
for the managers' monitor; so does the last failed attempt.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta

from celery import shared_task
from flask import current_app
from flask_mailman import EmailMultiAlternatives

from grants.database import db, utcnow
from grants.outbox.models import Notification, NotificationStatus

MAX_ATTEMPTS = 5


class PermanentFailure(Exception):
    """Retrying cannot help (the server refused the address or the message for good)."""


def claim(notification_id: int) -> bool:
    """Atomically take a notification for sending; False if it is sent, failed, or being sent by a
    delivery whose lease has not expired."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["NOTIFICATION_SENDING_LEASE_SECONDS"])
    result = db.session.execute(
        db.update(Notification)
        .where(
            Notification.id == notification_id,
            (Notification.status == NotificationStatus.PENDING)
            | ((Notification.status == NotificationStatus.SENDING) & (Notification.claimed_at < now - lease)),
        )
        .values(status=NotificationStatus.SENDING, attempts=Notification.attempts + 1, claimed_at=now)
    )
    db.session.commit()
    return result.rowcount == 1


def email_message(notification: Notification) -> EmailMultiAlternatives:
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    domain = sender.rpartition("@")[2].rstrip(">") or "subventia.localhost"
    message = EmailMultiAlternatives(
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


@shared_task(bind=True, max_retries=MAX_ATTEMPTS - 1, ignore_result=True)
def deliver_notification(self, notification_id: int) -> None:
    if not claim(notification_id):
        return
    notification = db.session.get(Notification, notification_id)
    try:
        try:
            message = email_message(notification)
        except ValueError as exc:  # an address that cannot even be written in a header
            raise PermanentFailure(str(exc)) from exc
        message.send()
    except (smtplib.SMTPException, OSError, PermanentFailure) as exc:
        permanent = is_permanent(exc)
        gave_up = permanent or notification.attempts >= MAX_ATTEMPTS
        notification.status = NotificationStatus.FAILED if gave_up else NotificationStatus.PENDING
        notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()
        if gave_up:
            current_app.logger.error("notification %s failed for good: %s", notification_id, exc)
            return
        base = current_app.config["NOTIFICATION_RETRY_BASE_SECONDS"]
        raise self.retry(exc=exc, countdown=retry_countdown(notification.attempts, base)) from exc
    notification.status = NotificationStatus.SENT
    notification.sent_at = utcnow()
    notification.last_error = None
    db.session.commit()


def retry_countdown(attempts: int, base: int) -> int:
    """30 s, 1 min, 2 min, 4 min by default: always far below the broker's visibility timeout."""
    return min(base * 2 ** (attempts - 1), 3600)


@shared_task(ignore_result=True)
def requeue_stale_notifications() -> int:
    """Re-enqueue what no delivery will otherwise pick up: rows still pending a minute after creation
    (a crash between commit and enqueue, a broker outage), rows waiting for a retry far longer than
    its back-off (the retry message was lost), rows whose sending lease expired (worker killed).
    Claiming keeps this safe against a delivery already under way."""
    now = utcnow()
    config = current_app.config
    longest_backoff = timedelta(seconds=retry_countdown(MAX_ATTEMPTS - 1, config["NOTIFICATION_RETRY_BASE_SECONDS"]))
    lease = timedelta(seconds=config["NOTIFICATION_SENDING_LEASE_SECONDS"])
    ids = db.session.scalars(
        db.select(Notification.id).where(
            ((Notification.status == NotificationStatus.PENDING) & Notification.claimed_at.is_(None)
             & (Notification.created_at < now - timedelta(minutes=1)))
            | ((Notification.status == NotificationStatus.PENDING)
               & (Notification.claimed_at < now - longest_backoff - timedelta(minutes=1)))
            | ((Notification.status == NotificationStatus.SENDING) & (Notification.claimed_at < now - lease))
        ).order_by(Notification.id)
    ).all()
    for notification_id in ids:
        deliver_notification.delay(notification_id)
    return len(ids)
