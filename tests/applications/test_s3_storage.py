"""Attachments on an S3 object store, against a real one (SeaweedFS on loopback, tests/object_store.py):
streamed uploads with their checksums, downloads through the access check, the store's faults, the
sweeper of orphans on both backends, ``flask attachments verify`` and ``migrate``."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import UTC, datetime, timedelta

import pytest

from grants.applications.models import Attachment
from grants.database import db
from grants.storage import (
    LocalFolderStorage,
    S3Storage,
    StorageIntegrityError,
    StorageUnavailable,
    attachment_storage,
    new_key,
    s3_client,
)
from grants.stored_files import key_columns, migrate, sweep, verify
from tests.applications.test_attachments import attach, attachments_of, download_url, upload
from tests.applications.test_storage import PDF_BYTES
from tests.live_servers import free_port

MiB = 1024 * 1024


@pytest.fixture
def app_overrides(object_store, s3_bucket):
    return object_store.settings(s3_bucket)


@pytest.fixture
def bucket(app, s3_bucket):
    return s3_bucket


@pytest.fixture
def s3(object_store):
    return object_store.client()


def small_parts_storage(object_store, bucket) -> S3Storage:
    """The store with the smallest parts S3 allows (5 MiB), so a 12 MiB file goes in three parts."""
    return S3Storage(object_store.client(), bucket, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)


def unreachable_storage(bucket) -> S3Storage:
    """The same configuration, on a loopback port nobody listens on: the store is down."""
    client = s3_client({"S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "S3_ACCESS_KEY_ID": "x",
                        "S3_SECRET_ACCESS_KEY": "y", "S3_MAX_ATTEMPTS": 1, "S3_CONNECT_TIMEOUT": 1})
    return S3Storage(client, bucket)


# --- The backend ---------------------------------------------------------------------------------


def test_the_configured_storage_is_the_bucket(app, bucket):
    storage = attachment_storage()
    assert isinstance(storage, S3Storage) and storage.bucket == bucket


def test_a_file_is_stored_with_its_type_and_checksum_and_read_back(app, bucket, s3):
    storage = attachment_storage()
    digest = hashlib.sha256(PDF_BYTES).hexdigest()
    key = storage.save(io.BytesIO(PDF_BYTES), content_type="application/pdf", sha256=digest)
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ContentType"] == "application/pdf" and head["ContentLength"] == len(PDF_BYTES)
    assert head["Metadata"]["sha256"] == digest
    stored = storage.stat(key)
    assert stored.size == len(PDF_BYTES) and stored.sha256 == digest  # the store's own checksum
    with storage.open(key) as stream:
        assert stream.read() == PDF_BYTES
    assert storage.exists(key)
    storage.delete(key)
    storage.delete(key)  # idempotent
    assert not storage.exists(key) and storage.stat(key) is None
    with pytest.raises(FileNotFoundError):
        storage.open(key)


def test_a_large_file_goes_in_parts_and_keeps_its_whole_checksum(app, object_store, bucket, s3):
    storage = small_parts_storage(object_store, bucket)
    data = os.urandom(12 * MiB)
    digest = hashlib.sha256(data).hexdigest()
    key = storage.save(io.BytesIO(data), content_type="application/pdf", sha256=digest)
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ETag"].endswith('-3"')  # three parts
    assert storage.stat(key).sha256 == digest  # recorded at upload: the store's is of the parts
    read = hashlib.sha256()
    with storage.open(key) as stream:
        while chunk := stream.read(MiB):
            read.update(chunk)
    assert read.hexdigest() == digest


def test_announced_bytes_that_differ_are_not_kept(app, bucket):
    storage = attachment_storage()
    with pytest.raises(StorageIntegrityError):
        storage.save(io.BytesIO(PDF_BYTES), sha256=hashlib.sha256(b"other bytes").hexdigest())
    assert list(storage.objects()) == []


def test_a_key_never_names_anything_else(app, bucket):
    with pytest.raises(ValueError):
        attachment_storage().open("../other-bucket/key")


def test_a_store_out_of_reach_is_unavailable_not_missing(app, bucket):
    storage = unreachable_storage(bucket)
    with pytest.raises(StorageUnavailable):
        storage.open(new_key())
    with pytest.raises(StorageUnavailable):
        storage.save(io.BytesIO(PDF_BYTES))


# --- Through the app -----------------------------------------------------------------------------


def test_an_upload_lands_in_the_bucket_and_downloads_through_the_access_check(app, client, login_as, dossier,
                                                                               bucket, s3):
    login_as(dossier.member)
    response = upload(client, dossier.application, dossier.statutes.id, PDF_BYTES, "Statuts été.pdf")
    assert response.status_code == 302
    [attachment] = attachments_of(dossier.application)
    head = s3.head_object(Bucket=bucket, Key=attachment.storage_key)
    assert head["ContentLength"] == len(PDF_BYTES) and head["ContentType"] == "application/pdf"
    assert head["Metadata"]["sha256"] == attachment.sha256

    response = client.get(download_url(dossier.application, attachment))
    assert response.status_code == 200
    assert response.data == PDF_BYTES
    assert response.mimetype == "application/pdf"
    assert response.content_length == len(PDF_BYTES)
    assert "filename*=UTF-8''Statuts%20%C3%A9t%C3%A9.pdf" in response.headers["Content-Disposition"]
    assert response.headers["Content-Disposition"].startswith("attachment;")
    response.close()

    client.post("/deconnexion")
    assert client.get(download_url(dossier.application, attachment)).status_code == 302  # sign in first


def test_the_store_down_during_an_upload_says_so_and_writes_no_row(app, client, login_as, dossier, bucket):
    app.extensions["attachment_storage"] = unreachable_storage(bucket)
    login_as(dossier.member)
    response = upload(client, dossier.application, dossier.statutes.id, PDF_BYTES, "statuts.pdf")
    assert response.status_code == 422
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert "Le stockage des fichiers est momentanément indisponible" in page
    assert attachments_of(dossier.application) == []


def test_the_store_down_during_a_download_is_a_503_with_a_retry_hint(app, client, login_as, dossier, bucket):
    attachment = attach(dossier.application, dossier.statutes)
    app.extensions["attachment_storage"] = unreachable_storage(bucket)
    login_as(dossier.member)
    response = client.get(download_url(dossier.application, attachment))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "Stockage des fichiers momentanément indisponible" in response.get_data(as_text=True)


def test_a_file_missing_from_the_store_is_said_in_the_page_and_by_verify(app, client, login_as, dossier, bucket,
                                                                         s3):
    kept = attach(dossier.application, dossier.bank)
    lost = attach(dossier.application, dossier.statutes)
    s3.delete_object(Bucket=bucket, Key=lost.storage_key)
    login_as(dossier.member)
    response = client.get(download_url(dossier.application, lost))
    assert response.status_code == 404
    assert "Ce fichier est introuvable" in response.get_data(as_text=True)

    result = app.test_cli_runner().invoke(args=["attachments", "verify"])
    assert result.exit_code == 1
    assert f"attachments.storage_key {lost.storage_key}: missing from the store" in result.output
    assert kept.storage_key not in result.output
    assert "2 stored files checked in the s3 store, 1 problem(s)." in result.output


def test_verify_finds_other_bytes_under_a_rows_key(app, bucket, dossier, s3):
    attachment = attach(dossier.application, dossier.statutes)
    s3.put_object(Bucket=bucket, Key=attachment.storage_key, Body=PDF_BYTES.replace(b"1.4", b"1.7"))
    checked, problems = verify(attachment_storage())
    assert checked == 1
    assert [p.reason for p in problems] == ["checksum differs from the one recorded at upload"]
    result = app.test_cli_runner().invoke(args=["attachments", "verify", "--deep"])
    assert result.exit_code == 1 and "checksum differs" in result.output


# --- Orphans -------------------------------------------------------------------------------------


def test_the_key_columns_come_from_the_metadata(app):
    assert "attachments.storage_key" in {column.label for column in key_columns()}


@pytest.mark.parametrize("backend", ["s3", "local"])
def test_the_sweeper_deletes_files_no_row_names_once_old_enough(app, dossier, bucket, backend, tmp_path):
    storage = attachment_storage() if backend == "s3" else LocalFolderStorage(tmp_path / "files")
    app.extensions["attachment_storage"] = storage
    attachment = attach(dossier.application, dossier.statutes)  # named by its row
    orphan = storage.save(io.BytesIO(b"an upload killed before its row"))  # what a killed worker leaves
    grace = timedelta(hours=2)

    young = sweep(storage, grace=grace)  # just written: it may still get its row
    assert young.deleted == [] and storage.exists(orphan)

    later = datetime.now(UTC) + timedelta(hours=2, minutes=1)
    report = sweep(storage, grace=grace, now=later)
    assert report.deleted == [orphan]
    assert not storage.exists(orphan) and storage.exists(attachment.storage_key)


def test_the_sweeper_aborts_an_unfinished_multipart_upload(app, bucket, s3):
    key = new_key()
    started = s3.create_multipart_upload(Bucket=bucket, Key=key)
    s3.upload_part(Bucket=bucket, Key=key, UploadId=started["UploadId"], PartNumber=1, Body=b"x" * 1024)
    storage = attachment_storage()
    assert sweep(storage, grace=timedelta(hours=2)).abandoned_uploads == 0
    report = sweep(storage, grace=timedelta(hours=2), now=datetime.now(UTC) + timedelta(hours=3))
    assert report.abandoned_uploads == 1
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_the_sweeper_removes_old_temporary_files_of_the_local_folder(app, tmp_path):
    storage = LocalFolderStorage(tmp_path / "files")
    temporary = tmp_path / "files" / "ab" / "cd" / ".upload-killed"
    temporary.parent.mkdir(parents=True)
    temporary.write_bytes(b"half a file")
    assert sweep(storage, grace=timedelta(hours=2)).abandoned_uploads == 0
    report = sweep(storage, grace=timedelta(hours=2), now=datetime.now(UTC) + timedelta(hours=3))
    assert report.abandoned_uploads == 1 and not temporary.exists()


def test_beat_runs_the_sweeper_every_hour(app):
    entry = app.extensions["celery"].conf.beat_schedule["sweep-stored-files"]
    assert entry == {"task": "grants.stored_files.sweep_stored_files", "schedule": 3600.0}
    assert app.config["STORAGE_ORPHAN_GRACE_SECONDS"] == 7200


def test_the_sweep_task_and_command_keep_the_rows_files(app, dossier, bucket):
    from grants.stored_files import sweep_stored_files

    attachment = attach(dossier.application, dossier.statutes)
    orphan = attachment_storage().save(io.BytesIO(b"orphan"))
    assert sweep_stored_files.apply().get() == {"deleted": 0, "abandoned_uploads": 0}  # too young
    result = app.test_cli_runner().invoke(args=["attachments", "sweep", "--grace-seconds", "0"])
    assert result.exit_code == 0, result.output
    assert "1 orphan file(s) deleted" in result.output
    assert not attachment_storage().exists(orphan) and attachment_storage().exists(attachment.storage_key)


# --- Moving the files of a local folder to the store ---------------------------------------------


def test_migrate_copies_local_files_to_the_store_checks_them_and_can_run_again(app, dossier, bucket, s3):
    local = LocalFolderStorage(app.config["UPLOAD_FOLDER"])
    app.extensions["attachment_storage"] = local  # the files were uploaded before the move
    first = attach(dossier.application, dossier.statutes)
    second = attach(dossier.application, dossier.bank, filename="rib.pdf")
    del app.extensions["attachment_storage"]
    runner = app.test_cli_runner()

    # A run interrupted after one file, whose copy of the other was cut short: run it again.
    s3.put_object(Bucket=bucket, Key=second.storage_key, Body=PDF_BYTES[:20])
    s3_storage = attachment_storage()
    local_first = local.open(first.storage_key)
    with local_first:
        s3_storage.put(first.storage_key, local_first, sha256=first.sha256)

    result = runner.invoke(args=["attachments", "migrate", "--to", "s3"])
    assert result.exit_code == 0, result.output
    assert "1 copied, 1 already in the s3 store, 0 missing from the local store, 0 failed." in result.output
    for attachment in (first, second):
        assert s3.get_object(Bucket=bucket, Key=attachment.storage_key)["Body"].read() == PDF_BYTES
        assert local.exists(attachment.storage_key)  # the source is left as it was

    again = runner.invoke(args=["attachments", "migrate", "--to", "s3"])
    assert "0 copied, 2 already in the s3 store" in again.output
    assert runner.invoke(args=["attachments", "verify", "--deep"]).exit_code == 0


def test_migrate_reports_a_file_missing_at_the_source(app, dossier, bucket):
    local = LocalFolderStorage(app.config["UPLOAD_FOLDER"])
    app.extensions["attachment_storage"] = local
    attachment = attach(dossier.application, dossier.statutes)
    local.delete(attachment.storage_key)
    report = migrate(local, S3Storage(s3_client(app.config), bucket))
    assert report.missing_at_source == [attachment.storage_key] and report.copied == []


def test_rows_and_store_agree_after_uploads_replacements_and_removals(app, client, login_as, dossier, bucket):
    login_as(dossier.member)
    upload(client, dossier.application, dossier.statutes.id, PDF_BYTES, "v1.pdf")
    upload(client, dossier.application, dossier.statutes.id, PDF_BYTES.replace(b"1.4", b"1.5"), "v2.pdf")
    [current] = attachments_of(dossier.application)
    assert {o.key for o in attachment_storage().objects()} == {current.storage_key}  # the replaced one went
    client.post(f"/dossiers/{dossier.application.id}/pieces/{current.id}/supprimer")
    assert db.session.scalar(db.select(db.func.count()).select_from(Attachment)) == 0
    assert list(attachment_storage().objects()) == []
