"""The periodic scans: what is due today (Paris days) is queued once, whatever runs twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from grants.database import db
from grants.models import (
    Applicant,
    ApplicationState,
    CallState,
    Notification,
    NotificationStatus,
    Review,
    ReviewState,
)
from grants.notifications import reminders
from grants.notifications.tasks import send_deadline_reminders
from tests.factories import (
    ApplicationFactory,
    CallEnvelopeFactory,
    CallFactory,
    ManagerFactory,
    OrganisationFactory,
    ReviewAssignmentFactory,
    ReviewerFactory,
    SubmittedApplicationFactory,
    member_of,
)

# 10 June 2026, 09:00 in Paris (summer time, UTC+2).
NOW = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)
# The call closes on 17 June at 18:00 Paris: J-7 on the 10th.
CLOSES = datetime(2026, 6, 17, 16, 0, tzinfo=UTC)


def open_call(**fields):
    return CallFactory(state=CallState.OPEN, opens_at=NOW - timedelta(days=20), closes_at=CLOSES, **fields)


def draft_on(call, *emails, locale="fr", **fields):
    organisation = OrganisationFactory()
    users = [member_of(organisation, email=email, locale=locale) for email in emails]
    applicant = db.session.scalar(db.select(Applicant).where(Applicant.organisation_id == organisation.id))
    return ApplicationFactory(call=call, applicant=applicant, created_by=users[0], **fields), users


def queued(event=None):
    query = db.select(Notification).order_by(Notification.id)
    if event:
        query = query.where(Notification.event == event)
    return db.session.scalars(query).all()


def run_deadline_scan(now):
    total = sum(reminders.deadline_reminder_batches(now))
    db.session.commit()
    return total


def test_a_draft_holder_is_reminded_at_j_minus_7_once(app, mail_outbox):
    call = open_call()
    application, users = draft_on(call, "presidente@asso.example", "tresorier@asso.example")
    draft_on(call, "depose@asso.example", state=ApplicationState.SUBMITTED, reference="AAP-2026-0001",
             submitted_at=NOW - timedelta(days=1))

    assert run_deadline_scan(NOW) == 2
    assert run_deadline_scan(NOW) == 0  # the scan runs again (beat fired twice): nothing more
    assert run_deadline_scan(NOW + timedelta(hours=3)) == 0

    rows = queued("deadline_reminder")
    assert sorted(r.recipient_email for r in rows) == ["presidente@asso.example", "tresorier@asso.example"]
    assert {r.dedup_key.rsplit(":", 1)[0] for r in rows} == {f"deadline_reminder:{application.id}:7:20260617"}
    assert sorted(m.to[0] for m in mail_outbox) == ["presidente@asso.example", "tresorier@asso.example"]
    message = mail_outbox[0]
    assert "Plus que 7 jours" in message.subject
    assert "17 juin 2026" in message.body and "18:00" in message.body
    # The link opens the draft itself, in the email and in the bell, not the call's public page.
    assert f"://subventia.test/dossiers/{application.id}\n" in message.body
    assert f"/appels/{call.slug}" not in message.body
    assert {r.link for r in rows} == {f"/dossiers/{application.id}"}
    assert all(r.status == NotificationStatus.SENT for r in rows)


def test_the_offsets_are_the_calls_own_and_the_smallest_due_one_is_sent(app, mail_outbox):
    call = open_call(reminder_offsets_days=[7, 1])
    draft_on(call, "a@asso.example")
    # J-8: nothing yet.
    assert run_deadline_scan(NOW - timedelta(days=1)) == 0
    # J-3 without any scan before (beat was down on J-7): one reminder, the J-7 one, not two.
    assert run_deadline_scan(NOW + timedelta(days=4)) == 1
    assert run_deadline_scan(NOW + timedelta(days=5)) == 0  # J-2: nothing due
    # J-1 (16 June in Paris): the second reminder.
    assert run_deadline_scan(NOW + timedelta(days=6)) == 1
    assert [r.dedup_key.split(":")[2] for r in queued("deadline_reminder")] == ["7", "1"]
    assert "Plus que 1 jour" in mail_outbox[-1].subject


def test_no_reminder_before_the_morning_nor_after_closing_nor_on_other_calls(app, mail_outbox):
    call = open_call()
    draft_on(call, "a@asso.example")
    draft_on(CallFactory(state=CallState.CLOSED, opens_at=NOW - timedelta(days=30),
                         closes_at=NOW - timedelta(days=1)), "b@asso.example")
    draft_on(CallFactory(state=CallState.OPEN, opens_at=NOW - timedelta(days=30),
                         closes_at=NOW + timedelta(days=30)), "c@asso.example")
    # 10 June, 07:30 in Paris: before 08:00.
    assert run_deadline_scan(datetime(2026, 6, 10, 5, 30, tzinfo=UTC)) == 0
    assert run_deadline_scan(CLOSES + timedelta(minutes=1)) == 0
    assert mail_outbox == []


def test_an_extended_deadline_gets_its_reminders_again(app, mail_outbox):
    call = open_call(reminder_offsets_days=[2])
    draft_on(call, "a@asso.example")
    assert run_deadline_scan(NOW + timedelta(days=5)) == 1  # 15 June: J-2
    call.closes_at = CLOSES + timedelta(days=7)
    db.session.commit()
    assert run_deadline_scan(NOW + timedelta(days=6)) == 0
    assert run_deadline_scan(NOW + timedelta(days=12)) == 1  # 22 June: J-2 of the new deadline
    assert len(mail_outbox) == 2


def test_the_scan_task_sends_in_the_recipients_language(app, mail_outbox, time_machine):
    time_machine.move_to(NOW, tick=False)
    call = open_call()
    draft_on(call, "english@asso.example", locale="en")
    assert send_deadline_reminders.apply().get() == 1
    assert mail_outbox[0].to == ["english@asso.example"]
    html = mail_outbox[0].alternatives[0]
    assert html[1] == "text/html" and 'lang="en"' in html[0]


def test_review_reminders_due_soon_then_overdue_once_each(app, mail_outbox):
    reviewer = ReviewerFactory(email="experte@region.example")
    assignment = ReviewAssignmentFactory(reviewer=reviewer, due_on=date(2026, 6, 12))
    done = ReviewAssignmentFactory(due_on=date(2026, 6, 12))
    db.session.add(Review(assignment_id=done.id, state=ReviewState.SUBMITTED, opinion="fund",
                          submitted_at=NOW))
    ReviewAssignmentFactory(due_on=date(2026, 6, 20))  # not due yet
    db.session.commit()

    def scan(now):
        count = reminders.queue_review_reminders(now)
        db.session.commit()
        return count

    assert scan(NOW) == 1  # two days before
    assert scan(NOW) == 0
    assert scan(NOW + timedelta(days=2)) == 0  # the due day: already reminded
    assert scan(NOW + timedelta(days=3)) == 1  # the day after: overdue
    assert scan(NOW + timedelta(days=4)) == 0
    assert [(r.event, r.recipient_email) for r in queued()] == [
        ("review_due_soon", "experte@region.example"), ("review_overdue", "experte@region.example")]
    assert assignment.application.reference in mail_outbox[0].subject
    assert "en retard" in mail_outbox[1].subject


def test_the_manager_digest_once_a_day_from_8_respecting_preferences(app, mail_outbox):
    manager = ManagerFactory(email="chargee@region.example")
    ManagerFactory(email="sans-digest@region.example", wants_digest=False)
    call = open_call(title="Solidarité internationale")
    CallEnvelopeFactory(call=call, amount=Decimal("250000.00"))
    SubmittedApplicationFactory(call=call, reference="AAP-2026-0042", submitted_at=NOW - timedelta(hours=5))
    ReviewAssignmentFactory(due_on=date(2026, 6, 8), assigned_by=manager)
    db.session.commit()

    def scan(now):
        count = reminders.queue_manager_digests(now)
        db.session.commit()
        return count

    assert scan(datetime(2026, 6, 10, 5, 59, tzinfo=UTC)) == 0  # 07:59 in Paris
    assert scan(NOW) == 1
    assert scan(NOW + timedelta(hours=5)) == 0
    [message] = mail_outbox
    assert message.to == ["chargee@region.example"]
    assert "AAP-2026-0042" in message.body
    assert "1 évaluation en retard" in message.body
    assert "Solidarité internationale : 250 000,00 € / 250 000,00 €" in message.body.replace("\u202f", " ").replace("\xa0", " ")
    # The next day: only what was submitted since the previous digest.
    assert scan(NOW + timedelta(days=1)) == 1
    assert "AAP-2026-0042" not in mail_outbox[1].body
    assert manager.id == queued("manager_digest")[1].recipient_id


def test_call_opening_news_go_to_followers_who_want_them(app, mail_outbox):
    from grants.calls.models import ProgrammeFollow
    from grants.calls.services import open_and_close_due_calls

    call = CallFactory(state=CallState.SCHEDULED, opens_at=NOW - timedelta(minutes=1), closes_at=CLOSES)
    follower = member_of(email="suit@asso.example")
    quiet = member_of(email="silence@asso.example", wants_call_news=False)
    member_of(email="ne-suit-pas@asso.example")
    for user in (follower, quiet):
        db.session.add(ProgrammeFollow(user_id=user.id, programme_id=call.programme_id))
    db.session.commit()

    assert open_and_close_due_calls(NOW)["opened"] == [call.slug]
    db.session.commit()
    assert [m.to for m in mail_outbox] == [["suit@asso.example"]]
    assert call.title in mail_outbox[0].subject


def test_a_rolled_back_opening_announces_nothing(app, mail_outbox):
    from grants.calls.models import ProgrammeFollow
    from grants.calls.services import open_and_close_due_calls

    call = CallFactory(state=CallState.SCHEDULED, opens_at=NOW - timedelta(minutes=1), closes_at=CLOSES)
    follower = member_of()
    db.session.add(ProgrammeFollow(user_id=follower.id, programme_id=call.programme_id))
    db.session.commit()
    open_and_close_due_calls(NOW)
    db.session.rollback()
    db.session.commit()
    assert mail_outbox == [] and queued() == []


def test_reminders_rendered_once_per_language_are_exactly_the_ones_rendered_one_by_one(app, mail_outbox):
    from grants.outbox.services import notification_values

    call = open_call()
    titled, (marie, john) = draft_on(call, "marie@asso.example", "john@asso.example", title="Jardins <partagés> & co")
    john.locale = "en"
    marie.full_name = "Marie <Curie> & Cie"
    untitled, (paul,) = draft_on(call, "paul@asso.example", title="")
    due = [(marie, titled, "k:1"), (john, titled, "k:2"), (paul, untitled, "k:3")]
    grouped = reminders.deadline_reminder_values(due, 7)
    one_by_one = [notification_values("deadline_reminder", user, dedup_key=key, user=user, application=application,
                                      call=call, days_left=7) for user, application, key in due]
    assert grouped == one_by_one
    assert "Marie &lt;Curie&gt; &amp; Cie" in grouped[0]["body_html"] and "Marie <Curie> & Cie" in grouped[0]["body_text"]
    assert f"/dossiers/{titled.id}" in grouped[1]["body_text"] and grouped[1]["link"] == f"/dossiers/{titled.id}"
