"""Conventions fixtures: a call with a large envelope and an award above the convention threshold."""

from __future__ import annotations

from decimal import Decimal

import pytest

from grants.awards import services as awards
from grants.database import db
from grants.models import CallState
from tests.awards.conftest import OPERATING, under_review
from tests.factories import CallEnvelopeFactory, CallFactory, ManagerFactory

BIG = Decimal("25000.00")


@pytest.fixture
def manager(app):
    return ManagerFactory()


@pytest.fixture
def big_call(app):
    call = CallFactory(state=CallState.CLOSED, max_grant=Decimal("50000.00"))
    CallEnvelopeFactory(call=call, section=OPERATING, amount=Decimal("100000.00"))
    return call


@pytest.fixture
def award(big_call, manager):
    application = under_review(big_call, amount_requested=Decimal("30000.00"))
    decision = awards.award_grant(application, amount=BIG, section=OPERATING, actor=manager)
    db.session.commit()
    return decision


def owner_of(decision):
    return decision.application.applicant.organisation.memberships[0].user
