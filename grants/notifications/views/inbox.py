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
from grants.keyset import BadCursor, TimeKey
from grants.notifications import services
from grants.notifications.forms import PreferencesForm
from grants.notifications.policies import own_notification_or_404
from grants.security import is_local_path

bp = Blueprint("notifications", __name__)


@bp.app_context_processor
def bell():
    # Functions, so the queries only run where a template calls them (signed-in users).
    return {"unread_notifications": lambda: services.unread_count(current_user),
            "follows_programme": followers.follows, "is_applicant": is_applicant}


def page_keys(values) -> tuple[TimeKey | None, TimeKey | None]:
    """``avant`` and ``apres`` of a query string or form: at most one, each a key (grants.keyset)."""
    before, after = TimeKey.parse(values.get("avant")), TimeKey.parse(values.get("apres"))
    if before is not None and after is not None:
        raise BadCursor("avant and apres")
    return before, after


@bp.get("/notifications")
@allow(Access.AUTHENTICATED)
def index():
    """The user's notifications, newest first, a page at a time (keyset: ``?avant=``, ``?apres=``); the
    unread count is the user's stored column, no count of the rows."""
    try:
        before, after = page_keys(request.args)
    except BadCursor:
        abort(400)
    page = services.notifications_page(current_user, before=before, after=after)
    return render_template("notifications/index.html", page=page, paged=before is not None or after is not None,
                           before=before, after=after)


@bp.post("/notifications/<int:notification_id>/lue")
@allow(Access.AUTHENTICATED)
def mark_read(notification_id: int):
    notification = own_notification_or_404(notification_id, current_user)
    services.mark_read(notification)
    db.session.commit()
    try:  # back to the page the button was on; a key that is not one leads to the first page
        before, after = page_keys(request.form)
    except BadCursor:
        before = after = None
    return redirect(url_for("notifications.index", avant=before.token() if before else None,
                            apres=after.token() if after else None, _anchor=f"notification-{notification.id}"))


@bp.get("/notifications/<int:notification_id>/ouvrir")
@allow(Access.AUTHENTICATED)
def open_page(notification_id: int):
    """Follow a notification to the page it is about; reading it there marks it read. (Marking one's
    own notification read is harmless enough to ride on a GET: a link, not a form.)"""
    notification = own_notification_or_404(notification_id, current_user)
    if not is_local_path(notification.link):
        abort(404)
    services.mark_read(notification)
    db.session.commit()
    return redirect(notification.link)


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
