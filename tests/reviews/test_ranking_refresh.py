"""The stored ranking is kept current by the commits that change what it reads: each bumps the call's
version and queues one refresh; a burst is refreshed once; drafts and other calls are left alone; a
ranking whose refresh has not run says so on its page, where a manager refreshes it; the sweeper and
``flask reviews verify-ranking`` catch what a lost message or a write behind the app's back left."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from grants.database import db, utcnow
from grants.reviews import ranking, tasks
from grants.reviews.models import CallRanking, RankingEntry
from tests.factories import CallFactory, ManagerFactory, ReviewerFactory
from tests.reviews.conftest import assign, grid, review, under_review

D = Decimal


def status(call_id):
    return db.session.execute(sa.select(CallRanking.version, CallRanking.ranked_version, CallRanking.changed_at)
                              .where(CallRanking.call_id == call_id)).one()


def without_refreshes(monkeypatch) -> list[list[int]]:
    """The refreshes the commits queue, held back (as a worker that has not run them yet)."""
    queued: list[list[int]] = []
    monkeypatch.setattr(ranking, "queue_refresh", lambda call_ids, delay=False: queued.append(list(call_ids)))
    return queued


def test_each_change_bumps_the_version_and_its_commit_queues_the_refresh(app, scored_call, monkeypatch):
    application = under_review(scored_call, reference="S-1")
    first = review(application, ReviewerFactory(), [40])
    assert [row.mean_score for row in ranking.call_ranking(scored_call.id)] == [D("40.00")]  # refreshed in-process
    version, ranked_version, changed_at = status(scored_call.id)
    assert version == ranked_version and changed_at is None

    queued = without_refreshes(monkeypatch)
    review(application, ReviewerFactory(), [80])
    after_version, after_ranked, changed_at = status(scored_call.id)
    assert after_version > after_ranked == version and changed_at is not None
    assert queued and all(ids == [scored_call.id] for ids in queued)
    drafting = assign(application)  # one more assignment: the ranking shows how many are expected
    before = len(queued)
    version = status(scored_call.id)[0]
    review(application, drafting.reviewer, [90], submitted=False)  # a draft: the ranking does not read it
    assert len(queued) == before and status(scored_call.id)[0] == version
    # Until the refresh runs, the stored figures are those of before, and the page says they are.
    page = ranking.ranking_page(scored_call.id)
    assert page.rows[0].mean_score == D("40.00") and page.status.stale
    assert page.status.changed_at == changed_at
    assert ranking.ranking_mismatches(scored_call.id) == [application.id]

    # A burst: one refresh computes all; the others queued with it find the ranking current.
    version = status(scored_call.id)[0]
    first.comment = "Relu."  # a submitted review's comment: not in the ranking
    db.session.commit()
    assert len(queued) == before and status(scored_call.id)[0] == version
    call_id = scored_call.id
    db.session.rollback()  # the task runs in an app context (a session) of its own: end this one's snapshot
    assert tasks.refresh_call_ranking(call_id) is True
    assert tasks.refresh_call_ranking(call_id) is False
    page = ranking.ranking_page(call_id)
    assert page.rows[0].mean_score == D("60.00") and not page.status.stale
    assert ranking.ranking_mismatches(call_id) == []


def test_another_calls_changes_leave_a_ranking_current(app, scored_call, monkeypatch):
    review(under_review(scored_call), ReviewerFactory(), [40])
    other = CallFactory()
    grid(other, (1, 100))
    db.session.refresh(other)
    queued = without_refreshes(monkeypatch)
    review(under_review(other), ReviewerFactory(), [70])
    assert queued and all(ids == [other.id] for ids in queued)
    version, ranked_version, _ = status(scored_call.id)
    assert version == ranked_version


def test_the_page_says_the_ranking_is_being_updated_and_a_manager_refreshes_it(app, client, login_as, scored_call,
                                                                                monkeypatch):
    application = under_review(scored_call, reference="S-1")
    review(application, ReviewerFactory(), [40])
    login_as(ManagerFactory())
    body = client.get(f"/gestion/appels/{scored_call.id}/classement").get_data(as_text=True)
    assert "Classement à jour" in body and "en cours de mise à jour" not in body

    queued = without_refreshes(monkeypatch)
    review(application, ReviewerFactory(), [80])
    assert queued
    body = client.get(f"/gestion/appels/{scored_call.id}/classement").get_data(as_text=True)
    assert "Classement en cours de mise à jour" in body and "40,00" in body
    monkeypatch.undo()
    response = client.post(f"/gestion/appels/{scored_call.id}/classement/mettre-a-jour?tri=spread")
    assert response.status_code == 302 and response.location.endswith(f"/gestion/appels/{scored_call.id}/classement?tri=spread")
    body = client.get(f"/gestion/appels/{scored_call.id}/classement").get_data(as_text=True)
    assert "Classement à jour" in body and "60,00" in body
    assert client.post("/gestion/appels/987654/classement/mettre-a-jour").status_code == 404


def test_a_ranking_never_computed_says_so_and_the_sweeper_computes_it(app, client, login_as, scored_call,
                                                                       monkeypatch):
    application = under_review(scored_call, reference="S-1")
    review(application, ReviewerFactory(), [40])
    # As a database just migrated: a status row stale since long ago, no rows.
    db.session.execute(sa.delete(RankingEntry))
    db.session.execute(sa.update(CallRanking).values(version=1, ranked_version=0, refreshed_at=None,
                                                     changed_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    login_as(ManagerFactory())
    body = client.get(f"/gestion/appels/{scored_call.id}/classement").get_data(as_text=True)
    assert "en cours de calcul" in body
    call_id = scored_call.id
    db.session.rollback()  # the tasks run in sessions of their own
    assert tasks.refresh_stale_rankings() == 1
    assert tasks.refresh_stale_rankings() == 0
    assert [row.reference for row in ranking.call_ranking(call_id)] == ["S-1"]


def test_verify_ranking_passes_then_names_a_stored_row_written_behind_the_apps_back(app, scored_call):
    applications = [under_review(scored_call, reference=f"V-{index}") for index in range(3)]
    for index, application in enumerate(applications):
        review(application, ReviewerFactory(), [30 + index * 20])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reviews", "verify-ranking"])
    assert result.exit_code == 0, result.output
    assert "Rankings consistent" in result.output

    db.session.execute(sa.update(RankingEntry).where(RankingEntry.application_id == applications[1].id)
                       .values(mean_score=1234))
    db.session.commit()
    result = runner.invoke(args=["reviews", "verify-ranking"])
    assert result.exit_code == 1
    assert f"call {scored_call.id}: 1 stored row(s) differ" in result.output and str(applications[1].id) in result.output

    result = runner.invoke(args=["reviews", "refresh-rankings", "--call", str(scored_call.id)])
    assert result.exit_code == 0 and "1 call ranking(s) refreshed" in result.output
    assert runner.invoke(args=["reviews", "verify-ranking"]).exit_code == 0


def test_a_filtered_view_draws_the_envelope_line_before_its_first_row_past_it(app, scored_call):
    reviewer = ReviewerFactory()
    for index, (region, score, amount) in enumerate([("Kayes", 90, "4000"), ("Matam", 80, "4000"),
                                                     ("Kayes", 70, "4000"), ("Matam", 60, "4000")]):
        review(under_review(scored_call, reference=f"E-{index}", partner_region=region,
                            amount_requested=D(amount)), reviewer, [score])
    # The envelope of 10,000 runs out at rank 3 (cumulative 12,000): in Matam's view, before rank 4.
    page = ranking.ranking_page(scored_call.id, envelope=D("10000"), partner_region="Matam", page_size=1)
    assert [row.rank for row in page.rows] == [2] and page.first_over == 3 and page.envelope_line is None
    page = ranking.ranking_page(scored_call.id, page=2, envelope=D("10000"), partner_region="Matam", page_size=1)
    assert [row.rank for row in page.rows] == [4] and page.envelope_line == 4
    page = ranking.ranking_page(scored_call.id, envelope=D("10000"), partner_region="Kayes")
    assert [row.rank for row in page.rows] == [1, 3] and page.envelope_line == 3
