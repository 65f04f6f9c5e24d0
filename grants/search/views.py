"""The search page (``/recherche``): any signed-in user finds, among the dossiers he may see, those
matching a few words, a reference, a SIRET or an association's name. The query and the filters are in
the URL (bookmarkable); a bad query or filter is a 422 with the reason, never a 500."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from grants.access import Access, acting_user, allow
from grants.applications.models import ApplicationState
from grants.awards.models import Outcome
from grants.calls.models import BudgetSection
from grants.search import exports, services
from grants.search.highlight import marked

bp = Blueprint("search", __name__)

MAX_ID = 2**31 - 1
FILTERS = {"programme": "programme_id", "appel": "call_id", "annee": "year", "etat": "state",
           "section": "section", "montant": "amount", "decision": "decision"}
CHOICES = {
    "state": {s.value: ApplicationState(s) for s in ApplicationState},
    "section": {s.value: BudgetSection(s) for s in BudgetSection},
    "amount": {key: key for key in services.AMOUNT_RANGES},
    "decision": {**{o.value: o.value for o in Outcome}, services.NO_DECISION: services.NO_DECISION},
}


def read_filters(args) -> tuple[services.Filters, list[str]]:
    """The filters of the URL; an unknown or malformed one is named in the errors, not applied."""
    values, errors = {}, []
    for parameter, attribute in FILTERS.items():
        raw = args.get(parameter, "")
        if not raw:
            continue
        if attribute in CHOICES:
            if raw in CHOICES[attribute]:
                values[attribute] = CHOICES[attribute][raw]
                continue
        elif raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID:
            values[attribute] = int(raw)
            continue
        errors.append(_("Filtre « %(name)s » inconnu : il n'est pas appliqué.", name=parameter))
    return services.Filters(**values), errors


@bp.get("/recherche")
@allow(Access.AUTHENTICATED)
def index():
    filters, errors = read_filters(request.args)
    raw = request.args.get("q", "")
    results = None
    try:
        results = services.search(acting_user(), raw, filters, cursor=request.args.get("apres", "")[:64])
    except services.QueryTooLong:
        errors.append(_("La recherche est trop longue : %(max)d caractères au plus.",
                        max=services.MAX_QUERY_LENGTH))
    # The links of the page (facets, next page, export) carry the query and the filters read, and
    # nothing else of the URL (no "_external" or "_scheme" reaching url_for).
    query_args = {name: request.args[name][: services.MAX_QUERY_LENGTH] for name in ("q", *FILTERS)
                  if request.args.get(name)}
    return render_template(
        "search/index.html", q=raw[: services.MAX_QUERY_LENGTH], results=results, filters=filters,
        errors=errors, marked=marked, page_size=services.PAGE_SIZE, candidates=services.CANDIDATES,
        query_args=query_args,
    ), (422 if errors else 200)


def exported(kind: str):
    """Every candidate (at most CANDIDATES) of the search in the URL, as a file. A bad filter or query
    is the page's 422, not a file."""
    filters, errors = read_filters(request.args)
    try:
        results = services.search(acting_user(), request.args.get("q", ""), filters,
                                  page_size=services.CANDIDATES, with_facets=False)
    except services.QueryTooLong:
        results = None
    if errors or results is None:
        return index()
    if kind == "csv":
        response = Response(exports.results_csv(results.applications), mimetype="text/csv")
    else:
        response = Response(exports.results_xlsx(results.applications), mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="recherche-dossiers.{kind}"'
    return response


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/recherche/dossiers.csv")
@allow(Access.MANAGER)
def export_csv():
    return exported("csv")


@bp.get("/recherche/dossiers.xlsx")
@allow(Access.MANAGER)
def export_xlsx():
    return exported("xlsx")
