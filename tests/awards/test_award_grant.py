"""award_grant: envelope drawn by one conditional UPDATE, ledger row, outbox, and every bad input refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from grants.awards import services
from grants.awards.services import EnvelopeExceeded, NotAwardable
from grants.database import db
from grants.errors import DomainError
from grants.models import (
    ApplicationState,
    CallEnvelope,
    Decision,
    EnvelopeMovement,
    MovementKind,
    Notification,
    Outcome,
)
from tests.awards.conftest import INVESTMENT, OPERATING, under_review
from tests.factories import ApplicationFactory, CallFactory


def envelope(call, section=OPERATING) -> CallEnvelope:
    return db.session.scalar(db.select(CallEnvelope).filter_by(call_id=call.id, section=section))


def test_an_award_commits_the_envelope_and_writes_the_ledger_and_the_outbox(call, manager):
    application = under_review(call, Decimal("6000.00"))
    decision = services.award_grant(application, amount=Decimal("4500.00"), section=OPERATING, actor=manager,
                                    reason="Projet prioritaire")
    db.session.commit()
    assert decision.outcome == Outcome.AWARDED and decision.amount == Decimal("4500.00")
    assert application.state == ApplicationState.DECIDED and application.decided_at is not None
    assert envelope(call).committed == Decimal("4500.00") and envelope(call).remaining == Decimal("5500.00")
    movement = db.session.scalar(db.select(EnvelopeMovement))
    assert (movement.kind, movement.amount, movement.decision_id, movement.actor_id) == (
        MovementKind.COMMITMENT, Decimal("4500.00"), decision.id, manager.id)
    mails = db.session.scalars(db.select(Notification)).all()
    assert [m.event for m in mails] == ["decision_awarded"]
    assert "4\u202f500,00" in mails[0].body_text and application.reference in mails[0].body_text
    assert services.ledger_discrepancies() == []


def test_the_amount_may_be_given_as_text_and_the_section_as_its_code(call, manager):
    application = under_review(call, Decimal("6000.00"))
    decision = services.award_grant(application, amount="1500.00", section="investissement", actor=manager)
    db.session.commit()
    assert decision.section == INVESTMENT and envelope(call, INVESTMENT).committed == Decimal("1500.00")


def test_an_award_beyond_what_remains_is_refused_with_the_remaining_amount(call, manager):
    first = under_review(call, Decimal("9000.00"))
    services.award_grant(first, amount=Decimal("8765.43"), section=OPERATING, actor=manager)
    db.session.commit()
    second = under_review(call, Decimal("2000.00"))
    with pytest.raises(EnvelopeExceeded) as refused:
        services.award_grant(second, amount=Decimal("1234.58"), section=OPERATING, actor=manager)
    assert refused.value.remaining == Decimal("1234.57")
    assert refused.value.message == "Enveloppe dépassée : 1\u202f234,57\xa0€ restants"
    assert isinstance(refused.value, DomainError) and refused.value.field == "amount"
    db.session.rollback()
    assert envelope(call).committed == Decimal("8765.43")
    assert db.session.get(type(second), second.id).state == ApplicationState.UNDER_REVIEW
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 1
    # Exactly what remains still fits.
    services.award_grant(second, amount=Decimal("1234.57"), section=OPERATING, actor=manager)
    db.session.commit()
    assert envelope(call).committed == envelope(call).amount


@pytest.mark.parametrize(("amount", "field", "message"), [
    (Decimal("0"), "amount", "strictement positif"),
    (Decimal("-10.00"), "amount", "strictement positif"),
    ("12.345", "amount", "deux décimales"),
    ("douze", "amount", "deux décimales"),
    (None, "amount", "deux décimales"),
    (Decimal("5000.01"), "amount", "demandée"),
])
def test_bad_amounts_are_refused_and_nothing_is_written(call, manager, amount, field, message):
    application = under_review(call, Decimal("5000.00"))
    with pytest.raises(DomainError, match=message) as refused:
        services.award_grant(application, amount=amount, section=OPERATING, actor=manager)
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 0
    assert db.session.scalar(db.select(db.func.count(EnvelopeMovement.id))) == 0
    assert envelope(call).committed == 0


def test_an_unknown_section_or_one_the_call_has_no_envelope_for_is_refused(manager):
    call = CallFactory()
    from tests.factories import CallEnvelopeFactory

    CallEnvelopeFactory(call=call, section=OPERATING, amount=Decimal("1000.00"))
    application = under_review(call, Decimal("500.00"))
    with pytest.raises(DomainError, match="inconnue") as unknown:
        services.award_grant(application, amount="100", section="capital", actor=manager)
    assert unknown.value.field == "section"
    with pytest.raises(DomainError, match="pas d'enveloppe") as closed:
        services.award_grant(application, amount="100", section=INVESTMENT, actor=manager)
    assert closed.value.field == "section"
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 0


def test_an_envelope_of_zero_refuses_everything(manager):
    call = CallFactory()
    from tests.factories import CallEnvelopeFactory

    CallEnvelopeFactory(call=call, section=OPERATING, amount=Decimal("0.00"))
    with pytest.raises(EnvelopeExceeded) as refused:
        services.award_grant(under_review(call), amount="0.01", section=OPERATING, actor=manager)
    assert refused.value.remaining == 0


@pytest.mark.parametrize("state", [ApplicationState.WITHDRAWN, ApplicationState.DRAFT, ApplicationState.SUBMITTED,
                                   ApplicationState.INELIGIBLE, ApplicationState.CORRECTIONS_REQUESTED])
def test_applications_not_under_review_are_not_awardable(call, manager, state):
    application = ApplicationFactory(call=call, state=state, reference="AAP-X-1" if state != "draft" else None,
                                     submitted_at=None if state in ("draft", "withdrawn") else db.func.now())
    with pytest.raises(NotAwardable):
        services.award_grant(application, amount="100", section=OPERATING, actor=manager)
    db.session.rollback()
    assert envelope(call).committed == 0


def test_a_forged_id_and_an_already_decided_application_are_not_awardable(call, manager):
    with pytest.raises(NotAwardable):
        services.award_grant(db.session.get(type(under_review(call)), 999999), amount="100", section=OPERATING,
                             actor=manager)
    application = under_review(call)
    services.award_grant(application, amount="100", section=OPERATING, actor=manager)
    db.session.commit()
    with pytest.raises(NotAwardable, match="déjà"):
        services.award_grant(application, amount="100", section=OPERATING, actor=manager)
    with pytest.raises(NotAwardable):
        services.reject_application(application, reason="Non", actor=manager)
    db.session.rollback()
    assert envelope(call).committed == Decimal("100.00")


def test_a_rejection_needs_a_reason_and_tells_the_applicant(call, manager):
    application = under_review(call)
    with pytest.raises(DomainError) as no_reason:
        services.reject_application(application, reason="  ", actor=manager)
    assert no_reason.value.field == "reason"
    db.session.rollback()
    decision = services.reject_application(application, reason="Hors du champ de l'appel", actor=manager)
    db.session.commit()
    assert decision.outcome == Outcome.REJECTED and application.state == ApplicationState.DECIDED
    mail = db.session.scalar(db.select(Notification))
    assert mail.event == "decision_rejected" and "Hors du champ de l'appel" in mail.body_text
    assert envelope(call).committed == 0


def test_a_waitlisted_application_stays_under_review_and_can_be_funded_later(call, manager):
    application = under_review(call)
    decision = services.waitlist_application(application, actor=manager, reason="Liste complémentaire")
    db.session.commit()
    assert decision.outcome == Outcome.WAITLISTED and application.state == ApplicationState.UNDER_REVIEW
    with pytest.raises(NotAwardable):
        services.waitlist_application(application, actor=manager)
    db.session.rollback()
    awarded = services.award_grant(application, amount="2000", section=OPERATING, actor=manager)
    db.session.commit()
    assert awarded.id == decision.id and awarded.outcome == Outcome.AWARDED
    assert services.decision_for_applicant(application).amount == Decimal("2000.00")
    assert services.ledger_discrepancies() == []


def test_a_rollback_after_an_award_sends_nothing_and_commits_nothing(call, manager):
    application = under_review(call)
    services.award_grant(application, amount="100", section=OPERATING, actor=manager)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == 0
    assert envelope(call).committed == 0
