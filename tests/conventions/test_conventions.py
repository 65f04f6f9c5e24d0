"""Conventions: generated as a PDF whose text shows the award's figures, signed online by the legal
representative only (consent, hash, instant, signer, audit), countersigned by a manager, or signed by
a scan; amended by an avenant; no payment before the countersignature where a convention is required."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from grants.awards import services as awards
from grants.conventions import services
from grants.conventions.models import Convention, SignatureMethod
from grants.database import db
from grants.errors import DomainError
from grants.local_time import local_today
from grants.models import MembershipRole, Notification
from grants.storage import attachment_storage
from tests.accounts.conftest import audit_events
from tests.awards.conftest import OPERATING, under_review
from tests.conventions.conftest import BIG, owner_of
from tests.factories import MembershipFactory, UserFactory


def pdf_text(convention) -> str:
    with services.open_pdf(convention) as stream:
        reader = PdfReader(io.BytesIO(stream.read()))
    return " ".join(page.extract_text() for page in reader.pages).replace("\u202f", " ").replace("\xa0", " ")


def pay_advance(decision, manager):
    return awards.record_payment(decision, amount="7500", tranche="advance", actor=manager, paid_on=local_today())


def test_the_generated_pdf_states_the_parties_and_figures(award, manager):
    convention = services.generate(award, actor=manager)
    db.session.commit()
    text = pdf_text(convention)
    organisation = award.application.applicant.organisation
    assert "Région Hauts-de-France" in text and "20005376700014" in text
    assert organisation.name in text and organisation.siret in text and organisation.rna in text
    assert owner_of(award).full_name in text
    assert "25 000,00 €" in text and "7 500,00 €" in text and "17 500,00 €" in text  # amount, advance 30 %, balance
    assert "Cerfa n° 15059" in text
    assert convention.version == 1 and convention.previous_amount is None and convention.advance == Decimal("7500.00")
    assert len(convention.pdf_sha256) == 64 and services.pdf_intact(convention)


def test_from_award_to_advance_signature_then_countersignature(award, manager, mail_outbox):
    with pytest.raises(DomainError, match="contresignature"):
        pay_advance(award, manager)
    db.session.rollback()
    owner = owner_of(award)
    convention = services.generate(award, actor=manager)
    db.session.commit()
    ready = db.session.scalars(db.select(Notification).where(Notification.event == "convention_ready")).all()
    assert [n.recipient_email for n in ready] == [owner.email]

    services.sign(convention, user=owner, consent=True, seen_sha256=convention.pdf_sha256)
    db.session.commit()
    assert convention.signature_method == SignatureMethod.ONLINE and convention.signed_by_id == owner.id
    assert convention.signed_sha256 == convention.pdf_sha256 and convention.signed_at is not None
    [event] = audit_events("convention.signed")
    assert event.actor_id == owner.id and event.details["sha256"] == convention.pdf_sha256
    signed = db.session.scalars(db.select(Notification).where(Notification.event == "convention_signed")).all()
    assert [n.recipient_email for n in signed] == [manager.email]

    with pytest.raises(DomainError, match="contresignature"):
        pay_advance(award, manager)
    db.session.rollback()
    services.countersign(convention, actor=manager)
    db.session.commit()
    assert award.convention_countersigned_at is not None and convention.countersigned_by_id == manager.id
    pay_advance(award, manager)
    db.session.commit()
    assert award.paid == Decimal("7500.00")


def test_only_the_legal_representative_signs_with_consent(award, manager):
    convention = services.generate(award, actor=manager)
    db.session.commit()
    other = UserFactory()
    MembershipFactory(user=other, organisation=award.application.applicant.organisation, role=MembershipRole.MEMBER)
    db.session.commit()
    with pytest.raises(DomainError, match="représentant légal"):
        services.sign(convention, user=other, consent=True, seen_sha256=convention.pdf_sha256)
    db.session.rollback()
    with pytest.raises(DomainError, match="consentement"):
        services.sign(convention, user=owner_of(award), consent=False, seen_sha256=convention.pdf_sha256)
    db.session.rollback()
    assert db.session.get(Convention, convention.id).signed_at is None
    assert audit_events("convention.signed") == []


def test_a_pdf_changed_after_generation_is_never_signed(award, manager, client, login_as):
    convention = services.generate(award, actor=manager)
    db.session.commit()
    path = attachment_storage().path_of(convention.pdf_storage_key)
    path.write_bytes(path.read_bytes() + b"%% altered\n")
    with pytest.raises(DomainError, match="SHA-256"):
        services.sign(convention, user=owner_of(award), consent=True, seen_sha256=convention.pdf_sha256)
    db.session.rollback()
    assert db.session.get(Convention, convention.id).signed_at is None
    login_as(owner_of(award))
    page = client.get(f"/dossiers/{award.application_id}/convention").get_data(as_text=True)
    assert "ne correspond plus à son empreinte SHA-256" in page and "Signer la convention</button>" not in page


def test_a_pdf_changed_after_signature_shows_the_mismatch_and_is_never_countersigned(award, manager, client,
                                                                                   login_as):
    convention = services.generate(award, actor=manager)
    services.sign(convention, user=owner_of(award), consent=True, seen_sha256=convention.pdf_sha256)
    db.session.commit()
    path = attachment_storage().path_of(convention.pdf_storage_key)
    path.write_bytes(path.read_bytes().replace(b"%%EOF", b"%% altered after signature\n%%EOF"))
    assert services.pdf_intact(convention) is False
    login_as(manager)
    page = client.get(f"/gestion/dossiers/{award.application_id}/convention").get_data(as_text=True)
    assert "ne correspond plus à son empreinte SHA-256" in page
    response = client.post(f"/gestion/dossiers/{award.application_id}/convention/contresigner")
    assert response.status_code == 422 and "modifié après sa génération" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Convention, convention.id).countersigned_at is None
    assert award.convention_countersigned_at is None
    with pytest.raises(DomainError, match="SHA-256"):
        services.countersign(db.session.get(Convention, convention.id), actor=manager)


def test_an_amended_amount_gets_an_avenant_with_history(award, manager):
    first = services.generate(award, actor=manager)
    services.sign(first, user=owner_of(award), consent=True, seen_sha256=first.pdf_sha256)
    services.countersign(first, actor=manager)
    db.session.commit()
    assert not services.needs_new_version(award)
    with pytest.raises(DomainError):
        services.generate(award, actor=manager)
    db.session.rollback()
    awards.amend(award, amount="28000", actor=manager, reason="Avenant : action étendue")
    db.session.commit()
    assert services.needs_new_version(award)
    avenant = services.generate(award, actor=manager)
    db.session.commit()
    assert avenant.version == 2 and avenant.previous_amount == BIG and avenant.amount == Decimal("28000.00")
    text = pdf_text(avenant)
    assert "Avenant n° 1" in text and "25 000,00 €" in text and "28 000,00 €" in text
    assert [v.version for v in services.versions_of(award)] == [1, 2]
    with pytest.raises(DomainError, match="plus récente"):
        services.countersign(first, actor=manager)


def test_a_signed_scan_replaces_the_online_signature(award, manager):
    convention = services.generate(award, actor=manager)
    db.session.commit()
    with pytest.raises(DomainError, match="PDF"):
        services.upload_scan(convention, stream=io.BytesIO(b"not a pdf at all"), actor=manager)
    db.session.rollback()
    scan = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    services.upload_scan(convention, stream=io.BytesIO(scan), actor=manager)
    db.session.commit()
    assert convention.signature_method == SignatureMethod.SCAN and convention.scan_storage_key
    services.countersign(convention, actor=manager)
    db.session.commit()
    pay_advance(award, manager)
    db.session.commit()
    with pytest.raises(DomainError, match="déjà signée"):
        services.sign(convention, user=owner_of(award), consent=True, seen_sha256=convention.pdf_sha256)


def test_countersignature_needs_a_signature(award, manager):
    convention = services.generate(award, actor=manager)
    db.session.commit()
    with pytest.raises(DomainError, match="signée par le bénéficiaire"):
        services.countersign(convention, actor=manager)


def test_below_the_threshold_no_convention_unless_the_call_asks(big_call, manager):
    call = big_call
    application = under_review(call)
    decision = awards.award_grant(application, amount="3000", section=OPERATING, actor=manager)
    db.session.commit()
    assert not awards.convention_required(decision)
    with pytest.raises(DomainError, match="seuil"):
        services.generate(decision, actor=manager)
    db.session.rollback()
    call.convention_below_threshold = True
    db.session.commit()
    with pytest.raises(DomainError, match="contresignature"):
        awards.record_payment(decision, amount="900", tranche="advance", actor=manager, paid_on=local_today())
