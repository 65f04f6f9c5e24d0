"""The outbox: mail is queued in the transaction and delivered after commit, at most once."""

from __future__ import annotations

from grants.database import db
from grants.models import Notification, NotificationStatus
from grants.outbox.services import queue_email
from grants.outbox.tasks import deliver_notification, requeue_stale_notifications
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


def test_every_email_has_a_text_and_an_html_part(app, mail_outbox):
    user = UserFactory(email="marie@asso.example", full_name="Marie <Curie> & Cie")
    notification = queue_test_email(user)
    db.session.commit()
    html = notification.body_html
    # The text body, escaped, in paragraphs, with its link made clickable, inside the layout.
    assert "Marie &lt;Curie&gt; &amp; Cie" in html and "<Curie>" not in html
    assert '<a href="https://subventia.test/mot-de-passe/abc">https://subventia.test/mot-de-passe/abc</a>' in html
    assert html.count("<p>") >= 4 and 'lang="fr"' in html
    [message] = mail_outbox
    assert message.body == notification.body_text
    assert message.alternatives == [(html, "text/html")]
    mime = message.message()
    assert mime.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mime.get_payload()] == ["text/plain", "text/html"]
    assert mime["Message-ID"] == f"<notification-{notification.id}@subventia.localhost>"


def test_a_rolled_back_savepoint_keeps_the_rest_of_the_transaction_queued(app, mail_outbox):
    """SQLAlchemy reports savepoints through the same events as transactions: neither releasing nor
    rolling back a savepoint may dispatch or forget what the enclosing transaction queued."""
    kept_user, undone_user, later_user = (UserFactory(email=f"{name}@asso.example") for name in ("garde", "annule", "plus-tard"))
    kept = queue_test_email(kept_user)
    try:
        with db.session.begin_nested():
            queue_test_email(undone_user)
            raise RuntimeError("undo this part only")
    except RuntimeError:
        pass
    with db.session.begin_nested():
        queue_test_email(later_user)  # a savepoint released: nothing is committed, nothing leaves yet
    assert mail_outbox == []
    db.session.commit()
    assert sorted(m.to[0] for m in mail_outbox) == ["garde@asso.example", "plus-tard@asso.example"]
    assert db.session.get(Notification, kept.id).status == NotificationStatus.SENT


def test_queue_email_once_ignores_a_key_already_queued(app, mail_outbox):
    from grants.outbox.services import queue_email_once

    user = UserFactory()
    context = {"reset_url": "https://subventia.test/x", "user": user}
    assert queue_email_once("password_reset", user, dedup_key="k:1", **context) is not None
    db.session.commit()
    assert queue_email_once("password_reset", user, dedup_key="k:1", **context) is None
    db.session.commit()
    assert len(mail_outbox) == 1


def test_the_embedded_backend_writes_eml_files(app, tmp_path, caplog):
    import email
    import logging

    app.config["MAIL_BACKEND"] = "grants.outbox.eml_files.EmailBackend"
    app.extensions["mailman"].backend = app.config["MAIL_BACKEND"]
    app.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "outbox")
    with caplog.at_level(logging.INFO, logger="subventia.mail"):
        notification = queue_test_email(UserFactory(email="nouvelle@asso.example"))
        db.session.commit()
    [path] = (tmp_path / "outbox").iterdir()
    assert path.name.endswith(f"-{notification.id}.eml")
    message = email.message_from_bytes(path.read_bytes())
    assert message["To"] == "nouvelle@asso.example"
    assert [p.get_content_type() for p in message.get_payload()] == ["text/plain", "text/html"]
    assert str(path) in caplog.text
