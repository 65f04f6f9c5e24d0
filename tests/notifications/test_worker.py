"""Through the real stack: Celery worker processes (and beat) on the real Redis broker, delivering to a
real SMTP server on loopback (aiosmtpd), reading and writing the real PostgreSQL test database.

These tests use a Redis database of their own (``TEST_NOTIFICATIONS_REDIS_DB``, default 14) and a
queue name per test, so that nothing else on the test Redis hands their messages out or takes them.
"""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest

from grants.database import db, utcnow
from grants.models import Applicant, CallState, Notification, NotificationStatus
from grants.outbox.services import queue_email
from tests.conftest import login
from tests.factories import (
    ApplicationFactory,
    CallFactory,
    ManagerFactory,
    OrganisationFactory,
    UserFactory,
    member_of,
)
from tests.notifications.conftest import received, wait_for


@pytest.fixture
def app_overrides(real_stack_overrides):
    return real_stack_overrides


def stored(notification_id):
    db.session.expire_all()
    return db.session.get(Notification, notification_id)


def reset_email(user):
    return queue_email("password_reset", user, reset_url="https://subventia.test/mot-de-passe/t", user=user)


def test_a_real_worker_delivers_both_parts_in_each_recipients_language(pg_app, worker, smtp_server, celery):
    _, handler = smtp_server
    french = UserFactory(email="tresoriere@asso.example", locale="fr")
    english = UserFactory(email="treasurer@asso.example", locale="en")
    rows = [reset_email(french), reset_email(english)]
    db.session.commit()
    ids = [row.id for row in rows]
    assert wait_for(lambda: len(handler.messages) == 2), f"mail not delivered:\n{celery.logs()}"
    by_recipient = {m["To"]: m for m in received(handler)}
    assert [e.rcpt_tos for e in handler.messages] in (
        [["tresoriere@asso.example"], ["treasurer@asso.example"]], [["treasurer@asso.example"], ["tresoriere@asso.example"]])
    assert by_recipient["tresoriere@asso.example"]["Subject"] == "Choisir un nouveau mot de passe"
    assert by_recipient["treasurer@asso.example"]["Subject"] == "Choose a new password"
    for message in by_recipient.values():
        assert message.get_content_type() == "multipart/alternative"
        text, html = message.get_payload()
        assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
        assert "https://subventia.test/mot-de-passe/t" in text.get_payload(decode=True).decode()
        assert '<a href="https://subventia.test/mot-de-passe/t">' in html.get_payload(decode=True).decode()
    assert "Hello" in by_recipient["treasurer@asso.example"].get_payload()[0].get_payload(decode=True).decode()
    assert wait_for(lambda: all(stored(i).status == NotificationStatus.SENT for i in ids))
    time.sleep(1)
    assert len(handler.messages) == 2


def test_a_rolled_back_action_sends_nothing(pg_app, worker, smtp_server, celery):
    _, handler = smtp_server
    reset_email(UserFactory(email="annule@asso.example"))
    db.session.flush()
    db.session.rollback()
    reset_email(UserFactory(email="temoin@asso.example"))  # a witness: once it arrives, the worker has run
    db.session.commit()
    assert wait_for(lambda: handler.messages), f"the witness did not arrive:\n{celery.logs()}"
    time.sleep(1)
    assert [e.rcpt_tos for e in handler.messages] == [["temoin@asso.example"]]
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == 1


def test_a_temporary_smtp_failure_is_retried_by_the_worker(pg_app, worker, smtp_server, celery):
    _, handler = smtp_server
    handler.failures = 1
    notification = reset_email(UserFactory())
    db.session.commit()
    assert wait_for(lambda: handler.messages), f"not retried:\n{celery.logs()}"
    assert wait_for(lambda: stored(notification.id).status == NotificationStatus.SENT)
    assert stored(notification.id).attempts == 2
    assert len(handler.messages) == 1


def test_a_permanent_failure_is_marked_failed_and_shown_on_the_monitor(pg_app, worker, smtp_server, celery):
    _, handler = smtp_server
    handler.refused = {"parti@asso.example"}
    notification = reset_email(UserFactory(email="parti@asso.example"))
    db.session.commit()
    assert wait_for(lambda: stored(notification.id).status == NotificationStatus.FAILED), celery.logs()
    row = stored(notification.id)
    assert row.attempts == 1 and "550" in row.last_error
    client = pg_app.test_client()
    login(client, ManagerFactory())
    page = client.get("/gestion/notifications").get_data(as_text=True)
    assert "parti@asso.example" in page and "No such user here" in page
    # Fixed address on the server side: the manager's retry goes through the worker.
    handler.refused = set()
    client.post(f"/gestion/notifications/{notification.id}/relancer")
    assert wait_for(lambda: stored(notification.id).status == NotificationStatus.SENT), celery.logs()
    assert [e.rcpt_tos for e in handler.messages] == [["parti@asso.example"]]


def test_beat_firing_again_and_again_with_two_workers_sends_each_reminder_once(pg_app, celery, smtp_server):
    _, handler = smtp_server
    call = CallFactory(state=CallState.OPEN, opens_at=utcnow() - timedelta(days=20),
                       closes_at=utcnow() + timedelta(hours=36), reminder_offsets_days=[7, 2])
    expected = []
    for emails in (["a1@asso.example", "a2@asso.example"], ["b1@asso.example"], ["c1@asso.example"]):
        organisation = OrganisationFactory()
        users = [member_of(organisation, email=address) for address in emails]
        applicant = db.session.scalar(db.select(Applicant).where(Applicant.organisation_id == organisation.id))
        ApplicationFactory(call=call, applicant=applicant, created_by=users[0])
        expected += emails
    # Scans every second from each of: beat, and three more runs queued by hand; two workers take them.
    fast = {"NOTIFICATION_SCAN_SECONDS": "1", "NOTIFICATION_MORNING_HOUR": "0"}
    celery.start("worker", **fast)
    celery.start("worker", **fast)
    celery.start("beat", **fast)
    for _ in range(3):
        pg_app.extensions["celery"].send_task("grants.notifications.tasks.send_deadline_reminders")
    assert wait_for(lambda: len(handler.messages) >= len(expected)), f"reminders missing:\n{celery.logs()}"
    time.sleep(6)  # beat keeps firing: still nothing more
    assert sorted(r for e in handler.messages for r in e.rcpt_tos) == sorted(expected)
    assert "Plus que" in received(handler)[0]["Subject"]
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == len(expected)
    logs = celery.logs()
    assert logs.count("send_deadline_reminders") >= 8  # the scan really ran many times, on both workers


def test_a_worker_killed_mid_delivery_is_replaced_and_the_email_arrives_once(pg_app, celery, smtp_server):
    controller, handler = smtp_server
    # Short broker visibility and sending lease, so the test does not wait an hour for the redelivery.
    quick = {"CELERY_VISIBILITY_TIMEOUT": "5", "CELERY_UNACKED_RESTORE_INTERVAL": "1",
             "NOTIFICATION_SENDING_LEASE_SECONDS": "3"}
    doomed = celery.start("worker", **quick)
    handler.stall = True  # the server takes the message and then waits, before saying "250 OK"
    notification = reset_email(UserFactory(email="survivante@asso.example"))
    db.session.commit()
    assert handler.stalled.wait(30), f"the delivery never started:\n{celery.logs()}"
    assert stored(notification.id).status == NotificationStatus.SENDING
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    controller.loop.call_soon_threadsafe(handler.release.set)
    assert handler.messages == []

    celery.start("worker", **quick)
    assert wait_for(lambda: handler.messages, timeout=60), f"not redelivered:\n{celery.logs()}"
    assert wait_for(lambda: stored(notification.id).status == NotificationStatus.SENT)
    time.sleep(6)  # another visibility timeout: the acknowledged message does not come back
    assert [e.rcpt_tos for e in handler.messages] == [["survivante@asso.example"]]
    assert stored(notification.id).attempts == 2


def test_a_submission_receipt_and_a_decision_reach_the_association_through_the_worker(pg_app, worker, smtp_server, celery):
    """The other areas' services queue their mail in their own transaction; the worker delivers it."""
    from decimal import Decimal

    from grants.applications.services import submit
    from grants.awards.services import award_grant
    from grants.reviews.services import screen_application
    from tests.factories import CallEnvelopeFactory, complete_draft, with_submitted_review

    _, handler = smtp_server
    call = CallFactory(state=CallState.OPEN)
    CallEnvelopeFactory(call=call, amount=Decimal("100000.00"))
    organisation = OrganisationFactory()
    president = member_of(organisation, email="presidente@asso.example", locale="fr")
    member_of(organisation, email="treasurer@asso.example", locale="en")
    applicant = db.session.scalar(db.select(Applicant).where(Applicant.organisation_id == organisation.id))
    application = complete_draft(call=call, applicant=applicant, created_by=president)
    manager = ManagerFactory()

    submit(application, actor=president)
    db.session.commit()
    assert wait_for(lambda: len(handler.messages) == 2), f"no receipts:\n{celery.logs()}"
    screen_application(application, eligible=True, reason=None, actor=manager)
    with_submitted_review(application)
    award_grant(application, amount=Decimal("4000.00"), section="fonctionnement", actor=manager)
    db.session.commit()
    assert wait_for(lambda: len(handler.messages) == 4), f"no decisions:\n{celery.logs()}"
    time.sleep(1)

    messages = received(handler)
    assert len(messages) == 4
    receipts = [m for m in messages if application.reference in m["Subject"]]
    assert sorted(m["To"] for m in receipts) == ["presidente@asso.example", "treasurer@asso.example"]
    decisions = [m for m in messages if m not in receipts]
    assert sorted(m["To"] for m in decisions) == ["presidente@asso.example", "treasurer@asso.example"]
    french = next(m for m in decisions if m["To"] == "presidente@asso.example")
    assert "subvention vous est accordée" in french["Subject"]
    assert "4 000,00" in french.get_body(("plain",)).get_content().replace("\u202f", " ").replace("\xa0", " ")
    assert all(m.get_body(("html",)) is not None for m in messages)
    assert set(db.session.scalars(db.select(Notification.status))) == {NotificationStatus.SENT}
