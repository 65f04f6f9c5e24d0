"""Delivery of outbox rows by Celery workers (or in-process on the embedded default).

At most once: a delivery first claims the row with a conditional UPDATE (pending → sending); only
the one that claimed it sends. Failures put the row back to pending and retry with back-off.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta

from celery import shared_task
from flask import current_app
from flask_mailman import EmailMessage

from grants.database import db, utcnow
from grants.notifications.models import Notification, NotificationStatus

MAX_ATTEMPTS = 5


def claim(notification_id: int) -> bool:
    """Atomically take a pending notification for sending; False if someone else has it."""
    result = db.session.execute(
        db.update(Notification)
        .where(Notification.id == notification_id, Notification.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.SENDING, attempts=Notification.attempts + 1)
    )
    db.session.commit()
    return result.rowcount == 1


@shared_task(bind=True, max_retries=MAX_ATTEMPTS - 1, ignore_result=True)
def deliver_notification(self, notification_id: int) -> None:
    if not claim(notification_id):
        return
    notification = db.session.get(Notification, notification_id)
    message = EmailMessage(
        subject=notification.subject,
        body=notification.body_text,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[notification.recipient_email],
    )
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        gave_up = notification.attempts >= MAX_ATTEMPTS
        notification.status = NotificationStatus.FAILED if gave_up else NotificationStatus.PENDING
        notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()
        if gave_up:
            current_app.logger.error("notification %s failed for good: %s", notification_id, exc)
            return
        base = current_app.config["NOTIFICATION_RETRY_BASE_SECONDS"]
        raise self.retry(exc=exc, countdown=min(base * 2 ** (notification.attempts - 1), 3600)) from exc
    notification.status = NotificationStatus.SENT
    notification.sent_at = utcnow()
    notification.last_error = None
    db.session.commit()


@shared_task(ignore_result=True)
def requeue_stale_notifications() -> int:
    """Re-enqueue rows still pending a minute after creation (a crash between commit and enqueue,
    or a broker outage). Claiming keeps this safe against a delivery already under way."""
    cutoff = utcnow() - timedelta(minutes=1)
    ids = db.session.scalars(
        db.select(Notification.id).where(
            Notification.status == NotificationStatus.PENDING, Notification.created_at < cutoff
        )
    ).all()
    for notification_id in ids:
        deliver_notification.delay(notification_id)
    return len(ids)
