"""Calls for projects: the public pages (list and detail), readable without signing in.

The managers' pages of the same blueprint, under ``/gestion``, are in grants.calls.views.manage (calls),
grants.calls.views.grid (criteria, documents, co-funders) and grants.calls.views.programmes."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import format_percent
from flask_login import current_user

from grants import page_cache
from grants.access import Access, allow
from grants.calls import public_cache
from grants.calls.listing import (
    PAGE_PARAMETERS,
    WHO,
    call_for_page,
    next_change,
    public_calls,
    read_call_filters,
    read_pages,
)
from grants.calls.models import CallState, file_kinds_label
from grants.calls.rendering import (
    closes_soon,
    closing_countdown,
    opening_countdown,
    render_markdown,
)
from grants.database import utcnow
from grants.local_time import next_local_midnight

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
@page_cache.public_page(public_cache.SCOPE, parameters=tuple(PAGE_PARAMETERS.values()))
def index():
    filters, errors = read_call_filters(request.args)
    if page_cache.is_storing():
        # Countdowns are in days (Paris midnight) and a call changes section when it opens or closes.
        page_cache.expire_by(next_local_midnight())
        page_cache.expire_by(next_change())
    calls = public_calls(filters=filters, pages=read_pages(request.args))
    return render_template("calls/index.html", calls=calls, filters=filters, errors=errors,
                           who_choices=WHO), (422 if errors else 200)


@bp.get("/appels/<slug>")
@allow(Access.PUBLIC)
@page_cache.public_page(public_cache.SCOPE)
def detail(slug: str):
    call = call_for_page(slug)
    # A draft is not published: only a programme manager may preview it.
    if call is None or (call.state == CallState.DRAFT and not is_manager()):
        abort(404)
    now = utcnow()
    page_cache.expire_by(next_local_midnight())
    page_cache.expire_by(min((i for i in (call.opens_at, call.closes_at) if i > now), default=None))
    return render_template("calls/detail.html", call=call)


def is_manager() -> bool:
    return current_user.is_authenticated and current_user.is_manager
