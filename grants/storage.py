"""Where attachment files live, behind a small interface so an object store can replace the folder.

Files are stored under keys the application generates (never the applicant's file name), outside
``static/``: they are only ever served by the download view, after its access check. The backend is
chosen by ``ATTACHMENT_STORAGE`` and obtained with :func:`attachment_storage`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app

KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")
COPY_CHUNK = 1024 * 1024


class AttachmentStorage(Protocol):
    def save(self, stream: BinaryIO) -> str:
        """Store the stream's bytes (from its current position) under a new key, and return the key."""

    def open(self, key: str) -> BinaryIO:
        """The stored bytes, as a binary file object the caller closes. FileNotFoundError if absent."""

    def delete(self, key: str) -> None:
        """Forget the key's bytes; nothing happens when they are already gone."""

    def exists(self, key: str) -> bool: ...


class LocalFolderStorage:
    """Files in a local folder: ``<root>/ab/cd/abcd…`` for the key ``abcd…`` (a uuid4 in hex), so no
    folder holds more than a few hundred files. A file appears whole or not at all: it is written to
    a temporary file in the same folder, then renamed."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path_of(self, key: str) -> Path:
        # The key is ours, but it comes back from the database: never let it name another path.
        if not KEY_PATTERN.match(key):
            raise ValueError(f"not an attachment storage key: {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def save(self, stream: BinaryIO) -> str:
        key = uuid.uuid4().hex
        path = self.path_of(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(descriptor, "wb") as target:
                shutil.copyfileobj(stream, target, COPY_CHUNK)
                target.flush()
                os.fsync(target.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return key

    def open(self, key: str) -> BinaryIO:
        return self.path_of(key).open("rb")

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path_of(key).is_file()


def local_folder_storage(app) -> LocalFolderStorage:
    return LocalFolderStorage(app.config["UPLOAD_FOLDER"])


# ``ATTACHMENT_STORAGE`` names one of these; an object store adds its factory here.
STORAGE_BACKENDS = {"local": local_folder_storage}


def attachment_storage() -> AttachmentStorage:
    """The application's storage, built once per app from its configuration."""
    app = current_app._get_current_object()
    storage = app.extensions.get("attachment_storage")
    if storage is None:
        name = app.config.get("ATTACHMENT_STORAGE", "local")
        try:
            factory = STORAGE_BACKENDS[name]
        except KeyError:
            raise RuntimeError(
                f"unknown ATTACHMENT_STORAGE {name!r}: use one of {', '.join(STORAGE_BACKENDS)}"
            ) from None
        storage = app.extensions["attachment_storage"] = factory(app)
    return storage
