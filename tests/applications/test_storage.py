"""Attachment storage (generated keys, atomic writes, configuration) and file types read from bytes."""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from grants.applications.file_types import UnrecognisedFile, detect_file_type
from grants.storage import LocalFolderStorage, attachment_storage

# --- Tiny real files, built here -----------------------------------------------------------------

PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
JPEG_BYTES = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def ooxml_bytes(part: str) -> bytes:
    """A minimal Office Open XML package: docx (word/), xlsx (xl/) or pptx (ppt/)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        archive.writestr(part, '<?xml version="1.0"?><document/>')
    return buffer.getvalue()


def opendocument_bytes(mimetype: str) -> bytes:
    """A minimal OpenDocument package: ``mimetype`` first and stored, as the format requires."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", '<?xml version="1.0"?><office:document-content/>')
        archive.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest/>')
    return buffer.getvalue()


def ole2_bytes(*stream_names: str) -> bytes:
    """A minimal OLE2 compound file (512-byte sectors): sector 0 is the directory (a root entry and
    the named streams), sector 1 the FAT."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHH", header, 24, 0x3E, 3, 0xFFFE)  # minor, major version, byte order
    struct.pack_into("<HH", header, 30, 9, 6)  # sector shift (512), mini sector shift
    struct.pack_into("<I", header, 44, 1)  # one FAT sector
    struct.pack_into("<I", header, 48, 0)  # the directory starts at sector 0
    struct.pack_into("<I", header, 60, 0xFFFFFFFE)  # no mini FAT
    struct.pack_into("<I", header, 68, 0xFFFFFFFE)  # no DIFAT sectors
    header[76:76 + 109 * 4] = struct.pack("<109I", 1, *([0xFFFFFFFF] * 108))
    directory = bytearray(512)
    for index, name in enumerate(("Root Entry", *stream_names)[:4]):
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        offset = index * 128
        directory[offset:offset + len(encoded)] = encoded
        struct.pack_into("<H", directory, offset + 64, len(encoded))
        directory[offset + 66] = 5 if index == 0 else 2  # root storage, then streams
    fat = struct.pack("<128I", 0xFFFFFFFE, 0xFFFFFFFD, *([0xFFFFFFFF] * 126))
    return bytes(header) + bytes(directory) + fat


def detect(data: bytes):
    return detect_file_type(io.BytesIO(data))


# --- Types from the bytes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind", "content_type"),
    [
        (PDF_BYTES, "pdf", "application/pdf"),
        (png_bytes(), "image", "image/png"),
        (JPEG_BYTES, "image", "image/jpeg"),
        (ooxml_bytes("word/document.xml"), "office",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (ooxml_bytes("xl/workbook.xml"), "office", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (ooxml_bytes("ppt/presentation.xml"), "office",
         "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
        (opendocument_bytes("application/vnd.oasis.opendocument.text"), "office", "application/vnd.oasis.opendocument.text"),
        (opendocument_bytes("application/vnd.oasis.opendocument.spreadsheet"), "office",
         "application/vnd.oasis.opendocument.spreadsheet"),
        (ole2_bytes("WordDocument", "1Table"), "office", "application/msword"),
        (ole2_bytes("Workbook"), "office", "application/vnd.ms-excel"),
    ],
    ids=["pdf", "png", "jpeg", "docx", "xlsx", "pptx", "odt", "ods", "doc", "xls"],
)
def test_each_accepted_format_is_recognised_from_its_bytes(data, kind, content_type):
    file_type = detect(data)
    assert (file_type.kind, file_type.content_type) == (kind, content_type)


@pytest.mark.parametrize(
    "data",
    [b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, b"\x7fELF\x02\x01\x01" + b"\x00" * 100,
     b"#!/bin/sh\nrm -rf ~\n", b"\xcf\xfa\xed\xfe" + b"\x00" * 100],
    ids=["windows", "elf", "script", "mach-o"],
)
def test_executables_are_named_as_such(data):
    with pytest.raises(UnrecognisedFile) as refusal:
        detect(data)
    assert refusal.value.executable


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("statuts.pdf", PDF_BYTES)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><script>alert(1)</script></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"Nom;Montant\nLoyer;1200\n",
        plain_zip(),
        b"PK\x03\x04 truncated, not a zip at all",
        ole2_bytes("\x05SummaryInformation", "!_msi_tables"),  # an installer is an OLE2 file too
        b"GIF89a\x01\x00\x01\x00",
        b" %PDF-1.4 but not at the start",
    ],
    ids=["html", "svg", "csv", "plain-zip", "broken-zip", "msi-like-ole2", "gif", "pdf-marker-later"],
)
def test_anything_else_is_refused(data):
    with pytest.raises(UnrecognisedFile) as refusal:
        detect(data)
    assert not refusal.value.executable


def test_an_opendocument_with_an_unknown_mimetype_is_refused():
    with pytest.raises(UnrecognisedFile):
        detect(opendocument_bytes("application/x-shellscript"))


def test_a_zip_bomb_is_recognised_without_being_decompressed():
    """A docx whose part expands to 200 MB (and whose data is then damaged): detection reads only
    the central directory, so it answers at once and never meets the broken compressed data."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\x00" * (200 * 1024 * 1024))
    data = bytearray(buffer.getvalue())
    assert len(data) < 1024 * 1024
    start = data.index(b"word/document.xml") + len(b"word/document.xml")
    data[start + 100:start + 400] = b"\xff" * 300  # corrupt the deflate stream itself
    began = time.monotonic()
    assert detect(bytes(data)).extension == "docx"
    assert time.monotonic() - began < 1


def test_detection_leaves_the_stream_at_its_start():
    stream = io.BytesIO(ooxml_bytes("word/document.xml"))
    stream.seek(10)
    detect_file_type(stream)
    assert stream.tell() == 0


# --- The local folder storage --------------------------------------------------------------------


def test_files_are_stored_under_generated_keys_in_two_level_folders(tmp_path):
    storage = LocalFolderStorage(tmp_path)
    key = storage.save(io.BytesIO(PDF_BYTES))
    assert len(key) == 32 and int(key, 16) >= 0
    path = tmp_path / key[:2] / key[2:4] / key
    assert path.read_bytes() == PDF_BYTES
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [path]  # no temporary file left
    assert storage.exists(key)
    with storage.open(key) as stored:
        assert stored.read() == PDF_BYTES
    assert storage.save(io.BytesIO(PDF_BYTES)) != key


def test_deleting_forgets_the_file_and_is_idempotent(tmp_path):
    storage = LocalFolderStorage(tmp_path)
    key = storage.save(io.BytesIO(b"x"))
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)
    with pytest.raises(FileNotFoundError):
        storage.open(key)


@pytest.mark.parametrize("key", ["../../etc/passwd", "statuts.pdf", "A" * 32, "", "0" * 31 + "/"])
def test_a_key_never_names_another_path(tmp_path, key):
    storage = LocalFolderStorage(tmp_path)
    for operation in (storage.open, storage.delete, storage.exists):
        with pytest.raises(ValueError):
            operation(key)


class FailingStream(io.RawIOBase):
    """Gives some bytes, then fails as a dropped connection would."""

    def __init__(self):
        self.calls = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        self.calls += 1
        if self.calls > 1:
            raise OSError("connection reset")
        buffer[:4] = b"%PDF"
        return 4


def test_a_failed_write_leaves_no_partial_file(tmp_path):
    storage = LocalFolderStorage(tmp_path)
    with pytest.raises(OSError):
        storage.save(FailingStream())
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_the_app_storage_is_the_configured_upload_folder_outside_static(app):
    storage = attachment_storage()
    assert isinstance(storage, LocalFolderStorage)
    assert storage.root == Path(app.config["UPLOAD_FOLDER"])
    assert attachment_storage() is storage  # built once per app
    static = Path(app.static_folder).resolve()
    assert not storage.root.resolve().is_relative_to(static)


@pytest.mark.parametrize("app_overrides", [{"ATTACHMENT_STORAGE": "nuage"}])
def test_an_unknown_storage_backend_is_a_clear_configuration_error(app):
    with pytest.raises(RuntimeError, match="ATTACHMENT_STORAGE 'nuage'"):
        attachment_storage()
