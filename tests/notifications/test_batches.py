"""Delivery by batches on PostgreSQL, in-process, to a real SMTP server on loopback: one claim statement
that skips rows another delivery holds, one SMTP connection per batch, the outcomes in one commit that
survives a lost database connection, the server's answers (4xx retried, 5xx recorded), the rate."""

from __future__ import annotations

import email
import email.policy
import time

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from grants.database import db
from grants.models import Notification, NotificationStatus
from grants.outbox import tasks
from grants.outbox.services import queue_email, queue_emails_once
from tests.factories import UserFactory
from tests.notifications.smtp import ScriptedSMTPHandler, start_smtp_server


@pytest.fixture
def smtp():
    handler = ScriptedSMTPHandler()
    controller = start_smtp_server(handler)
    yield handler, controller
    controller.stop()


@pytest.fixture
def app_overrides(smtp):
    from config import TestingConfig

    _, controller = smtp
    return {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": controller.port, "MAIL_TIMEOUT": 5,
            "NOTIFICATION_RETRY_BASE_SECONDS": 0, "NOTIFICATION_BATCH_SIZE": 100,
            "CELERY": {**TestingConfig.CELERY, "task_eager_propagates": False}}


def queue_reset(address):
    user = UserFactory(email=address)
    return queue_email("password_reset", user, reset_url="https://subventia.test/m/t", user=user)


def queue_held(count):
    """``count`` committed rows that nothing has delivered yet (their after-commit hand-off dropped)."""
    users = [UserFactory(email=f"porteur{i}@asso.example") for i in range(count)]
    rows = [queue_email("password_reset", user, reset_url="https://subventia.test/m/t", user=user) for user in users]
    db.session.flush()
    db.session.info.pop("subventia.outbox")
    db.session.commit()
    return [row.id for row in rows]


def statuses(ids):
    db.session.expire_all()
    return [db.session.get(Notification, i).status for i in ids]


def received(handler):
    return [email.message_from_bytes(e.original_content, policy=email.policy.default) for e in handler.messages]


def test_a_batch_goes_over_one_smtp_connection_and_is_recorded_sent(pg_app, smtp):
    handler, _ = smtp
    ids = queue_held(30)
    assert tasks.deliver_notifications.apply(args=[ids]).get() == 30
    assert handler.connections == 1
    assert sorted(r for e in handler.messages for r in e.rcpt_tos) == sorted(f"porteur{i}@asso.example" for i in range(30))
    assert set(statuses(ids)) == {NotificationStatus.SENT}
    # Delivered rows are not claimed again: a second delivery of the same ids sends nothing.
    assert tasks.deliver_notifications.apply(args=[ids]).get() == 0
    assert len(handler.messages) == 30


def test_the_claim_skips_rows_another_delivery_holds_instead_of_waiting(pg_app, smtp):
    ids = queue_held(6)
    other = sa.create_engine(pg_app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with other.connect() as connection:
            connection.execute(sa.text("SET lock_timeout = '5s'"))
            connection.execute(sa.text("SELECT id FROM notifications WHERE id = ANY(:ids) FOR UPDATE"),
                               {"ids": ids[:3]})
            started = time.monotonic()
            assert tasks.claim_batch(ids) == ids[3:]
            assert time.monotonic() - started < 2
            connection.rollback()
        # Released, the first three are taken; the others are being sent (lease running): not again.
        assert tasks.claim_batch(ids) == ids[:3]
    finally:
        other.dispose()


def test_a_temporary_refusal_is_retried_with_the_same_message_id(pg_app, smtp):
    handler, _ = smtp
    handler.failures = 1
    [notification_id] = queue_held(1)
    tasks.deliver_notifications.apply(args=[[notification_id]])
    row = db.session.get(Notification, notification_id)
    assert row.status == NotificationStatus.SENT and row.attempts == 2
    [message] = received(handler)
    assert message["Message-ID"] == f"<notification-{notification_id}@subventia.localhost>"
    assert tasks.email_message(row).extra_headers["Message-ID"] == message["Message-ID"]


def test_a_permanent_refusal_records_the_servers_reply_for_the_monitor(pg_app, smtp):
    handler, _ = smtp
    handler.refused = {"parti@asso.example"}
    gone = queue_reset("parti@asso.example")
    here = queue_reset("reste@asso.example")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Notification, gone.id).status == NotificationStatus.FAILED
    assert db.session.get(Notification, here.id).status == NotificationStatus.SENT
    last_error = db.session.get(Notification, gone.id).last_error
    assert last_error == "SMTPRecipientsRefused: parti@asso.example: 550 5.1.1 No such user here"
    output = CliRunner().invoke(pg_app.cli, ["notifications", "status"]).output
    assert "failed: 1" in output and "550 5.1.1 No such user here" in output


def test_a_connection_dropped_mid_batch_loses_nothing(pg_app, smtp):
    handler, _ = smtp
    handler.drop_at = {"porteur3@asso.example"}
    ids = queue_held(8)
    tasks.deliver_notifications.apply(args=[ids])
    assert set(statuses(ids)) == {NotificationStatus.SENT}
    assert sorted(r for e in handler.messages for r in e.rcpt_tos) == sorted(f"porteur{i}@asso.example" for i in range(8))
    assert db.session.get(Notification, ids[3]).attempts == 2
    assert handler.connections >= 2  # reconnected for the rest of the batch


def test_a_database_connection_lost_at_the_outcome_commit_is_retried_not_resent(pg_app, smtp):
    """The backend serving the "sent" update is terminated just before it runs (pg_terminate_backend):
    the write is retried on a fresh connection; nothing stays "sending" for the sweeper to send again."""
    handler, _ = smtp
    ids = queue_held(5)
    admin = sa.create_engine(pg_app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT")
    terminated = []

    def terminate_own_backend(conn, cursor, statement, parameters, context, executemany):
        if not terminated and statement.lstrip().startswith("UPDATE notifications") and "sent_at" in statement:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with admin.connect() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            terminated.append(pid)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", terminate_own_backend)
    try:
        tasks.deliver_notifications.apply(args=[ids])
    finally:
        sa.event.remove(engine, "before_cursor_execute", terminate_own_backend)
        admin.dispose()
    assert terminated
    assert set(statuses(ids)) == {NotificationStatus.SENT}
    assert len(handler.messages) == 5
    assert tasks.requeue_stale_notifications.apply().get() == 0


def test_the_sending_rate_is_kept(pg_app, smtp):
    handler, _ = smtp
    pg_app.config["NOTIFICATION_SEND_RATE"] = 20
    ids = queue_held(10)
    started = time.monotonic()
    tasks.deliver_notifications.apply(args=[ids])
    assert time.monotonic() - started >= 9 / 20
    assert len(handler.messages) == 10


def test_queueing_is_set_based_and_keyed(pg_app, smtp):
    users = [UserFactory(email=f"cle{i}@asso.example") for i in range(3)]
    messages = [("password_reset", user, f"k:{user.id}", {"reset_url": "https://subventia.test/m/t", "user": user})
                for user in users]
    first = queue_emails_once(messages[:2])
    again = queue_emails_once(messages)
    assert len(first) == 2 and len(again) == 1 and again[0] not in first
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 3


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_layout_cut_once_gives_exactly_the_rendered_layout(app, locale):
    from flask import render_template
    from flask_babel import force_locale

    from grants.outbox.services import render_html_part, text_paragraphs

    body = "Bonjour Marie <Curie> & Cie,\n\nVoir https://subventia.test/dossiers/4.\nÀ bientôt\n\n--\nSubventia"
    subject = "Plus que 2 jours pour déposer « <b>Jardins</b> »"
    with force_locale(locale):
        expected = render_template("email/_layout.html", subject=subject, paragraphs=text_paragraphs(body))
        assert render_html_part("deadline_reminder", subject, body, {}) == expected
        assert render_html_part("deadline_reminder", subject, body, {}) == expected  # from the cache
