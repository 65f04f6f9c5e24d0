"""Messages point to the page they are about: the bell's items link there (and reading one there
marks it read); reminders open the draft; a waitlisted dossier is told, in its holder's language."""

from __future__ import annotations

from datetime import date

from grants.awards import services as awards
from grants.database import db
from grants.models import Notification, ReviewAssignment
from grants.reviews import services as reviews
from tests.awards.conftest import under_review
from tests.factories import (
    CallEnvelopeFactory,
    CallFactory,
    ManagerFactory,
    ReviewerFactory,
    member_of,
)
from tests.notifications.test_views import notify


def test_a_bell_item_links_to_its_page_and_following_it_marks_it_read(client, login_as):
    me = member_of()
    linked = notify(me, "Décision sur votre dossier", link="/dossiers/42")
    plain = notify(me, "Invitation")
    login_as(me)
    page = client.get("/notifications").get_data(as_text=True)
    assert f'href="/notifications/{linked.id}/ouvrir"' in page
    assert f'href="/notifications/{plain.id}/ouvrir"' not in page
    response = client.get(f"/notifications/{linked.id}/ouvrir")
    assert response.status_code == 302 and response.location == "/dossiers/42"
    db.session.expire_all()
    assert db.session.get(Notification, linked.id).read_at is not None
    assert client.get(f"/notifications/{plain.id}/ouvrir").status_code == 404


def test_nobody_follows_another_users_notification_nor_a_foreign_link(client, login_as):
    me, other = member_of(), member_of()
    theirs = notify(other, "Pas pour moi", link="/dossiers/1")
    forged = notify(me, "Ailleurs", link="//evil.example/")
    login_as(me)
    assert client.get(f"/notifications/{theirs.id}/ouvrir").status_code == 404
    assert client.get(f"/notifications/{forged.id}/ouvrir").status_code == 404
    db.session.expire_all()
    assert db.session.get(Notification, theirs.id).read_at is None


def test_each_event_stores_the_page_of_its_recipient(app, mail_outbox):
    call = CallFactory()
    CallEnvelopeFactory(call=call)
    application = under_review(call)
    manager = ManagerFactory()
    awards.award_grant(application, amount="1000", section="fonctionnement", actor=manager)
    reviewer = ReviewerFactory()
    other = under_review(call, reviewed=False)
    reviews.assign([other], [reviewer], due_on=date(2030, 1, 1), actor=manager)
    db.session.commit()
    assignment = db.session.scalar(db.select(ReviewAssignment).where(ReviewAssignment.application_id == other.id))
    links = {n.event: n.link for n in db.session.scalars(db.select(Notification))}
    assert links["decision_awarded"] == f"/dossiers/{application.id}"
    assert links["review_assigned"] == f"/evaluation/{assignment.id}"


def test_a_waitlisted_dossier_is_told_in_its_holders_language(app, mail_outbox):
    call = CallFactory()
    CallEnvelopeFactory(call=call)
    application = under_review(call)
    french = application.applicant.organisation.memberships[0].user
    english = member_of(application.applicant.organisation, locale="en")
    awards.waitlist_application(application, actor=ManagerFactory(), reason="Financé si des crédits se libèrent")
    db.session.commit()
    rows = {n.recipient_email: n for n in db.session.scalars(
        db.select(Notification).where(Notification.event == "application_waitlisted"))}
    assert set(rows) == {french.email, english.email}
    assert "liste d'attente" in rows[french.email].subject
    assert application.reference in rows[french.email].body_text
    assert "Financé si des crédits se libèrent" in rows[french.email].body_text
    assert "waiting list" in rows[english.email].subject
    assert rows[french.email].link == f"/dossiers/{application.id}"
    assert f"/dossiers/{application.id}" in rows[english.email].body_text
    assert len(mail_outbox) == 2


def test_every_message_but_the_secret_links_names_its_page():
    """A new email template gets its page in PAGE_OF_EVENT (or is a secret link, which the bell must
    not repeat)."""
    from pathlib import Path

    from grants.outbox.services import PAGE_OF_EVENT

    templates = Path(__file__).resolve().parents[2] / "templates" / "email"
    events = {path.name.split(".")[0] for path in templates.glob("*.subject.txt")}
    assert events - set(PAGE_OF_EVENT) == {"invitation", "password_reset", "email_confirmation"}
    assert set(PAGE_OF_EVENT) <= events
