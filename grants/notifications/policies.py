"""Who may touch which notification: each user only his own (404 for anyone else's)."""

from __future__ import annotations

from flask import abort

from grants.database import db
from grants.outbox.models import Notification


def own_notification_or_404(notification_id: int, user) -> Notification:
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.recipient_id != user.id:
        abort(404)
    return notification
