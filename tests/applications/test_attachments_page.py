"""The attachments page sends every file in one form: each file attached or refused on its own,
« Enregistrer et continuer », a body over the limit answered by a readable page, one file per required
document kept by a unique index, and the demo's RIB accepting a photo."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from grants.applications import attachments as services
from grants.applications.models import Application, Attachment
from grants.calls.models import Call, RequiredDocument
from grants.database import constraint_violated, db, utcnow
from grants.demo.seed import DEMO_PASSWORD
from tests.applications.conftest import page
from tests.applications.test_attachments import (
    DOCX_BYTES,
    EXE_BYTES,
    attach,
    attachments_of,
    pieces_url,
    stored_files,
)
from tests.applications.test_storage import JPEG_BYTES, PDF_BYTES, png_bytes
from tests.conftest import login


def send(client, application, files: dict[str, list[tuple[bytes, str]]], **fields):
    """Post the page's one form: ``files`` by document key (a required document's id, or "autre")."""
    data = dict(fields)
    for key, uploads in files.items():
        data[f"piece-{key}-file"] = [(io.BytesIO(content), name) for content, name in uploads]
    return client.post(pieces_url(application), data=data, content_type="multipart/form-data")


def test_the_page_is_one_form_holding_every_file_input(app, client, login_as, dossier):
    login_as(dossier.member)
    body = page(client.get(pieces_url(dossier.application)))
    assert body.count('enctype="multipart/form-data"') == 1
    for key in (dossier.statutes.id, dossier.bank.id, dossier.budget.id, "autre"):
        assert f'id="piece-{key}-file"' in body
    assert body.count('form="pieces-upload"') == 4
    assert re.search(r'<input[^>]*id="piece-autre-file"[^>]*multiple', body)
    assert "Joindre les fichiers choisis" in body and "Enregistrer et continuer" in body
    assert f'data-max-bytes="{app.config["MAX_UPLOAD_BYTES"]}"' in body


def test_several_files_are_attached_in_one_submission(app, client, login_as, dossier):
    login_as(dossier.member)
    response = send(client, dossier.application, {
        str(dossier.statutes.id): [(PDF_BYTES, "statuts.pdf")],
        str(dossier.bank.id): [(png_bytes(), "rib.png")],
        "autre": [(PDF_BYTES, "soutien-mairie.pdf"), (JPEG_BYTES, "affiche.jpg")],
    })
    assert response.status_code == 302
    assert response.headers["Location"].endswith(pieces_url(dossier.application))
    attached = attachments_of(dossier.application)
    assert sorted(a.original_filename for a in attached) == ["affiche.jpg", "rib.png", "soutien-mairie.pdf",
                                                              "statuts.pdf"]
    assert len(stored_files(app)) == 4


def test_continue_saves_the_files_and_goes_to_the_next_step(app, client, login_as, dossier):
    login_as(dossier.member)
    response = send(client, dossier.application, {str(dossier.statutes.id): [(PDF_BYTES, "statuts.pdf")]},
                    **{"continue": "1"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/dossiers/{dossier.application.id}/depot")
    assert len(attachments_of(dossier.application)) == 1


def test_continue_without_a_new_file_goes_on(app, client, login_as, dossier):
    attach(dossier.application, dossier.statutes)
    login_as(dossier.member)
    response = send(client, dossier.application, {}, **{"continue": "1"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/dossiers/{dossier.application.id}/depot")


def test_a_refused_file_is_named_under_its_field_and_the_others_are_kept(app, client, login_as, dossier):
    login_as(dossier.member)
    response = send(client, dossier.application, {
        str(dossier.statutes.id): [(EXE_BYTES, "statuts.pdf")],
        str(dossier.bank.id): [(png_bytes(), "rib.png")],
        str(dossier.budget.id): [(DOCX_BYTES, "budget.docx")],
    })
    body = page(response, 422)
    field = f"piece-{dossier.statutes.id}-file"
    assert f'<p class="error" id="{field}-error">Ce fichier est un programme' in body
    assert f'aria-describedby="{field}-hint {field}-error"' in body and f'href="#{field}"' in body
    assert "rib.png" in body and "budget.docx" in body  # the accepted ones are listed as provided
    attached = attachments_of(dossier.application)
    assert sorted(a.original_filename for a in attached) == ["budget.docx", "rib.png"]
    assert len(stored_files(app)) == 2  # the refused file left nothing behind


def test_a_replacement_refused_keeps_the_previous_file(app, client, login_as, dossier):
    previous = attach(dossier.application, dossier.statutes)
    login_as(dossier.member)
    response = send(client, dossier.application, {str(dossier.statutes.id): [(PDF_BYTES[:-8], "statuts.pdf")]})
    assert "incomplet ou endommagé" in page(response, 422)
    [kept] = attachments_of(dossier.application)
    assert kept.id == previous.id and len(stored_files(app)) == 1


@pytest.mark.parametrize("app_overrides", [{"MAX_UPLOAD_BYTES": 1000, "MAX_CONTENT_LENGTH": 4000}])
def test_a_body_over_the_limit_gets_a_readable_page_and_the_dossier_is_untouched(app, client, login_as, dossier):
    attach(dossier.application, dossier.statutes)
    login_as(dossier.member)
    response = send(client, dossier.application, {str(dossier.bank.id): [(PDF_BYTES + b"%" * 10_000, "rib.pdf")]})
    body = page(response, 413)
    assert "Fichier trop volumineux" in body and "1 ko au plus par fichier" in body
    assert "le reste de votre dossier est intact" in body
    assert f'href="{pieces_url(dossier.application)}"' in body  # back to the pieces
    assert 'class="site-header' in body or "<header" in body  # in the app's layout
    assert [a.required_document_id for a in attachments_of(dossier.application)] == [dossier.statutes.id]


@pytest.mark.parametrize("app_overrides", [{"MAX_UPLOAD_FILES": 2}])
def test_more_files_than_allowed_at_once_are_refused_with_a_message(app, client, login_as, dossier):
    login_as(dossier.member)
    response = send(client, dossier.application, {"autre": [(PDF_BYTES, f"{n}.pdf") for n in range(3)]})
    assert "Envoyez au plus 2 fichiers à la fois." in page(response, 422)
    assert attachments_of(dossier.application) == [] and stored_files(app) == []


# --- One file per required document: the unique index --------------------------------------------


def test_the_database_refuses_a_second_file_for_one_required_document(app, dossier):
    first = attach(dossier.application, dossier.statutes)
    db.session.add(Attachment(application_id=dossier.application.id, required_document_id=dossier.statutes.id,
                              original_filename="bis.pdf", storage_key="f" * 32, content_type="application/pdf",
                              size_bytes=1, sha256="0" * 64, uploaded_by_id=first.uploaded_by_id,
                              uploaded_at=utcnow()))
    with pytest.raises(IntegrityError) as refused:
        db.session.flush()
    assert constraint_violated(refused.value) == services.ONE_FILE_PER_DOCUMENT
    db.session.rollback()


def test_other_documents_are_not_limited_by_the_index(app, dossier):
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        attach(dossier.application, None, filename=name)
    assert len(attachments_of(dossier.application)) == 3


def test_an_upload_that_gets_past_the_lock_is_refused_by_the_index_not_a_server_error(
        app, client, login_as, dossier, monkeypatch):
    """As if another upload for the same document had committed after this one looked: the service
    finds no file to replace, the index refuses the second row, the applicant reads why."""
    attach(dossier.application, dossier.statutes)
    monkeypatch.setattr(services, "current_attachment", lambda application, document: None)
    login_as(dossier.member)
    response = send(client, dossier.application, {
        str(dossier.statutes.id): [(PDF_BYTES, "statuts-v2.pdf")],
        "autre": [(PDF_BYTES, "lettre.pdf")],
    })
    body = page(response, 422)
    assert "Un autre fichier vient d'être joint pour cette pièce" in body
    names = sorted(a.original_filename for a in attachments_of(dossier.application))
    assert names == ["lettre.pdf", "statuts.pdf"]  # the other file is kept, the first statutes too
    assert len(stored_files(app)) == 2  # the refused file is deleted at once


# --- The demo: a photo of a RIB ------------------------------------------------------------------


def test_a_png_rib_is_accepted_on_every_seeded_call_that_asks_for_a_rib(app, client):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    ribs = db.session.scalars(sa.select(RequiredDocument).where(RequiredDocument.name.like("%RIB%"))).all()
    assert ribs
    for rib in ribs:
        assert "image" in rib.accepted_types, rib.call.slug
        assert "PDF, Images (JPEG, PNG)" in page(client.get(f"/appels/{rib.call.slug}"))
    draft = db.session.scalars(
        sa.select(Application).join(Call).join(RequiredDocument, RequiredDocument.call_id == Call.id)
        .where(Application.state == "draft", RequiredDocument.name.like("%RIB%"))
    ).first()
    rib = next(d for d in draft.call.required_documents if "RIB" in d.name)
    assert login(client, draft.applicant.acting_users()[0], DEMO_PASSWORD).status_code == 302
    response = send(client, draft, {str(rib.id): [(png_bytes(), "rib-photo.png")]})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    stored = db.session.scalars(sa.select(Attachment).where(Attachment.application_id == draft.id,
                                                            Attachment.required_document_id == rib.id)).one()
    assert stored.content_type == "image/png"
