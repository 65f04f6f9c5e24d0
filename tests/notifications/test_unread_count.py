"""The bell's count is a column of the user (``users.unread_notifications``) that database triggers
keep: after every way notifications are created, read and deleted it equals the real count."""

from __future__ import annotations

import sqlalchemy as sa

from grants.database import db, utcnow
from grants.models import Notification, User
from grants.notifications import services
from grants.outbox.services import queue_email, queue_emails_once
from grants.privacy.closure import close_account
from tests.factories import UserFactory, member_of


def counts(*users) -> list[tuple[int, int]]:
    """(stored, actual) of each user, read from the database."""
    db.session.expire_all()
    return [(db.session.get(User, user.id).unread_notifications,
             db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
                 Notification.recipient_id == user.id, Notification.read_at.is_(None))))
            for user in users]


def reset_email(user):
    return queue_email("password_reset", user, reset_url="https://subventia.test/mot-de-passe/abc", user=user)


def test_the_count_follows_creation_reading_and_reading_all(app):
    me, other = UserFactory(), UserFactory()
    db.session.commit()
    assert counts(me, other) == [(0, 0), (0, 0)]

    first = reset_email(me)  # one row through the ORM
    reset_email(other)
    queue_email("password_reset", "nobody@example.org", reset_url="https://subventia.test/x", user=None)
    db.session.commit()
    assert counts(me, other) == [(1, 1), (1, 1)]

    # The scans' bulk INSERT … ON CONFLICT DO NOTHING; a key queued twice counts once.
    context = {"reset_url": "https://subventia.test/y", "user": me}
    queue_emails_once([("password_reset", me, "key-1", context), ("password_reset", me, "key-2", context)])
    queue_emails_once([("password_reset", me, "key-1", context)])
    db.session.commit()
    assert counts(me, other) == [(3, 3), (1, 1)]

    services.mark_read(db.session.get(Notification, first.id))
    assert me.unread_notifications == 2  # read again in the same transaction, not the stale value
    db.session.commit()
    assert counts(me, other) == [(2, 2), (1, 1)]
    services.mark_read(db.session.get(Notification, first.id))  # already read: no change
    db.session.commit()
    assert counts(me, other) == [(2, 2), (1, 1)]

    assert services.mark_all_read(me) == 2
    assert me.unread_notifications == 0
    db.session.commit()
    assert counts(me, other) == [(0, 0), (1, 1)]


def test_the_count_follows_deletions_and_a_change_of_recipient(app):
    me, other = UserFactory(), UserFactory()
    rows = [reset_email(me) for _ in range(3)]
    db.session.commit()
    rows[0].read_at = utcnow()
    db.session.commit()
    db.session.execute(sa.delete(Notification).where(Notification.id.in_([rows[0].id, rows[1].id])))
    db.session.commit()
    assert counts(me, other) == [(1, 1), (0, 0)]
    db.session.execute(sa.update(Notification).where(Notification.id == rows[2].id).values(recipient_id=other.id))
    db.session.commit()
    assert counts(me, other) == [(0, 0), (1, 1)]


def test_closing_an_account_leaves_no_unread_count(app):
    member = member_of()
    reset_email(member)
    reset_email(member)
    db.session.commit()
    assert counts(member) == [(2, 2)]
    close_account(member, actor=member)
    db.session.commit()
    assert counts(member) == [(0, 0)]


def test_the_bell_shows_the_stored_count(app, client, login_as):
    me = member_of()
    reset_email(me)
    reset_email(me)
    db.session.commit()
    login_as(me)
    page = client.get("/notifications").get_data(as_text=True)
    assert '<span class="bell-count" aria-hidden="true">2</span>' in page
    client.post("/notifications/tout-lu")
    page = client.get("/notifications").get_data(as_text=True)
    assert "bell-count" not in page
    assert counts(me) == [(0, 0)]


def test_recount_corrects_a_count_gone_wrong(app):
    me, other = UserFactory(), UserFactory()
    reset_email(me)
    db.session.commit()
    # As if rows had been written with the triggers off (a restore, a hand-made fix).
    db.session.execute(sa.update(User).where(User.id == me.id).values(unread_notifications=7))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["notifications", "recount"])
    assert result.exit_code == 0, result.output
    assert f"compte n° {me.id} : 7 non lues enregistrées, 1 en réalité — corrigé" in result.output
    assert counts(me, other) == [(1, 1), (0, 0)]
    again = app.test_cli_runner().invoke(args=["notifications", "recount"])
    assert "Tous les comptes sont justes." in again.output
