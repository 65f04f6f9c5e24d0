"""Every remaining event of issue 7, triggered through its area's real service and committed like a
view would, then delivered by one real Celery worker (Redis broker) to a real SMTP server.

One worker start for all events keeps CI time low; the fixtures are in tests/notifications/conftest.py.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date

from grants.applications.services import request_corrections, withdraw
from grants.awards.services import award_grant, record_payment, reject_application
from grants.calls.followers import set_follow
from grants.calls.services import open_and_close_due_calls
from grants.database import db, utcnow
from grants.models import Applicant, ApplicationState, CallState, Notification, NotificationStatus
from grants.notifications.reminders import (
    local_today,
    queue_manager_digests,
    queue_review_reminders,
)
from grants.reviews import services as reviews
from tests.factories import (
    CallEnvelopeFactory,
    CallFactory,
    ManagerFactory,
    OrganisationFactory,
    ProgrammeFactory,
    ReviewerFactory,
    SubmittedApplicationFactory,
    UserFactory,
    member_of,
    with_submitted_review,
)
from tests.notifications.conftest import received, wait_for

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def app_overrides(real_stack_overrides):
    return real_stack_overrides


def morning(day, hour=9):
    """``hour`` o'clock in Paris on ``day``: after the 08:00 of the reminders and the digest."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def subject_of(message) -> str:
    """The subject as a mail client shows it: a long encoded subject is folded by the sender after
    "Subject:", which leaves a leading space in Python's unfolded value; clients strip it."""
    return plain(message["Subject"]).strip()


def test_each_event_reaches_each_recipient_once_through_the_worker(pg_app, worker, smtp_server, celery):
    _, handler = smtp_server
    manager = ManagerFactory(email="charge@region.example")
    reviewer = ReviewerFactory(email="experte@region.example")
    call = CallFactory(state=CallState.OPEN)
    CallEnvelopeFactory(call=call, amount=Decimal("100000.00"))
    organisation = OrganisationFactory()
    president = member_of(organisation, email="presidente@asso.example", locale="fr", full_name="Awa Diallo")
    member_of(organisation, email="treasurer@asso.example", locale="en")
    applicant = db.session.scalar(db.select(Applicant).where(Applicant.organisation_id == organisation.id))

    def dossier(state=ApplicationState.SUBMITTED, **fields):
        return SubmittedApplicationFactory(call=call, applicant=applicant, created_by=president, state=state, **fields)

    to_correct, to_withdraw, to_screen = dossier(), dossier(), dossier()
    to_reject, to_pay, to_review = (dossier(ApplicationState.UNDER_REVIEW, eligible=True) for _ in range(3))
    # Expected mail: (recipient, subject, a piece of the plain-text body).
    expected = []

    def to_applicant(french, english, french_content, english_content=None):
        expected.append(("presidente@asso.example", french, french_content))
        expected.append(("treasurer@asso.example", english, english_content or french_content))

    # Applications: corrections requested, withdrawal confirmed.
    request_corrections(to_correct, actor=manager, message="Merci de joindre le budget signé.",
                        due_at=utcnow() + timedelta(days=10), sections=["budget"])
    db.session.commit()
    to_applicant(f"Dossier {to_correct.reference} : des compléments sont demandés",
                 f"Application {to_correct.reference}: further information requested",
                 "Merci de joindre le budget signé.")
    withdraw(to_withdraw, actor=president, reason="Projet reporté")
    db.session.commit()
    to_applicant(f"Dossier « {to_withdraw.title} » retiré", f"Application “{to_withdraw.title}” withdrawn",
                 "Awa Diallo")

    # Reviews: eligibility refused at screening.
    reviews.screen_application(to_screen, eligible=False, reason="Association créée depuis moins d'un an.",
                               actor=manager)
    db.session.commit()
    to_applicant(f"Votre dossier {to_screen.reference} n'est pas recevable",
                 f"Your application {to_screen.reference} is not eligible", "Association créée depuis moins d'un an.")

    # Awards: rejection with its reason, award then payment.
    reject_application(to_reject, reason="Budget insuffisamment détaillé.", actor=manager)
    db.session.commit()
    to_applicant(f"« {to_reject.title} » : décision sur votre demande de subvention",
                 f"“{to_reject.title}”: decision on your grant application", "Budget insuffisamment détaillé.")
    with_submitted_review(to_pay, assigned_by=manager)
    decision = award_grant(to_pay, amount=Decimal("4000.00"), section="fonctionnement", actor=manager)
    db.session.commit()
    to_applicant(f"« {to_pay.title} » : une subvention vous est accordée",
                 f"“{to_pay.title}”: you have been awarded a grant", "4 000,00 €", "€4,000.00")
    record_payment(decision, amount=Decimal("1500.00"), tranche="advance", actor=manager, paid_on=local_today(utcnow()))
    db.session.commit()
    to_applicant(f"« {to_pay.title} » : versement de 1 500,00 €", f"“{to_pay.title}”: payment of €1,500.00",
                 "total versé : 1 500,00 € sur 4 000,00 €", "total paid: €1,500.00 of €4,000.00")

    # Reviews: assignment, then the reminder scans the day before it is due and the day after.
    today = local_today(utcnow())
    due_on = today + timedelta(days=5)
    reviews.assign([to_review], [reviewer], due_on=due_on, actor=manager, now=utcnow())
    db.session.commit()
    expected.append(("experte@region.example", "Un dossier vous est confié pour évaluation", to_review.reference))
    assert queue_review_reminders(now=morning(due_on - timedelta(days=1))) == 1
    db.session.commit()
    expected.append(("experte@region.example",
                     f"Évaluation à rendre d'ici le {format_date(due_on, 'long', locale='fr')} : {to_review.reference}",
                     "Il reste 1 jour."))
    assert queue_review_reminders(now=morning(due_on + timedelta(days=1))) == 1
    db.session.commit()
    expected.append(("experte@region.example", f"Évaluation en retard : {to_review.reference}",
                     "n'est pas encore rendue"))

    # Calls: a scheduled call of a followed programme opens.
    follower = UserFactory(email="suiveuse@asso.example")
    programme = ProgrammeFactory()
    set_follow(follower, programme.id, True)
    db.session.commit()
    news = CallFactory(programme=programme, state=CallState.SCHEDULED, opens_at=utcnow() - timedelta(minutes=1))
    assert open_and_close_due_calls()["opened"] == [news.slug]
    db.session.commit()
    expected.append(("suiveuse@asso.example", f"Nouvel appel à projets ouvert : {news.title}",
                     f"« {programme.name} », que vous suivez"))

    # The managers' digest, this morning (or now, if it is already past 08:00 in Paris).
    now = utcnow()
    digest_at = now if now.astimezone(PARIS).hour >= 8 else morning(today)
    assert queue_manager_digests(now=digest_at) == 1
    db.session.commit()
    expected.append(("charge@region.example",
                     f"Subventia, le point du {format_date(local_today(digest_at), 'long', locale='fr')}",
                     to_reject.reference))

    assert wait_for(lambda: len(handler.messages) >= len(expected)), (
        f"{len(handler.messages)} of {len(expected)} delivered:\n{celery.logs()}")
    time.sleep(1)  # nothing more comes
    messages = received(handler)
    assert sorted((e.rcpt_tos[0], len(e.rcpt_tos)) for e in handler.messages) == sorted(
        (to, 1) for to, _, _ in expected)
    got = sorted((m["To"], subject_of(m)) for m in messages)
    wanted = sorted((to, subject) for to, subject, _ in expected)
    assert got == wanted, f"unexpected: {set(got) - set(wanted)}\nmissing: {set(wanted) - set(got)}"
    for to, subject, content in expected:
        message = next(m for m in messages if m["To"] == to and subject_of(m) == subject)
        body = plain(message.get_body(("plain",)).get_content())
        assert content in body, (to, subject, body)
        assert message.get_body(("html",)) is not None
    stored = db.session.execute(db.select(Notification.recipient_email, Notification.subject)).all()
    assert sorted((to, plain(subject)) for to, subject in stored) == wanted
    assert set(db.session.scalars(db.select(Notification.status))) == {NotificationStatus.SENT}
