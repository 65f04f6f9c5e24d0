"""Documents of a final report: checked as attachments are, stored with their row, downloaded by the
association and the managers only, frozen once the report is submitted."""

from __future__ import annotations

import io

from grants.database import db
from grants.final_reports import services
from grants.models import FinalReportDocument
from grants.storage import attachment_storage
from tests.factories import member_of
from tests.final_reports.conftest import filled, member

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def upload(client, decision, content=PDF, name="comptes 2026.pdf"):
    return client.post(f"/dossiers/{decision.application_id}/compte-rendu/documents",
                       data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def test_a_document_is_attached_downloaded_and_removed(decision, manager, login_as):
    client = login_as(member(decision))
    assert upload(client, decision).status_code == 302
    document = db.session.scalar(db.select(FinalReportDocument))
    assert document.original_filename == "comptes 2026.pdf" and document.size_bytes == len(PDF)
    url = f"/dossiers/{decision.application_id}/compte-rendu/documents/{document.id}"
    downloaded = client.get(url)
    assert downloaded.status_code == 200 and downloaded.data == PDF
    assert "attachment" in downloaded.headers["Content-Disposition"]
    assert login_as(manager).get(url).data == PDF
    client = login_as(member(decision))
    assert client.post(f"{url}/retirer").status_code == 302
    assert db.session.scalar(db.select(FinalReportDocument)) is None
    assert not attachment_storage().exists(document.storage_key)


def test_a_program_is_refused_and_leaves_no_file(decision, login_as):
    client = login_as(member(decision))
    refused = upload(client, decision, content=b"MZ\x90\x00" + b"\x00" * 200, name="factures.pdf")
    assert refused.status_code == 422 and "programme" in refused.get_data(as_text=True)
    assert db.session.scalar(db.select(FinalReportDocument)) is None


def test_another_association_and_a_reviewer_never_reach_a_document(decision, login_as):
    client = login_as(member(decision))
    upload(client, decision)
    document = db.session.scalar(db.select(FinalReportDocument))
    stranger = member_of()
    db.session.commit()
    url = f"/dossiers/{decision.application_id}/compte-rendu/documents/{document.id}"
    client = login_as(stranger)
    assert client.get(url).status_code == 404
    assert client.post(f"{url}/retirer").status_code == 404
    assert upload(client, decision).status_code == 404


def test_documents_are_frozen_once_the_report_is_submitted(decision, login_as):
    client = login_as(member(decision))
    upload(client, decision)
    report = filled(decision)
    services.submit_report(report, actor=member(decision))
    db.session.commit()
    assert upload(client, decision, name="autre.pdf").status_code == 422
    document = db.session.scalar(db.select(FinalReportDocument))
    url = f"/dossiers/{decision.application_id}/compte-rendu/documents/{document.id}/retirer"
    assert client.post(url).status_code == 422
    assert db.session.scalar(db.select(db.func.count(FinalReportDocument.id))) == 1
