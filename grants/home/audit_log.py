"""The audit log's page, read by administrators: who did what, when, from where, in sentences.

It names the subjects of every area (a dossier's reference, a call's title), so it sits on top with
the other pages that read every area; the audit area below only records (and reads none). Its
blueprint keeps the name ``audit`` and the address ``/admin/journal/``."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import lazy_gettext as _l

from grants.access import Access, allow
from grants.audit.services import search_events
from grants.home.audit_sentences import describe
from grants.keyset import BadCursor, TimeKey

bp = Blueprint("audit", __name__, url_prefix="/admin/journal")


@bp.get("/")
@allow(Access.ADMIN)
def index():
    """The log, newest first, 50 events a page: ``?avant=`` (older) or ``?apres=`` (newer) carries the
    key of the shown page's edge event (grants.keyset); a key that is not one is a 400."""
    action = request.args.get("action", "").strip()[:60] or None
    try:
        before, after = TimeKey.parse(request.args.get("avant")), TimeKey.parse(request.args.get("apres"))
    except BadCursor:
        abort(400)
    if before is not None and after is not None:
        abort(400)
    page = search_events(action=action, before=before, after=after)
    return render_template(
        "audit/index.html", lines=describe(page.rows), action=action, page=page,
        paged=before is not None or after is not None, actions=AUDITED_ACTIONS,
    )


# The actions an administrator filters on most (code: what the list says); any other can be typed.
AUDITED_ACTIONS = {
    "auth.login": _l("Connexions"),
    "auth.login_failed": _l("Échecs de connexion"),
    "auth.logout": _l("Déconnexions"),
    "access.refused": _l("Accès refusés"),
    "application.awarded": _l("Subventions accordées"),
    "award.payment": _l("Versements"),
}
