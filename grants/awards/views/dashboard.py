"""The envelope dashboard (by programme, and per call) and the exports of decisions."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date

from flask import Response, abort, current_app, render_template, request
from flask_babel import get_locale
from markupsafe import Markup

from grants.access import Access, allow
from grants.awards import exports, figures
from grants.awards.views.decisions import bp
from grants.calls.models import Call, Programme
from grants.database import db, utcnow
from grants.form_fields import page_number, record_id, year_number
from grants.local_time import budget_year, to_local

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def chosen_year() -> int:
    """``?annee=`` when it is a plausible year, else the current budget year."""
    year = request.args.get("annee", type=year_number)
    return year if year and 2000 <= year <= 2100 else budget_year()


def today() -> date:
    return to_local(utcnow()).date()


@bp.get("/gestion/enveloppes")
@allow(Access.MANAGER)
def dashboard():
    year = chosen_year()
    programme_id = request.args.get("programme", type=record_id)
    programmes = db.session.execute(db.select(Programme.id, Programme.name).order_by(Programme.name)).all()
    if programme_id not in {p.id for p in programmes}:
        programme_id = None
    board = figures.envelope_dashboard(year, programme_id=programme_id)
    years = sorted(set(figures.dashboard_years()) | {year}, reverse=True)
    until = min(today(), date(year, 12, 31))

    def render_body() -> Markup:
        total = board.total
        return Markup(render_template(
            "awards/_dashboard_body.html",
            board=board,
            year=year,
            years=years,
            programmes=programmes,
            programme_id=programme_id,
            line_chart=figures.consumption_chart(board.consumption, total.envelope if total else 0, until=until),
            bar_chart=figures.calls_chart(board.calls),
        ))

    key = (str(get_locale()), year, programme_id, until, tuple(years), tuple(map(tuple, programmes)),
           board.fingerprint())
    return render_template("awards/dashboard.html", year=year, body=rendered_body(key, render_body))


# The dashboard's body is the same HTML for the same figures: each process keeps the last few, keyed by
# everything the body shows (the figures, the filters, the language, the chart's last day), so a page
# whose figures did not change costs its queries and the layout, not ~10 ms of templates again; any
# change of a figure makes another key. Kept on the app (its URLs and settings), at most this many.
BODY_CACHE_SIZE = 16


def rendered_body(key: tuple, render) -> Markup:
    """``render()``'s HTML, rendered once per ``key`` among the last :data:`BODY_CACHE_SIZE` keys."""
    bodies: OrderedDict = current_app.extensions.setdefault("awards.dashboard_bodies", OrderedDict())
    body = bodies.get(key)
    if body is None:
        body = bodies[key] = render()
        while len(bodies) > BODY_CACHE_SIZE:
            bodies.popitem(last=False)
    return body


@bp.get("/gestion/appels/<int:call_id>/enveloppe")
@allow(Access.MANAGER)
def call_envelope(call_id: int):
    call = db.get_or_404(Call, call_id)
    board = figures.call_dashboard(call, page=request.args.get("page", 1, type=page_number))
    until = today()

    def render_body() -> Markup:
        total = board.figures.total
        return Markup(render_template(
            "awards/_call_envelope_body.html",
            call=call,
            board=board,
            line_chart=figures.consumption_chart(board.consumption, total.envelope if total else 0, until=until),
        ))

    # The pager's links keep the request's other query parameters.
    key = (str(get_locale()), call.id, call.title, call.year, call.state, call.programme.name, until,
           tuple(sorted(request.args.items(multi=True))), board.fingerprint())
    return render_template("awards/call_envelope.html", call=call, body=rendered_body(key, render_body))


def _attachment(body, mimetype: str, filename: str) -> Response:
    # A text/* mimetype gets "; charset=utf-8" from Werkzeug: naming it here would say it twice.
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/gestion/appels/<int:call_id>/decisions.csv")
@allow(Access.MANAGER)
def decisions_csv(call_id: int):
    call = db.get_or_404(Call, call_id)
    return _attachment(exports.decisions_csv(call), "text/csv", f"decisions-{call.slug}.csv")


@bp.get("/gestion/appels/<int:call_id>/decisions.xlsx")
@allow(Access.MANAGER)
def decisions_xlsx(call_id: int):
    call = db.get_or_404(Call, call_id)
    return _attachment(exports.decisions_xlsx(call), XLSX, f"decisions-{call.slug}.xlsx")


@bp.get("/gestion/exports/scdl-subventions-<int:year>.csv")
@allow(Access.MANAGER)
def scdl(year: int):
    if not 2000 <= year <= 2100:
        abort(404)
    return _attachment(exports.scdl_csv(year), "text/csv", f"scdl-subventions-{year}.csv")
