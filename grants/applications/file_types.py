"""What a file is, read from its bytes, never from its name nor from the browser's say-so.

Only the kinds a call may ask for are recognised (``grants.calls.models.FileKind``):
PDF, images (JPEG, PNG) and office documents (OOXML, OpenDocument, legacy Word/Excel/PowerPoint).
Everything else is refused; executables and scripts are named as such so the applicant understands.

Zip-based formats are told apart by the names of their central directory and, for OpenDocument, by
the uncompressed ``mimetype`` entry the format puts first: nothing is ever decompressed, so a zip bomb
costs no more than its size, and a directory of more than MAX_ZIP_ENTRIES entries is refused before it
is read. Legacy office files are OLE2 compound files, like Windows installers (.msi): they are
accepted only when their directory names a Word, Excel or PowerPoint stream.

The bytes come from anyone: detection never raises anything but UnrecognisedFile. A file whose
structure breaks off (a truncated PDF, PNG or JPEG, a damaged zip or OLE2 directory, a zip feature
the reader does not know) is "damaged"; a password-protected archive or office file is "encrypted".
"""

from __future__ import annotations

import logging
import struct
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileType:
    kind: str  # "pdf", "image" or "office": what a required document accepts
    content_type: str
    extension: str  # without the dot; given to a download whose name says otherwise


class UnrecognisedFile(Exception):
    """The bytes are not a readable file of an accepted format; ``reason`` says why: "unrecognised",
    "executable" (a program), "damaged" (truncated or malformed) or "encrypted" (password-protected)."""

    REASONS = ("unrecognised", "executable", "damaged", "encrypted")

    def __init__(self, reason: str = "unrecognised", *, executable: bool = False):
        reason = "executable" if executable else reason
        if reason not in self.REASONS:
            raise ValueError(f"unknown refusal reason {reason!r}")
        super().__init__(reason)
        self.reason = reason

    @property
    def executable(self) -> bool:
        return self.reason == "executable"


PDF = FileType("pdf", "application/pdf", "pdf")
PNG = FileType("image", "image/png", "png")
JPEG = FileType("image", "image/jpeg", "jpg")
DOCX = FileType("office", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")
XLSX = FileType("office", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
PPTX = FileType("office", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx")
ODT = FileType("office", "application/vnd.oasis.opendocument.text", "odt")
ODS = FileType("office", "application/vnd.oasis.opendocument.spreadsheet", "ods")
ODP = FileType("office", "application/vnd.oasis.opendocument.presentation", "odp")
DOC = FileType("office", "application/msword", "doc")
XLS = FileType("office", "application/vnd.ms-excel", "xls")
PPT = FileType("office", "application/vnd.ms-powerpoint", "ppt")

OOXML_PARTS = {"word/": DOCX, "xl/": XLSX, "ppt/": PPTX}
OPENDOCUMENT_TYPES = {t.content_type: t for t in (ODT, ODS, ODP)}
OLE2_STREAMS = {"WordDocument": DOC, "Workbook": XLS, "Book": XLS, "PowerPoint Document": PPT}
OLE2_ENCRYPTED_PACKAGE = "EncryptedPackage"

OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
EXECUTABLE_SIGNATURES = (
    b"MZ",  # Windows PE, DOS
    b"\x7fELF",  # Linux, BSD
    b"#!",  # shell, Python … scripts
    b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",  # Mach-O
    b"\xca\xfe\xba\xbe",  # Mach-O universal, Java class
    b"\x00asm",  # WebAssembly
)
HEAD_SIZE = 4096
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PDF_TAIL_SIZE = 1024
MAX_JPEG_SEGMENTS = 1000
ZIP_EOCD_SEARCH = 22 + 65535  # the record and the longest zip comment
ZIP_ENCRYPTED_FLAG = 0x1
MAX_ZIP_ENTRIES = 10_000  # an office document has tens to a few thousand parts


def detect_file_type(stream: BinaryIO) -> FileType:
    """The type of the file in ``stream`` (seekable; left at its start), or UnrecognisedFile."""
    stream.seek(0)
    head = stream.read(HEAD_SIZE)
    stream.seek(0)
    try:
        if head.startswith(b"%PDF-"):
            return checked_pdf(stream)
        if head.startswith(PNG_SIGNATURE):
            return checked_png(stream, head)
        if head.startswith(b"\xff\xd8\xff"):
            return checked_jpeg(stream)
        if head.startswith(b"PK\x03\x04"):
            return zip_document_type(stream, head)
        if head.startswith(OLE2_SIGNATURE):
            return ole2_document_type(stream)
    except UnrecognisedFile:
        raise
    except Exception as error:  # noqa: BLE001 — any parser error on untrusted bytes is a refusal
        # struct.error, IndexError, NotImplementedError (a zip "version needed to extract 9.1"),
        # OverflowError on absurd offsets, MemoryError …: the file cannot be read as what it claims.
        log.info("unreadable upload (%s: %s)", type(error).__name__, error)
        raise UnrecognisedFile("damaged") from None
    finally:
        stream.seek(0)
    raise UnrecognisedFile(executable=head.startswith(EXECUTABLE_SIGNATURES))


def stream_size(stream: BinaryIO) -> int:
    return stream.seek(0, 2)


def tail_of(stream: BinaryIO, size: int) -> bytes:
    stream.seek(max(0, stream_size(stream) - size))
    return stream.read(size)


def checked_pdf(stream: BinaryIO) -> FileType:
    """A PDF ends with ``%%EOF`` (readers tolerate trailing bytes, hence the last kilobyte): without
    it the file was cut off, typically by an interrupted download or copy."""
    if b"%%EOF" not in tail_of(stream, PDF_TAIL_SIZE):
        raise UnrecognisedFile("damaged")
    return PDF


def checked_png(stream: BinaryIO, head: bytes) -> FileType:
    """A PNG starts with its IHDR chunk and ends with IEND."""
    if head[12:16] != b"IHDR" or b"IEND" not in tail_of(stream, 64):
        raise UnrecognisedFile("damaged")
    return PNG


def checked_jpeg(stream: BinaryIO) -> FileType:
    """A JPEG is a chain of marker segments up to the scan (SOS) and an end marker (EOI) after the scan
    data: the segments are walked (a bounded number of them) and the EOI looked for after the scan, so
    a photo cut short is refused. Inside scan data 0xFF is always followed by 0x00 or a restart
    marker, so 0xFFD9 there is the end."""
    stream.seek(2)
    for _ in range(MAX_JPEG_SEGMENTS):
        marker = stream.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            raise UnrecognisedFile("damaged")
        if marker[1] == 0xD9:  # EOI before any scan: a header-only file, nothing cut off
            return JPEG
        if marker[1] == 0xFF:  # fill byte before a marker
            stream.seek(-1, 1)
            continue
        length_bytes = stream.read(2)
        if len(length_bytes) < 2 or struct.unpack(">H", length_bytes)[0] < 2:
            raise UnrecognisedFile("damaged")
        stream.seek(struct.unpack(">H", length_bytes)[0] - 2, 1)
        if marker[1] == 0xDA:  # SOS: the scan data follow, then EOI
            if not contains(stream, b"\xff\xd9"):
                raise UnrecognisedFile("damaged")
            return JPEG
    raise UnrecognisedFile("damaged")


def contains(stream: BinaryIO, needle: bytes) -> bool:
    """Whether ``needle`` occurs from the stream's position on, read in chunks."""
    previous = b""
    while chunk := stream.read(64 * 1024):
        if needle in previous[-len(needle) + 1:] + chunk:
            return True
        previous = chunk
    return False


def zip_entry_count(stream: BinaryIO) -> int:
    """The number of entries the zip's end-of-central-directory record announces (read from the last
    64 KiB, where the format puts it), so that a directory of a million entries is refused unread."""
    tail = tail_of(stream, ZIP_EOCD_SEARCH)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        raise UnrecognisedFile("damaged")
    return struct.unpack_from("<H", tail, at + 10)[0]


def zip_document_type(stream: BinaryIO, head: bytes) -> FileType:
    """OOXML (a ``[Content_Types].xml`` and a word/, xl/ or ppt/ part) or OpenDocument (a first,
    stored ``mimetype`` entry naming the format). Reads the central directory only."""
    if zip_entry_count(stream) > MAX_ZIP_ENTRIES:  # 0xFFFF (zip64) included
        raise UnrecognisedFile("damaged")
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, ValueError, EOFError):
        raise UnrecognisedFile("damaged") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise UnrecognisedFile("damaged")
    if any(entry.flag_bits & ZIP_ENCRYPTED_FLAG for entry in entries):
        raise UnrecognisedFile("encrypted")
    names = {entry.filename for entry in entries}
    if "[Content_Types].xml" in names:
        for prefix, file_type in OOXML_PARTS.items():
            if any(name.startswith(prefix) for name in names):
                return file_type
    first = entries[0] if entries else None
    # The OpenDocument format stores ``mimetype`` first and uncompressed, so its value sits in the
    # local header's data at byte 38 (30-byte header + the 8-byte name, no extra field).
    if first is not None and first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED:
        declared = head[38 : 38 + first.file_size].decode("ascii", "replace")
        if declared in OPENDOCUMENT_TYPES and head[30:38] == b"mimetype":
            return OPENDOCUMENT_TYPES[declared]
    raise UnrecognisedFile()


def ole2_document_type(stream: BinaryIO) -> FileType:
    """A legacy Word, Excel or PowerPoint file: an OLE2 compound file whose directory holds the
    format's main stream. The directory chain is followed through the FAT sectors listed in the
    header, with a bound on the walk, so a crafted loop cannot hang the request."""
    names = ole2_directory_names(stream)
    if OLE2_ENCRYPTED_PACKAGE in names:  # a password-protected docx/xlsx/pptx is wrapped in OLE2
        raise UnrecognisedFile("encrypted")
    for name, file_type in OLE2_STREAMS.items():
        if name in names:
            return file_type
    raise UnrecognisedFile()


END_OF_CHAIN = 0xFFFFFFFA  # this and above: end of chain, free, FAT or DIFAT sector markers
MAX_DIRECTORY_SECTORS = 256


def ole2_directory_names(stream: BinaryIO) -> set[str]:
    header = stream.read(512)
    if len(header) < 512:
        raise UnrecognisedFile()
    sector_shift = struct.unpack_from("<H", header, 30)[0]
    if sector_shift not in (9, 12):
        raise UnrecognisedFile()
    sector_size = 1 << sector_shift
    first_directory_sector = struct.unpack_from("<I", header, 48)[0]
    fat_sectors = [s for s in struct.unpack_from("<109I", header, 76) if s < END_OF_CHAIN]

    def read_sector(number: int) -> bytes:
        stream.seek((number + 1) * sector_size)  # sector 0 starts after the header sector
        data = stream.read(sector_size)
        if len(data) < sector_size:  # a sector beyond the end: the file is cut off or corrupt
            raise UnrecognisedFile("damaged")
        return data

    fat: list[int] = []
    for number in fat_sectors:
        data = read_sector(number)
        fat.extend(struct.unpack_from(f"<{len(data) // 4}I", data))

    names: set[str] = set()
    sector, seen = first_directory_sector, set()
    while sector < END_OF_CHAIN and sector not in seen and len(seen) < MAX_DIRECTORY_SECTORS:
        seen.add(sector)
        data = read_sector(sector)
        for offset in range(0, len(data) - 127, 128):
            name_length = struct.unpack_from("<H", data, offset + 64)[0]
            if 2 <= name_length <= 64:
                names.add(data[offset : offset + name_length - 2].decode("utf-16-le", "replace"))
        sector = fat[sector] if sector < len(fat) else END_OF_CHAIN
    return names
