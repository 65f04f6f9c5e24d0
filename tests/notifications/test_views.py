"""The in-app list (the bell), preferences, following a programme, the managers' monitor and CLI."""

from __future__ import annotations

import re

import pytest

from grants.database import db, utcnow
from grants.models import AuditEvent, Notification, NotificationStatus, ProgrammeFollow
from tests.factories import (
    CallFactory,
    ManagerFactory,
    ReviewerFactory,
    UserFactory,
    member_of,
)
from tests.notifications.test_outbox import queue_test_email


def notify(user, subject="Votre dossier", **fields):
    row = Notification(event="test", recipient_email=user.email, recipient_id=user.id, subject=subject,
                       body_text=f"Corps de « {subject} »", **fields)
    db.session.add(row)
    db.session.info.pop("subventia.outbox", None)  # shown in the list only; no delivery in these tests
    db.session.commit()
    return row


def bell_label(html: str) -> str:
    match = re.search(r'<a class="bell"[^>]*>.*?<span class="visually-hidden">([^<]*)</span>', html, re.S)
    return match.group(1).strip() if match else ""


def test_the_list_shows_only_my_notifications_newest_first_and_the_bell_counts_unread(app, client, login_as):
    me, other = member_of(), member_of()
    notify(me, "Premier message")
    notify(me, "Deuxième message")
    notify(me, "Déjà lu", read_at=utcnow())
    notify(other, "Pas pour moi")
    login_as(me)
    page = client.get("/notifications").get_data(as_text=True)
    assert page.index("Déjà lu") < page.index("Deuxième message") < page.index("Premier message")
    assert "Pas pour moi" not in page
    assert bell_label(page) == "Notifications : 2 non lues"
    assert '<span class="bell-count" aria-hidden="true">2</span>' in page


def test_mark_one_then_all_read(app, client, login_as):
    me = member_of()
    first, second = notify(me, "Un"), notify(me, "Deux")
    login_as(me)
    response = client.post(f"/notifications/{first.id}/lue")
    assert response.status_code == 302 and response.location.endswith(f"#notification-{first.id}")
    db.session.expire_all()
    assert db.session.get(Notification, first.id).read_at is not None
    assert db.session.get(Notification, second.id).read_at is None
    client.post("/notifications/tout-lu")
    db.session.expire_all()
    assert db.session.get(Notification, second.id).read_at is not None
    page = client.get("/notifications").get_data(as_text=True)
    assert bell_label(page).startswith("Notifications : 0 non lue") and "bell-count" not in page


def test_someone_elses_notification_is_not_found(app, client, login_as):
    theirs = notify(member_of(), "Privé")
    login_as(member_of())
    assert client.post(f"/notifications/{theirs.id}/lue").status_code == 404
    client.post("/notifications/tout-lu")
    db.session.expire_all()
    assert db.session.get(Notification, theirs.id).read_at is None


def test_the_list_needs_a_signed_in_user(app, client):
    assert client.get("/notifications").status_code == 302
    assert client.post("/notifications/tout-lu").status_code == 302


def test_preferences_turn_off_call_news_and_say_what_cannot_be(app, client, login_as):
    member = member_of()
    login_as(member)
    page = client.get("/compte/notifications").get_data(as_text=True)
    assert "ne peuvent pas être désactivés" in page
    assert 'name="wants_digest"' not in page  # the digest is for managers
    client.post("/compte/notifications", data={"wants_call_news": "", "wants_digest": "y"})
    db.session.expire_all()
    assert member.wants_call_news is False and member.wants_digest is True
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "notifications.preferences_changed")).one()
    assert event.actor_id == member.id


def test_a_manager_turns_off_the_digest(app, client, login_as):
    manager = ManagerFactory()
    login_as(manager)
    assert 'name="wants_digest"' in client.get("/compte/notifications").get_data(as_text=True)
    client.post("/compte/notifications", data={"wants_call_news": "y"})
    db.session.expire_all()
    assert manager.wants_digest is False and manager.wants_call_news is True


def test_an_applicant_follows_then_unfollows_a_programme_from_a_call_page(app, client, login_as):
    call = CallFactory()
    member = member_of()
    login_as(member)
    page = client.get(f"/appels/{call.slug}").get_data(as_text=True)
    assert "Suivre ce programme" in page
    response = client.post(f"/programmes/{call.programme_id}/suivre", data={"follow": "1", "next": f"/appels/{call.slug}"})
    assert response.location.endswith(f"/appels/{call.slug}")
    client.post(f"/programmes/{call.programme_id}/suivre", data={"follow": "1", "next": "https://evil.example/"})
    assert db.session.scalar(db.select(db.func.count(ProgrammeFollow.id))) == 1
    assert "Ne plus suivre ce programme" in client.get(f"/appels/{call.slug}").get_data(as_text=True)
    client.post(f"/programmes/{call.programme_id}/suivre", data={"follow": "0"})
    assert db.session.scalar(db.select(db.func.count(ProgrammeFollow.id))) == 0


def test_staff_cannot_follow_and_see_no_toggle(app, client, login_as):
    call = CallFactory()
    login_as(ReviewerFactory())
    assert "Suivre ce programme" not in client.get(f"/appels/{call.slug}").get_data(as_text=True)
    assert client.post(f"/programmes/{call.programme_id}/suivre", data={"follow": "1"}).status_code == 403
    assert client.post("/programmes/987654/suivre", data={"follow": "1"}).status_code == 403


@pytest.fixture
def failed_row(app):
    user = UserFactory(email="rebond@asso.example")
    row = notify(user, "Refusé", status=NotificationStatus.FAILED, attempts=1,
                 last_error="SMTPRecipientsRefused: 550 5.1.1 No such user here")
    notify(user, "Envoyé", status=NotificationStatus.SENT, sent_at=utcnow(), attempts=1)
    return row


def test_the_monitor_counts_and_lists_failures_then_retries_one(app, client, login_as, failed_row, mail_outbox):
    manager = ManagerFactory()
    login_as(manager)
    page = client.get("/gestion/notifications").get_data(as_text=True)
    assert "550 5.1.1 No such user here" in page and "rebond@asso.example" in page
    assert re.search(r'stat-value">1</span><span class="stat-label">envoyé<', page)  # one: singular
    assert re.search(r'stat-value">1</span><span class="stat-label">en échec', page)
    client.post(f"/gestion/notifications/{failed_row.id}/relancer")
    db.session.expire_all()
    row = db.session.get(Notification, failed_row.id)
    assert row.status == NotificationStatus.SENT and row.attempts == 1  # sent again, after the commit
    assert [m.to for m in mail_outbox] == [["rebond@asso.example"]]
    assert db.session.scalars(db.select(AuditEvent.actor_id).where(AuditEvent.action == "notification.retried")).all() == [manager.id]
    # A row that is not failed is never sent again.
    client.post(f"/gestion/notifications/{failed_row.id}/relancer")
    assert len(mail_outbox) == 1


@pytest.mark.parametrize("who", ["member", "reviewer"])
def test_the_monitor_is_for_managers(app, client, login_as, failed_row, who):
    login_as(member_of() if who == "member" else ReviewerFactory())
    assert client.get("/gestion/notifications").status_code == 403
    assert client.post(f"/gestion/notifications/{failed_row.id}/relancer").status_code == 403
    db.session.expire_all()
    assert db.session.get(Notification, failed_row.id).status == NotificationStatus.FAILED


def test_the_cli_shows_status_and_retries(app, failed_row, mail_outbox):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["notifications", "status"])
    assert result.exit_code == 0
    assert "sent: 1" in result.output and "failed: 1" in result.output
    assert f"#{failed_row.id}" in result.output and "550 5.1.1" in result.output
    result = runner.invoke(args=["notifications", "retry", "--id", str(failed_row.id)])
    assert result.exit_code == 0, result.output
    assert [m.to for m in mail_outbox] == [["rebond@asso.example"]]
    result = runner.invoke(args=["notifications", "retry", "--id", str(failed_row.id)])
    assert result.exit_code == 1 and "pas en échec" in result.output
    assert runner.invoke(args=["notifications", "retry", "--id", "987654"]).exit_code == 1


def test_a_real_email_shows_in_the_recipients_list(app, client, login_as):
    member = member_of()
    queue_test_email(member)
    db.session.commit()
    login_as(member)
    assert "Choisir un nouveau mot de passe" in client.get("/notifications").get_data(as_text=True)
