"""Temporary failures are retried with back-off; permanent ones are marked failed at once, with the
error, and shown to managers; nothing is dropped silently. A real SMTP server on loopback answers."""

from __future__ import annotations

import pytest

from grants.database import db
from grants.models import Notification, NotificationStatus
from tests.factories import UserFactory
from tests.notifications.smtp import ScriptedSMTPHandler, start_smtp_server
from tests.notifications.test_outbox import queue_test_email


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
    # Eager retries re-run the task only when errors are not propagated (as in a real worker).
    return {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": controller.port, "MAIL_TIMEOUT": 5,
            "NOTIFICATION_RETRY_BASE_SECONDS": 0,
            "CELERY": {**TestingConfig.CELERY, "task_eager_propagates": False}}


def stored(notification):
    db.session.expire_all()
    return db.session.get(Notification, notification.id)


def test_smtp_down_is_retried_then_marked_failed(app):
    """Port 9 (discard) refuses connections on loopback: every attempt fails, then the row is FAILED."""
    app.extensions["mailman"].port = 9
    notification = queue_test_email(UserFactory())
    db.session.commit()
    row = stored(notification)
    assert row.status == NotificationStatus.FAILED
    assert row.attempts == 5
    assert "Error" in row.last_error


def test_a_temporary_refusal_is_retried_then_sent(app, smtp):
    handler, _ = smtp
    handler.failures = 2
    notification = queue_test_email(UserFactory(email="patiente@asso.example"))
    db.session.commit()
    row = stored(notification)
    assert row.status == NotificationStatus.SENT and row.attempts == 3 and row.last_error is None
    assert [m.rcpt_tos for m in handler.messages] == [["patiente@asso.example"]]


def test_a_permanent_refusal_fails_at_once(app, smtp):
    handler, _ = smtp
    handler.failures, handler.failure_reply = 1, "554 5.6.0 Message rejected"
    notification = queue_test_email(UserFactory())
    db.session.commit()
    row = stored(notification)
    assert row.status == NotificationStatus.FAILED and row.attempts == 1
    assert "554" in row.last_error
    assert handler.messages == []


def test_an_unknown_recipient_fails_at_once_and_others_still_go(app, smtp):
    handler, _ = smtp
    handler.refused = {"inconnu@asso.example"}
    bounced = queue_test_email(UserFactory(email="inconnu@asso.example"))
    delivered = queue_test_email(UserFactory(email="connue@asso.example"))
    db.session.commit()
    assert stored(bounced).status == NotificationStatus.FAILED
    assert "550" in stored(bounced).last_error and stored(bounced).attempts == 1
    assert stored(delivered).status == NotificationStatus.SENT
