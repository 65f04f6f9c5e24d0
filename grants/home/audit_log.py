"""The audit log's page, read by administrators: who did what, when, from where, in sentences.

It names the subjects of every area (a dossier's reference, a call's title), so it sits on top with
the other pages that read every area; the audit area below only records (and reads none). Its
blueprint keeps the name ``audit`` and the address ``/admin/journal/``."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l

from grants.access import Access, allow
from grants.audit.services import search_events
from grants.form_fields import page_number
from grants.home.audit_sentences import describe

bp = Blueprint("audit", __name__, url_prefix="/admin/journal")


@bp.get("/")
@allow(Access.ADMIN)
def index():
    action = request.args.get("action", "").strip()[:60] or None
    page = request.args.get("page", 1, type=page_number)
    events, has_next = search_events(action=action, page=max(page, 1))
    return render_template(
        "audit/index.html", lines=describe(events), action=action, page=page, has_next=has_next,
        actions=AUDITED_ACTIONS,
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
