"""Who reaches a grant's pages after the award: its convention (PDF, signed scan, signature), its final
report (form, documents, deposit), its decision letter. The routes are read from ``app.url_map``: every
endpoint of the conventions and final_reports blueprints, and the decision letter, that takes an
``application_id``, so a new page of a grant is covered as soon as it exists (the dossier's own pages
are walked by tests/applications/test_ownership_matrix.py).

- the association that holds the grant: its pages answer;
- a member of another association: 404 everywhere (403 on the managers' pages), nothing written;
- a reviewer: nothing; anonymous: the login page.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import url_for
from werkzeug.datastructures import FileStorage

from grants.access import Access
from grants.awards import services as awards
from grants.conventions import services as conventions
from grants.database import db
from grants.final_reports import documents
from grants.final_reports import services as reports
from grants.models import CallState
from tests.awards.conftest import OPERATING, under_review
from tests.conftest import login
from tests.factories import (
    CallEnvelopeFactory,
    CallFactory,
    ManagerFactory,
    ReviewerFactory,
    member_of,
)

GRANT_BLUEPRINTS = ("conventions.", "final_reports.")
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def grant_routes(app):
    return sorted(
        (rule for rule in app.url_map.iter_rules()
         if "application_id" in rule.arguments
         and (rule.endpoint.startswith(GRANT_BLUEPRINTS) or rule.endpoint == "awards.decision_letter")),
        key=lambda rule: rule.rule,
    )


def is_manager_page(app, rule) -> bool:
    return app.view_functions[rule.endpoint].access_rule == Access.MANAGER


@pytest.fixture
def grant(app):
    """An award above the convention threshold, its convention signed by a scan, its final report a
    draft with one document; its owner and the other identities."""
    manager = ManagerFactory()
    call = CallFactory(state=CallState.CLOSED, max_grant=Decimal("50000.00"))
    CallEnvelopeFactory(call=call, section=OPERATING, amount=Decimal("100000.00"))
    application = under_review(call, amount_requested=Decimal("30000.00"))
    decision = awards.award_grant(application, amount=Decimal("25000.00"), section=OPERATING, actor=manager)
    convention = conventions.generate(decision, actor=manager)
    conventions.upload_scan(convention, stream=io.BytesIO(PDF), actor=manager)
    owner = application.created_by
    report = reports.start_report(decision, actor=owner)
    document = documents.add_document(
        report, FileStorage(io.BytesIO(PDF), filename="comptes.pdf", content_type="application/pdf"), actor=owner)
    db.session.commit()
    return {"application": application, "decision": decision, "document": document, "owner": owner,
            "other": member_of(), "reviewer": ReviewerFactory(), "manager": manager}


def url_of(app, rule, grant) -> str:
    values = {"application_id": grant["application"].id}
    for argument in rule.arguments - {"application_id"}:
        values[argument] = {"document_id": grant["document"].id, "version": 1}.get(argument, 987654)
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def row_counts() -> dict[str, int]:
    return {table.name: db.session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in db.metadata.sorted_tables
            if table.name not in ("audit_events", "audit_event_origins", "login_sessions")}  # refusals are audited


def test_the_walk_covers_the_grant_pages(app):
    endpoints = {rule.endpoint for rule in grant_routes(app)}
    assert {"conventions.show", "conventions.pdf", "conventions.scan", "conventions.sign", "final_reports.edit",
            "final_reports.save", "final_reports.submit", "final_reports.add_document",
            "final_reports.download_document", "final_reports.remove_document", "awards.decision_letter",
            "conventions.manage", "final_reports.review"} <= endpoints


@pytest.mark.parametrize("identity", ["other", "reviewer", "anonymous"])
def test_nobody_else_reaches_a_grant(app, grant, identity):
    client = app.test_client()
    if identity != "anonymous":
        assert login(client, grant[identity]).status_code == 302
    before = row_counts()
    problems = []
    for rule in grant_routes(app):
        url = url_of(app, rule, grant)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            if identity == "anonymous":
                ok = response.status_code == 302 and "/connexion" in response.headers["Location"]
            elif is_manager_page(app, rule):
                ok = response.status_code == 403
            elif identity == "other":
                ok = response.status_code == 404  # as if the grant did not exist
            else:
                ok = response.status_code in (403, 404)
            if not ok:
                problems.append(f"{identity}: {method} {url} gave {response.status_code}")
    assert problems == []
    db.session.expire_all()
    assert row_counts() == before  # nothing signed, saved, deposited, uploaded or removed


def test_the_owner_reaches_every_page_of_the_grant(app, grant):
    client = app.test_client()
    assert login(client, grant["owner"]).status_code == 302
    problems = []
    for rule in grant_routes(app):
        if "GET" not in rule.methods:
            continue
        expected = {403} if is_manager_page(app, rule) else {200}
        url = url_of(app, rule, grant)
        response = client.get(url)
        if response.status_code not in expected:
            problems.append(f"GET {url} gave {response.status_code}")
    assert problems == []
