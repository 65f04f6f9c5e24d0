"""Revision b7d2e4f19a03 down and up again on a database that holds reviews: every submitted review gets
the score its marks give (review_score's exact arithmetic), drafts and a submitted review without marks
get none; on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from grants.database import db
from grants.models import Review
from grants.reviews.models import Opinion, ReviewState
from grants.reviews.scoring import score_mismatches
from tests.conftest import MIGRATIONS
from tests.factories import CallFactory, ReviewerFactory
from tests.reviews.conftest import assign, grid, review, under_review


def test_the_migration_computes_the_scores_of_the_existing_reviews(app):
    call = CallFactory()
    grid(call, (Decimal("3"), 5), (Decimal("1.25"), 20), (Decimal("0.5"), 3))
    db.session.refresh(call)
    expected, review_ids = {}, {}
    reviewers = [ReviewerFactory() for _ in range(3)]
    for index in range(4):
        application = under_review(call)
        for offset, reviewer in enumerate(reviewers):
            marks = [Decimal(index + offset) % 6, Decimal(index * 7 + offset) / 4, Decimal(offset)]
            row = review(application, reviewer, marks, submitted=(index + offset) % 4 != 0)
            expected[row.id] = row.score
            review_ids[(index, offset)] = row.id
    bare = assign(under_review(call), reviewers[0])
    db.session.add(Review(assignment=bare, state=ReviewState.SUBMITTED, opinion=Opinion.FUND,
                          submitted_at=sa.func.now()))
    db.session.commit()
    bare_id = bare.review.id
    assert None in expected.values()  # the drafts
    # index 1, offset 1: (3 × 2/5 + 1.25 × 2/20 + 0.5 × 1/3) / 4.75 × 100 = 31.4035… → 31.40
    assert expected[review_ids[(1, 1)]] == Decimal("31.40")

    db.session.remove()
    downgrade(directory=MIGRATIONS, revision="a4f1c9e2b7d5")
    try:
        with db.engine.connect() as connection:
            assert "score" not in {c["name"] for c in sa.inspect(connection).get_columns("reviews")}
    finally:
        upgrade(directory=MIGRATIONS)
    stored = dict(db.session.execute(sa.select(Review.id, Review.score)).all())
    assert stored == {**expected, bare_id: None}
    assert score_mismatches() == []
