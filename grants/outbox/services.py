"""The transactional outbox.

:func:`queue_email` adds a Notification row to the caller's transaction; nothing is sent then. When
that transaction commits, :func:`dispatch_after_commit` hands the new rows' ids to the delivery task;
when it rolls back, the rows vanish with it, so no email leaves for something that did not happen.

Every message has a plain-text part (``templates/email/<event>.body.txt``) and an HTML part: the
event's own ``<event>.body.html`` where one exists, otherwise the text body set in
``templates/email/_layout.html`` (escaped, in paragraphs, links made clickable), so no event has to
write its content twice.
"""

from __future__ import annotations

import re

from flask import current_app, render_template, url_for
from flask_babel import force_locale, get_locale
from jinja2 import TemplateNotFound
from markupsafe import Markup, escape
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from grants.database import db, utcnow
from grants.outbox.models import Notification, NotificationStatus
from grants.outbox.tasks import batches, deliver_notifications

_OUTBOX_KEY = "subventia.outbox"
_LINK = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)»]")


def queue_email(event_name: str, recipient, *, dedup_key: str | None = None, **context) -> Notification:
    """Queue an email rendered from ``templates/email/<event_name>.*`` in the recipient's language.
    ``recipient`` is a User, or an email address. The row is part of the caller's transaction."""
    notification = render_notification(event_name, recipient, dedup_key=dedup_key, **context)
    db.session.add(notification)
    return notification


def queue_email_once(event_name: str, recipient, *, dedup_key: str, **context) -> int | None:
    """Queue an email unless one with ``dedup_key`` was ever queued (the key is UNIQUE in the
    database, so two scans running at once still queue it once). Returns the new row's id, or None
    when it already exists."""
    queued = queue_emails_once([(event_name, recipient, dedup_key, context)])
    return queued[0] if queued else None


def queue_emails_once(messages: list[tuple[str, object, str, dict]]) -> list[int]:
    """Queue each ``(event, recipient, dedup_key, context)`` whose key was never queued; returns the
    ids of the rows added, delivered after the commit. Set-based: the keys already queued are read in
    one query per 500 (they are not even rendered), the others written by one
    ``INSERT … ON CONFLICT (dedup_key) DO NOTHING … RETURNING id`` per batch, so a key inserted
    meanwhile by a concurrent scan is skipped by the database, not raised."""
    unqueued = unqueued_keys([key for _, _, key, _ in messages])
    fresh = [m for m in messages if m[2] in unqueued]
    fresh = list({m[2]: m for m in fresh}.values())  # the same key twice in one batch: once
    return insert_once([notification_values(name, recipient, dedup_key=key, **context)
                        for name, recipient, key, context in fresh])


def unqueued_keys(keys: list[str]) -> set[str]:
    """Those of ``keys`` no row holds yet (one query per 500): what a scan still has to render."""
    existing = set()
    for start in range(0, len(keys), 500):
        existing.update(db.session.scalars(
            db.select(Notification.dedup_key).where(Notification.dedup_key.in_(keys[start:start + 500]))
        ))
    return set(keys) - existing


def insert_once(values: list[dict]) -> list[int]:
    """Insert rendered messages (:func:`notification_values`), skipping any whose ``dedup_key`` exists,
    in one ``INSERT … ON CONFLICT DO NOTHING … RETURNING id`` per 1,000; returns the new ids, which
    are delivered after the commit."""
    if not values:
        return []
    now = utcnow()
    rows = [{**row, "status": NotificationStatus.PENDING, "attempts": 0, "created_at": now} for row in values]
    insert = sqlite_insert if db.session.get_bind().dialect.name == "sqlite" else postgresql_insert
    statement = (insert(Notification).on_conflict_do_nothing(index_elements=["dedup_key"])
                 .returning(Notification.id))
    ids = []
    for start in range(0, len(rows), 1000):
        ids += db.session.scalars(statement, rows[start:start + 1000]).all()
    db.session.info.setdefault(_OUTBOX_KEY, []).extend(ids)
    return ids


def _application_page(context: dict) -> str:
    return url_for("applications.show", application_id=context["application"].id, _external=False)


def _assignment_page(context: dict) -> str:
    return url_for("reviews.assignment", assignment_id=context["assignment"].id, _external=False)


def _assignments_page(context: dict) -> str:
    assignments = context["assignments"]
    if len(assignments) == 1:
        return url_for("reviews.assignment", assignment_id=assignments[0].id, _external=False)
    return url_for("reviews.desk", _external=False)


def _call_page(context: dict) -> str:
    return url_for("calls.detail", slug=context["call"].slug, _external=False)


# The page each message is about, in its recipient's own view: the bell links there. Messages that
# carry a secret link (invitation, password reset, email confirmation) have none: the email alone holds the secret.
PAGE_OF_EVENT = {
    "application_submitted": _application_page,
    "application_withdrawn": _application_page,
    "application_waitlisted": _application_page,
    "corrections_requested": _application_page,
    "eligibility_refused": _application_page,
    "decision_awarded": _application_page,
    "decision_rejected": _application_page,
    "payment_recorded": _application_page,
    "convention_ready": lambda context: url_for("conventions.show", application_id=context["application"].id,
                                                _external=False),
    "convention_signed": lambda context: url_for("conventions.manage", application_id=context["application"].id,
                                                 _external=False),
    "convention_countersigned": lambda context: url_for("conventions.show",
                                                        application_id=context["application"].id, _external=False),
    "deadline_reminder": _application_page,
    "deadline_extended": _call_page,
    "call_opened": _call_page,
    "review_assigned": _assignments_page,
    "review_due_soon": _assignment_page,
    "review_overdue": _assignment_page,
    "review_set_aside": lambda context: url_for("reviews.assignments", call_id=context["call"].id, _external=False),
    "manager_digest": lambda context: url_for("home.dashboard", _external=False),
    "attachment_bundle_ready": lambda context: url_for(
        "applications.bundle", call_id=context["call"].id, bundle_id=context["bundle"].id, _external=False),
    "data_export_ready": lambda context: url_for("privacy.my_data", _external=False),
    # Someone tried to sign up with the address: the owner's account page (password, sessions).
    "sign_up_attempt": lambda context: url_for("accounts.account", _external=False),
    "final_report_due": lambda context: url_for("final_reports.edit", application_id=context["application"].id, _external=False),
    "final_report_overdue": lambda context: url_for("final_reports.edit", application_id=context["application"].id, _external=False),
    "final_report_accepted": lambda context: url_for("final_reports.edit", application_id=context["application"].id, _external=False),
    "final_report_corrections": lambda context: url_for("final_reports.edit", application_id=context["application"].id, _external=False),
}


def notification_link(event_name: str, context: dict) -> str | None:
    page = PAGE_OF_EVENT.get(event_name)
    return page(context) if page else None


def render_notification(event_name: str, recipient, *, dedup_key: str | None = None, **context) -> Notification:
    return Notification(**notification_values(event_name, recipient, dedup_key=dedup_key, **context))


def notification_values(event_name: str, recipient, *, dedup_key: str | None = None, **context) -> dict:
    """The columns of one rendered message: two template renders (subject, text body) and the HTML
    part, from the event's own HTML template or the text body set in the layout."""
    email = getattr(recipient, "email", recipient)
    locale = getattr(recipient, "locale", None) or "fr"
    with force_locale(locale):
        subject = render_template(f"email/{event_name}.subject.txt", **context).strip()
        body = render_template(f"email/{event_name}.body.txt", **context)
        body_html = render_html_part(event_name, subject, body, context)
    return {"event": event_name, "recipient_email": email, "recipient_id": getattr(recipient, "id", None),
            "subject": subject, "body_text": body, "body_html": body_html, "dedup_key": dedup_key,
            "link": notification_link(event_name, context)}


def has_own_html(event_name: str) -> bool:
    """Whether ``templates/email/<event>.body.html`` exists; looked up once per event and app (a
    missing template is not cached by Jinja, and the scans ask for thousands of messages)."""
    known = current_app.extensions.setdefault("subventia.email_html", {})
    if event_name not in known:
        try:
            current_app.jinja_env.get_template(f"email/{event_name}.body.html")
            known[event_name] = True
        except TemplateNotFound as missing:
            if missing.name != f"email/{event_name}.body.html":
                raise
            known[event_name] = False
    return known[event_name]


def render_html_part(event_name: str, subject: str, body: str, context: dict) -> str:
    if has_own_html(event_name):
        return render_template(f"email/{event_name}.body.html", subject=subject, **context)
    paragraphs = text_paragraphs(body)
    if not paragraphs or current_app.jinja_env.auto_reload:
        return render_template("email/_layout.html", subject=subject, paragraphs=paragraphs)
    head, between, tail = layout_pieces()
    return (head.replace(_SUBJECT_MARK, escape(subject)) + between.join(paragraphs)
            + tail.replace(_SUBJECT_MARK, escape(subject)))


_SUBJECT_MARK, _FIRST_MARK, _SECOND_MARK = "subventia-subject-6c1f", "subventia-first-6c1f", "subventia-second-6c1f"


def layout_pieces() -> tuple[str, str, str]:
    """``_layout.html`` rendered once per language with marks in place of the subject and of two
    paragraphs: what comes before the first, between two, and after the last. Every message without
    its own HTML template is then these pieces around its escaped paragraphs, exactly what rendering
    the layout for it gives, without a template render per message (the scans queue thousands)."""
    cache = current_app.extensions.setdefault("subventia.email_layout", {})
    locale = str(get_locale())
    if locale not in cache:
        html = render_template("email/_layout.html", subject=_SUBJECT_MARK,
                               paragraphs=[Markup(_FIRST_MARK), Markup(_SECOND_MARK)])
        first, second = html.index(_FIRST_MARK), html.index(_SECOND_MARK)
        cache[locale] = (html[:first], html[first + len(_FIRST_MARK):second], html[second + len(_SECOND_MARK):])
    return cache[locale]


def text_paragraphs(text: str) -> list[Markup]:
    """A plain-text body as HTML paragraphs: escaped, line breaks kept, web addresses made links."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [linkify(line.strip()) for line in block.splitlines()]
        paragraphs.append(Markup("<br>\n").join(lines))
    return paragraphs


def linkify(line: str) -> Markup:
    pieces, position = [], 0
    for match in _LINK.finditer(line):
        pieces.append(escape(line[position:match.start()]))
        address = escape(match.group(0))
        pieces.append(Markup('<a href="{0}">{0}</a>').format(address))
        position = match.end()
    pieces.append(escape(line[position:]))
    return Markup("").join(pieces)


# --- After commit: hand the new rows to the delivery task -------------------------------------------


@event.listens_for(Session, "after_flush")
def _remember_queued(session, flush_context):
    queued = [obj.id for obj in session.new if isinstance(obj, Notification)]
    if queued:
        session.info.setdefault(_OUTBOX_KEY, []).extend(queued)


@event.listens_for(Session, "after_commit")
def dispatch_after_commit(session):
    # SQLAlchemy also calls after_commit when a savepoint is released: nothing is committed then,
    # and a task started now could run before the real commit and find nothing.
    if session.in_nested_transaction():
        return
    ids = list(dict.fromkeys(session.info.pop(_OUTBOX_KEY, [])))
    for batch in batches(ids):
        # A broker outage must not undo the committed action: the rows stay pending and the
        # sweeper (outbox.tasks.requeue_stale_notifications) sends them later.
        try:
            deliver_notifications.delay(batch)
        except Exception:  # noqa: BLE001 — kombu raises many kinds of connection errors
            current_app.logger.exception("could not enqueue notifications %s; the sweeper will", batch)


@event.listens_for(Session, "after_transaction_end")
def _forget_queued(session, transaction):
    # Only when the whole transaction ends (after_commit has already taken the ids, or it rolled
    # back): a savepoint rolled back inside it must not forget the rows queued outside the savepoint.
    # A row of a rolled-back savepoint that stays listed is harmless: its delivery finds nothing.
    if transaction.parent is None:
        session.info.pop(_OUTBOX_KEY, None)


def deliver_after_commit(notification: Notification) -> None:
    """Hand an existing row (a failed one put back to pending) to the delivery task after the commit,
    like a newly queued row."""
    db.session.info.setdefault(_OUTBOX_KEY, []).append(notification.id)
