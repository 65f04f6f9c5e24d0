"""#21 finding 7: an award waits for the reviews. While one is a draft, not started, or none was ever
transmitted, the manager may award only by saying why; that reason is audited."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest

from grants.audit.models import AuditEvent
from grants.awards import services
from grants.database import db
from grants.models import ApplicationState, Decision
from tests.awards.conftest import OPERATING, under_review
from tests.factories import ReviewAssignmentFactory, ReviewFactory, with_submitted_review


def url(application, action=""):
    return f"/gestion/dossiers/{application.id}/decision" + (f"/{action}" if action else "")


def overrides():
    return db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "application.awarded_before_reviews")).all()


def with_draft_review(application):
    ReviewFactory(assignment=ReviewAssignmentFactory(application=application))
    return application


def with_review_not_started(application):
    ReviewAssignmentFactory(application=application)
    return application


@pytest.mark.parametrize("pending", [with_draft_review, with_review_not_started])
def test_an_award_is_refused_while_an_assigned_review_is_not_transmitted(call, manager, pending):
    application = pending(under_review(call))  # one review in, one not
    with pytest.raises(services.ReviewsPending) as refused:
        services.award_grant(application, amount="1000", section=OPERATING, actor=manager)
    assert (refused.value.submitted, refused.value.pending) == (1, 1)
    assert "1 évaluation de ce dossier n'est pas encore transmise" in refused.value.message
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 0


def test_an_award_is_refused_when_no_review_was_ever_transmitted(call, manager):
    application = under_review(call, reviewed=False)
    with pytest.raises(services.ReviewsPending) as refused:
        services.award_grant(application, amount="1000", section=OPERATING, actor=manager)
    assert "Aucune évaluation" in refused.value.message


def test_with_a_reason_the_manager_awards_before_the_reviews_and_it_is_audited(call, manager):
    application = with_draft_review(under_review(call))
    decision = services.award_grant(application, amount="1000", section=OPERATING, actor=manager,
                                    before_reviews_reason="  Urgence : le projet démarre lundi  ")
    db.session.commit()
    assert decision.amount == Decimal("1000.00") and application.state == ApplicationState.DECIDED
    [event] = overrides()
    assert event.actor_id == manager.id and event.subject_id == application.id
    assert event.details["reason"] == "Urgence : le projet démarre lundi"
    assert (event.details["submitted"], event.details["pending"]) == ("1", "1")


def test_all_reviews_in_needs_no_reason_and_a_recused_reviewer_is_not_waited_for(call, manager):
    application = with_submitted_review(under_review(call, reviewed=False))
    from grants.reviews.models import AssignmentState

    ReviewAssignmentFactory(application=application, state=AssignmentState.RECUSED, recusal_reason="Lien familial")
    services.award_grant(application, amount="1000", section=OPERATING, actor=manager)
    db.session.commit()
    assert overrides() == []


def test_the_page_asks_for_the_reason_and_refuses_without_it(call, manager, login_as):
    application = with_draft_review(under_review(call))
    client = login_as(manager)
    page = html.unescape(client.get(url(application)).get_data(as_text=True))
    assert "1 évaluation sur 2 n'est pas encore transmise" in page and 'name="accord-before_reviews_reason"' in page

    data = {"accord-amount": "1 000", "accord-section": "fonctionnement", "accord-reason": ""}
    refused = client.post(url(application, "accorder"), data=data)
    assert refused.status_code == 422
    assert "indiquez pourquoi vous décidez sans l'attendre" in html.unescape(refused.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 0

    granted = client.post(url(application, "accorder"),
                          data={**data, "accord-before_reviews_reason": "Commission exceptionnelle du 3 juin"})
    assert granted.status_code == 302
    db.session.expire_all()
    assert [e.details["reason"] for e in overrides()] == ["Commission exceptionnelle du 3 juin"]


def test_the_reason_field_is_not_shown_once_the_reviews_are_in(call, manager, login_as):
    application = under_review(call)
    page = login_as(manager).get(url(application)).get_data(as_text=True)
    assert "before_reviews_reason" not in page


def test_a_committee_awards_before_the_reviews_only_with_its_observations(call, manager):
    from datetime import date

    from grants.awards import committee
    from grants.errors import DomainError

    application = under_review(call, reviewed=False)
    lines = [committee.CommitteeLine(application.id, "award", Decimal("1000.00"))]
    with pytest.raises(DomainError) as refused:
        committee.confirm_committee(call, section=OPERATING, held_on=date(2026, 6, 12), actor=manager, lines=lines)
    assert application.reference in refused.value.message and "observations de la commission" in refused.value.message
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 0
    committee.confirm_committee(call, section=OPERATING, held_on=date(2026, 6, 12), actor=manager, lines=lines,
                                note="Projet urgent, évaluateur indisponible")
    db.session.commit()
    assert [e.details["reason"] for e in overrides()] == ["Projet urgent, évaluateur indisponible"]
