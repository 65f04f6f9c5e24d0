"""Closing an account: erased at once where no legal duty keeps the data, kept and restricted where
one does, deferred while a payment is due; irreversible, audited without the erased data, the ledger
and the audit log intact."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.accounts.models import LoginSession, User
from grants.api.models import ApiToken
from grants.applications.models import Application, ApplicationState, Attachment
from grants.audit.models import AuditEvent, AuditEventOrigin
from grants.awards import services as awards
from grants.awards.closure import mark_report_accepted
from grants.awards.models import PaymentTranche
from grants.calls.models import BudgetSection, CallState, ProgrammeFollow
from grants.database import db
from grants.errors import NotAllowed
from grants.local_time import local_today
from grants.organisations.models import Invitation, Membership, Organisation
from grants.outbox.models import Notification
from grants.privacy.closure import close_account
from grants.privacy.models import AccountClosure, ClosureStatus
from grants.storage import attachment_storage
from tests.accounts.conftest import audit_events
from tests.conftest import TEST_PASSWORD, login
from tests.factories import CallEnvelopeFactory, ManagerFactory, UserFactory, with_submitted_review
from tests.privacy.conftest import person_with_data

CONFIRM = {"password": TEST_PASSWORD, "understood": "y"}


def test_closing_erases_the_person_and_keeps_the_grant_files(client, person):
    email, user_id = person.user.email, person.user.id
    organisation_id = db.session.scalar(sa.select(Membership.organisation_id).where(Membership.user_id == user_id))
    key = person.attachment.storage_key
    submitted_id, submitted_amount = person.submitted.id, person.submitted.amount_requested
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEventOrigin)) > 0

    page = client.get("/compte/cloture").get_data(as_text=True)
    assert "Ce qui est conservé, et pourquoi" in html.unescape(page)
    response = client.post("/compte/cloture", data=CONFIRM)
    assert response.status_code == 302 and response.location.endswith("/")
    db.session.expire_all()

    user = db.session.get(User, user_id)
    assert user.email == f"compte-ferme-{user_id}@invalid" and user.full_name == f"Compte fermé n° {user_id}"
    assert not user.active and user.last_login_at is None
    # Gone, from every table that held them.
    for model, column in [(LoginSession, LoginSession.user_id), (ApiToken, ApiToken.user_id),
                          (ProgrammeFollow, ProgrammeFollow.user_id), (Membership, Membership.user_id),
                          (Notification, Notification.recipient_id)]:
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model).where(column == user_id)) == 0, model
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.recipient_email == email)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation).where(Invitation.email == email)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEventOrigin)) == 0
    # The draft and its file are gone, from the table and from the store.
    assert db.session.get(Application, person.draft.id) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
    assert not attachment_storage().exists(key)
    # The submitted file is kept (archives), its figures intact, its bank details gone; the
    # association survives the departure of its member.
    kept = db.session.get(Application, submitted_id)
    assert kept.state == ApplicationState.SUBMITTED and kept.amount_requested == submitted_amount
    assert kept.applicant.iban is None and kept.applicant.address is None
    assert db.session.get(Organisation, organisation_id) is not None
    # Nobody can sign in with the old address any more, and nothing in the audit of it is personal.
    assert login(client, user).status_code == 200
    assert client.post("/connexion", data={"email": email, "password": TEST_PASSWORD}).status_code == 200
    [event] = audit_events("privacy.account_closed")
    assert event.subject_id == user_id and event.details == {} and event.origin is None
    assert email not in str([e.details for e in db.session.scalars(sa.select(AuditEvent))])
    closure = db.session.scalar(sa.select(AccountClosure))
    assert closure.status == ClosureStatus.DONE and closure.completed_at is not None
    # The append-only log still refuses to be rewritten.
    with pytest.raises(sa.exc.DBAPIError):
        with db.session.begin_nested():
            db.session.execute(sa.update(AuditEvent).values(action="x"))
    db.session.rollback()


def test_the_ledger_stays_sound_and_a_pending_payment_defers_the_closure(app, client):
    person = person_with_data(client)
    call = person.submitted.call
    call.state = CallState.CLOSED
    CallEnvelopeFactory(call=call, section=BudgetSection.OPERATING, amount=Decimal("10000.00"))
    person.submitted.state = ApplicationState.UNDER_REVIEW
    db.session.commit()
    manager = ManagerFactory()
    with_submitted_review(person.submitted, assigned_by=manager)
    decision = awards.award_grant(person.submitted, amount=Decimal("3000.00"), section=BudgetSection.OPERATING,
                                  actor=manager)
    awards.record_payment(decision, amount=Decimal("1000.00"), tranche=PaymentTranche.ADVANCE, actor=manager,
                          paid_on=local_today())
    db.session.commit()

    response = client.post("/compte/cloture", data=CONFIRM, follow_redirects=True)
    assert "Un paiement vous est encore dû" in html.unescape(response.get_data(as_text=True))
    db.session.expire_all()
    user = db.session.get(User, person.user.id)
    assert user.active and user.email == "camille.martin@example.org"
    assert person.submitted.applicant.iban is not None
    closure = db.session.scalar(sa.select(AccountClosure))
    assert closure.status == ClosureStatus.DEFERRED and person.submitted.reference in closure.reason

    # Paid in full: the closure goes through, and the ledger's checks still hold.
    mark_report_accepted(decision)  # the balance goes on the accepted final report
    awards.record_payment(decision, amount=Decimal("2000.00"), tranche=PaymentTranche.BALANCE, actor=manager,
                          paid_on=local_today())
    db.session.commit()
    assert client.post("/compte/cloture", data=CONFIRM).status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, person.user.id).active
    awards.verify_ledger()
    assert db.session.get(type(decision), decision.id).paid == Decimal("3000.00")


def test_a_wrong_password_or_no_confirmation_closes_nothing(client, person):
    response = client.post("/compte/cloture", data={"password": "pas le bon mot de passe", "understood": "y"})
    assert response.status_code == 200 and "Mot de passe incorrect" in response.get_data(as_text=True)
    response = client.post("/compte/cloture", data={"password": TEST_PASSWORD})
    assert response.status_code == 200 and "Cochez la case" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, person.user.id).active
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccountClosure)) == 0


def test_nobody_closes_another_persons_account_and_staff_accounts_are_closed_by_an_administrator(app):
    person, other, manager = UserFactory(), UserFactory(), ManagerFactory()
    with app.test_request_context(), pytest.raises(NotAllowed):
        close_account(person, actor=other)
    with app.test_request_context(), pytest.raises(NotAllowed):
        close_account(manager, actor=manager)
    db.session.rollback()
    assert db.session.get(User, person.id).active and db.session.get(User, manager.id).active
