"""The convention pages: the beneficiary reads and signs, the manager generates, records a scan and
countersigns; another association never reaches them (404)."""

from __future__ import annotations

import io
from decimal import Decimal

from grants.conventions import services
from grants.database import db
from grants.local_time import local_today
from grants.models import Convention
from tests.audit.test_log_in_words import text
from tests.conventions.conftest import owner_of
from tests.factories import member_of


def test_the_manager_generates_and_the_representative_signs_in_pages(award, manager, client, login_as):
    application_id = award.application_id
    login_as(manager)
    page = client.get(f"/gestion/dossiers/{application_id}/convention")
    assert page.status_code == 200 and "Générer la convention" in page.get_data(as_text=True)
    assert client.post(f"/gestion/dossiers/{application_id}/convention/generer").status_code == 302
    convention = db.session.scalar(db.select(Convention))
    client.get("/deconnexion")

    login_as(owner_of(award))
    page = text(client.get(f"/dossiers/{application_id}/convention"))
    assert "25 000,00" in page and convention.pdf_sha256 in page
    download = client.get(f"/dossiers/{application_id}/convention/1.pdf")
    assert download.status_code == 200 and download.data.startswith(b"%PDF-")
    refused = client.post(f"/dossiers/{application_id}/convention/signer", data={"sha256": convention.pdf_sha256})
    assert refused.status_code == 422 and "consentement" in text(refused)
    signed = client.post(f"/dossiers/{application_id}/convention/signer",
                         data={"sha256": convention.pdf_sha256, "consent": "y"})
    assert signed.status_code == 302
    db.session.refresh(convention)
    assert convention.signed_by_id == owner_of(award).id
    client.get("/deconnexion")

    login_as(manager)
    assert client.post(f"/gestion/dossiers/{application_id}/convention/contresigner").status_code == 302
    db.session.refresh(award)
    assert award.convention_countersigned_at is not None


def test_another_association_never_reaches_the_convention(award, manager, client, login_as):
    services.generate(award, actor=manager)
    db.session.commit()
    application_id = award.application_id
    login_as(member_of())
    assert client.get(f"/dossiers/{application_id}/convention").status_code == 404
    assert client.get(f"/dossiers/{application_id}/convention/1.pdf").status_code == 404
    assert client.post(f"/dossiers/{application_id}/convention/signer",
                       data={"sha256": "0" * 64, "consent": "y"}).status_code == 404


def test_a_scan_that_is_not_a_pdf_is_refused_in_the_page(award, manager, client, login_as):
    services.generate(award, actor=manager)
    db.session.commit()
    login_as(manager)
    response = client.post(f"/gestion/dossiers/{award.application_id}/convention/scan",
                           data={"scan": (io.BytesIO(b"hello"), "scan.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 422 and "doit être un fichier PDF" in text(response)
    assert db.session.scalar(db.select(Convention)).signed_at is None
    assert award.amount == Decimal("25000.00")


def test_a_store_out_of_reach_is_a_503_and_a_refused_signature(award, manager, client, login_as, monkeypatch):
    from grants.storage import StorageUnavailable, attachment_storage

    convention = services.generate(award, actor=manager)
    db.session.commit()
    storage = attachment_storage()

    def unreachable(key):
        raise StorageUnavailable("down")

    monkeypatch.setattr(storage, "open", unreachable)
    login_as(owner_of(award))
    response = client.get(f"/dossiers/{award.application_id}/convention/1.pdf")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    page = client.get(f"/dossiers/{award.application_id}/convention")
    assert page.status_code == 200 and "ne correspond plus" not in text(page)
    refused = client.post(f"/dossiers/{award.application_id}/convention/signer",
                          data={"sha256": convention.pdf_sha256, "consent": "y"})
    assert refused.status_code == 422 and "momentanément indisponible" in text(refused)
    assert db.session.get(Convention, convention.id).signed_at is None


def test_the_payment_form_refuses_an_advance_before_the_countersignature(award, manager, client, login_as):
    login_as(manager)
    page = text(client.get(f"/gestion/dossiers/{award.application_id}/decision"))
    assert "aucun versement avant sa contresignature" in page and "Enregistrer le versement" not in page
    response = client.post(f"/gestion/dossiers/{award.application_id}/decision/versements",
                           data={"versement-amount": "7 500", "versement-tranche": "advance",
                                 "versement-paid_on": local_today().isoformat()})
    assert response.status_code == 422 and "avant la contresignature de la convention" in text(response)
    db.session.refresh(award)
    assert award.paid == 0
