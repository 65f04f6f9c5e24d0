"""File types read from untrusted bytes: a malformed file of any accepted format is refused with a
reason ("damaged", "encrypted", …), and detection raises nothing but UnrecognisedFile."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grants.applications.file_types import MAX_ZIP_ENTRIES, UnrecognisedFile, detect_file_type
from tests.applications.test_storage import (
    PDF_BYTES,
    ole2_bytes,
    ooxml_bytes,
    opendocument_bytes,
    png_bytes,
)

# A JPEG with a scan: SOI, APP0 (JFIF), SOS with its header, two bytes of scan data, EOI.
JPEG_WITH_SCAN = bytes.fromhex(
    "ffd8" "ffe000104a46494600010100000100010000"
    "ffda000c03010002110311003f00" "d2cf" "ffd9"
)

VALID = {
    "pdf": PDF_BYTES,
    "png": png_bytes(),
    "jpeg": JPEG_WITH_SCAN,
    "docx": ooxml_bytes("word/document.xml"),
    "xlsx": ooxml_bytes("xl/workbook.xml"),
    "odt": opendocument_bytes("application/vnd.oasis.opendocument.text"),
    "doc": ole2_bytes("WordDocument", "1Table"),
    "xls": ole2_bytes("Workbook"),
}


def detect(data: bytes):
    return detect_file_type(io.BytesIO(data))


def refusal_of(data: bytes) -> str:
    with pytest.raises(UnrecognisedFile) as refusal:
        detect(data)
    return refusal.value.reason


def zip_with_central_entries(data: bytes, change) -> bytes:
    """``data`` with ``change(buffer, offset)`` applied to each central directory entry."""
    buffer = bytearray(data)
    at = buffer.find(b"PK\x01\x02")
    while at >= 0:
        change(buffer, at)
        at = buffer.find(b"PK\x01\x02", at + 4)
    return bytes(buffer)


def with_version_needed(buffer: bytearray, at: int, version: int = 91) -> None:
    buffer[at + 6] = version  # "version needed to extract" 9.1: zipfile raises NotImplementedError


def with_encryption_flag(buffer: bytearray, at: int) -> None:
    buffer[at + 8] |= 0x01


def zip_of_many_entries(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for number in range(count):
            archive.writestr(f"word/{number}", b"")
    return buffer.getvalue()


def ole2_with(offset: int, fmt: str, value: int) -> bytes:
    data = bytearray(ole2_bytes("WordDocument"))
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


def test_the_valid_samples_are_recognised():
    assert {name: detect(data).extension for name, data in VALID.items()} == {
        "pdf": "pdf", "png": "png", "jpeg": "jpg", "docx": "docx", "xlsx": "xlsx", "odt": "odt",
        "doc": "doc", "xls": "xls",
    }


MALFORMED = {
    "pdf-half": PDF_BYTES[: len(PDF_BYTES) // 2],
    "pdf-no-eof": PDF_BYTES.replace(b"%%EOF", b"%%EO"),
    "png-no-iend": png_bytes()[:-12],  # cut off
    "png-no-ihdr": png_bytes()[:8] + b"\x00" * 30,
    "jpeg-scan-cut": JPEG_WITH_SCAN[:-2],  # the scan never ends
    "jpeg-segment-cut": JPEG_WITH_SCAN[:10],
    "jpeg-bad-length": b"\xff\xd8\xff\xe0\x00\x01",  # a segment length below its own size
    "jpeg-not-a-marker": b"\xff\xd8\xff\xe0" + b"\x00\x10" + b"\x00" * 14 + b"not a marker",
    "docx-head-only": ooxml_bytes("word/document.xml")[:200],
    "docx-directory-cut": ooxml_bytes("word/document.xml")[:-10],  # the end of the central directory
    "zip-version-9.1": zip_with_central_entries(ooxml_bytes("word/document.xml"), with_version_needed),
    "zip-encrypted": zip_with_central_entries(ooxml_bytes("word/document.xml"), with_encryption_flag),
    "zip-too-many-entries": zip_of_many_entries(MAX_ZIP_ENTRIES + 1),
    "ole2-cut": ole2_bytes("WordDocument")[:300],
    "ole2-encrypted": ole2_bytes("EncryptionInfo", "EncryptedPackage"),
    "ole2-bad-sector-shift": ole2_with(30, "<H", 30),  # a sector shift no format has
    "ole2-directory-far": ole2_with(48, "<I", 0xFFFFFFF0),  # the directory beyond any file
    "ole2-fat-far": ole2_with(76, "<I", 0x7FFFFFFF),  # the FAT beyond the file
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_truncated_or_malformed_file_is_refused(data):
    assert refusal_of(data) in ("damaged", "unrecognised", "encrypted")


def test_the_unsupported_zip_version_is_damaged_not_an_error():
    data = zip_with_central_entries(ooxml_bytes("word/document.xml"), with_version_needed)
    assert refusal_of(data) == "damaged"


def test_a_truncated_pdf_and_a_truncated_photo_are_damaged():
    assert refusal_of(PDF_BYTES[:-8]) == "damaged"
    assert refusal_of(JPEG_WITH_SCAN[:-2]) == "damaged"


def test_a_zip_announcing_more_entries_than_any_document_is_refused_before_its_directory_is_read():
    assert refusal_of(zip_of_many_entries(MAX_ZIP_ENTRIES + 1)) == "damaged"
    assert detect(zip_of_many_entries(50)).extension == "docx"


def test_encrypted_archives_and_office_files_are_named_as_such():
    zipped = zip_with_central_entries(ooxml_bytes("word/document.xml"), with_encryption_flag)
    assert refusal_of(zipped) == "encrypted"
    # Office encrypts a docx, xlsx or pptx into an OLE2 file holding an "EncryptedPackage" stream.
    assert refusal_of(ole2_bytes("EncryptionInfo", "EncryptedPackage")) == "encrypted"


def test_a_looping_ole2_directory_chain_ends():
    data = bytearray(ole2_bytes("Nothing"))
    fat_offset = 512 + 512  # sector 1 is the FAT: make the directory sector point to itself
    struct.pack_into("<I", data, fat_offset, 0)
    assert refusal_of(bytes(data)) == "unrecognised"


def mutated(data: bytes, edits) -> bytes:
    buffer = bytearray(data)
    for kind, position, payload in edits:
        if not buffer:
            break
        at = position % len(buffer)
        if kind == "flip":
            buffer[at] ^= payload[0] if payload else 0xFF
        elif kind == "cut":
            del buffer[at:]
        elif kind == "insert":
            buffer[at:at] = payload
        else:  # overwrite
            buffer[at:at + len(payload)] = payload
    return bytes(buffer)


EDITS = st.lists(
    st.tuples(st.sampled_from(["flip", "cut", "insert", "overwrite"]), st.integers(0, 1 << 16),
              st.binary(min_size=1, max_size=16)),
    min_size=1, max_size=6,
)


@settings(max_examples=400, deadline=None)
@given(sample=st.sampled_from(sorted(VALID)), edits=EDITS)
def test_detection_of_any_mutated_sample_answers_a_type_or_a_refusal(sample, edits):
    data = mutated(VALID[sample], edits)
    try:
        detect(data)
    except UnrecognisedFile as refusal:
        assert refusal.reason in UnrecognisedFile.REASONS


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=2048), signature=st.sampled_from(
    [b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"]))
def test_detection_of_random_bytes_behind_a_known_signature_never_raises_anything_else(data, signature):
    try:
        detect(signature + data)
    except UnrecognisedFile:
        pass
