"""A delivery that keeps failing is retried with back-off, then marked FAILED with the error."""

from __future__ import annotations

import pytest

from grants.database import db
from grants.models import Notification, NotificationStatus
from tests.factories import UserFactory
from tests.notifications.test_outbox import queue_test_email


@pytest.fixture
def app_overrides():
    from config import TestingConfig

    # Eager retries re-run the task only when errors are not propagated (as in a real worker).
    return {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": 9, "MAIL_TIMEOUT": 2,
            "NOTIFICATION_RETRY_BASE_SECONDS": 0,
            "CELERY": {**TestingConfig.CELERY, "task_eager_propagates": False}}


def test_smtp_failure_is_retried_then_marked_failed(app):
    """Port 9 (discard) refuses connections on loopback: every attempt fails, then the row is FAILED."""
    notification = queue_test_email(UserFactory())
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Notification, notification.id)
    assert stored.status == NotificationStatus.FAILED
    assert stored.attempts == 5
    assert "Error" in stored.last_error
