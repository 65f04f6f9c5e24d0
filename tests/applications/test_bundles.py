"""The committee's bundle: a call's attachments as one ZIP built by the worker, with its progress, an
email when ready, a download after the managers' check, and a link that expires."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import timedelta

import pytest

from grants.applications import bundles as services
from grants.applications.models import ApplicationState, Attachment, AttachmentBundle, BundleState
from grants.database import db, utcnow
from grants.outbox.models import Notification
from grants.storage import attachment_storage
from grants.stored_files import sweep
from tests.applications.test_attachments import attach
from tests.applications.test_storage import JPEG_BYTES, PDF_BYTES
from tests.factories import ApplicationFactory, ManagerFactory


@pytest.fixture
def committee(app, dossier):
    """Two submitted dossiers of the call with their files, a draft (not the committee's), a manager."""
    second = ApplicationFactory(call=dossier.call, applicant=dossier.application.applicant, created_by=dossier.member)
    attach(dossier.application, dossier.statutes)
    attach(dossier.application, dossier.bank, data=JPEG_BYTES, filename="rib.jpg")
    attach(second, dossier.statutes, data=PDF_BYTES.replace(b"1.4", b"1.7"), filename="statuts.pdf")
    for number, application in enumerate((dossier.application, second), start=1):
        application.state = ApplicationState.SUBMITTED  # as the submission leaves them, without its checks
        application.reference = f"SISA-2026-{number:04d}"
        application.submitted_at = utcnow()
    db.session.commit()
    draft = ApplicationFactory(call=dossier.call, applicant=dossier.application.applicant, created_by=dossier.member)
    attach(draft, dossier.statutes)
    return dossier, second, ManagerFactory()


def build(bundle: AttachmentBundle) -> AttachmentBundle:
    """What the worker does with the bundle (its own session), then the bundle as it left it."""
    bundle_id = bundle.id
    db.session.commit()
    services.build_bundle.apply(args=[bundle_id]).get()
    db.session.rollback()  # a fresh snapshot: the worker committed in a session of its own
    return db.session.get(AttachmentBundle, bundle_id)


def bundle_zip(bundle: AttachmentBundle) -> zipfile.ZipFile:
    with attachment_storage().open(bundle.bundle_storage_key) as stream:
        return zipfile.ZipFile(io.BytesIO(stream.read()))


def test_a_manager_asks_for_the_zip_and_gets_every_submitted_dossiers_files(app, client, login_as, committee,
                                                                            mail_outbox):
    dossier, second, manager = committee
    login_as(manager)
    response = client.post(f"/gestion/appels/{dossier.call.id}/pieces-zip")
    assert response.status_code == 302
    bundle = db.session.scalars(db.select(AttachmentBundle)).one()
    assert response.headers["Location"].endswith(f"/gestion/appels/{dossier.call.id}/pieces-zip/{bundle.id}")
    db.session.refresh(bundle)
    assert bundle.state == BundleState.READY  # the worker runs in this process in the tests
    assert (bundle.files_total, bundle.files_done, bundle.files_missing) == (3, 3, 0)
    archive = bundle_zip(bundle)
    assert archive.namelist() == [
        "SISA-2026-0001/Statuts de l'association - statuts.pdf",
        "SISA-2026-0001/RIB - rib.jpg",
        "SISA-2026-0002/Statuts de l'association - statuts.pdf",
    ]
    assert archive.read("SISA-2026-0001/RIB - rib.jpg") == JPEG_BYTES
    assert archive.testzip() is None

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Le ZIP est prêt : 3 pièces." in page
    download = client.get(f"/gestion/appels/{dossier.call.id}/pieces-zip/{bundle.id}/telecharger")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert hashlib.sha256(download.data).hexdigest() == bundle.bundle_sha256
    assert download.content_length == bundle.bundle_size_bytes

    [email] = db.session.scalars(db.select(Notification).where(Notification.event == "attachment_bundle_ready")).all()
    assert email.recipient_id == manager.id
    assert f"/gestion/appels/{dossier.call.id}/pieces-zip/{bundle.id}" in email.body_text
    assert email.link == f"/gestion/appels/{dossier.call.id}/pieces-zip/{bundle.id}"


def test_the_page_shows_the_progress_while_the_worker_builds(app, client, login_as, committee):
    dossier, _second, manager = committee
    bundle = services.request_bundle(dossier.call, actor=manager)  # asked for, not yet built
    db.session.commit()
    login_as(manager)
    page = client.get(f"/gestion/appels/{dossier.call.id}/pieces-zip/{bundle.id}").get_data(as_text=True)
    assert "Préparation en cours : 0 pièces sur 3." in page
    assert '<meta http-equiv="refresh" content="3">' in page
    assert client.get(f"/gestion/appels/{dossier.call.id}/pieces-zip/{bundle.id}/telecharger").status_code == 302
    # Asking again while it is being built gives the same bundle.
    assert services.request_bundle(dossier.call, actor=manager).id == bundle.id


def test_a_file_missing_from_the_store_is_listed_in_the_zip(app, committee):
    dossier, second, manager = committee
    lost = second.attachments[0]
    attachment_storage().delete(lost.storage_key)
    bundle = services.request_bundle(dossier.call, actor=manager)
    db.session.commit()
    bundle = build(bundle)
    assert bundle.state == BundleState.READY and bundle.files_missing == 1
    archive = bundle_zip(bundle)
    assert "fichiers-manquants.txt" in archive.namelist()
    assert "SISA-2026-0002/Statuts de l'association - statuts.pdf" in archive.read("fichiers-manquants.txt").decode()


def test_the_link_expires_and_the_zip_is_then_swept(app, client, login_as, committee):
    dossier, _second, manager = committee
    bundle = services.request_bundle(dossier.call, actor=manager)
    db.session.commit()
    bundle = build(bundle)
    key, bundle_id = bundle.bundle_storage_key, bundle.id
    url = f"/gestion/appels/{dossier.call.id}/pieces-zip/{bundle_id}/telecharger"
    assert bundle.expires_at - bundle.ready_at == timedelta(days=7)
    login_as(manager)
    assert client.get(url).status_code == 200
    bundle.expires_at = utcnow() - timedelta(minutes=1)  # a week later
    db.session.commit()
    response = client.get(url)
    assert response.status_code == 410 and "Ce lien a expiré" in response.get_data(as_text=True)
    assert services.expire_bundles.apply().get() == 1
    db.session.rollback()
    assert db.session.get(AttachmentBundle, bundle_id) is None
    assert client.get(url).status_code == 404
    report = sweep(attachment_storage(), grace=timedelta(hours=2), now=utcnow() + timedelta(hours=3))
    assert key in report.deleted


def test_nothing_to_bundle_is_said(app, client, login_as, dossier):
    login_as(ManagerFactory())
    response = client.post(f"/gestion/appels/{dossier.call.id}/pieces-zip", follow_redirects=True)
    assert "il n&#39;y a rien à télécharger" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(AttachmentBundle)) == 0


@pytest.mark.parametrize("who", ["member", "reviewer"])
def test_only_managers_may_ask_or_download(app, client, login_as, committee, who):
    from tests.factories import ReviewerFactory

    dossier, _second, manager = committee
    bundle = services.request_bundle(dossier.call, actor=manager)
    db.session.commit()
    login_as(dossier.member if who == "member" else ReviewerFactory())
    assert client.post(f"/gestion/appels/{dossier.call.id}/pieces-zip").status_code == 403
    assert client.get(f"/gestion/appels/{dossier.call.id}/pieces-zip/{bundle.id}/telecharger").status_code == 403


def test_a_bundle_of_another_call_is_a_404(app, client, login_as, committee):
    from tests.factories import CallFactory

    dossier, _second, manager = committee
    bundle = services.request_bundle(dossier.call, actor=manager)
    db.session.commit()
    other = CallFactory()
    login_as(manager)
    assert client.get(f"/gestion/appels/{other.id}/pieces-zip/{bundle.id}").status_code == 404


def test_the_list_of_dossiers_offers_the_zip(app, client, login_as, committee):
    dossier, _second, manager = committee
    login_as(manager)
    page = client.get(f"/gestion/appels/{dossier.call.id}/dossiers").get_data(as_text=True)
    assert f'action="/gestion/appels/{dossier.call.id}/pieces-zip"' in page
    assert "Télécharger toutes les pièces (ZIP)" in page


def test_beat_expires_the_bundles_every_hour(app):
    entry = app.extensions["celery"].conf.beat_schedule["expire-attachment-bundles"]
    assert entry == {"task": "grants.applications.bundles.expire_bundles", "schedule": 3600.0}


def test_the_list_offers_no_zip_while_no_submitted_dossier_has_a_file(app, client, login_as, dossier):
    attach(dossier.application, dossier.statutes)  # a draft's file: not the committee's
    login_as(ManagerFactory())
    page = client.get(f"/gestion/appels/{dossier.call.id}/dossiers").get_data(as_text=True)
    assert "pieces-zip" not in page


def test_the_zip_is_streamed_to_the_object_store(app, committee, object_store, s3_bucket):
    """On the S3 backend: the members are read from the bucket and the ZIP lands in it."""
    from grants.storage import S3Storage

    dossier, _second, manager = committee
    local = attachment_storage()
    store = S3Storage(object_store.client(), s3_bucket)
    for attachment in db.session.scalars(db.select(Attachment)):
        with local.open(attachment.storage_key) as stream:
            store.put(attachment.storage_key, stream, sha256=attachment.sha256)
    app.extensions["attachment_storage"] = store
    bundle = build(services.request_bundle(dossier.call, actor=manager))
    assert bundle.state == BundleState.READY and bundle.files_missing == 0
    head = object_store.client().head_object(Bucket=s3_bucket, Key=bundle.bundle_storage_key)
    assert head["ContentType"] == "application/zip" and head["ContentLength"] == bundle.bundle_size_bytes
    assert len(bundle_zip(bundle).namelist()) == 3
