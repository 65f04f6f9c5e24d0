"""decision_of answers a page's repeated questions with one query, and never an outdated answer: a
decision made, or pending, after a read is seen."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from grants.awards import services
from grants.database import db, utcnow
from grants.models import Decision, Outcome
from tests.awards.conftest import OPERATING, under_review
from tests.test_query_counts import counted_statements


def test_a_page_reads_the_decision_once(call, manager):
    application = under_review(call)
    services.award_grant(application, amount=Decimal("1000.00"), section=OPERATING, actor=manager)
    db.session.commit()
    with counted_statements() as statements:
        first = services.decision_of(application)
        assert services.decision_of(application) is first
        assert services.decision_for_applicant(application).amount == Decimal("1000.00")
        services.decision_timeline(application)
    decision_reads = [s for s in statements if "FROM decisions" in s]
    assert len(decision_reads) == 1, statements


def test_a_decision_made_after_a_read_is_seen(call, manager):
    application = under_review(call)
    db.session.commit()
    assert services.decision_of(application) is None
    decision = services.award_grant(application, amount=Decimal("1000.00"), section=OPERATING, actor=manager)
    assert services.decision_of(application) is decision  # the award flushed: the answer was dropped
    db.session.rollback()
    assert services.decision_of(application) is None  # the transaction ended: read again


def test_a_pending_decision_is_not_hidden_by_an_earlier_read(call, manager):
    application = under_review(call)
    db.session.commit()
    assert services.decision_of(application) is None
    db.session.add(Decision(application=application, outcome=Outcome.REJECTED, reason="Hors sujet",
                            decided_by=manager, decided_at=utcnow()))
    found = services.decision_of(application)  # not flushed yet: read again, which flushes it
    assert found is not None and found.outcome == Outcome.REJECTED
    assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 1
