"""What the envelope dashboard reads is kept as the data change: applications by call and state and
decisions by call, outcome and section by database triggers, the ledger by envelope and local day by
``_move``. After each way of writing, the counters equal a recount (``dashboard_discrepancies``), the
dashboard's figures equal those computed from the rows themselves, and ``flask awards verify-ledger``
names a counter written behind the triggers' back."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from grants.awards import closure, figures, services
from grants.awards.models import (
    CallApplicationCount,
    CallDecisionFigures,
    CommitteeSession,
    EnvelopeLedgerDay,
)
from grants.calls.models import Call
from grants.database import db
from grants.local_time import local_today
from grants.models import Application, ApplicationState, CallEnvelope, Decision, Outcome
from tests.awards.conftest import INVESTMENT, OPERATING, under_review
from tests.factories import ApplicationFactory, CallEnvelopeFactory, CallFactory


def states_of(call) -> dict[ApplicationState, int]:
    """The call's applications by state, counted from the rows."""
    db.session.expire_all()
    return dict(Counter(db.session.scalars(sa.select(Application.state).where(Application.call_id == call.id))))


def test_application_counts_follow_creation_moves_bulk_updates_and_deletion(app, call):
    other = CallFactory()
    drafts = [ApplicationFactory(call=call) for _ in range(3)]
    reviewed = [under_review(call) for _ in range(2)]
    ApplicationFactory(call=other)
    db.session.commit()
    assert figures.call_dashboard(call).figures.states == states_of(call) == {
        ApplicationState.DRAFT: 3, ApplicationState.UNDER_REVIEW: 2}

    drafts[0].state = ApplicationState.WITHDRAWN  # through the ORM
    db.session.execute(sa.update(Application).where(Application.id == drafts[1].id)  # a bulk UPDATE
                       .values(call_id=other.id, version=Application.version + 1))
    db.session.delete(drafts[2])
    db.session.commit()
    assert figures.call_dashboard(call).figures.states == states_of(call) == {
        ApplicationState.WITHDRAWN: 1, ApplicationState.UNDER_REVIEW: 2}
    assert figures.call_dashboard(other).figures.states == states_of(other) == {ApplicationState.DRAFT: 2}
    assert services.dashboard_discrepancies() == []
    assert len(reviewed) == 2


def test_decision_figures_follow_awards_refusals_the_waiting_list_cancellation_and_closure(app, call, manager):
    first, second, third, fourth = (under_review(call, Decimal("3000.00")) for _ in range(4))
    services.waitlist_application(third, actor=manager)
    db.session.commit()
    assert figures.call_dashboard(call).figures.outcomes == {Outcome.WAITLISTED: 1}

    services.award_grant(first, amount=Decimal("2000.00"), section=OPERATING, actor=manager)
    award = services.award_grant(second, amount=Decimal("1000.00"), section=INVESTMENT, actor=manager)
    services.award_grant(third, amount=Decimal("500.00"), section=OPERATING, actor=manager)  # off the waiting list
    services.reject_application(fourth, reason="Hors critères", actor=manager)
    db.session.commit()
    board = figures.call_dashboard(call).figures
    assert board.outcomes == {Outcome.AWARDED: 3, Outcome.REJECTED: 1}
    assert board.states == {ApplicationState.DECIDED: 4}

    # The final report: the grant reduced to its actual expenses once part of it is paid; the rest
    # released, the overpayment to recover.
    decision = services.decision_of(first)
    services.record_payment(decision, amount=Decimal("1500.00"), tranche="advance", actor=manager,
                            paid_on=date.today())
    closure.mark_report_accepted(decision)
    closure.reduce_to_actual_expenses(decision, amount=Decimal("1200.00"), actor=manager, reason="Réalisé")
    services.cancel_award(award, actor=manager, reason="Projet abandonné")
    db.session.commit()
    db.session.expire_all()
    sections = {line.section: line for line in figures.call_dashboard(call).figures.sections}
    decision = db.session.get(Decision, decision.id)
    assert (sections[OPERATING].released, sections[OPERATING].to_recover) == (decision.released, decision.recovery_due)
    assert decision.recovery_due == Decimal("300.00")
    assert (sections[INVESTMENT].released, sections[INVESTMENT].to_recover) == (Decimal("0.00"), Decimal("0.00"))
    assert figures.call_dashboard(call).figures.outcomes == {Outcome.AWARDED: 2, Outcome.REJECTED: 1}
    assert services.dashboard_discrepancies() == []


def test_the_day_summary_puts_each_movement_on_the_day_the_chart_shows_it(app, call, manager):
    """An award on its committee's date; a payment and a recovery on their dates; a change of amount on
    the day it is recorded."""
    held_on = date.today() - timedelta(days=3)
    session = CommitteeSession(call_id=call.id, held_on=held_on, confirmed_by_id=manager.id)
    db.session.add(session)
    application = under_review(call, Decimal("3000.00"))
    decision = services.award_grant(application, amount=Decimal("2000.00"), section=OPERATING, actor=manager,
                                    committee_session=session)
    services.record_payment(decision, amount=Decimal("400.00"), tranche="advance", actor=manager,
                            paid_on=held_on + timedelta(days=1))
    services.amend(decision, amount=Decimal("1800.00"), actor=manager, reason="Révision")
    services.record_recovery(decision, amount=Decimal("100.00"), actor=manager, reason="Trop-perçu",
                             recovered_on=held_on + timedelta(days=2))
    db.session.commit()
    envelope = call.envelope_for(OPERATING)
    days = {(row.day, row.committed, row.decommitted, row.paid, row.recovered) for row in db.session.scalars(
        sa.select(EnvelopeLedgerDay).where(EnvelopeLedgerDay.envelope_id == envelope.id))}
    today = local_today()
    assert days == {(held_on, Decimal("2000.00"), 0, 0, 0),
                    (held_on + timedelta(days=1), 0, 0, Decimal("400.00"), 0),
                    (held_on + timedelta(days=2), 0, 0, 0, Decimal("100.00")),
                    (today, 0, Decimal("200.00"), 0, 0)}
    assert [(p.day, p.committed, p.paid) for p in figures.call_dashboard(call).consumption] == [
        (held_on, Decimal("2000.00"), Decimal("0.00")),
        (held_on + timedelta(days=1), Decimal("2000.00"), Decimal("400.00")),
        (held_on + timedelta(days=2), Decimal("2000.00"), Decimal("300.00")),
        (today, Decimal("1800.00"), Decimal("300.00"))]
    assert services.dashboard_discrepancies() == []


def test_verify_ledger_names_a_drifted_counter_and_the_rebuild_restores_the_days(app, call, manager):
    application = under_review(call, Decimal("3000.00"))
    services.award_grant(application, amount=Decimal("2000.00"), section=OPERATING, actor=manager)
    db.session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["awards", "verify-ledger"]).exit_code == 0

    db.session.execute(sa.update(CallApplicationCount).where(CallApplicationCount.call_id == call.id)
                       .values(applications=CallApplicationCount.applications + 2))
    db.session.execute(sa.update(CallDecisionFigures).where(CallDecisionFigures.call_id == call.id)
                       .values(decisions=7))
    envelope = db.session.scalar(sa.select(CallEnvelope).where(CallEnvelope.call_id == call.id,
                                                               CallEnvelope.section == OPERATING))
    db.session.execute(sa.delete(EnvelopeLedgerDay).where(EnvelopeLedgerDay.envelope_id == envelope.id))
    db.session.commit()
    result = runner.invoke(args=["awards", "verify-ledger"])
    assert result.exit_code == 1
    assert f"call {call.id}: decided applications counter 3, recount 1" in result.output
    assert f"call {call.id}: awarded fonctionnement decisions counter 7, recount 1" in result.output
    assert f"envelope {envelope.id}: {local_today()} committed counter 0, recount 2000.00" in result.output

    result = runner.invoke(args=["awards", "rebuild-ledger-days"])
    assert result.exit_code == 0 and "1 envelope days" in result.output
    db.session.execute(sa.update(CallApplicationCount).where(CallApplicationCount.call_id == call.id)
                       .values(applications=CallApplicationCount.applications - 2))
    db.session.execute(sa.update(CallDecisionFigures).where(CallDecisionFigures.call_id == call.id)
                       .values(decisions=1))
    db.session.commit()
    assert runner.invoke(args=["awards", "verify-ledger"]).exit_code == 0


def test_the_envelope_pages_read_the_counters_not_the_rows(app, call, manager):
    """Counters planted behind the triggers' back show on both pages: the pages read them, not a recount."""
    under_review(call)
    db.session.commit()
    db.session.execute(sa.update(CallApplicationCount).where(CallApplicationCount.call_id == call.id)
                       .values(applications=4321))
    db.session.commit()
    board = figures.envelope_dashboard(db.session.get(Call, call.id).year)
    assert {c.call.id: c.states for c in board.calls}[call.id] == {ApplicationState.UNDER_REVIEW: 4321}
    assert figures.call_dashboard(call).figures.states == {ApplicationState.UNDER_REVIEW: 4321}


def test_a_call_lists_its_decisions_by_pages(app, manager):
    call = CallFactory()
    CallEnvelopeFactory(call=call, section=OPERATING, amount=Decimal("100000.00"))
    for _ in range(5):
        services.reject_application(under_review(call, reviewed=False), reason="Hors critères", actor=manager)
    db.session.commit()
    first = figures.call_dashboard(call, page=1)
    assert len(first.awards) == 5 and first.pages.pages == 1
    pages = [figures.decision_page(call.id, page=n, per_page=2) for n in (1, 2, 3, 9)]
    assert [len(p.items) for p in pages] == [2, 2, 1, 1]
    assert pages[3].page == 3  # past the last page, the last page
    assert len({d.id for p in pages[:3] for d in p.items}) == 5


def test_the_demo_seed_leaves_the_dashboard_equal_to_a_recount(app):
    """The demo writes its awards with their past dates, past ``_move``: it rebuilds the day summary."""
    from tests.demo.test_seed import seed

    seed(app)
    assert services.dashboard_discrepancies() == []
    seed(app)  # idempotent
    assert services.dashboard_discrepancies() == []
    awarded = [call for call in db.session.scalars(sa.select(Call))
               if (total := figures.call_dashboard(call).figures.total) is not None and total.committed > 0]
    assert awarded
    for call in awarded:
        board = figures.call_dashboard(call)
        assert (board.consumption[-1].committed, board.consumption[-1].paid) == (
            board.figures.total.committed, board.figures.total.paid)


def test_the_pages_rendered_once_per_set_of_figures_show_every_change(app, call, manager, login_as):
    """The views keep the body of each page per set of figures: a new award, a page of decisions or
    another language shows at once."""
    client = login_as(manager)
    year = db.session.get(Call, call.id).year
    first = under_review(call, Decimal("3000.00"))
    db.session.commit()
    before = client.get(f"/gestion/enveloppes?annee={year}").get_data(as_text=True)
    assert client.get(f"/gestion/enveloppes?annee={year}").get_data(as_text=True) == before
    call_page = client.get(f"/gestion/appels/{call.id}/enveloppe").get_data(as_text=True)
    amount = "2\u202f345,00"  # as Babel writes it in French
    assert amount not in before and amount not in call_page

    services.award_grant(first, amount=Decimal("2345.00"), section=OPERATING, actor=manager)
    db.session.commit()
    assert amount in client.get(f"/gestion/enveloppes?annee={year}").get_data(as_text=True)
    assert amount in client.get(f"/gestion/appels/{call.id}/enveloppe").get_data(as_text=True)


def test_the_migration_counts_and_sums_the_rows_already_there(app, call, manager):
    """Revision e3a8c1d5f702 down and up again on a database holding dossiers, decisions and a ledger:
    the counters and the day summary it writes are those the triggers and ``_move`` kept."""
    from flask_migrate import downgrade, upgrade

    from tests.conftest import MIGRATIONS

    held_on = date.today() - timedelta(days=2)
    session = CommitteeSession(call_id=call.id, held_on=held_on, confirmed_by_id=manager.id)
    db.session.add(session)
    awarded, refused, waiting = (under_review(call, Decimal("3000.00")) for _ in range(3))
    ApplicationFactory(call=call)
    decision = services.award_grant(awarded, amount=Decimal("2000.00"), section=OPERATING, actor=manager,
                                    committee_session=session)
    services.record_payment(decision, amount=Decimal("500.00"), tranche="advance", actor=manager, paid_on=date.today())
    services.reject_application(refused, reason="Hors critères", actor=manager)
    services.waitlist_application(waiting, actor=manager)
    db.session.commit()

    def snapshot():
        """The three tables' rows (a state's count that went back to 0 is a row of the triggers only)."""
        with db.engine.connect() as connection:
            return [sorted(connection.execute(sa.text(query)).all()) for query in (
                "SELECT * FROM call_application_counts WHERE applications <> 0",
                "SELECT * FROM call_decision_figures", "SELECT * FROM envelope_ledger_days")]

    before = snapshot()
    assert all(before)
    db.session.remove()
    downgrade(directory=MIGRATIONS, revision="c3a8e1f07b52")
    upgrade(directory=MIGRATIONS)
    assert snapshot() == before
    assert services.dashboard_discrepancies() == []
