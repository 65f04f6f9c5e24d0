"""What a file is, read from its bytes, never from its name nor from the browser's say-so.

Only the kinds a call may ask for are recognised (``grants.calls.services.ACCEPTED_FILE_KINDS``):
PDF, images (JPEG, PNG) and office documents (OOXML, OpenDocument, legacy Word/Excel/PowerPoint).
Everything else is refused; executables and scripts are named as such so the applicant understands.

Zip-based formats are told apart by the names of their central directory and, for OpenDocument, by
the uncompressed ``mimetype`` entry the format puts first: nothing is ever decompressed, so a zip bomb
costs no more than its size. Legacy office files are OLE2 compound files, like Windows installers
(.msi): they are accepted only when their directory names a Word, Excel or PowerPoint stream.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from typing import BinaryIO


@dataclass(frozen=True)
class FileType:
    kind: str  # "pdf", "image" or "office": what a required document accepts
    content_type: str
    extension: str  # without the dot; given to a download whose name says otherwise


class UnrecognisedFile(Exception):
    """The bytes are not one of the accepted formats. ``executable`` when they are a program."""

    def __init__(self, *, executable: bool = False):
        super().__init__("executable" if executable else "unrecognised")
        self.executable = executable


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


def detect_file_type(stream: BinaryIO) -> FileType:
    """The type of the file in ``stream`` (seekable; left at its start), or UnrecognisedFile."""
    stream.seek(0)
    head = stream.read(HEAD_SIZE)
    stream.seek(0)
    try:
        if head.startswith(b"%PDF-"):
            return PDF
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return PNG
        if head.startswith(b"\xff\xd8\xff"):
            return JPEG
        if head.startswith(b"PK\x03\x04"):
            return zip_document_type(stream, head)
        if head.startswith(OLE2_SIGNATURE):
            return ole2_document_type(stream)
    finally:
        stream.seek(0)
    raise UnrecognisedFile(executable=head.startswith(EXECUTABLE_SIGNATURES))


def zip_document_type(stream: BinaryIO, head: bytes) -> FileType:
    """OOXML (a ``[Content_Types].xml`` and a word/, xl/ or ppt/ part) or OpenDocument (a first,
    stored ``mimetype`` entry naming the format). Reads the central directory only."""
    try:
        with zipfile.ZipFile(stream) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise UnrecognisedFile() from None
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
        return stream.read(sector_size)

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
