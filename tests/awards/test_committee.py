"""The committee session: a proposal down the ranking, adjustments recomputed without writing, and a
confirmation that writes every decision or none, even racing single awards on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import html5lib
import pytest

from grants.awards import committee, services
from grants.awards.services import EnvelopeExceeded
from grants.database import db
from grants.errors import DomainError
from grants.models import (
    Application,
    ApplicationState,
    Call,
    CallEnvelope,
    CommitteeSession,
    Decision,
    Notification,
    Outcome,
    User,
)
from tests.awards.conftest import OPERATING, under_review
from tests.factories import CallEnvelopeFactory, CallFactory, ManagerFactory, member_of

THREADS = 10


def eligible(call, amount="3000.00"):
    application = under_review(call, Decimal(amount))
    application.eligible = True
    db.session.commit()
    return application


def committed(call) -> Decimal:
    return db.session.scalar(db.select(CallEnvelope.committed).filter_by(call_id=call.id, section=OPERATING))


def test_the_proposal_funds_down_the_ranking_until_the_envelope_is_exhausted(call, manager):
    applications = [eligible(call) for _ in range(5)]
    proposal = committee.propose(call, OPERATING)
    assert [line.ranked.application_id for line in proposal.lines] == [a.id for a in applications]
    assert [line.choice for line in proposal.lines] == ["award", "award", "award", "waitlist", "waitlist"]
    assert [line.remaining_after for line in proposal.lines] == [Decimal(x) for x in ("7000", "4000", "1000", "1000", "1000")]
    assert proposal.remaining_after == Decimal("1000.00") and not proposal.exceeds
    adjusted = committee.propose(call, OPERATING, {applications[3].id: committee.CommitteeLine(
        applications[3].id, "award", Decimal("1500.00"))})
    assert adjusted.remaining_after == Decimal("-500.00") and adjusted.exceeds
    assert committed(call) == 0  # a proposal writes nothing


def test_confirmation_writes_every_decision_in_one_session(call, manager):
    applications = [eligible(call) for _ in range(5)]
    lines = [committee.CommitteeLine(applications[0].id, "award", Decimal("3000.00")),
             committee.CommitteeLine(applications[1].id, "award", Decimal("2500.00"), "Montant réduit"),
             committee.CommitteeLine(applications[2].id, "waitlist"),
             committee.CommitteeLine(applications[3].id, "reject", reason="Hors champ"),
             committee.CommitteeLine(applications[4].id, "skip")]
    session = committee.confirm_committee(call, section=OPERATING, held_on=date(2026, 6, 12), actor=manager,
                                          lines=lines, note="CP du 12 juin")
    db.session.commit()
    assert committed(call) == Decimal("5500.00")
    outcomes = {d.application_id: (d.outcome, d.committee_session_id) for d in db.session.scalars(db.select(Decision))}
    assert outcomes == {
        applications[0].id: (Outcome.AWARDED, session.id), applications[1].id: (Outcome.AWARDED, session.id),
        applications[2].id: (Outcome.WAITLISTED, session.id), applications[3].id: (Outcome.REJECTED, session.id),
    }
    assert db.session.get(Application, applications[4].id).state == ApplicationState.UNDER_REVIEW
    events = sorted(db.session.scalars(db.select(Notification.event)))
    assert events == ["application_waitlisted", "decision_awarded", "decision_awarded", "decision_rejected"]
    assert services.ledger_discrepancies() == []


def test_a_committee_that_exceeds_the_envelope_writes_nothing(call, manager):
    applications = [eligible(call, "4000.00") for _ in range(3)]
    lines = [committee.CommitteeLine(a.id, "award", Decimal("4000.00")) for a in applications]
    with pytest.raises(DomainError, match="Enveloppe dépassée : 2\u202f000,00\xa0€ restants") as refused:
        committee.confirm_committee(call, section=OPERATING, held_on=date(2026, 6, 12), actor=manager, lines=lines)
    assert applications[2].reference in refused.value.message
    db.session.rollback()
    assert committed(call) == 0
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 0
    assert db.session.scalar(db.select(db.func.count(CommitteeSession.id))) == 0


def test_an_application_of_another_call_cannot_slip_into_the_committee(call, manager):
    other_call = CallFactory()
    CallEnvelopeFactory(call=other_call, section=OPERATING)
    stranger = eligible(other_call)
    mine = eligible(call)
    with pytest.raises(DomainError, match="introuvable"):
        committee.confirm_committee(call, section=OPERATING, held_on=date(2026, 6, 12), actor=manager, lines=[
            committee.CommitteeLine(mine.id, "award", Decimal("100.00")),
            committee.CommitteeLine(stranger.id, "award", Decimal("100.00"))])
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 0


def form_data(applications, choices, amounts, action):
    data = {"section": "fonctionnement", "held_on": "2026-06-12", "note": "", "action": action}
    for index, (application, choice, amount) in enumerate(zip(applications, choices, amounts, strict=True)):
        data[f"lines-{index}-application_id"] = str(application.id)
        data[f"lines-{index}-choice"] = choice
        data[f"lines-{index}-amount"] = amount
        data[f"lines-{index}-reason"] = "Hors champ" if choice == "reject" else ""
    return data


def test_the_committee_page_recomputes_then_confirms(call, manager, login_as):
    applications = [eligible(call) for _ in range(4)]
    client = login_as(manager)
    page = client.get(f"/gestion/appels/{call.id}/commission")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(html)
    assert applications[0].reference in html and "1\u202f000,00" in html  # what would remain
    choices = ["award", "award", "award", "award"]
    amounts = ["3000", "3000", "3000", "1500"]
    preview = client.post(f"/gestion/appels/{call.id}/commission", data=form_data(applications, choices, amounts, "preview"))
    assert preview.status_code == 200 and "-500,00" in preview.get_data(as_text=True).replace("\u2212", "-")
    assert committed(call) == 0
    refused = client.post(f"/gestion/appels/{call.id}/commission", data=form_data(applications, choices, amounts, "confirm"))
    assert refused.status_code == 422 and "Enveloppe dépassée" in refused.get_data(as_text=True)
    assert committed(call) == 0 and db.session.scalar(db.select(db.func.count(CommitteeSession.id))) == 0
    amounts[3] = "1000"
    done = client.post(f"/gestion/appels/{call.id}/commission", data=form_data(applications, choices, amounts, "confirm"))
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/gestion/appels/{call.id}/enveloppe")
    db.session.expire_all()
    assert committed(call) == Decimal("10000.00")
    assert db.session.scalar(db.select(db.func.count(CommitteeSession.id))) == 1


def test_bad_committee_input_is_refused_on_the_page(call, manager, login_as):
    applications = [eligible(call) for _ in range(2)]
    client = login_as(manager)
    bad = client.post(f"/gestion/appels/{call.id}/commission",
                      data=form_data(applications, ["award", "award"], ["12,345", "-3"], "confirm"))
    assert bad.status_code == 422 and "error-summary" in bad.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 0


def test_only_managers_hold_committees(call, client, login_as):
    eligible(call)
    assert client.get(f"/gestion/appels/{call.id}/commission").status_code == 302
    login_as(member_of())
    assert client.get(f"/gestion/appels/{call.id}/commission").status_code == 403
    assert client.post(f"/gestion/appels/{call.id}/commission", data={"action": "confirm"}).status_code == 403
    assert committed(call) == 0


@pytest.fixture
def app_overrides():
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": THREADS + 4, "max_overflow": 0}}


def test_a_committee_racing_single_awards_never_overspends_on_postgresql(pg_app):
    """A committee of 8 awards of 100 and 10 single awards of 100, at once, on an envelope of 1 000:
    the committee is all in or all out, and the total never passes 1 000."""
    call = CallFactory()
    CallEnvelopeFactory(call=call, section=OPERATING, amount=Decimal("1000.00"))
    manager_id = ManagerFactory().id
    committee_ids = [eligible(call, "100.00").id for _ in range(8)]
    single_ids = [eligible(call, "100.00").id for _ in range(THREADS)]
    call_id = call.id
    db.session.remove()
    barrier = threading.Barrier(THREADS + 1)
    outcomes = {"committee": None, "singles": []}

    def hold_committee():
        with pg_app.app_context():
            actor = db.session.get(User, manager_id)
            the_call = db.session.get(Call, call_id)
            lines = [committee.CommitteeLine(i, "award", Decimal("100.00")) for i in committee_ids]
            barrier.wait(timeout=60)
            try:
                committee.confirm_committee(the_call, section=OPERATING, held_on=date(2026, 6, 12), actor=actor,
                                            lines=lines)
                db.session.commit()
                outcomes["committee"] = "ok"
            except DomainError as error:
                db.session.rollback()
                outcomes["committee"] = error.message
            finally:
                db.session.remove()

    def award_one(application_id):
        with pg_app.app_context():
            actor = db.session.get(User, manager_id)
            application = db.session.get(Application, application_id)
            application.applicant.organisation.memberships  # noqa: B018
            barrier.wait(timeout=60)
            try:
                services.award_grant(application, amount="100", section=OPERATING, actor=actor)
                db.session.commit()
                outcomes["singles"].append("ok")
            except EnvelopeExceeded:
                db.session.rollback()
                outcomes["singles"].append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=hold_committee)] + [
        threading.Thread(target=award_one, args=(i,)) for i in single_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    singles = outcomes["singles"].count("ok")
    in_session = db.session.scalar(db.select(db.func.count(Decision.id)).where(Decision.committee_session_id.is_not(None)))
    total = db.session.scalar(db.select(CallEnvelope.committed).filter_by(call_id=call_id))
    assert len(outcomes["singles"]) == THREADS and outcomes["committee"] is not None
    if outcomes["committee"] == "ok":
        assert in_session == 8 and singles == 2
    else:
        assert "Enveloppe dépassée" in outcomes["committee"] and in_session == 0 and singles == THREADS
        assert db.session.scalar(db.select(db.func.count(CommitteeSession.id))) == 0
    assert total == Decimal(100 * (singles + in_session)) <= Decimal("1000.00")
    assert services.ledger_discrepancies() == []
