"""The managers' delivery monitor: how many messages are pending, sent and failed, the failed ones
with their error, and a button that sends a failed one again."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from grants.access import Access, allow
from grants.database import db
from grants.notifications import services
from grants.notifications.views.inbox import bp
from grants.outbox.models import Notification
from grants.privacy import retention


@bp.get("/gestion/notifications")
@allow(Access.MANAGER)
def monitor():
    return render_template("notifications/monitor.html", counts=services.delivery_counts(),
                           failed=services.failed_notifications(), retention_run=retention.last_run(),
                           retention_steps=retention.STEPS)


@bp.post("/gestion/notifications/<int:notification_id>/relancer")
@allow(Access.MANAGER)
def retry(notification_id: int):
    # Managers see every outbox row: the monitor is theirs, whoever the recipient is.
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        abort(404)
    try:
        services.retry_failed(notification, actor=current_user)
    except services.NotRetriable:
        db.session.rollback()
        flash(_("Ce message n'est pas en échec : il n'est pas renvoyé."), "error")
    else:
        db.session.commit()
        flash(_("Le message à %(email)s est renvoyé.", email=notification.recipient_email), "success")
    return redirect(url_for("notifications.monitor"))
