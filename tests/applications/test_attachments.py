"""Attachments of an application: upload (checked from the bytes), replacement, removal, download and
who may do each; files and rows stay together whatever the transaction does."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import html5lib
import pytest
from werkzeug.datastructures import FileStorage

from grants.applications import attachments as services
from grants.applications.models import ApplicationState, Attachment, CorrectionRequest
from grants.audit.models import AuditEvent
from grants.database import db, utcnow
from grants.errors import DomainError
from grants.organisations.models import Applicant
from tests.applications.test_storage import JPEG_BYTES, PDF_BYTES, ooxml_bytes, png_bytes
from tests.factories import (
    ApplicationFactory,
    CallFactory,
    ManagerFactory,
    RequiredDocumentFactory,
    ReviewAssignmentFactory,
    ReviewerFactory,
    SubmittedApplicationFactory,
    member_of,
)

EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 500 + b"This program cannot be run in DOS mode"
DOCX_BYTES = ooxml_bytes("word/document.xml")


def applicant_of(user) -> Applicant:
    organisation_id = user.memberships[0].organisation_id
    return db.session.scalar(db.select(Applicant).where(Applicant.organisation_id == organisation_id))


@pytest.fixture
def dossier(app):
    member = member_of()
    call = CallFactory()
    statutes = RequiredDocumentFactory(call=call, name="Statuts de l'association", accepted_types=["pdf"])
    bank = RequiredDocumentFactory(call=call, name="RIB", accepted_types=["pdf", "image"], position=1)
    budget = RequiredDocumentFactory(call=call, name="Budget détaillé", accepted_types=["office"], position=2,
                                     required=False)
    application = ApplicationFactory(call=call, applicant=applicant_of(member), created_by=member)
    return SimpleNamespace(member=member, call=call, statutes=statutes, bank=bank, budget=budget,
                           application=application)


def stored_files(app) -> list[Path]:
    return sorted(p for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file())


def pieces_url(application) -> str:
    return f"/dossiers/{application.id}/pieces"


def upload(client, application, document_key, data: bytes, filename: str):
    return client.post(
        pieces_url(application),
        data={"document": str(document_key), f"piece-{document_key}-file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def attachments_of(application) -> list[Attachment]:
    db.session.expire_all()
    return db.session.scalars(db.select(Attachment).where(Attachment.application_id == application.id)).all()


def attach(application, document, data: bytes = PDF_BYTES, filename: str = "statuts.pdf", actor=None) -> Attachment:
    """Attach a file through the service and commit, as the view does."""
    attachment = services.add_attachment(
        application, required_document_id=document.id if document else None,
        file_storage=FileStorage(io.BytesIO(data), filename=filename), actor=actor or application.created_by,
    )
    db.session.commit()
    return attachment


# --- The page ------------------------------------------------------------------------------------


def test_the_page_lists_the_calls_documents_with_their_status_and_upload_forms(app, client, login_as, dossier):
    attach(dossier.application, dossier.statutes)
    login_as(dossier.member)
    response = client.get(pieces_url(dossier.application))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)
    for name in ("Statuts de l&#39;association", "RIB", "Budget détaillé", "Autres documents"):
        assert name in page
    assert "Fournie" in page and "Manquante" in page
    assert 'enctype="multipart/form-data"' in page
    assert f'<label class="label" for="piece-{dossier.bank.id}-file">' in page
    assert "Formats acceptés : PDF, Images (JPEG, PNG). Taille maximale : 10 Mo." in page
    assert f'aria-describedby="piece-{dossier.bank.id}-file-hint"' in page
    assert "Remplacer le fichier" in page  # the statutes have a file already
    assert "statuts.pdf" in page


def test_a_pdf_is_stored_outside_static_under_a_generated_name(app, client, login_as, dossier):
    login_as(dossier.member)
    response = upload(client, dossier.application, dossier.statutes.id, PDF_BYTES, "Statuts signés.pdf")
    assert response.status_code == 302
    [attachment] = attachments_of(dossier.application)
    assert attachment.required_document_id == dossier.statutes.id
    assert attachment.original_filename == "Statuts signés.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size_bytes == len(PDF_BYTES)
    assert len(attachment.sha256) == 64
    [path] = stored_files(app)
    assert path.name == attachment.storage_key and "Statuts" not in str(path)
    assert path.read_bytes() == PDF_BYTES
    assert not path.resolve().is_relative_to(Path(app.static_folder).resolve())
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "application.attachment_added")).one()
    assert event.subject_id == dossier.application.id and event.details["sha256"] == attachment.sha256


def test_the_detected_type_is_stored_not_the_browsers(app, client, login_as, dossier):
    login_as(dossier.member)
    response = client.post(
        pieces_url(dossier.application),
        data={"document": str(dossier.bank.id),
              f"piece-{dossier.bank.id}-file": (io.BytesIO(png_bytes()), "rib.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    [attachment] = attachments_of(dossier.application)
    assert attachment.content_type == "image/png"
    assert attachment.original_filename == "rib.pdf.png"  # the name says what the file is


def assert_refused(app, response, dossier, document_key, message: str):
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    field_id = f"piece-{document_key}-file"
    assert f'<p class="error" id="{field_id}-error">' in page
    assert f'aria-describedby="{field_id}-hint {field_id}-error"' in page
    assert f'href="#{field_id}"' in page  # the error summary leads to the field
    assert attachments_of(dossier.application) == []
    assert stored_files(app) == []


def test_a_renamed_executable_is_refused(app, client, login_as, dossier):
    login_as(dossier.member)
    response = upload(client, dossier.application, dossier.statutes.id, EXE_BYTES, "statuts.pdf")
    assert_refused(app, response, dossier, dossier.statutes.id, "Ce fichier est un programme, pas un document")


def test_an_empty_file_is_refused(app, client, login_as, dossier):
    login_as(dossier.member)
    response = upload(client, dossier.application, dossier.statutes.id, b"", "statuts.pdf")
    assert_refused(app, response, dossier, dossier.statutes.id, "Le fichier est vide")


def test_no_file_chosen_is_refused(app, client, login_as, dossier):
    login_as(dossier.member)
    response = client.post(pieces_url(dossier.application), data={"document": str(dossier.statutes.id)},
                           content_type="multipart/form-data")
    assert_refused(app, response, dossier, dossier.statutes.id, "Choisissez un fichier.")


def test_a_kind_the_document_does_not_accept_is_refused(app, client, login_as, dossier):
    login_as(dossier.member)
    response = upload(client, dossier.application, dossier.statutes.id, JPEG_BYTES, "statuts.jpg")
    assert_refused(app, response, dossier, dossier.statutes.id,
                   "Ce fichier est au format JPG ; pour cette pièce, les formats acceptés sont : PDF.")


def test_an_unknown_format_is_refused(app, client, login_as, dossier):
    login_as(dossier.member)
    response = upload(client, dossier.application, "autre", b"<html><script>alert(1)</script></html>", "lettre.pdf")
    assert_refused(app, response, dossier, "autre", "Ce type de fichier n&#39;est pas accepté")


@pytest.mark.parametrize("app_overrides", [{"MAX_UPLOAD_BYTES": 1000}])
def test_a_file_over_the_limit_is_refused(app, client, login_as, dossier):
    login_as(dossier.member)
    response = upload(client, dossier.application, dossier.statutes.id, PDF_BYTES + b"%" * 1000, "statuts.pdf")
    assert_refused(app, response, dossier, dossier.statutes.id, "Le fichier dépasse la taille maximale de 1 ko.")


@pytest.mark.parametrize("app_overrides", [{"MAX_UPLOAD_BYTES": 1000, "MAX_CONTENT_LENGTH": 4000}])
def test_a_request_over_the_content_length_gets_a_french_page(app, client, login_as, dossier):
    login_as(dossier.member)
    response = upload(client, dossier.application, dossier.statutes.id, PDF_BYTES + b"%" * 10000, "statuts.pdf")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Fichier trop volumineux" in page and "1 ko" in page
    assert f'href="{pieces_url(dossier.application)}"' in page
    assert attachments_of(dossier.application) == [] and stored_files(app) == []


def test_a_document_of_another_call_is_refused(app, client, login_as, dossier):
    elsewhere = RequiredDocumentFactory(accepted_types=["pdf"])
    login_as(dossier.member)
    response = upload(client, dossier.application, elsewhere.id, PDF_BYTES, "statuts.pdf")
    assert response.status_code == 422
    assert attachments_of(dossier.application) == [] and stored_files(app) == []


def test_office_documents_and_other_documents(app, client, login_as, dossier):
    login_as(dossier.member)
    assert upload(client, dossier.application, dossier.budget.id, DOCX_BYTES, "budget.docx").status_code == 302
    assert upload(client, dossier.application, "autre", DOCX_BYTES, "soutien mairie.docx").status_code == 302
    assert upload(client, dossier.application, "autre", JPEG_BYTES, "photo.jpeg").status_code == 302
    rows = attachments_of(dossier.application)
    assert sorted((a.required_document_id, a.original_filename) for a in rows if a.required_document_id is None) == [
        (None, "photo.jpeg"), (None, "soutien mairie.docx")]
    assert len(stored_files(app)) == 3


def test_a_new_file_replaces_the_previous_one_and_its_stored_copy(app, client, login_as, dossier):
    login_as(dossier.member)
    upload(client, dossier.application, dossier.statutes.id, PDF_BYTES, "ancien.pdf")
    [old] = attachments_of(dossier.application)
    old_key = old.storage_key
    response = upload(client, dossier.application, dossier.statutes.id, PDF_BYTES + b"%v2\n", "nouveau.pdf")
    assert response.status_code == 302
    [new] = attachments_of(dossier.application)
    assert new.original_filename == "nouveau.pdf" and new.storage_key != old_key
    assert [p.name for p in stored_files(app)] == [new.storage_key]
    assert db.session.scalars(
        db.select(AuditEvent.action).where(AuditEvent.action == "application.attachment_replaced")).all()


# --- When the section is closed ---------------------------------------------------------------------


def test_no_upload_after_submission(app, client, login_as, dossier):
    submitted = SubmittedApplicationFactory(call=dossier.call, applicant=dossier.application.applicant,
                                            created_by=dossier.member)
    dossier.application = submitted
    login_as(dossier.member)
    page = client.get(pieces_url(submitted)).get_data(as_text=True)
    assert 'type="file"' not in page and "lecture seule" in page
    response = upload(client, submitted, dossier.statutes.id, PDF_BYTES, "statuts.pdf")
    assert response.status_code == 422
    assert "ne se modifient plus" in response.get_data(as_text=True)
    assert attachments_of(submitted) == [] and stored_files(app) == []


def request_corrections(application, sections):
    application.state = ApplicationState.CORRECTIONS_REQUESTED
    db.session.add(CorrectionRequest(application=application, requested_by_id=ManagerFactory().id,
                                     message="Merci de joindre les statuts signés.", sections=sections,
                                     due_at=utcnow() + timedelta(days=7)))
    db.session.commit()


def test_a_correction_request_naming_the_pieces_reopens_them(app, client, login_as, dossier):
    submitted = SubmittedApplicationFactory(call=dossier.call, applicant=dossier.application.applicant,
                                            created_by=dossier.member)
    request_corrections(submitted, ["pieces"])
    login_as(dossier.member)
    assert upload(client, submitted, dossier.statutes.id, PDF_BYTES, "statuts.pdf").status_code == 302
    assert len(attachments_of(submitted)) == 1


def test_a_correction_request_on_other_sections_keeps_the_pieces_closed(app, client, login_as, dossier):
    submitted = SubmittedApplicationFactory(call=dossier.call, applicant=dossier.application.applicant,
                                            created_by=dossier.member)
    request_corrections(submitted, ["budget"])
    login_as(dossier.member)
    response = upload(client, submitted, dossier.statutes.id, PDF_BYTES, "statuts.pdf")
    assert response.status_code == 422
    assert attachments_of(submitted) == []


# --- Removal -------------------------------------------------------------------------------------


def remove_url(application, attachment) -> str:
    return f"/dossiers/{application.id}/pieces/{attachment.id}/supprimer"


def test_a_member_removes_an_attachment_and_its_file(app, client, login_as, dossier):
    attachment = attach(dossier.application, dossier.statutes)
    login_as(dossier.member)
    response = client.post(remove_url(dossier.application, attachment))
    assert response.status_code == 302
    assert attachments_of(dossier.application) == [] and stored_files(app) == []
    assert db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "application.attachment_removed")).one()


def test_removal_is_refused_once_submitted_and_the_file_stays(app, client, login_as, dossier):
    attachment = attach(dossier.application, dossier.statutes)
    dossier.application.state = ApplicationState.SUBMITTED
    dossier.application.reference, dossier.application.submitted_at = "AAP-2026-0099", utcnow()
    db.session.commit()
    login_as(dossier.member)
    response = client.post(remove_url(dossier.application, attachment), follow_redirects=True)
    assert "ne se modifient plus" in response.get_data(as_text=True)
    assert len(attachments_of(dossier.application)) == 1 and len(stored_files(app)) == 1


def test_another_association_cannot_remove_and_ids_must_match(app, client, login_as, dossier):
    attachment = attach(dossier.application, dossier.statutes)
    login_as(member_of())
    assert client.post(remove_url(dossier.application, attachment)).status_code == 404
    assert client.get(pieces_url(dossier.application)).status_code == 404
    assert upload(client, dossier.application, dossier.statutes.id, PDF_BYTES, "x.pdf").status_code == 404
    # The owner, with an attachment id of his other dossier in this dossier's URL
    other_call = CallFactory()
    other = ApplicationFactory(call=other_call, applicant=dossier.application.applicant, created_by=dossier.member)
    login_as(dossier.member)
    assert client.post(remove_url(other, attachment)).status_code == 404
    assert len(attachments_of(dossier.application)) == 1 and len(stored_files(app)) == 1


# --- Download ------------------------------------------------------------------------------------


def download_url(application, attachment) -> str:
    return f"/dossiers/{application.id}/pieces/{attachment.id}"


def test_the_download_is_an_attachment_with_safe_headers(app, client, login_as, dossier):
    attachment = attach(dossier.application, dossier.statutes, filename='Statuts "été" 2026.pdf')
    login_as(dossier.member)
    response = client.get(download_url(dossier.application, attachment))
    assert response.status_code == 200
    assert response.data == PDF_BYTES
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Statuts%20%22%C3%A9t%C3%A9%22%202026.pdf" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize(
    ("who", "expected"),
    [("member", 200), ("other_association", 404), ("manager", 200), ("assigned_reviewer", 200),
     ("unassigned_reviewer", 404)],
)
def test_who_may_download(app, client, login_as, dossier, who, expected):
    attachment = attach(dossier.application, dossier.statutes)
    if who == "assigned_reviewer":
        user = ReviewAssignmentFactory(application=dossier.application).reviewer
    else:
        user = {
            "member": lambda: dossier.member,
            "other_association": member_of,
            "manager": ManagerFactory,
            "unassigned_reviewer": ReviewerFactory,
        }[who]()
    login_as(user)
    response = client.get(download_url(dossier.application, attachment))
    assert response.status_code == expected
    if expected == 200:
        assert response.data == PDF_BYTES


def test_anonymous_download_goes_to_sign_in(app, client, dossier):
    attachment = attach(dossier.application, dossier.statutes)
    response = client.get(download_url(dossier.application, attachment))
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]


def test_an_attachment_id_of_another_application_is_a_404(app, client, login_as, dossier):
    attachment = attach(dossier.application, dossier.statutes)
    other = ApplicationFactory(call=CallFactory(), applicant=dossier.application.applicant, created_by=dossier.member)
    login_as(dossier.member)
    assert client.get(download_url(other, attachment)).status_code == 404
    login_as(ManagerFactory())
    assert client.get(download_url(other, attachment)).status_code == 404
    assert client.get(f"/dossiers/{dossier.application.id}/pieces/987654").status_code == 404


# --- Files and transactions ----------------------------------------------------------------------


def test_a_rolled_back_upload_leaves_no_file(app, dossier):
    with app.test_request_context():
        services.add_attachment(dossier.application, required_document_id=dossier.statutes.id,
                                file_storage=FileStorage(io.BytesIO(PDF_BYTES), filename="statuts.pdf"),
                                actor=dossier.member)
        assert len(stored_files(app)) == 1  # written before the row
        db.session.rollback()
    assert stored_files(app) == [] and attachments_of(dossier.application) == []


def test_an_upload_whose_transaction_fails_later_leaves_no_file(app, dossier):
    """The file is written, then something later in the same transaction fails: nothing remains."""
    with app.test_request_context():
        services.add_attachment(dossier.application, required_document_id=dossier.statutes.id,
                                file_storage=FileStorage(io.BytesIO(PDF_BYTES), filename="statuts.pdf"),
                                actor=dossier.member)
        with pytest.raises(DomainError):
            services.add_attachment(dossier.application, required_document_id=None,
                                    file_storage=FileStorage(io.BytesIO(EXE_BYTES), filename="x.pdf"),
                                    actor=dossier.member)
        db.session.rollback()
    assert stored_files(app) == [] and attachments_of(dossier.application) == []


def test_a_session_closed_without_commit_leaves_no_file(app, dossier):
    application_id = dossier.application.id
    with app.test_request_context():
        services.add_attachment(dossier.application, required_document_id=dossier.statutes.id,
                                file_storage=FileStorage(io.BytesIO(PDF_BYTES), filename="statuts.pdf"),
                                actor=dossier.member)
        db.session.close()  # what the end of a request does to a transaction nobody committed
    assert stored_files(app) == []
    assert db.session.scalar(db.select(db.func.count(Attachment.id)).where(
        Attachment.application_id == application_id)) == 0


def test_a_rolled_back_removal_keeps_the_file(app, dossier):
    attachment = attach(dossier.application, dossier.statutes)
    with app.test_request_context():
        services.remove_attachment(dossier.application, attachment, actor=dossier.member)
        assert len(stored_files(app)) == 1  # deleted only after the commit
        db.session.rollback()
    assert len(stored_files(app)) == 1 and len(attachments_of(dossier.application)) == 1


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_each_upload_form_carries_a_csrf_token_the_server_accepts(app, client, dossier):
    import re

    from tests.conftest import TEST_PASSWORD

    def token_in(page: str, name: str) -> str:
        return re.search(rf'name="{name}"[^>]*value="([^"]+)"', page).group(1)

    same_site = {"Referer": f"{client.get('/connexion').request.host_url}connexion"}
    token = token_in(client.get("/connexion").get_data(as_text=True), "csrf_token")
    signed_in = client.post("/connexion", headers=same_site,
                            data={"email": dossier.member.email, "password": TEST_PASSWORD, "csrf_token": token})
    assert signed_in.status_code == 302
    page = client.get(pieces_url(dossier.application)).get_data(as_text=True)
    field = f"piece-{dossier.statutes.id}-csrf_token"
    token = token_in(page, field)
    without = client.post(pieces_url(dossier.application), headers=same_site, content_type="multipart/form-data",
                          data={"document": str(dossier.statutes.id),
                                f"piece-{dossier.statutes.id}-file": (io.BytesIO(PDF_BYTES), "statuts.pdf")})
    assert without.status_code == 400 and stored_files(app) == []
    response = client.post(pieces_url(dossier.application), headers=same_site, content_type="multipart/form-data",
                           data={"document": str(dossier.statutes.id), field: token,
                                 f"piece-{dossier.statutes.id}-file": (io.BytesIO(PDF_BYTES), "statuts.pdf")})
    assert response.status_code == 302
    assert len(attachments_of(dossier.application)) == 1
