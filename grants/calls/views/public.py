"""Calls for projects: the public pages (list and detail), readable without signing in.

The managers' pages of the same blueprint, under ``/gestion``, are in grants.calls.views.manage (calls),
grants.calls.views.grid (criteria, documents, co-funders) and grants.calls.views.programmes."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import format_percent
from flask_login import current_user

from grants.access import Access, allow
from grants.calls.listing import WHO, call_for_page, public_calls, read_call_filters
from grants.calls.models import CallState, file_kinds_label
from grants.calls.rendering import (
    closes_soon,
    closing_countdown,
    opening_countdown,
    render_markdown,
)
from grants.database import utcnow

# No url_prefix: the public pages live under /appels, the managers' pages under /gestion.
bp = Blueprint("calls", __name__)


@bp.app_template_filter("markdown")
def markdown_filter(text):
    return render_markdown(text)


@bp.app_template_filter("file_kinds")
def file_kinds_filter(kinds):
    return file_kinds_label(kinds)


@bp.app_template_filter("percent")
def percent_filter(fraction):
    return "—" if fraction is None else format_percent(fraction)


@bp.app_context_processor
def call_helpers():
    return {
        "closing_countdown": closing_countdown,
        "opening_countdown": opening_countdown,
        "closes_soon": closes_soon,
        "now_utc": utcnow,
    }


@bp.get("/appels/")
@allow(Access.PUBLIC)
def index():
    filters, errors = read_call_filters(request.args)
    return render_template("calls/index.html", calls=public_calls(filters=filters), filters=filters,
                           errors=errors, who_choices=WHO), (422 if errors else 200)


@bp.get("/appels/<slug>")
@allow(Access.PUBLIC)
def detail(slug: str):
    call = call_for_page(slug)
    # A draft is not published: only a programme manager may preview it.
    if call is None or (call.state == CallState.DRAFT and not is_manager()):
        abort(404)
    return render_template("calls/detail.html", call=call)


def is_manager() -> bool:
    return current_user.is_authenticated and current_user.is_manager
