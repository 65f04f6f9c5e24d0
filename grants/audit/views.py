"""The audit log, read by administrators: who did what, when, from where."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from grants.access import Access, allow
from grants.audit.services import search_events
from grants.form_fields import page_number

bp = Blueprint("audit", __name__, url_prefix="/admin/journal")


@bp.get("/")
@allow(Access.ADMIN)
def index():
    action = request.args.get("action", "").strip() or None
    page = request.args.get("page", 1, type=page_number)
    events, has_next = search_events(action=action, page=max(page, 1))
    return render_template(
        "audit/index.html", events=events, action=action, page=page, has_next=has_next,
        actions=AUDITED_ACTIONS,
    )


# The actions an administrator filters on most; any other can be typed.
AUDITED_ACTIONS = ("auth.login", "auth.login_failed", "auth.logout", "access.refused")
