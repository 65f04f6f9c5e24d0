"""The demo instruction: screened FIPCE dossiers, three reviewers, a declared conflict kept, a
disagreement flagged in the ranking, and unscreened dossiers left for the screening page."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from grants.database import db
from grants.models import Application, ApplicationState, Call, User
from grants.reviews.models import ConflictOfInterest, ReviewAssignment
from grants.reviews.ranking import call_ranking
from grants.reviews.services import conflicted_pairs


def test_the_demo_gives_a_ranking_to_discuss_and_respects_conflicts(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    fipce = db.session.scalar(sa.select(Call).where(Call.reference_prefix == "FIPCE"))
    rows = call_ranking(fipce.id)
    # The ressourcerie, awarded outside committee (grants.demo.applications), ranks first.
    assert [row.mean_score for row in rows] == [Decimal("80.00"), Decimal("79.33"), Decimal("57.00"), Decimal("52.00")]
    assert [row.flagged for row in rows] == [False, False, True, False]
    assert rows[3].reviews_done == 1 and rows[3].reviews_assigned == 2  # a draft still being written
    # no assignment anywhere in the demo breaks a conflict of interest
    pairs = db.session.execute(
        sa.select(ReviewAssignment.reviewer_id, Application.applicant_id)
        .join(Application, Application.id == ReviewAssignment.application_id)).all()
    conflicts = conflicted_pairs([r for r, _ in pairs], [a for _, a in pairs])
    assert not conflicts & {tuple(p) for p in pairs}
    lambert = db.session.scalar(sa.select(User).where(User.email == "mathieu.lambert@region.example.org"))
    roubaix = db.session.scalar(sa.select(ConflictOfInterest.applicant_id))
    assert conflicted_pairs([lambert.id], [roubaix]) == {(lambert.id, roubaix)}
    assert db.session.scalar(sa.select(sa.func.count(ConflictOfInterest.id))) == 1
    assert "mathieu.lambert@region.example.org" in result.output
    assert db.session.scalar(sa.select(User).where(User.email == "mathieu.lambert@region.example.org")).is_reviewer
    # dossiers of other open calls are left for the manager's screening
    waiting = db.session.scalar(sa.select(sa.func.count(Application.id)).where(
        Application.state == ApplicationState.SUBMITTED, Application.eligible.is_(None)))
    assert waiting >= 3
