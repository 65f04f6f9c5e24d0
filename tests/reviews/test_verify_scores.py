"""``flask reviews verify-scores`` passes when every stored score equals its marks' score, and names each
review whose stored score drifted (or is missing) with exit code 1."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from grants.database import db
from grants.reviews.models import Review
from grants.reviews.scoring import score_mismatches
from tests.factories import ReviewerFactory
from tests.reviews.conftest import review, under_review


def test_verify_scores_passes_then_names_each_drifted_score(app, scored_call):
    application = under_review(scored_call)
    kept = review(application, ReviewerFactory(), [72.5])
    drifted = review(application, ReviewerFactory(), [40])
    missing = review(application, ReviewerFactory(), [55])
    review(under_review(scored_call), ReviewerFactory(), [10], submitted=False)  # a draft has no score
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reviews", "verify-scores"])
    assert result.exit_code == 0, result.output
    assert "Scores consistent" in result.output
    assert db.session.get(Review, kept.id).score == Decimal("72.50")

    # Scores written behind the scoring service's back, as a faulty script would.
    db.session.execute(sa.update(Review).where(Review.id == drifted.id).values(score=Decimal("41.00")))
    db.session.execute(sa.update(Review).where(Review.id == missing.id).values(score=None))
    db.session.commit()
    result = runner.invoke(args=["reviews", "verify-scores"])
    assert result.exit_code == 1
    assert f"review {drifted.id}: stored 41.00, computed 40.00" in result.output
    assert f"review {missing.id}: stored none, computed 55.00" in result.output
    assert f"review {kept.id}:" not in result.output
    # Batches smaller than the reviews find the same ones.
    assert [m.review_id for m in score_mismatches(batch=1)] == sorted([drifted.id, missing.id])
