"""Who gets what on every page of a dossier. The routes are read from ``app.url_map``: every endpoint of
the "applications" blueprint that takes an ``application_id`` is walked, so a new page of a dossier
(the attachments' included) is covered as soon as it exists.

- the association that owns the dossier: its pages answer (200, or 302 to the right page);
- a member of another association: 404 everywhere, as if the dossier did not exist;
- a reviewer not assigned to it: nothing (404, or 403 where the page is for applicants only);
- a programme manager: the managers' pages, not the applicant's forms (403/404 there);
- anonymous: the login page.
"""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from flask import url_for

from grants.access import Access
from grants.applications import services
from grants.database import db, utcnow
from grants.models import Applicant, Attachment
from grants.storage import attachment_storage
from tests.conftest import login
from tests.factories import (
    CallEnvelopeFactory,
    CallFactory,
    ManagerFactory,
    ReviewerFactory,
    complete_draft,
    member_of,
)


def dossier_routes(app):
    return sorted(
        (rule for rule in app.url_map.iter_rules()
         if rule.endpoint.startswith("applications.") and "application_id" in rule.arguments),
        key=lambda rule: rule.rule,
    )


def is_manager_page(app, rule) -> bool:
    return app.view_functions[rule.endpoint].access_rule == Access.MANAGER


@pytest.fixture
def dossier(app):
    """A submitted dossier with one attachment row, its owner, and the other identities."""
    call = CallFactory(partner_regions=[], min_grant=Decimal("1000"), max_grant=Decimal("20000"))
    CallEnvelopeFactory(call=call)
    owner = member_of()
    applicant = db.session.scalar(db.select(Applicant).where(
        Applicant.organisation_id == owner.memberships[0].organisation_id))
    application = complete_draft(call=call, applicant=applicant)
    services.submit(application, actor=owner)
    content = b"%PDF-1.4 statuts"
    key = attachment_storage().save(io.BytesIO(content))
    attachment = Attachment(application=application, original_filename="statuts.pdf", storage_key=key,
                            content_type="application/pdf", size_bytes=len(content),
                            sha256=hashlib.sha256(content).hexdigest(), uploaded_by_id=owner.id,
                            uploaded_at=utcnow() - timedelta(minutes=5))
    db.session.add(attachment)
    db.session.commit()
    return {"application": application, "attachment": attachment, "owner": owner, "other": member_of(),
            "reviewer": ReviewerFactory(), "manager": ManagerFactory()}


def url_of(app, rule, dossier) -> str:
    values = {"application_id": dossier["application"].id}
    for argument in rule.arguments - {"application_id"}:
        values[argument] = dossier["attachment"].id if argument == "attachment_id" else 987654
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def method_of(rule) -> str:
    return "GET" if "GET" in rule.methods else "POST"


def test_the_walk_covers_the_dossier_pages(app):
    endpoints = {rule.endpoint for rule in dossier_routes(app)}
    assert {"applications.show", "applications.identification", "applications.project", "applications.budget",
            "applications.submit", "applications.receipt", "applications.withdraw", "applications.manage",
            "applications.request_corrections"} <= endpoints


@pytest.mark.parametrize("identity", ["other", "reviewer", "manager", "anonymous"])
def test_nobody_else_reaches_a_dossier(app, dossier, identity):
    client = app.test_client()
    if identity != "anonymous":
        assert login(client, dossier[identity]).status_code == 302
    problems = []
    for rule in dossier_routes(app):
        url, method = url_of(app, rule, dossier), method_of(rule)
        response = client.open(url, method=method)
        manager_page = is_manager_page(app, rule)
        if identity == "anonymous":
            ok = response.status_code == 302 and "/connexion" in response.headers["Location"]
        elif identity == "other":
            ok = response.status_code == (403 if manager_page else 404)
        elif identity == "reviewer":
            ok = response.status_code in ((403,) if manager_page else (403, 404))
        else:  # manager
            if manager_page:
                ok = response.status_code == (200 if method == "GET" else 422)
            elif rule.endpoint == "applications.download_attachment":
                ok = response.status_code == 200  # managers read the attachments
            else:
                ok = response.status_code in (403, 404)
        if not ok:
            problems.append(f"{identity}: {method} {url} gave {response.status_code}")
    assert problems == []
    db.session.refresh(dossier["application"])
    assert dossier["application"].state.value == "submitted"  # nobody changed it


def test_the_owner_reaches_every_page_of_his_dossier(app, dossier):
    client = app.test_client()
    assert login(client, dossier["owner"]).status_code == 302
    problems = []
    for rule in dossier_routes(app):
        if is_manager_page(app, rule):
            expected = {403}
        else:
            expected = {200, 302}
        url = url_of(app, rule, dossier)
        if "GET" in rule.methods:
            response = client.get(url)
            if response.status_code not in expected:
                problems.append(f"GET {url} gave {response.status_code}")
    assert problems == []


def test_ids_cannot_be_guessed(app, dossier):
    """Another association's dossier and an id that exists nowhere answer alike, and say nothing."""
    client = app.test_client()
    assert login(client, dossier["other"]).status_code == 302
    mine = client.get(f"/dossiers/{dossier['application'].id}")
    nowhere = client.get("/dossiers/987654")
    assert mine.status_code == nowhere.status_code == 404
    assert dossier["application"].title not in mine.get_data(as_text=True)
