"""Fixtures of the applications tests: an open cooperation call and an association member."""

from __future__ import annotations

from decimal import Decimal

import html5lib
import pytest

from grants.database import db
from grants.organisations.models import Applicant
from tests.factories import CallEnvelopeFactory, CallFactory, member_of

PARSER = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)


def page(response, status: int = 200) -> str:
    """The response's HTML, checked well-formed, with Babel's no-break spaces made plain."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:1500])
    body = response.get_data(as_text=True)
    PARSER.parse(body)
    return body.replace("\u202f", " ").replace("\xa0", " ").replace("&#39;", "'")


@pytest.fixture
def call(app):
    """SISA-like: 1 500 € to 15 000 €, at most half the cost, partner regions, an operating envelope."""
    call = CallFactory(title="Solidaires Ici Solidaires Ailleurs", slug="sisa", reference_prefix="SISA", year=2026,
                       min_grant=Decimal("1500.00"), max_grant=Decimal("15000.00"), max_share_of_cost=Decimal("0.5"),
                       partner_regions=["Kayes", "Saint-Louis", "Matam"], eligible_legal_forms=["association"])
    CallEnvelopeFactory(call=call, amount=Decimal("480000.00"))
    db.session.refresh(call)
    return call


@pytest.fixture
def member(app):
    return member_of()


@pytest.fixture
def applicant(member):
    organisation = member.memberships[0].organisation
    return db.session.scalar(db.select(Applicant).where(Applicant.organisation_id == organisation.id))
