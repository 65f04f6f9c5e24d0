"""The envelope dashboard: per programme, call and budget section, the envelope, what is committed,
paid and what remains; applications by state; consumption over time; each co-funder's share.

Every figure is read by a fixed number of aggregate queries (one per kind of figure), so a page costs
the same whatever the number of applications, awards or calls. The charts are geometry computed
here and drawn by the templates as inline SVG (no script: the CSP forbids inline code)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination, SelectPagination

from grants.accounts.models import User
from grants.applications.models import Application, ApplicationState
from grants.awards.models import (
    CallApplicationCount,
    CallDecisionFigures,
    Decision,
    EnvelopeLedgerDay,
    Outcome,
)
from grants.calls.models import BudgetSection, Call, CallEnvelope, CallFunder, Programme
from grants.database import Money, db
from grants.organisations.models import Applicant, Organisation

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class SectionFigures:
    section: BudgetSection
    envelope: Decimal
    committed: Decimal
    paid: Decimal
    # Given back to the envelope on final reports (reductions to actual expenses, recovered overpayments),
    # and still to be claimed back from beneficiaries (decisions.released, decisions.recovery_due).
    released: Decimal = ZERO
    to_recover: Decimal = ZERO

    @property
    def remaining(self) -> Decimal:
        return self.envelope - self.committed

    @property
    def to_pay(self) -> Decimal:
        return self.committed - self.paid


def _sum_sections(lines) -> list[SectionFigures]:
    totals: dict[BudgetSection, list[Decimal]] = {}
    for line in lines:
        figures = totals.setdefault(line.section, [ZERO, ZERO, ZERO, ZERO, ZERO])
        figures[0] += line.envelope
        figures[1] += line.committed
        figures[2] += line.paid
        figures[3] += line.released
        figures[4] += line.to_recover
    return [SectionFigures(s, *totals[s]) for s in BudgetSection if s in totals]


def _total(lines) -> SectionFigures | None:
    lines = list(lines)
    if not lines:
        return None
    return SectionFigures(None, sum((x.envelope for x in lines), ZERO), sum((x.committed for x in lines), ZERO),
                          sum((x.paid for x in lines), ZERO), sum((x.released for x in lines), ZERO),
                          sum((x.to_recover for x in lines), ZERO))


@dataclass(frozen=True)
class FunderFigures:
    name: str
    share: Decimal
    envelope: Decimal
    committed: Decimal
    paid: Decimal


@dataclass
class CallFigures:
    """A call's figures. ``total`` and the sums of the classes below are computed once, when first read
    (the page reads them several times): they are read once the figures are complete."""

    call: Call | sa.Row  # the call, or the columns of it the dashboard shows (id, title, state)
    sections: list[SectionFigures] = field(default_factory=list)
    states: dict[ApplicationState, int] = field(default_factory=dict)
    outcomes: dict[Outcome, int] = field(default_factory=dict)
    funders: list[FunderFigures] = field(default_factory=list)

    @cached_property
    def total(self) -> SectionFigures | None:
        return _total(self.sections)

    @property
    def applications(self) -> int:
        return sum(self.states.values())

    def fingerprint(self) -> tuple:
        """Every value of the call's figures a page shows, as a hashable tuple."""
        return (self.call.id, self.call.title, self.call.state, tuple(self.sections),
                tuple(sorted(self.states.items())), tuple(sorted(self.outcomes.items())), tuple(self.funders))


@dataclass(frozen=True)
class ProgrammeName:
    id: int
    name: str


@dataclass
class ProgrammeFigures:
    programme: ProgrammeName
    calls: list[CallFigures]

    @cached_property
    def sections(self) -> list[SectionFigures]:
        return _sum_sections(line for call in self.calls for line in call.sections)

    @cached_property
    def total(self) -> SectionFigures | None:
        return _total(self.sections)


@dataclass(frozen=True)
class ConsumptionPoint:
    """Cumulative committed and paid at the end of ``day``."""

    day: date
    committed: Decimal
    paid: Decimal


@dataclass
class Dashboard:
    year: int
    programmes: list[ProgrammeFigures]
    consumption: list[ConsumptionPoint]

    @cached_property
    def sections(self) -> list[SectionFigures]:
        return _sum_sections(line for p in self.programmes for c in p.calls for line in c.sections)

    @cached_property
    def total(self) -> SectionFigures | None:
        return _total(self.sections)

    @property
    def calls(self) -> list[CallFigures]:
        return [c for p in self.programmes for c in p.calls]

    def fingerprint(self) -> tuple:
        """Every value the dashboard shows, as a hashable tuple: two boards with the same fingerprint
        make the same page (the view renders it once per fingerprint)."""
        return (self.year, tuple(self.consumption),
                tuple((p.programme, tuple(c.fingerprint() for c in p.calls)) for p in self.programmes))


def funder_figures(funders: list[CallFunder], envelope: Decimal, committed: Decimal, paid: Decimal) -> list[FunderFigures]:
    """Each co-funder's part of the envelope, of what is committed and of what is paid, rounded to the
    cent; the last (smallest) share takes the rounding remainder so the parts add up exactly."""
    parts, left = [], [envelope, committed, paid]
    ordered = sorted(funders, key=lambda f: (-f.share, f.name))
    for index, funder in enumerate(ordered):
        if index == len(ordered) - 1:
            values = list(left)
        else:
            values = [(total * funder.share).quantize(CENT) for total in (envelope, committed, paid)]
        left = [remaining - value for remaining, value in zip(left, values, strict=True)]
        parts.append(FunderFigures(funder.name, funder.share, *values))
    return parts


def _figures_by_call(calls: list[Call], call_filter) -> dict[int, CallFigures]:
    """Envelopes, application states, decision outcomes and funders of the selected calls: four
    queries, each reading the counters kept as the data change (a few rows per call), never the
    applications or the decisions themselves."""
    by_call = {call.id: CallFigures(call) for call in calls}
    for call_id, section, amount, committed, paid in db.session.execute(
        db.select(CallEnvelope.call_id, CallEnvelope.section, CallEnvelope.amount, CallEnvelope.committed,
                  CallEnvelope.paid)
        .join(Call, CallEnvelope.call_id == Call.id).where(call_filter).order_by(CallEnvelope.call_id, CallEnvelope.section)
    ):
        by_call[call_id].sections.append(SectionFigures(section, amount, committed, paid))
    for call_id, state, count in db.session.execute(
        db.select(CallApplicationCount.call_id, CallApplicationCount.state, CallApplicationCount.applications)
        .join(Call, CallApplicationCount.call_id == Call.id)
        .where(call_filter, CallApplicationCount.applications > 0)
    ):
        by_call[call_id].states[ApplicationState(state)] = count
    closure: dict[tuple[int, BudgetSection], tuple[Decimal, Decimal]] = {}
    for call_id, outcome, section, count, released, to_recover in db.session.execute(
        db.select(CallDecisionFigures.call_id, CallDecisionFigures.outcome, CallDecisionFigures.section,
                  CallDecisionFigures.decisions, CallDecisionFigures.released, CallDecisionFigures.recovery_due)
        .join(Call, CallDecisionFigures.call_id == Call.id)
        .where(call_filter, CallDecisionFigures.decisions > 0)
    ):
        outcomes = by_call[call_id].outcomes
        outcomes[Outcome(outcome)] = outcomes.get(Outcome(outcome), 0) + count
        if section:
            before = closure.get((call_id, BudgetSection(section)), (ZERO, ZERO))
            closure[(call_id, BudgetSection(section))] = (before[0] + released, before[1] + to_recover)
    for call_id, figures in by_call.items():
        figures.sections = [replace(line, released=closure.get((call_id, line.section), (ZERO, ZERO))[0],
                                    to_recover=closure.get((call_id, line.section), (ZERO, ZERO))[1])
                            for line in figures.sections]
    funders = defaultdict(list)
    for funder in db.session.execute(
        db.select(CallFunder.call_id, CallFunder.name, CallFunder.share)
        .join(Call, CallFunder.call_id == Call.id).where(call_filter)
    ):
        funders[funder.call_id].append(funder)
    for call_id, figures in by_call.items():
        total = figures.total
        if funders[call_id] and total is not None:
            figures.funders = funder_figures(funders[call_id], total.envelope, total.committed, total.paid)
    return by_call


def consumption(call_filter) -> list[ConsumptionPoint]:
    """Cumulative committed and paid, day by day (local days), from the ledger of the selected calls.

    Reads the ledger's day summary (:class:`EnvelopeLedgerDay`, written with each movement on the
    day the chart shows it: see :func:`grants.awards.services.chart_day`), summed over the selected
    envelopes by the database: one query, one row per day that moved, whatever the number of
    movements."""
    points, committed, paid = [], ZERO, ZERO
    for day, committed_in, decommitted, paid_in, recovered in db.session.execute(
        db.select(EnvelopeLedgerDay.day, sa.func.sum(EnvelopeLedgerDay.committed, type_=Money()),
                  sa.func.sum(EnvelopeLedgerDay.decommitted, type_=Money()),
                  sa.func.sum(EnvelopeLedgerDay.paid, type_=Money()),
                  sa.func.sum(EnvelopeLedgerDay.recovered, type_=Money()))
        .join(CallEnvelope, EnvelopeLedgerDay.envelope_id == CallEnvelope.id)
        .join(Call, CallEnvelope.call_id == Call.id)
        .where(call_filter).group_by(EnvelopeLedgerDay.day).order_by(EnvelopeLedgerDay.day)
    ):
        committed += committed_in - decommitted
        paid += paid_in - recovered
        points.append(ConsumptionPoint(day, committed, paid))
    return points


def dashboard_years() -> list[int]:
    return list(db.session.scalars(db.select(Call.year).distinct().order_by(Call.year.desc())))


def envelope_dashboard(year: int, *, programme_id: int | None = None) -> Dashboard:
    """Every call of the budget year, grouped by programme, with its figures: seven queries."""
    call_filter = Call.year == year
    if programme_id is not None:
        call_filter = sa.and_(call_filter, Call.programme_id == programme_id)
    # The columns the page shows, not the calls' whole rows (their texts): ORM objects cost ~50 µs each.
    calls = db.session.execute(
        db.select(Call.id, Call.title, Call.state, Call.programme_id, Programme.name.label("programme_name"))
        .join(Programme, Call.programme_id == Programme.id).where(call_filter)
        .order_by(Programme.name, Call.opens_at, Call.id)
    ).all()
    by_call = _figures_by_call(calls, call_filter)
    programmes: dict[int, ProgrammeFigures] = {}
    for call in calls:
        programmes.setdefault(call.programme_id, ProgrammeFigures(ProgrammeName(call.programme_id, call.programme_name),
                                                                  [])).calls.append(by_call[call.id])
    return Dashboard(year=year, programmes=list(programmes.values()), consumption=consumption(call_filter))


@dataclass(frozen=True)
class AwardRow:
    decision: sa.Row  # the decision's columns the page shows (see decision_page)
    reference: str | None
    title: str
    applicant_name: str


# The decisions of a call are listed by pages: a call of 10,000 dossiers has thousands.
DECISIONS_PAGE_SIZE = 50


@dataclass
class CallDashboard:
    figures: CallFigures
    consumption: list[ConsumptionPoint]
    awards: list[AwardRow]
    pages: Pagination

    def fingerprint(self) -> tuple:
        """Every value of the call's page shows (the call's own fields aside), as a hashable tuple."""
        return (self.figures.fingerprint(), tuple(self.consumption),
                tuple((tuple(row.decision), row.reference, row.title, row.applicant_name) for row in self.awards),
                self.pages.page, self.pages.per_page, self.pages.total)


def call_dashboard(call: Call, *, page: int = 1) -> CallDashboard:
    """One call's figures, consumption and a page of its decisions (with applicants): eight queries,
    whatever the number of its dossiers, decisions or movements."""
    call_filter = Call.id == call.id
    figures = _figures_by_call([call], call_filter)[call.id]
    pages = decision_page(call.id, page=page)
    return CallDashboard(figures=figures, consumption=consumption(call_filter), pages=pages,
                         awards=[AwardRow(row, row.reference, row.title, row.applicant_name) for row in pages.items])


class _RowPagination(SelectPagination):
    """A page of rows (several columns), where Flask-SQLAlchemy's keeps the first column only; counted
    by the statement given as ``counting`` (Flask-SQLAlchemy's wraps the page's query: ~1 ms more)."""

    def _query_items(self) -> list:
        select = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return self._query_args["session"].execute(select).all()

    def _query_count(self) -> int:
        return self._query_args["session"].scalar(self._query_args["counting"])


def decision_page(call_id: int, *, page: int = 1, per_page: int = DECISIONS_PAGE_SIZE) -> Pagination:
    """A page of the call's decisions, by outcome then reference, as rows of the columns the page
    shows (a decision's, its dossier's, its applicant's name): a count and one query; past the last
    page, the last page."""
    query = (
        db.select(Decision.id, Decision.application_id, Decision.outcome, Decision.section, Decision.amount,
                  Decision.paid, Decision.cancelled_at, Application.reference, Application.title,
                  sa.func.coalesce(Organisation.name, User.full_name).label("applicant_name"))
        .join(Application, Decision.application_id == Application.id)
        .join(Applicant, Application.applicant_id == Applicant.id)
        .outerjoin(Organisation, Applicant.organisation_id == Organisation.id)
        .outerjoin(User, Applicant.person_id == User.id)
        .where(Application.call_id == call_id)
        .order_by(Decision.outcome, Application.reference, Decision.id)
    )

    counting = (db.select(sa.func.count()).select_from(Decision)
                .join(Application, Decision.application_id == Application.id).where(Application.call_id == call_id))

    def paginate(number: int) -> Pagination:
        return _RowPagination(select=query, counting=counting, session=db.session, page=number, per_page=per_page,
                              error_out=False)

    pages = paginate(page)
    if not pages.items and pages.page > 1 and pages.total:
        pages = paginate(pages.pages)
    return pages


# --- Chart geometry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    position: float
    label: object  # a date or a Decimal, formatted by the template


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    bottom: int
    committed_points: str
    paid_points: str
    envelope_y: float | None  # None when the envelope is off the scale (or nil)
    x_ticks: list[Tick]
    y_ticks: list[Tick]


# When the envelope is more than this many times what is committed, drawing it would flatten both lines
# against the axis: the scale then fits the figures, and the legend gives the envelope in words.
ENVELOPE_OFF_SCALE = 4
NICE_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))


def _nice_scale(value: Decimal, intervals: int = 4) -> tuple[Decimal, Decimal]:
    """The top of the axis and its step: the step is 1, 2, 2.5 or 5 times a power of ten, and the top
    the first multiple of the step that reaches ``value``, in at most ``intervals`` + 1 steps."""
    if value <= 0:
        return Decimal(1), Decimal("0.25")
    raw = value / intervals
    power = Decimal(10) ** raw.adjusted()
    step = next(power * n for n in NICE_STEPS if power * n >= raw)
    return step * math.ceil(value / step), step


def _day_ticks(first: date, last: date) -> list[date]:
    """At most five dates from ``first`` to ``last``, evenly spaced, none repeated."""
    span = (last - first).days
    if span <= 4:
        return [first + timedelta(days=n) for n in range(span + 1)]
    return sorted({first + timedelta(days=round(span * i / 4)) for i in range(5)})


def consumption_chart(points: list[ConsumptionPoint], envelope: Decimal, *, until: date | None = None,
                      width: int = 640, height: int = 260) -> LineChart | None:
    """Step lines of cumulative committed and paid against the envelope; None when nothing moved.

    The axes fit the data: the days from the first movement to ``until`` (today, or the end of a past
    year), and amounts up to the envelope, or up to the highest figure with round steps when the
    envelope would dwarf it (:data:`ENVELOPE_OFF_SCALE`)."""
    if not points:
        return None
    left, right, top, bottom = 72, 12, 12, 28
    first = points[0].day - timedelta(days=1)
    last = max(until or points[-1].day, points[-1].day)
    span = max((last - first).days, 1)
    highest = max(max(p.committed for p in points), max(p.paid for p in points))
    on_scale = envelope > 0 and envelope <= ENVELOPE_OFF_SCALE * highest
    ceiling, step = _nice_scale(max(envelope, highest) if on_scale else highest)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(day: date) -> float:
        return round(left + plot_w * (day - first).days / span, 1)

    def y(amount: Decimal) -> float:
        return round(top + plot_h * float(1 - amount / ceiling), 1)

    def steps(values: list[tuple[date, Decimal]]) -> str:
        coordinates, previous = [(x(first), y(ZERO))], ZERO
        for day, value in values:
            coordinates += [(x(day), y(previous)), (x(day), y(value))]
            previous = value
        coordinates.append((x(last), y(previous)))
        return " ".join(f"{a},{b}" for a, b in coordinates)

    y_ticks = [Tick(y(step * n), step * n) for n in range(int(ceiling / step) + 1)]
    return LineChart(width=width, height=height, left=left, bottom=height - bottom,
                     committed_points=steps([(p.day, p.committed) for p in points]),
                     paid_points=steps([(p.day, p.paid) for p in points]),
                     envelope_y=y(envelope) if on_scale else None,
                     x_ticks=[Tick(x(day), day) for day in _day_ticks(first, last)], y_ticks=y_ticks)


@dataclass(frozen=True)
class Bar:
    label: str
    figures: SectionFigures
    y: float
    paid_width: float
    unpaid_width: float
    remaining_width: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    bars: list[Bar]
    bar_height: int


def calls_chart(calls: list[CallFigures], *, width: int = 640, bar_height: int = 22) -> BarChart | None:
    """One horizontal bar per call, to a common scale: paid, committed not yet paid, remaining."""
    rows = [(c.call.title, c.total) for c in calls if c.total is not None and c.total.envelope > 0]
    if not rows:
        return None
    left, gap = 12, 30
    scale = max(t.envelope for _, t in rows)
    plot_w = width - 2 * left

    def w(amount: Decimal) -> float:
        return round(plot_w * float(amount / scale), 1)

    bars = [Bar(label=title, figures=t, y=index * (bar_height + gap) + 18, paid_width=w(t.paid),
                unpaid_width=w(t.committed - t.paid), remaining_width=w(max(t.remaining, ZERO)))
            for index, (title, t) in enumerate(rows)]
    return BarChart(width=width, height=len(rows) * (bar_height + gap) + 4, left=left, bars=bars, bar_height=bar_height)
