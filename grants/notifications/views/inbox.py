"""Notifications in the interface: each user's list (the bell), preferences, following a programme,
and the managers' delivery monitor."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from grants.access import Access, acting_user, allow, is_applicant
from grants.calls import followers
from grants.calls.models import Programme
from grants.database import db
from grants.notifications import services
from grants.notifications.forms import PreferencesForm
from grants.notifications.policies import own_notification_or_404
from grants.outbox.models import Notification
from grants.security import is_local_path

bp = Blueprint("notifications", __name__)

PER_PAGE = 30


@bp.app_context_processor
def bell():
    # Functions, so the queries only run where a template calls them (signed-in users).
    return {"unread_notifications": lambda: services.unread_count(current_user),
            "follows_programme": followers.follows, "is_applicant": is_applicant}


@bp.get("/notifications")
@allow(Access.AUTHENTICATED)
def index():
    page = request.args.get("page", 1, type=int)
    notifications = db.paginate(
        db.select(Notification).where(Notification.recipient_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()),
        page=max(page, 1), per_page=PER_PAGE, error_out=False,
    )
    return render_template("notifications/index.html", notifications=notifications)


@bp.post("/notifications/<int:notification_id>/lue")
@allow(Access.AUTHENTICATED)
def mark_read(notification_id: int):
    notification = own_notification_or_404(notification_id, current_user)
    services.mark_read(notification)
    db.session.commit()
    return redirect(url_for("notifications.index", page=request.form.get("page", 1, type=int),
                            _anchor=f"notification-{notification.id}"))


@bp.post("/notifications/tout-lu")
@allow(Access.AUTHENTICATED)
def mark_all_read():
    count = services.mark_all_read(current_user)
    db.session.commit()
    if count:
        flash(_("Toutes vos notifications sont marquées comme lues."), "success")
    return redirect(url_for("notifications.index"))


@bp.route("/compte/notifications", methods=["GET", "POST"])
@allow(Access.AUTHENTICATED)
def preferences():
    user = acting_user()
    form = PreferencesForm(obj=user)
    if form.validate_on_submit():
        services.set_preferences(user, wants_digest=form.wants_digest.data, wants_call_news=form.wants_call_news.data)
        db.session.commit()
        flash(_("Vos préférences sont enregistrées."), "success")
        return redirect(url_for("notifications.preferences"))
    return render_template("notifications/preferences.html", form=form)


@bp.post("/programmes/<int:programme_id>/suivre")
@allow(Access.APPLICANT)
def follow_programme(programme_id: int):
    if db.session.get(Programme, programme_id) is None:
        abort(404)
    follow = request.form.get("follow") == "1"
    followers.set_follow(current_user, programme_id, follow)
    db.session.commit()
    flash(_("Vous serez prévenu(e) à l'ouverture de ses appels.") if follow
          else _("Vous ne suivez plus ce programme."), "success")
    target = request.form.get("next")
    return redirect(target if is_local_path(target) else url_for("calls.index"))
