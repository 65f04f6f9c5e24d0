"""The envelope dashboard (by programme, and per call) and the exports of decisions."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, render_template, request

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
    programmes = db.session.scalars(db.select(Programme).order_by(Programme.name)).all()
    if programme_id not in {p.id for p in programmes}:
        programme_id = None
    board = figures.envelope_dashboard(year, programme_id=programme_id)
    total = board.total
    years = sorted(set(figures.dashboard_years()) | {year}, reverse=True)
    return render_template(
        "awards/dashboard.html",
        board=board,
        year=year,
        years=years,
        programmes=programmes,
        programme_id=programme_id,
        line_chart=figures.consumption_chart(board.consumption, total.envelope if total else 0,
                                             until=min(today(), date(year, 12, 31))),
        bar_chart=figures.calls_chart(board.calls),
    )


@bp.get("/gestion/appels/<int:call_id>/enveloppe")
@allow(Access.MANAGER)
def call_envelope(call_id: int):
    call = db.get_or_404(Call, call_id)
    board = figures.call_dashboard(call, page=request.args.get("page", 1, type=page_number))
    total = board.figures.total
    return render_template(
        "awards/call_envelope.html",
        call=call,
        board=board,
        line_chart=figures.consumption_chart(board.consumption, total.envelope if total else 0, until=today()),
    )


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
