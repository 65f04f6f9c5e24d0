"""The envelope dashboard: per programme, call and budget section, the envelope, what is committed,
paid and what remains; applications by state; consumption over time; each co-funder's share.

Every figure is read by a fixed number of aggregate queries (one per kind of figure), so a page costs
the same whatever the number of applications, awards or calls. The charts are geometry computed
here and drawn by the templates as inline SVG (no script: the CSP forbids inline code)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from grants.applications.models import Application, ApplicationState
from grants.awards.models import Decision, EnvelopeMovement, MovementKind, Outcome
from grants.calls.models import BudgetSection, Call, CallEnvelope, CallFunder, Programme
from grants.database import Money, UTCDateTime, db
from grants.local_time import to_local
from grants.organisations.models import Applicant

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class SectionFigures:
    section: BudgetSection
    envelope: Decimal
    committed: Decimal
    paid: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.envelope - self.committed

    @property
    def to_pay(self) -> Decimal:
        return self.committed - self.paid


def _sum_sections(lines) -> list[SectionFigures]:
    totals: dict[BudgetSection, list[Decimal]] = {}
    for line in lines:
        figures = totals.setdefault(line.section, [ZERO, ZERO, ZERO])
        figures[0] += line.envelope
        figures[1] += line.committed
        figures[2] += line.paid
    return [SectionFigures(s, *totals[s]) for s in BudgetSection if s in totals]


def _total(lines) -> SectionFigures | None:
    lines = list(lines)
    if not lines:
        return None
    return SectionFigures(None, sum((x.envelope for x in lines), ZERO), sum((x.committed for x in lines), ZERO),
                          sum((x.paid for x in lines), ZERO))


@dataclass(frozen=True)
class FunderFigures:
    name: str
    share: Decimal
    envelope: Decimal
    committed: Decimal
    paid: Decimal


@dataclass
class CallFigures:
    call: Call
    sections: list[SectionFigures] = field(default_factory=list)
    states: dict[ApplicationState, int] = field(default_factory=dict)
    outcomes: dict[Outcome, int] = field(default_factory=dict)
    funders: list[FunderFigures] = field(default_factory=list)

    @property
    def total(self) -> SectionFigures | None:
        return _total(self.sections)

    @property
    def applications(self) -> int:
        return sum(self.states.values())


@dataclass
class ProgrammeFigures:
    programme: Programme
    calls: list[CallFigures]

    @property
    def sections(self) -> list[SectionFigures]:
        return _sum_sections(line for call in self.calls for line in call.sections)

    @property
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

    @property
    def sections(self) -> list[SectionFigures]:
        return _sum_sections(line for p in self.programmes for c in p.calls for line in c.sections)

    @property
    def total(self) -> SectionFigures | None:
        return _total(self.sections)

    @property
    def calls(self) -> list[CallFigures]:
        return [c for p in self.programmes for c in p.calls]


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
    """Envelopes, application states, decision outcomes and funders of the selected calls: four queries."""
    by_call = {call.id: CallFigures(call) for call in calls}
    for envelope in db.session.scalars(
        db.select(CallEnvelope).join(Call).where(call_filter).order_by(CallEnvelope.call_id, CallEnvelope.section)
    ):
        by_call[envelope.call_id].sections.append(
            SectionFigures(envelope.section, envelope.amount, envelope.committed, envelope.paid))
    for call_id, state, count in db.session.execute(
        db.select(Application.call_id, Application.state, sa.func.count())
        .join(Call, Application.call_id == Call.id).where(call_filter).group_by(Application.call_id, Application.state)
    ):
        by_call[call_id].states[state] = count
    for call_id, outcome, count in db.session.execute(
        db.select(Application.call_id, Decision.outcome, sa.func.count())
        .join(Application, Decision.application_id == Application.id).join(Call, Application.call_id == Call.id)
        .where(call_filter, Decision.cancelled_at.is_(None)).group_by(Application.call_id, Decision.outcome)
    ):
        by_call[call_id].outcomes[outcome] = count
    funders = defaultdict(list)
    for funder in db.session.scalars(db.select(CallFunder).join(Call).where(call_filter)):
        funders[funder.call_id].append(funder)
    for call_id, figures in by_call.items():
        total = figures.total
        if funders[call_id] and total is not None:
            figures.funders = funder_figures(funders[call_id], total.envelope, total.committed, total.paid)
    return by_call


def _hour_of(column):
    """The UTC hour an instant falls in, computed by the database. Paris is a whole number of hours
    from UTC, so an hour belongs to exactly one Paris day."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.date_trunc("hour", column, type_=UTCDateTime())
    return sa.func.strftime("%Y-%m-%d %H:00:00", column, type_=UTCDateTime())


def consumption(call_filter) -> list[ConsumptionPoint]:
    """Cumulative committed and paid, day by day (Paris days; a payment counts on its payment date),
    from the ledger of the selected calls. One query, which sums the ledger by kind, payment date and
    hour in the database: the page costs the same whatever the number of movements."""
    daily: dict[date, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    hour = _hour_of(EnvelopeMovement.created_at)
    for kind, amount, hour_start, effective_on in db.session.execute(
        db.select(EnvelopeMovement.kind, sa.func.sum(EnvelopeMovement.amount, type_=Money()), hour,
                  EnvelopeMovement.effective_on)
        .join(CallEnvelope, EnvelopeMovement.envelope_id == CallEnvelope.id)
        .join(Call, CallEnvelope.call_id == Call.id).where(call_filter)
        .group_by(EnvelopeMovement.kind, hour, EnvelopeMovement.effective_on)
    ):
        day = effective_on or to_local(hour_start).date()
        if kind in (MovementKind.COMMITMENT, MovementKind.INCREASE):
            daily[day][0] += amount
        elif kind in (MovementKind.DECREASE, MovementKind.CANCELLATION):
            daily[day][0] -= amount
        elif kind == MovementKind.PAYMENT:
            daily[day][1] += amount
        else:
            daily[day][1] -= amount
    points, committed, paid = [], ZERO, ZERO
    for day in sorted(daily):
        committed += daily[day][0]
        paid += daily[day][1]
        points.append(ConsumptionPoint(day, committed, paid))
    return points


def dashboard_years() -> list[int]:
    return list(db.session.scalars(db.select(Call.year).distinct().order_by(Call.year.desc())))


def envelope_dashboard(year: int, *, programme_id: int | None = None) -> Dashboard:
    """Every call of the budget year, grouped by programme, with its figures: seven queries."""
    call_filter = Call.year == year
    if programme_id is not None:
        call_filter = sa.and_(call_filter, Call.programme_id == programme_id)
    calls = db.session.scalars(
        db.select(Call).join(Programme).where(call_filter).options(sa.orm.contains_eager(Call.programme))
        .order_by(Programme.name, Call.opens_at, Call.id)
    ).all()
    by_call = _figures_by_call(calls, call_filter)
    programmes: dict[int, ProgrammeFigures] = {}
    for call in calls:
        programmes.setdefault(call.programme_id, ProgrammeFigures(call.programme, [])).calls.append(by_call[call.id])
    return Dashboard(year=year, programmes=list(programmes.values()), consumption=consumption(call_filter))


@dataclass(frozen=True)
class AwardRow:
    decision: Decision
    reference: str | None
    title: str
    applicant_name: str


@dataclass
class CallDashboard:
    figures: CallFigures
    consumption: list[ConsumptionPoint]
    awards: list[AwardRow]


def call_dashboard(call: Call) -> CallDashboard:
    """One call's figures, consumption and its decisions (with applicants): seven queries."""
    call_filter = Call.id == call.id
    figures = _figures_by_call([call], call_filter)[call.id]
    return CallDashboard(figures=figures, consumption=consumption(call_filter), awards=decision_rows(call.id))


def decision_rows(call_id: int) -> list[AwardRow]:
    """The call's decisions with their application and applicant, in one query."""
    rows = db.session.execute(
        db.select(Decision, Application)
        .join(Application, Decision.application_id == Application.id)
        .where(Application.call_id == call_id)
        .options(sa.orm.joinedload(Application.applicant).joinedload(Applicant.organisation),
                 sa.orm.joinedload(Application.applicant).joinedload(Applicant.person))
        .order_by(Decision.outcome, Application.reference)
    ).unique().all()
    return [AwardRow(decision, application.reference, application.title, application.applicant.display_name)
            for decision, application in rows]


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
    envelope_y: float | None
    x_ticks: list[Tick]
    y_ticks: list[Tick]


def _nice_ceiling(value: Decimal) -> Decimal:
    """1, 2 or 5 times a power of ten, at least ``value``: round figures on the axis."""
    if value <= 0:
        return Decimal(1)
    power = Decimal(10) ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def consumption_chart(points: list[ConsumptionPoint], envelope: Decimal, *, until: date | None = None,
                      width: int = 640, height: int = 260) -> LineChart | None:
    """Step lines of cumulative committed and paid against the envelope; None when nothing moved."""
    if not points:
        return None
    left, right, top, bottom = 72, 12, 12, 28
    first = points[0].day - timedelta(days=1)
    last = max(until or points[-1].day, points[-1].day)
    span = max((last - first).days, 1)
    ceiling = _nice_ceiling(max(envelope, max(p.committed for p in points)))
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

    x_ticks = [Tick(x(first + timedelta(days=round(span * i / 4))), first + timedelta(days=round(span * i / 4)))
               for i in range(5)]
    y_ticks = [Tick(y(ceiling * i / 4), ceiling * i / 4) for i in range(5)]
    return LineChart(width=width, height=height, left=left, bottom=height - bottom,
                     committed_points=steps([(p.day, p.committed) for p in points]),
                     paid_points=steps([(p.day, p.paid) for p in points]),
                     envelope_y=y(envelope) if envelope > 0 else None, x_ticks=x_ticks, y_ticks=y_ticks)


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
