"""Final reports fixtures: an award on a call with an envelope, its forecast budget, a paid advance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from grants.awards import services as awards
from grants.database import db
from grants.final_reports import services
from grants.local_time import local_today
from grants.models import BudgetLineKind, CallState, PaymentTranche
from tests.awards.conftest import INVESTMENT, OPERATING, under_review
from tests.factories import BudgetLineFactory, CallEnvelopeFactory, CallFactory, ManagerFactory

FORECAST = (  # kind, account, label, amount: expenses 10 000 = resources 10 000
    (BudgetLineKind.EXPENSE, "60", "Achats", Decimal("4000.00")),
    (BudgetLineKind.EXPENSE, "64", "Salaires", Decimal("6000.00")),
    (BudgetLineKind.RESOURCE, "74", "Subvention Région", Decimal("5000.00")),
    (BudgetLineKind.RESOURCE, "75", "Cotisations", Decimal("5000.00")),
)


def awarded(call, manager, *, amount="5000", advance="2500", ends_on=date(2026, 6, 30)):
    """An award of ``amount`` with ``advance`` paid, on an application with the forecast budget above."""
    application = under_review(call, Decimal("5000.00"), ends_on=ends_on, starts_on=date(ends_on.year, 1, 1),
                               total_expenses=Decimal("10000.00"), total_resources=Decimal("10000.00"))
    for position, (kind, account, label, value) in enumerate(FORECAST):
        BudgetLineFactory(application=application, kind=kind, account=account, label=label, amount=value,
                          position=position)
    decision = awards.award_grant(application, amount=amount, section=OPERATING, actor=manager)
    if advance:
        awards.record_payment(decision, amount=advance, tranche=PaymentTranche.ADVANCE, actor=manager,
                              paid_on=local_today())
    db.session.flush()
    return decision


def member(decision):
    return decision.application.applicant.acting_users()[0]


def filled(decision, actuals=("3000", "5000", "4000", "4000"), explanations=("Moins d'achats", "", "", "")):
    """The decision's report saved with ``actuals`` (by line) and submitted."""
    report = services.start_report(decision, actor=member(decision))
    services.save_report(report, activity_report="Nous avons mené le projet.",
                         lines={i: (actuals[i], explanations[i]) for i in range(len(actuals))}, actor=member(decision))
    return report


@pytest.fixture
def manager(app):
    return ManagerFactory()


@pytest.fixture
def call(app):
    """A closed call with 10 000 € in fonctionnement and 4 000 € in investissement."""
    call = CallFactory(state=CallState.CLOSED)
    CallEnvelopeFactory(call=call, section=OPERATING, amount=Decimal("10000.00"))
    CallEnvelopeFactory(call=call, section=INVESTMENT, amount=Decimal("4000.00"))
    return call


@pytest.fixture
def decision(app, call, manager):
    return awarded(call, manager)
