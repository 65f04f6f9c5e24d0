"""The transactional outbox.

:func:`queue_email` adds a Notification row to the caller's transaction; nothing is sent then. When
that transaction commits, :func:`dispatch_after_commit` hands the new rows' ids to the delivery task;
when it rolls back, the rows vanish with it, so no email leaves for something that did not happen.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import event
from sqlalchemy.orm import Session

from grants.database import db
from grants.notifications.models import Notification

_OUTBOX_KEY = "subventia.outbox"


def queue_email(event_name: str, recipient, *, dedup_key: str | None = None, **context) -> Notification:
    """Queue an email rendered from ``templates/email/<event_name>.subject.txt`` and
    ``.body.txt`` in the recipient's language. ``recipient`` is a User, or an email address."""
    email = getattr(recipient, "email", recipient)
    locale = getattr(recipient, "locale", None) or "fr"
    with force_locale(locale):
        subject = render_template(f"email/{event_name}.subject.txt", **context).strip()
        body = render_template(f"email/{event_name}.body.txt", **context)
    notification = Notification(
        event=event_name,
        recipient_email=email,
        recipient_id=getattr(recipient, "id", None),
        subject=subject,
        body_text=body,
        dedup_key=dedup_key,
    )
    db.session.add(notification)
    return notification


@event.listens_for(Session, "after_flush")
def _remember_queued(session, flush_context):
    queued = [obj.id for obj in session.new if isinstance(obj, Notification)]
    if queued:
        session.info.setdefault(_OUTBOX_KEY, []).extend(queued)


@event.listens_for(Session, "after_commit")
def dispatch_after_commit(session):
    ids = session.info.pop(_OUTBOX_KEY, [])
    if not ids:
        return
    from grants.notifications.tasks import deliver_notification

    for notification_id in ids:
        # A broker outage must not undo the committed action: the row stays pending and the
        # sweeper (notifications.tasks.requeue_stale_notifications) sends it later.
        try:
            deliver_notification.delay(notification_id)
        except Exception:  # noqa: BLE001 — kombu raises many kinds of connection errors
            from flask import current_app

            current_app.logger.exception("could not enqueue notification %s; the sweeper will", notification_id)


@event.listens_for(Session, "after_rollback")
def _forget_queued(session):
    session.info.pop(_OUTBOX_KEY, None)
