"""The outbox: mail is queued in the transaction and delivered after commit, at most once."""

from __future__ import annotations

from grants.database import db
from grants.models import Notification, NotificationStatus
from grants.notifications.services import queue_email
from grants.notifications.tasks import deliver_notification, requeue_stale_notifications
from tests.factories import UserFactory


def queue_test_email(user):
    return queue_email("password_reset", user, reset_url="https://subventia.test/mot-de-passe/abc", user=user)


def test_email_is_sent_after_commit(app, mail_outbox):
    user = UserFactory(email="marie@asso.example")
    notification = queue_test_email(user)
    assert mail_outbox == []  # nothing leaves before the commit
    db.session.commit()
    assert [m.to for m in mail_outbox] == [["marie@asso.example"]]
    db.session.refresh(notification)
    assert notification.status == NotificationStatus.SENT
    assert notification.sent_at is not None and notification.attempts == 1


def test_nothing_is_sent_for_a_rolled_back_transaction(app, mail_outbox):
    user = UserFactory()
    queue_test_email(user)
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert mail_outbox == []
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == 0


def test_a_notification_is_delivered_at_most_once(app, mail_outbox):
    notification = queue_test_email(UserFactory())
    db.session.commit()
    deliver_notification.apply(args=[notification.id])
    deliver_notification.apply(args=[notification.id])
    assert len(mail_outbox) == 1


def test_a_stale_pending_notification_is_swept_and_sent(app, mail_outbox, time_machine):
    from datetime import timedelta

    from grants.database import utcnow

    queue_test_email(UserFactory())
    db.session.flush()
    # Simulate a broker outage at commit time: the row is committed but nothing was enqueued.
    db.session.info.pop("subventia.outbox")
    db.session.commit()
    assert mail_outbox == []
    time_machine.move_to(utcnow() + timedelta(minutes=2))
    assert requeue_stale_notifications.apply().get() == 1
    assert len(mail_outbox) == 1
