"""Where attachment files live, behind a small interface so an object store can replace the folder.

Files are stored under keys the application generates (never the applicant's file name), outside
``static/``: they are only ever served by the download view, after its access check. The backend is
chosen by ``ATTACHMENT_STORAGE`` and obtained with :func:`attachment_storage`:

- ``local`` (the embedded default): a folder, ``UPLOAD_FOLDER``, on the machine that serves the app;
- ``s3``: a bucket of any S3-compatible object store (SeaweedFS, MinIO, Ceph, a cloud provider),
  shared by every web node and worker, configured by ``S3_ENDPOINT_URL``, ``S3_BUCKET``,
  ``S3_ACCESS_KEY_ID``, ``S3_SECRET_ACCESS_KEY``, ``S3_REGION``.

Both stream: a file is copied in chunks (an object store gets it in multipart parts above
``S3_MULTIPART_THRESHOLD``), never read whole into memory. A store that cannot be reached raises
:class:`StorageUnavailable`; a key it does not hold, ``FileNotFoundError``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app

KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")
COPY_CHUNK = 1024 * 1024
TEMPORARY_PREFIX = ".upload-"


class StorageUnavailable(OSError):
    """The store cannot be reached or refuses to work (network down, 5xx, bad credentials): the
    operation may succeed later. Never raised for a key the store does not hold."""


class StorageIntegrityError(OSError):
    """The store holds other bytes than were sent (size or checksum differs): the copy is deleted."""


@dataclass(frozen=True)
class StoredObject:
    """What the store says of one stored file. ``sha256`` (hex) is the store's own checksum where it
    keeps one for the whole file (an object store's single-part upload, or the digest recorded with
    it at upload); None where it does not."""

    key: str
    size: int
    modified_at: datetime
    sha256: str | None = None


class AttachmentStorage(Protocol):
    name: str

    def save(self, stream: BinaryIO, *, content_type: str | None = None, sha256: str | None = None) -> str:
        """Store the stream's bytes (from its current position) under a new key, and return the key.
        ``sha256`` (hex), when given, is checked against the bytes stored: a difference deletes them
        and raises StorageIntegrityError."""

    def put(self, key: str, stream: BinaryIO, *, content_type: str | None = None,
            sha256: str | None = None) -> None:
        """Store the stream's bytes under ``key`` (a copy from another store keeps its key)."""

    def open(self, key: str) -> BinaryIO:
        """The stored bytes, as a binary file object the caller closes. FileNotFoundError if absent."""

    def delete(self, key: str) -> None:
        """Forget the key's bytes; nothing happens when they are already gone."""

    def exists(self, key: str) -> bool: ...

    def stat(self, key: str) -> StoredObject | None:
        """What the store holds under ``key``, or None."""

    def objects(self) -> Iterator[StoredObject]:
        """Every stored file (for the sweeper and ``flask attachments verify``)."""

    def clean_abandoned_uploads(self, older_than: datetime) -> int:
        """Remove writes that never finished and started before ``older_than`` (temporary files, an
        object store's incomplete multipart uploads); return how many."""


def check_key(key: str) -> str:
    # The key is ours, but it comes back from the database: never let it name another path.
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise ValueError(f"not an attachment storage key: {key!r}")
    return key


def new_key() -> str:
    return uuid.uuid4().hex


def sha256_of(stream: BinaryIO) -> tuple[str, int]:
    """The hex digest and size of a stream read to its end, in chunks."""
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(COPY_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class HashingReader:
    """Reads through to ``stream`` and keeps the digest and count of what was read."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


class LocalFolderStorage:
    """Files in a local folder: ``<root>/ab/cd/abcd…`` for the key ``abcd…`` (a uuid4 in hex), so no
    folder holds more than a few hundred files. A file appears whole or not at all: it is written to
    a temporary file in the same folder, then renamed."""

    name = "local"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path_of(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def save(self, stream: BinaryIO, *, content_type: str | None = None, sha256: str | None = None) -> str:
        key = new_key()
        self.put(key, stream, content_type=content_type, sha256=sha256)
        return key

    def put(self, key: str, stream: BinaryIO, *, content_type: str | None = None,
            sha256: str | None = None) -> None:
        path = self.path_of(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=TEMPORARY_PREFIX)
        try:
            with os.fdopen(descriptor, "wb") as target:
                reader = HashingReader(stream)
                shutil.copyfileobj(reader, target, COPY_CHUNK)
                target.flush()
                os.fsync(target.fileno())
            if sha256 is not None and reader.digest.hexdigest() != sha256:
                raise StorageIntegrityError(f"{key}: the bytes written are not those announced")
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        return self.path_of(key).open("rb")

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path_of(key).is_file()

    def stat(self, key: str) -> StoredObject | None:
        try:
            status = self.path_of(key).stat()
        except FileNotFoundError:
            return None
        return StoredObject(key, status.st_size, datetime.fromtimestamp(status.st_mtime, UTC))

    def objects(self) -> Iterator[StoredObject]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("??/??/*"):
            if KEY_PATTERN.match(path.name) and path.parent.parent.name == path.name[:2]:
                stored = self.stat(path.name)
                if stored is not None:
                    yield stored

    def clean_abandoned_uploads(self, older_than: datetime) -> int:
        removed = 0
        if not self.root.is_dir():
            return removed
        for path in self.root.glob(f"??/??/{TEMPORARY_PREFIX}*"):
            try:
                if datetime.fromtimestamp(path.stat().st_mtime, UTC) < older_than:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # renamed into place or removed meanwhile
        return removed


class S3Storage:
    """Objects in one bucket of an S3-compatible store, under the key itself.

    Uploads go through boto3's transfer manager: one PUT below ``multipart_threshold``, parts of
    ``multipart_chunksize`` above it, at most ``max_concurrency`` parts in memory at once; every part
    carries its SHA-256, which the store checks. The SHA-256 of the whole file is also recorded as the
    object's ``sha256`` metadata, and the stored size and checksum are compared with what was sent
    before the key is returned. Downloads stream the object's body in chunks."""

    name = "s3"

    def __init__(self, client, bucket: str, *, multipart_threshold: int = 16 * 1024 * 1024,
                 multipart_chunksize: int = 8 * 1024 * 1024, max_concurrency: int = 4):
        from boto3.s3.transfer import TransferConfig

        self.client = client
        self.bucket = bucket
        self.transfer = TransferConfig(multipart_threshold=multipart_threshold,
                                       multipart_chunksize=multipart_chunksize,
                                       max_concurrency=max_concurrency, use_threads=max_concurrency > 1)
        # s3transfer keeps up to this many parts read ahead in memory: no more than it sends at once.
        self.transfer.max_in_memory_upload_chunks = max_concurrency

    # --- errors ------------------------------------------------------------------------------

    def _translate(self, error: Exception, key: str | None = None) -> Exception:
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchKey", "404", "NotFound"):
                return FileNotFoundError(f"{self.bucket}/{key}: no such object")
            return StorageUnavailable(f"object store refused {key or self.bucket}: {code or status}")
        if isinstance(error, BotoCoreError):
            return StorageUnavailable(f"object store out of reach: {error}")
        return error

    # --- operations --------------------------------------------------------------------------

    def save(self, stream: BinaryIO, *, content_type: str | None = None, sha256: str | None = None) -> str:
        key = new_key()
        self.put(key, stream, content_type=content_type, sha256=sha256)
        return key

    def put(self, key: str, stream: BinaryIO, *, content_type: str | None = None,
            sha256: str | None = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        check_key(key)
        extra = {"ChecksumAlgorithm": "SHA256", "ContentType": content_type or "application/octet-stream"}
        if sha256 is not None:
            extra["Metadata"] = {"sha256": sha256}
        reader = HashingReader(stream)
        try:
            self.client.upload_fileobj(reader, self.bucket, key, ExtraArgs=extra, Config=self.transfer)
        except (BotoCoreError, ClientError) as error:
            raise self._translate(error, key) from error
        sent = reader.digest.hexdigest()
        stored = self.stat(key)
        problem = None
        if stored is None:
            problem = "absent after upload"
        elif stored.size != reader.size:
            problem = f"{stored.size} bytes stored, {reader.size} sent"
        elif stored.sha256 is not None and stored.sha256 != sent:
            problem = "the store's checksum differs from the bytes sent"
        elif sha256 is not None and sent != sha256:
            problem = "the bytes sent are not those announced"
        if problem:
            self.delete(key)
            raise StorageIntegrityError(f"{key}: {problem}")

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import BotoCoreError, ClientError

        check_key(key)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as error:
            raise self._translate(error, key) from error
        return ObjectBody(answer["Body"], answer.get("ContentLength"))

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        check_key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as error:
            raise self._translate(error, key) from error

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def stat(self, key: str) -> StoredObject | None:
        from botocore.exceptions import BotoCoreError, ClientError

        check_key(key)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except (BotoCoreError, ClientError) as error:
            translated = self._translate(error, key)
            if isinstance(translated, FileNotFoundError):
                return None
            raise translated from error
        return StoredObject(key, head["ContentLength"], head["LastModified"], whole_file_sha256(head))

    def objects(self) -> Iterator[StoredObject]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
                for item in page.get("Contents", ()):
                    if KEY_PATTERN.match(item["Key"]):
                        yield StoredObject(item["Key"], item["Size"], item["LastModified"])
        except (BotoCoreError, ClientError) as error:
            raise self._translate(error) from error

    def clean_abandoned_uploads(self, older_than: datetime) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        removed = 0
        try:
            for page in self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket):
                for upload in page.get("Uploads", ()):
                    if upload["Initiated"] < older_than and KEY_PATTERN.match(upload["Key"]):
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                           UploadId=upload["UploadId"])
                        removed += 1
        except (BotoCoreError, ClientError) as error:
            raise self._translate(error) from error
        return removed


def whole_file_sha256(head: dict) -> str | None:
    """The SHA-256 of the whole object from a HEAD answer: the store's own checksum of a single-part
    upload, else the digest recorded in its metadata at upload (a multipart upload's checksum is a
    checksum of the parts' checksums, "…-N")."""
    checksum = head.get("ChecksumSHA256")
    if checksum and "-" not in checksum and head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT":
        return base64.b64decode(checksum).hex()
    recorded = (head.get("Metadata") or {}).get("sha256")
    return recorded if recorded and re.fullmatch(r"[0-9a-f]{64}", recorded) else None


class ObjectBody:
    """An object's body as a read-only binary file: read in chunks, closed by the caller (Werkzeug's
    file wrapper closes it when the response ends). A store that fails mid-way raises
    StorageUnavailable from ``read``."""

    def __init__(self, body, size: int | None):
        self.body = body
        self.size = size

    def read(self, size: int = -1) -> bytes:
        from botocore.exceptions import BotoCoreError
        from urllib3.exceptions import HTTPError

        try:
            return self.body.read(None if size is None or size < 0 else size)
        except (BotoCoreError, HTTPError, OSError) as error:
            raise StorageUnavailable(f"object store stopped sending: {error}") from error

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.body.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __iter__(self):
        while chunk := self.read(COPY_CHUNK):
            yield chunk


def local_folder_storage(app) -> LocalFolderStorage:
    return LocalFolderStorage(app.config["UPLOAD_FOLDER"])


def s3_client(config):
    """A boto3 client for the configured store: path-style addressing (works with every S3-compatible
    store, whatever its DNS), short connect timeout, a few retries."""
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client(
        "s3",
        endpoint_url=config.get("S3_ENDPOINT_URL") or None,
        aws_access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
        aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None,
        region_name=config.get("S3_REGION") or "us-east-1",
        config=BotoConfig(
            s3={"addressing_style": "path"},
            connect_timeout=config.get("S3_CONNECT_TIMEOUT", 3),
            read_timeout=config.get("S3_READ_TIMEOUT", 30),
            retries={"max_attempts": config.get("S3_MAX_ATTEMPTS", 3), "mode": "standard"},
            # The store checks each part's checksum; only ask it of uploads that announce one.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def s3_storage(app) -> S3Storage:
    bucket = app.config.get("S3_BUCKET")
    if not bucket:
        raise RuntimeError("ATTACHMENT_STORAGE=s3 needs S3_BUCKET (and S3_ENDPOINT_URL, S3_ACCESS_KEY_ID, "
                           "S3_SECRET_ACCESS_KEY, S3_REGION for a store other than the default)")
    return S3Storage(
        s3_client(app.config), bucket,
        multipart_threshold=app.config.get("S3_MULTIPART_THRESHOLD", 16 * 1024 * 1024),
        multipart_chunksize=app.config.get("S3_MULTIPART_CHUNKSIZE", 8 * 1024 * 1024),
    )


# ``ATTACHMENT_STORAGE`` names one of these.
STORAGE_BACKENDS = {"local": local_folder_storage, "s3": s3_storage}


def storage_named(app, name: str) -> AttachmentStorage:
    try:
        factory = STORAGE_BACKENDS[name]
    except KeyError:
        raise RuntimeError(
            f"unknown ATTACHMENT_STORAGE {name!r}: use one of {', '.join(STORAGE_BACKENDS)}"
        ) from None
    return factory(app)


def attachment_storage() -> AttachmentStorage:
    """The application's storage, built once per app from its configuration."""
    app = current_app._get_current_object()
    storage = app.extensions.get("attachment_storage")
    if storage is None:
        storage = app.extensions["attachment_storage"] = storage_named(
            app, app.config.get("ATTACHMENT_STORAGE", "local"))
    return storage
