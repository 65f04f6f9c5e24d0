"""The retention schedule, applied by the worker's nightly task and listed by the dry run, on both
databases: what is past its horizon goes (or is pseudonymised), what is not stays, a second run finds
nothing, and the audit log opens only for events past their horizon."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.accounts.models import LoginSession
from grants.api.models import ApiToken
from grants.applications.models import Application, ApplicationState, Attachment
from grants.audit.models import AuditEvent, AuditEventOrigin, AuditPurgeHorizon
from grants.awards.models import Decision, Outcome
from grants.database import db, utcnow
from grants.outbox.models import Notification, NotificationStatus
from grants.privacy import retention
from grants.privacy.tasks import apply_retention
from grants.storage import attachment_storage
from tests.factories import (
    ApplicationFactory,
    ManagerFactory,
    SubmittedApplicationFactory,
    UserFactory,
)
from tests.privacy.conftest import stored_attachment

YEAR = timedelta(days=365)


def old_world():
    """One row past its horizon and one within it, for each kind of data."""
    now = utcnow()
    user, manager = UserFactory(), ManagerFactory()
    stale_draft = ApplicationFactory(created_by=user, title="vieux brouillon")
    fresh_draft = ApplicationFactory(created_by=user, title="brouillon du jour")
    stored_attachment(stale_draft, user)
    stale_draft.updated_at = now - 2 * YEAR
    refused = SubmittedApplicationFactory(created_by=user, state=ApplicationState.DECIDED, decided_at=now - 6 * YEAR,
                                          summary="texte libre", objectives="objectifs")
    refused_file = stored_attachment(refused, user, name="refus.pdf")
    db.session.add(Decision(application=refused, outcome=Outcome.REJECTED, reason="hors champ",
                            decided_by_id=manager.id, decided_at=now - 6 * YEAR))
    awarded = SubmittedApplicationFactory(created_by=user, state=ApplicationState.DECIDED, decided_at=now - 2 * YEAR,
                                          summary="gardé")
    stored_attachment(awarded, user, name="convention.pdf")
    db.session.add(Decision(application=awarded, outcome=Outcome.AWARDED, amount=Decimal("100.00"), section="fonctionnement",
                            decided_by_id=manager.id, decided_at=now - 2 * YEAR))
    db.session.add_all([
        AuditEvent(action="auth.login", actor_id=user.id, occurred_at=now - 6 * YEAR, details={},
                   origin=AuditEventOrigin(ip_address="192.0.2.1", occurred_at=now - 6 * YEAR)),
        AuditEvent(action="auth.login", actor_id=user.id, occurred_at=now - 2 * YEAR, details={},
                   origin=AuditEventOrigin(ip_address="192.0.2.2", occurred_at=now - 2 * YEAR)),
        AuditEvent(action="auth.login", actor_id=user.id, occurred_at=now - timedelta(days=3), details={},
                   origin=AuditEventOrigin(ip_address="192.0.2.3", occurred_at=now - timedelta(days=3))),
        Notification(event="x", recipient_email=user.email, subject="s", body_text="corps ancien", body_html="<p>",
                     status=NotificationStatus.SENT, sent_at=now - 2 * YEAR, created_at=now - 2 * YEAR),
        Notification(event="x", recipient_email=user.email, subject="s", body_text="corps de 100 jours",
                     status=NotificationStatus.SENT, sent_at=now - timedelta(days=100),
                     created_at=now - timedelta(days=100)),
        Notification(event="x", recipient_email=user.email, subject="s", body_text="corps récent",
                     status=NotificationStatus.SENT, sent_at=now, created_at=now),
        LoginSession(user_id=user.id, token_hash="a" * 64, expires_at=now - timedelta(days=40)),
        LoginSession(user_id=user.id, token_hash="b" * 64, expires_at=now + timedelta(days=1)),
        ApiToken(user_id=manager.id, name="révoqué", prefix="sbv_1", token_hash="c" * 64,
                 created_at=now - 3 * YEAR, revoked_at=now - 2 * YEAR),
        ApiToken(user_id=manager.id, name="actif", prefix="sbv_2", token_hash="d" * 64, last_used_at=now),
    ])
    db.session.commit()
    return dict(stale_draft=stale_draft.id, fresh_draft=fresh_draft.id, refused=refused.id, awarded=awarded.id,
                refused_key=refused_file.storage_key)


EXPECTED = {"drafts": 1, "refused_applications": 1, "awarded_applications": 0, "audit_events": 1,
            "audit_addresses": 2, "notification_bodies": 2, "notifications": 1, "login_sessions": 1,
            "api_tokens": 1, "data_exports": 0}


def test_the_dry_run_lists_and_the_nightly_task_applies_once(app):
    ids = old_world()
    assert retention.due() == EXPECTED
    assert retention.due() == EXPECTED  # the dry run changes nothing
    db.session.rollback()  # end this session's read: the task commits from its own
    handled = apply_retention.delay().get()
    assert handled == EXPECTED
    assert set(retention.due().values()) == {0}
    assert set(retention.apply().values()) == {0}  # idempotent

    assert db.session.get(Application, ids["stale_draft"]) is None
    assert db.session.get(Application, ids["fresh_draft"]) is not None
    refused = db.session.get(Application, ids["refused"])
    assert refused.summary == "" and refused.objectives == "" and refused.total_expenses == Decimal("10000.00")
    assert not attachment_storage().exists(ids["refused_key"])
    awarded = db.session.get(Application, ids["awarded"])  # ten years: not yet
    assert awarded.summary == "gardé" and len(awarded.attachments) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1
    assert sorted(db.session.scalars(sa.select(AuditEventOrigin.ip_address))) == ["192.0.2.3"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "auth.login")) == 2
    bodies = sorted(db.session.scalars(sa.select(Notification.body_text)))
    assert bodies == ["", "corps récent"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 1
    assert list(db.session.scalars(sa.select(ApiToken.name))) == ["actif"]
    [run, _again] = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "privacy.retention_applied").order_by(AuditEvent.id)).all()
    assert run.details["drafts"] == "1" and run.details["audit_events"] == "1"
    assert retention.last_run().id == _again.id


def test_work_is_done_in_batches(app):
    old_world()
    for _ in range(3):
        db.session.add(AuditEvent(action="auth.logout", occurred_at=utcnow() - 6 * YEAR, details={}))
    db.session.commit()
    assert retention.apply(batch=2)["audit_events"] == 4


def test_the_audit_log_opens_only_for_events_past_the_horizon(app):
    now = utcnow()
    old = AuditEvent(action="auth.login", occurred_at=now - 6 * YEAR, details={})
    recent = AuditEvent(action="auth.login", occurred_at=now - timedelta(days=1), details={})
    db.session.add_all([old, recent])
    db.session.commit()
    old_id, recent_id = old.id, recent.id
    # No horizon yet: nothing may go.
    with pytest.raises(sa.exc.DBAPIError):
        with db.session.begin_nested():
            db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == old_id))
    db.session.rollback()
    retention.apply()
    horizon = db.session.get(AuditPurgeHorizon, 1)
    assert horizon.purge_before <= now - 5 * YEAR + timedelta(seconds=1)
    assert db.session.get(AuditEvent, old_id) is None
    # Within the horizon the trigger still refuses, and no row may ever be rewritten.
    for statement in (sa.delete(AuditEvent).where(AuditEvent.id == recent_id),
                      sa.update(AuditEvent).where(AuditEvent.id == recent_id).values(action="x")):
        with pytest.raises(sa.exc.DBAPIError):
            with db.session.begin_nested():
                db.session.execute(statement)
        db.session.rollback()
    assert db.session.get(AuditEvent, recent_id).action == "auth.login"


def test_the_command_lists_what_would_go(app):
    old_world()
    result = app.test_cli_runner().invoke(args=["privacy", "retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "drafts" in result.output and "Brouillons jamais déposés" in result.output
    assert "Simulation : rien n'a été modifié." in result.output
    assert retention.due() == EXPECTED


def test_the_beat_runs_retention_every_night(app):
    schedule = app.extensions["celery"].conf.beat_schedule["privacy-retention"]
    assert schedule["task"] == "grants.privacy.tasks.apply_retention"
    assert schedule["schedule"].hour == {3} and schedule["schedule"].minute == {17}


def test_the_managers_monitor_reports_the_last_run(app, client):
    from tests.conftest import login

    old_world()
    retention.apply()
    assert login(client, ManagerFactory()).status_code == 302
    page = client.get("/gestion/notifications").get_data(as_text=True)
    assert "Conservation des données personnelles" in page
    assert "Brouillons jamais déposés (supprimés avec leurs pièces) : 1" in page
