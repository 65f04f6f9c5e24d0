"""Writing the audit log. Each call adds one row to the current transaction: it is committed with the
change it records, or rolled back with it."""

from __future__ import annotations

import re

from flask import has_request_context, request

from grants.audit.models import AuditEvent, AuditEventOrigin
from grants.database import db, utcnow
from grants.keyset import PER_PAGE, Page, TimeKey, newest_first


def subject_type_of(subject) -> str:
    """``CallEnvelope`` → ``call_envelope``: the name an audit row gives a model instance."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(subject).__name__).lower()


def record_event(
    action: str,
    *,
    actor=None,
    subject=None,
    from_state=None,
    to_state=None,
    with_origin: bool = True,
    **details,
) -> AuditEvent:
    """Add an audit row. ``subject`` is a model instance (its table name and id are kept). The
    client's address is kept apart (``AuditEventOrigin``) unless ``with_origin`` is False."""
    now = utcnow()
    event = AuditEvent(
        occurred_at=now,
        action=action,
        actor_id=getattr(actor, "id", None),
        subject_type=subject_type_of(subject) if subject is not None else None,
        subject_id=getattr(subject, "id", None),
        from_state=getattr(from_state, "value", from_state),
        to_state=getattr(to_state, "value", to_state),
        details={k: str(v) for k, v in details.items()},
    )
    address = request.remote_addr if with_origin and has_request_context() else None
    if address:
        event.origin = AuditEventOrigin(ip_address=address[:45], occurred_at=now)
    if subject is not None and subject.id is None:
        db.session.flush()  # the subject needs its id before we can point at it
        event.subject_id = subject.id
    db.session.add(event)
    return event


def record_transition(action: str, subject, from_state, to_state, *, actor=None, **details) -> AuditEvent:
    """Audit a state change (one transition function per entity calls this)."""
    return record_event(action, actor=actor, subject=subject, from_state=from_state, to_state=to_state, **details)


def timeline(subject_type: str, subject_id: int) -> list[AuditEvent]:
    """A subject's events in order, with their actors (a timeline names who did each)."""
    return db.session.scalars(
        db.select(AuditEvent).options(db.joinedload(AuditEvent.actor))
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    ).all()


def search_events(*, action: str | None = None, before: TimeKey | None = None, after: TimeKey | None = None,
                  per_page: int = PER_PAGE) -> Page:
    """One page of the audit log, newest first: the first, the one older than ``before`` or the one
    newer than ``after`` (keyset pagination, grants.keyset). One statement reading at most a page and one
    row through ix_audit_events_occurred_at (ix_audit_events_action_occurred_at with an action), however
    long the log: no OFFSET, no count."""
    query = db.select(AuditEvent).options(db.joinedload(AuditEvent.actor))
    if action:
        query = query.where(AuditEvent.action == action)
    return newest_first(query, AuditEvent.occurred_at, AuditEvent.id, event_key,
                        before=before, after=after, per_page=per_page)


def event_key(event: AuditEvent) -> TimeKey:
    return TimeKey(event.occurred_at, event.id)
