"""A person with rows in every kind of table that can hold data about them."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import timedelta

import pytest

from grants.accounts.models import User
from grants.api.models import ApiToken
from grants.applications.models import Application, Attachment
from grants.calls.models import ProgrammeFollow
from grants.database import db, utcnow
from grants.organisations.models import Invitation
from grants.outbox.services import queue_email
from grants.storage import attachment_storage
from tests.conftest import login
from tests.factories import (
    ApplicationFactory,
    BudgetLineFactory,
    CallFactory,
    IndividualApplicantFactory,
    MembershipFactory,
    OrganisationFactory,
    SubmittedApplicationFactory,
    UserFactory,
)

FILE_BYTES = b"%PDF-1.4 statuts de la personne\n%%EOF\n"


@dataclass
class Person:
    user: User
    draft: Application
    submitted: Application
    attachment: Attachment


def stored_attachment(application, user, content: bytes = FILE_BYTES, name: str = "statuts signés.pdf") -> Attachment:
    key = attachment_storage().save(io.BytesIO(content))
    attachment = Attachment(application=application, original_filename=name, storage_key=key,
                            content_type="application/pdf", size_bytes=len(content), sha256="0" * 64,
                            uploaded_by_id=user.id)
    db.session.add(attachment)
    db.session.commit()
    return attachment


def person_with_data(client=None, email: str = "camille.martin@example.org") -> Person:
    """An individual applicant who is also a member of an association, with a draft and a submitted
    application, an uploaded file, an email, a follow, an API token (a former manager), an invitation,
    and audited sign-ins (with their addresses) when ``client`` is given."""
    user = UserFactory(email=email, full_name="Camille Martin")
    applicant = IndividualApplicantFactory(person=user)
    call = CallFactory()
    draft = ApplicationFactory(call=call, applicant=applicant, created_by=user, title="Mon brouillon")
    submitted = SubmittedApplicationFactory(call=call, applicant=applicant, created_by=user, title="Mon projet")
    BudgetLineFactory(application=submitted)
    attachment = stored_attachment(draft, user)
    organisation = OrganisationFactory()
    MembershipFactory(user=user, organisation=organisation)
    db.session.add(Invitation(organisation=organisation, email=user.email, invited_by_id=user.id,
                              expires_at=utcnow() + timedelta(days=7), accepted_at=utcnow(), accepted_by_id=user.id))
    db.session.add(ProgrammeFollow(user_id=user.id, programme_id=call.programme_id))
    db.session.add(ApiToken(user_id=user.id, name="ancien jeton", prefix="sbv_abcd", token_hash="f" * 64))
    queue_email("password_reset", user, user=user, reset_url="https://example.org/x")
    db.session.commit()
    if client is not None:
        assert login(client, user).status_code == 302
    return Person(user, draft, submitted, attachment)


def archive_of(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.get_data()))




@pytest.fixture
def person(client):
    return person_with_data(client)
