"""Awards fixtures: a call with an envelope per section, applications under review, a manager."""

from __future__ import annotations

from decimal import Decimal

import pytest

from grants.models import ApplicationState, BudgetSection, CallState
from tests.factories import (
    CallEnvelopeFactory,
    CallFactory,
    ManagerFactory,
    MembershipFactory,
    OrganisationApplicantFactory,
    SubmittedApplicationFactory,
    UserFactory,
    with_submitted_review,
)

OPERATING = BudgetSection.OPERATING
INVESTMENT = BudgetSection.INVESTMENT


def under_review(call, amount_requested: Decimal = Decimal("5000.00"), *, reviewed: bool = True, **fields):
    """An application of ``call`` past screening, whose organisation has one member; ``reviewed``: its
    one reviewer has transmitted his review, as an award requires (without a reason to decide first)."""
    member = UserFactory()
    applicant = OrganisationApplicantFactory()
    MembershipFactory(user=member, organisation=applicant.organisation)
    application = SubmittedApplicationFactory(call=call, applicant=applicant, created_by=member,
                                              state=ApplicationState.UNDER_REVIEW, amount_requested=amount_requested,
                                              **fields)
    return with_submitted_review(application) if reviewed else application


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
