"""#21 finding 3: a conflict of interest declared after the review is transmitted bites at once. The
reviewer loses the assignment and the dossier; his review is kept for the record but no longer counts
(ranking, peers, applicant's comments); the manager who assigned it is told. Both orders are tested."""

from __future__ import annotations

from decimal import Decimal

from grants.applications.policies import can_view
from grants.database import db
from grants.models import ApplicationState, Notification
from grants.reviews import ranking, scoring, services
from grants.reviews.models import AssignmentState, Review, ReviewState
from tests.factories import ManagerFactory, ReviewerFactory
from tests.reviews.conftest import assign, review, under_review


def declare(client, application, reason="Je préside cette association depuis mars"):
    return client.post("/evaluation/conflits", data={"applicant": str(application.applicant_id), "reason": reason})


def test_a_conflict_declared_after_submission_sets_the_review_aside(client, login_as, scored_call):
    application = under_review(scored_call)
    manager = ManagerFactory(email="chargee@region.example")
    tied, other = ReviewerFactory(), ReviewerFactory()
    assignment = assign(application, tied, manager=manager)
    review(application, tied, [90], comment="Excellent projet")
    review(application, other, [40], comment="Budget fragile")
    [before] = ranking.call_ranking(scored_call.id)
    assert before.reviews_done == 2 and before.mean_score == Decimal("65.00")

    login_as(tied)
    assert client.get(f"/evaluation/{assignment.id}").status_code == 200
    assert can_view(tied, application)
    assert declare(client, application).status_code == 302

    db.session.expire_all()
    assert assignment.state == AssignmentState.RECUSED
    assert "après l'évaluation" in assignment.recusal_reason and "Je préside" in assignment.recusal_reason
    kept = db.session.scalar(db.select(Review).where(Review.assignment_id == assignment.id))
    assert kept is not None and kept.state == ReviewState.SUBMITTED  # kept for the record
    assert kept.score == Decimal("90.00")  # its stored score too: the assignment's state leaves it out
    # Access gone at once: the review page, and the dossier with its attachments and bank details.
    assert client.get(f"/evaluation/{assignment.id}").status_code == 404
    assert not can_view(tied, application)
    # Out of the ranking: one review left, his mark no longer in the mean.
    [after] = ranking.call_ranking(scored_call.id)
    assert after.reviews_done == 1 and after.reviews_assigned == 1 and after.mean_score == Decimal("40.00")
    # The manager who assigned it is told, with a link to the call's assignments.
    [mail] = db.session.scalars(db.select(Notification).where(Notification.event == "review_set_aside")).all()
    assert mail.recipient_email == "chargee@region.example" and application.reference in mail.body_text
    assert tied.full_name in mail.body_text and mail.link == f"/gestion/appels/{scored_call.id}/affectations"


def test_the_set_aside_review_is_hidden_from_peers_and_from_the_applicant(client, login_as, scored_call):
    scored_call.show_review_comments = True
    application = under_review(scored_call)
    tied, other = ReviewerFactory(), ReviewerFactory()
    assign(application, tied)
    review(application, tied, [90], comment="Commentaire du lien caché")
    review(application, other, [40], comment="Budget fragile")
    login_as(tied)
    assert declare(client, application).status_code == 302
    db.session.expire_all()
    other_assignment = next(a for a in application_assignments(application) if a.reviewer_id == other.id)
    assert [p.comment for p in scoring.peer_reviews(other_assignment)] == []
    application.state = ApplicationState.DECIDED
    assert services.applicant_visible_comments(application) == ["Budget fragile"]


def test_a_conflict_declared_before_submission_discards_the_draft_and_submission_is_refused(client, login_as,
                                                                                           scored_call):
    application = under_review(scored_call)
    tied = ReviewerFactory()
    assignment = assign(application, tied)
    review(application, tied, [70], submitted=False)
    login_as(tied)
    assert declare(client, application).status_code == 302
    db.session.expire_all()
    assert assignment.state == AssignmentState.RECUSED
    assert db.session.scalar(db.select(Review).where(Review.assignment_id == assignment.id)) is None
    # The other order: the review cannot be transmitted after the declaration.
    assert client.post(f"/evaluation/{assignment.id}/transmettre").status_code == 404
    assert not can_view(tied, application)
    assert db.session.scalars(db.select(Notification).where(Notification.event == "review_set_aside")).all() == []
    [row] = ranking.call_ranking(scored_call.id)
    assert row.reviews_done == 0


def application_assignments(application):
    from grants.reviews.models import ReviewAssignment

    return db.session.scalars(db.select(ReviewAssignment).where(ReviewAssignment.application_id == application.id)).all()
