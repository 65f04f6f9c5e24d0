"""Property: whatever sequence of awards, amendments, cancellations, payments and recoveries, the
stored figures equal the ledger's sums, the database's checks hold, and a simple model agrees; and what
the envelope dashboard reads (counters by call, the ledger by day) equals a recount."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grants.awards import closure, figures, services
from grants.database import db
from grants.errors import DomainError
from grants.local_time import local_today
from grants.models import CallEnvelope, Decision, PaymentTranche
from tests.awards.conftest import OPERATING, under_review
from tests.factories import CallEnvelopeFactory, CallFactory, ManagerFactory

APPLICATIONS = 4
cents = st.integers(min_value=1, max_value=4000).map(lambda c: Decimal(c) / 100 * 10)  # up to 400 €, 10-cent steps
operations = st.lists(
    st.one_of(
        st.tuples(st.just("award"), st.integers(0, APPLICATIONS - 1), cents),
        st.tuples(st.just("amend"), st.integers(0, APPLICATIONS - 1), cents),
        st.tuples(st.just("cancel"), st.integers(0, APPLICATIONS - 1), st.booleans()),
        st.tuples(st.just("pay"), st.integers(0, APPLICATIONS - 1), cents, st.sampled_from(list(PaymentTranche))),
        st.tuples(st.just("recover"), st.integers(0, APPLICATIONS - 1), cents),
        # The final report: accepted (the balance becomes payable), the grant reduced to actual expenses,
        # the overpayment recovered.
        st.tuples(st.just("accept_report"), st.integers(0, APPLICATIONS - 1)),
        st.tuples(st.just("reduce"), st.integers(0, APPLICATIONS - 1), cents),
        st.tuples(st.just("recover_overpayment"), st.integers(0, APPLICATIONS - 1), cents),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations)
def test_the_ledger_always_matches_the_figures(app, steps):
    manager = ManagerFactory()
    call = CallFactory()
    envelope = CallEnvelopeFactory(call=call, section=OPERATING, amount=Decimal("700.00"))
    applications = [under_review(call, Decimal("400.00")) for _ in range(APPLICATIONS)]
    model_committed = {i: Decimal("0.00") for i in range(APPLICATIONS)}
    model_paid = {i: Decimal("0.00") for i in range(APPLICATIONS)}
    model_due = {i: Decimal("0.00") for i in range(APPLICATIONS)}
    for step in steps:
        kind, index = step[0], step[1]
        application = applications[index]
        decision = services.decision_of(application)
        try:
            if kind == "award":
                services.award_grant(application, amount=step[2], section=OPERATING, actor=manager)
                model_committed[index] = step[2]
            elif kind == "amend" and decision is not None:
                services.amend(decision, amount=step[2], actor=manager, reason="Révision")
                model_committed[index] = step[2]
            elif kind == "cancel" and decision is not None:
                services.cancel_award(decision, actor=manager, reason="Projet abandonné", recover_paid=step[2])
                model_committed[index] = model_paid[index] = Decimal("0.00")
            elif kind == "pay" and decision is not None:
                services.record_payment(decision, amount=step[2], tranche=step[3], actor=manager,
                                        paid_on=local_today())
                model_paid[index] += step[2]
            elif kind == "recover" and decision is not None:
                services.record_recovery(decision, amount=step[2], actor=manager, reason="Trop-perçu",
                                         recovered_on=local_today())
                model_paid[index] -= step[2]
            elif kind == "accept_report" and decision is not None:
                closure.mark_report_accepted(decision)
            elif kind == "reduce" and decision is not None:
                closure.reduce_to_actual_expenses(decision, amount=step[2], actor=manager, reason="Réalisé")
                model_committed[index] = max(step[2], model_paid[index])
                model_due[index] = max(model_paid[index] - step[2], Decimal("0.00"))
            elif kind == "recover_overpayment" and decision is not None:
                closure.recover_overpayment(decision, amount=step[2], actor=manager, reason="Titre",
                                            recovered_on=local_today())
                model_committed[index] -= step[2]
                model_paid[index] -= step[2]
                model_due[index] -= step[2]
            db.session.commit()
        except DomainError:
            db.session.rollback()
        assert services.ledger_discrepancies() == []
        # What the dashboard reads (counters by call, the ledger by day) equals a recount, and the
        # consumption chart ends on the envelope's figures.
        assert services.dashboard_discrepancies() == []
        stored = db.session.get(CallEnvelope, envelope.id)
        points = figures.call_dashboard(call).consumption
        assert (points[-1].committed, points[-1].paid) == (stored.committed, stored.paid) if points else \
            (stored.committed, stored.paid) == (0, 0)
        assert Decimal(0) <= stored.paid <= stored.committed <= stored.amount
        assert stored.committed == sum(model_committed.values())
        assert stored.paid == sum(model_paid.values())
        for i, app_ in enumerate(applications):
            d = services.decision_of(app_)
            if d is not None:
                assert (d.amount, d.paid, d.recovery_due) == (model_committed[i], model_paid[i], model_due[i])
                assert Decimal(0) <= d.recovery_due <= d.paid <= d.amount
    services.verify_ledger()
    ids = [a.id for a in applications]
    assert db.session.scalar(db.select(db.func.count(Decision.id)).where(Decision.application_id.in_(ids))) <= APPLICATIONS
