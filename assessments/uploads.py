"""Check evidence files that users upload before anything stores them.

A file's type is decided from its content alone, never from its name or the browser's Content-Type
header; the name's extension must then agree with what the content turned out to be. Only PDF, PNG,
JPEG, Word (DOCX), Excel (XLSX), CSV and plain text are accepted, and the whole file must be what it
claims: text is checked to its last byte (CSV must parse as CSV throughout), and a PDF, PNG, JPEG or
Office file must have the structure of its type from its first byte to its last, with nothing added
after its end and no web page code or script anywhere in it. Standard library (and Django's gettext) only.

    try:
        sniffed = sniff_upload(file=request.FILES["evidence"], name=request.FILES["evidence"].name)
    except UploadRejected as exc:
        form.add_error("evidence", ValidationError(exc.message, code=exc.code))
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import io
import os
import re
import struct
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any
from xml.parsers import expat

from django.utils.translation import gettext, gettext_noop

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.core.files.uploadedfile import UploadedFile

ALLOWED_KINDS: tuple[str, ...] = ("pdf", "png", "jpeg", "docx", "xlsx", "csv", "txt")
DEFAULT_MAX_BYTES = 20 * 1024 * 1024

_CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
    "txt": "text/plain",
}
# The first extension of each kind is the canonical one.
_EXTENSIONS = {
    "pdf": ("pdf",),
    "png": ("png",),
    "jpeg": ("jpg", "jpeg"),
    "docx": ("docx",),
    "xlsx": ("xlsx",),
    "csv": ("csv",),
    "txt": ("txt",),
}
_DESCRIPTIONS = {
    "pdf": "a PDF",
    "png": "a PNG image",
    "jpeg": "a JPEG image",
    "docx": "a Word document (DOCX)",
    "xlsx": "an Excel spreadsheet (XLSX)",
    "text": "plain text",
}

_MSG_EMPTY = "The selected file is empty. Choose a file that has something in it."
_MSG_NOT_ALLOWED = "The file must be a PDF, PNG, JPEG, Word (DOCX), Excel (XLSX), CSV or plain text file."
_MSG_MARKUP = (
    "The file looks like a web page or a script, which cannot be uploaded. "
    "Save the document as a PDF and upload that instead."
)
_MSG_OLD_OFFICE = (
    "The file is an old-style Word or Excel file (.doc or .xls) or is password-protected. "
    "Remove any password, save it as .docx or .xlsx and upload the new copy."
)
_MSG_UTF16 = "The text file must be saved as UTF-8. Save it again as UTF-8 text and upload the new copy."
_MSG_ZIP_BOMB = "The file could not be checked safely. Save it again from Word or Excel and upload the new copy."
_MSG_ENCRYPTED = "The file is password-protected. Remove the password, save it again and upload the new copy."
_MSG_MACROS = (
    "The file contains macros, which cannot be uploaded. "
    "Save it as a Word (.docx) or Excel (.xlsx) file without macros and upload the new copy."
)
_MSG_NOT_CSV = (
    "The file’s name ends in .csv but its contents could not be read as CSV. "
    "Save it again as CSV, or rename it to end in .txt."
)

# A file that is damaged or has something added: "“%(name)s” cannot be read as <kind>: <problem>. <fix>"
_MSG_DAMAGED = {
    "pdf": gettext_noop(
        "“%(name)s” cannot be read as a PDF: %(problem)s. Save or export it as a PDF again and upload the new copy."
    ),
    "png": gettext_noop(
        "“%(name)s” cannot be read as a PNG image: %(problem)s. Save or export the image again and upload the new copy."
    ),
    "jpeg": gettext_noop(
        "“%(name)s” cannot be read as a JPEG image: %(problem)s. "
        "Save or export the image again and upload the new copy."
    ),
    "docx": gettext_noop(
        "“%(name)s” cannot be read as a Word document (DOCX): %(problem)s. "
        "Open it in Word, save it again and upload the new copy."
    ),
    "xlsx": gettext_noop(
        "“%(name)s” cannot be read as an Excel spreadsheet (XLSX): %(problem)s. "
        "Open it in Excel, save it again and upload the new copy."
    ),
}
_CUT_SHORT = gettext_noop("the end of the file is missing, so it may have been cut short")
_ADDED_AFTER_END = gettext_noop("something has been added after the end of the file")
_BAD_PDF_INDEX = gettext_noop("its cross-reference table, which says where each part is, is missing or damaged")
_BAD_CHECKSUM = gettext_noop("part of it is damaged (a checksum does not match)")
_BAD_LAYOUT = gettext_noop("its parts are missing, damaged or in the wrong order")
_BAD_CONTENT_TYPES = gettext_noop("its list of contents ([Content_Types].xml) is missing or damaged")
_MSG_MARKUP_IN_TEXT = gettext_noop(
    "“%(name)s” contains web page code or a script on line %(line)s, which cannot be uploaded. "
    "Remove it and upload the file again, or save the document as a PDF and upload that instead."
)
_MSG_MARKUP_INSIDE = gettext_noop(
    "“%(name)s” is %(kind)s with web page code or a script hidden inside it, which cannot be uploaded. "
    "Save or export it again and upload the new copy."
)

_CHUNK_BYTES = 64 * 1024
_HEAD_BYTES = 64 * 1024  # kept for signatures and the check for markup at the start
_MARKUP_WINDOW = 4 * 1024
_SPOOL_MEMORY_BYTES = 1024 * 1024  # a non-seekable upload is copied to disk beyond this

_MAX_ZIP_MEMBERS = 10_000
_MAX_ZIP_DIRECTORY_BYTES = _MAX_ZIP_MEMBERS * 512  # a central directory entry is 46 bytes plus its name
_MAX_ZIP_UNCOMPRESSED = 200 * 1024 * 1024
_MAX_ZIP_RATIO = 100
_ZIP_RATIO_MIN_BYTES = 1024 * 1024

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UTF8_BOM = b"\xef\xbb\xbf"
_STRUCTURED_SIGNATURES = (b"%PDF-", _PNG_SIGNATURE, b"\xff\xd8\xff", b"PK\x03\x04")
_BLOCKED_SIGNATURES = (
    b"\x7fELF",
    b"\xca\xfe\xba\xbe",  # Mach-O universal binary, Java class
    b"\xfe\xed\xfa\xce",  # Mach-O
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\x00asm",  # WebAssembly
    b"GIF87a",
    b"GIF89a",
    b"RIFF",  # WebP, AVI, WAV
    b"PK\x05\x06",  # empty or spanned zip
    b"PK\x07\x08",
    b"Rar!",
    b"7z\xbc\xaf\x27\x1c",
    b"\x1f\x8b",  # gzip
    b"#!",  # shell and other scripts
)
# HTML that browsers recognise at the start of a file (WHATWG MIME sniffing), SVG, and any <!...> or <?...>.
_MARKUP_START = re.compile(
    rb"<(?:[!?]|(?:html|head|body|script|iframe|svg|style|title|h1|div|font|table|a|b|br|p|meta|link"
    rb"|img|object|embed)(?:[\s/>]|\Z))"
)
# Markup no text, PDF, image or Office file has a reason to carry (searched lower-cased): anywhere in text, and
# in every part of a PDF, PNG, JPEG or Office file except its compressed data, where these few bytes could turn up
# by chance (each alternative is long enough that even 20 MB of random bytes almost never holds one).
_MARKUP_ANYWHERE = re.compile(
    rb"<script|<iframe|javascript:|vbscript:|<!doctype\s{1,8}html|<(?:html|body|object|embed|svg)[\s/>]"
)
_MARKUP_OVERLAP = 32  # bytes kept from one chunk to the next, so a match across the boundary is found
# C0 controls other than tab, line feed, form feed and carriage return; DEL; C1 controls.
_BAD_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_TEXT_WHITESPACE = b" \t\r\n\f"
_MAX_LINE_CHARS = 256 * 1024
_ECHOABLE_EXTENSION = re.compile(r"[a-z0-9]{1,10}")
_DISPLAY_EXTENSION = re.compile(r"\w{1,16}")
_MAX_DISPLAY_NAME = 150


@dataclass(frozen=True)
class SniffedFile:
    """What an accepted upload turned out to be."""

    kind: str  # one of ALLOWED_KINDS
    content_type: str  # the MIME type to store and serve it with
    extension: str  # canonical extension without the dot
    size: int  # bytes
    sha256: str  # hex digest of the whole content


class UploadRejected(ValueError):
    """An upload was refused.

    `message` is written for the user and belongs next to the upload field. `code` is machine-readable:
    "empty", "too_large", "type_not_allowed", "extension_mismatch", "zip_bomb", "unsafe_zip", "encrypted",
    "macros" or "damaged" (the content does not have the structure of its type, or has something added).
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def sniff_upload(*, file: IO[bytes] | UploadedFile, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> SniffedFile:
    """Decide what `file` really is and check that `name` agrees with it.

    Reads from the start in chunks, never more than `max_bytes + 1` bytes, hashing as it goes, then reads the
    content again, in chunks, to check its structure; leaves a seekable file at position 0 whether it is accepted
    or not. Raises UploadRejected with a message for the user when the file is empty, too large, not an allowed
    type, named with the wrong extension, damaged or added to, or carries web page code or a script.
    """
    if max_bytes < 1:
        raise ValueError("max_bytes must be at least 1")
    if not _is_seekable(file):
        # Checking structure needs random access, so a stream is copied aside (to disk beyond 1 MB).
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY_BYTES) as spool:
            return _sniff(source=file, copy=spool, name=name, max_bytes=max_bytes)
    file.seek(0)
    try:
        return _sniff(source=file, copy=None, name=name, max_bytes=max_bytes)
    finally:
        file.seek(0)


def safe_display_name(name: str) -> str:
    """A version of an uploaded file's name that is safe to show or put in Content-Disposition.

    Drops any directories (/ or \\), control and formatting characters (including bidirectional overrides)
    and leading dots, collapses whitespace, and keeps the result to 150 characters with its extension.
    Gives "evidence" plus the extension when nothing is left. Not for storage paths.
    """
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name))[-1]
    base = "".join(
        " " if char.isspace() else char
        for char in base
        if char.isspace() or not unicodedata.category(char).startswith("C")
    )
    base = " ".join(base.split())
    stem, dot, extension = base.rpartition(".")
    if not dot or not _DISPLAY_EXTENSION.fullmatch(extension):
        stem, extension = base, ""
    suffix = f".{extension}" if extension else ""
    stem = stem.strip(" .")[: _MAX_DISPLAY_NAME - len(suffix)].rstrip(" .")
    return (stem or "evidence") + suffix


# --- reading -----------------------------------------------------------------------------------------


class _TextCheck:
    """Follows the content as it streams past and says whether it is acceptable plain text."""

    def __init__(self) -> None:
        self.has_nul = False
        self.has_content = False  # anything besides whitespace and a byte order mark
        self.utf8_ok = True
        self.cp1252_ok = True
        self._utf8 = codecs.getincrementaldecoder("utf-8-sig")()
        self._started = False

    def feed(self, chunk: bytes) -> None:
        if not self._started:
            self._started = True
            self.has_content = bool(chunk.removeprefix(_UTF8_BOM).translate(None, _TEXT_WHITESPACE))
        elif not self.has_content:
            self.has_content = bool(chunk.translate(None, _TEXT_WHITESPACE))
        self.has_nul = self.has_nul or b"\x00" in chunk
        if self.has_nul:
            return
        if self.utf8_ok:
            self.utf8_ok = self._acceptable(self._utf8.decode, chunk)
        if self.cp1252_ok:
            self.cp1252_ok = self._acceptable(codecs.decode, chunk, "cp1252")

    def finish(self) -> None:
        if self.utf8_ok:
            self.utf8_ok = self._acceptable(self._utf8.decode, b"", True)

    @property
    def encoding(self) -> str | None:
        if self.has_nul:
            return None
        if self.utf8_ok:
            return "utf-8-sig"
        return "cp1252" if self.cp1252_ok else None

    @staticmethod
    def _acceptable(decode: Callable[..., str], *args: object) -> bool:
        try:
            return not _BAD_CONTROLS.search(decode(*args))
        except UnicodeDecodeError:
            return False


class _MarkupScan:
    """Follows the content as it streams past and remembers the line of the first web page code or script."""

    def __init__(self) -> None:
        self.line: int | None = None  # 1-based line of the first match; None while nothing is found
        self._tail = b""  # the end of the previous chunk, lower-cased
        self._newlines = 0  # line feeds in everything fed so far

    def feed(self, chunk: bytes) -> None:
        if self.line is not None:
            return
        window = self._tail + chunk.lower()
        found = _MARKUP_ANYWHERE.search(window)
        if found:
            before_window = self._newlines - self._tail.count(b"\n")
            self.line = before_window + window.count(b"\n", 0, found.start()) + 1
            return
        self._newlines += chunk.count(b"\n")
        self._tail = window[-_MARKUP_OVERLAP:]


@dataclass(frozen=True)
class _Scan:
    size: int
    sha256: str
    head: bytes
    text: _TextCheck
    markup: _MarkupScan


def _is_seekable(file: IO[bytes] | UploadedFile) -> bool:
    try:
        return bool(file.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _read(source: IO[bytes] | UploadedFile, *, copy: IO[bytes] | None, max_bytes: int) -> _Scan:
    digest = hashlib.sha256()
    text = _TextCheck()
    markup = _MarkupScan()
    head = bytearray()
    size = 0
    while size <= max_bytes:
        chunk = source.read(min(_CHUNK_BYTES, max_bytes + 1 - size))
        if not chunk:
            break
        if not isinstance(chunk, bytes):
            raise TypeError("the upload must be opened in binary mode")
        size += len(chunk)
        if size > max_bytes:
            raise UploadRejected(f"The file must be smaller than {_format_limit(max_bytes)}.", code="too_large")
        digest.update(chunk)
        text.feed(chunk)
        if len(head) < _HEAD_BYTES:
            head += chunk[: _HEAD_BYTES - len(head)]
        if not head.startswith(_STRUCTURED_SIGNATURES):  # those are searched part by part in _check_structure
            markup.feed(chunk)
        if copy is not None:
            copy.write(chunk)
    text.finish()
    return _Scan(size=size, sha256=digest.hexdigest(), head=bytes(head), text=text, markup=markup)


def _format_limit(max_bytes: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if max_bytes >= scale:
            tenths = max_bytes * 10 // scale  # rounded down, so the message never overstates the limit
            return f"{tenths // 10} {unit}" if tenths % 10 == 0 else f"{tenths / 10:.1f} {unit}"
    return "1 byte" if max_bytes == 1 else f"{max_bytes} bytes"


# --- deciding --------------------------------------------------------------------------------------


def _sniff(*, source: IO[bytes] | UploadedFile, copy: IO[bytes] | None, name: str, max_bytes: int) -> SniffedFile:
    scan = _read(source, copy=copy, max_bytes=max_bytes)
    if scan.size == 0:
        raise UploadRejected(_MSG_EMPTY, code="empty")
    content = copy if copy is not None else source
    label = safe_display_name(name)
    kind = _content_kind(scan, archive=content, label=label)
    kind = _agree_with_name(kind, scan, name, content=content)
    _check_structure(kind, content, size=scan.size, label=label)
    return SniffedFile(
        kind=kind,
        content_type=_CONTENT_TYPES[kind],
        extension=_EXTENSIONS[kind][0],
        size=scan.size,
        sha256=scan.sha256,
    )


def _markup_inside(kind: str, label: str) -> UploadRejected:
    message = gettext(_MSG_MARKUP_INSIDE) % {"name": label, "kind": _DESCRIPTIONS[kind]}
    return UploadRejected(message, code="type_not_allowed")


def _content_kind(scan: _Scan, *, archive: IO[bytes] | UploadedFile, label: str) -> str:
    """The allowed kind the content is, or "text" for CSV and plain text alike."""
    head = scan.head
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(_PNG_SIGNATURE) and head[12:16] == b"IHDR":
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"PK\x03\x04"):
        return _office_kind(archive)
    if head.startswith(_OLE2_SIGNATURE):
        raise UploadRejected(_MSG_OLD_OFFICE, code="type_not_allowed")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UploadRejected(_MSG_UTF16, code="type_not_allowed")
    # A Windows executable's DOS header always has NULs in its first 64 bytes; text may start with "MZ".
    if head.startswith(_BLOCKED_SIGNATURES) or (head.startswith(b"MZ") and b"\x00" in head[:64]):
        raise UploadRejected(_MSG_NOT_ALLOWED, code="type_not_allowed")
    if _looks_like_markup(head):
        raise UploadRejected(_MSG_MARKUP, code="type_not_allowed")
    if scan.markup.line is not None:
        message = gettext(_MSG_MARKUP_IN_TEXT) % {"name": label, "line": f"{scan.markup.line:,}"}
        raise UploadRejected(message, code="type_not_allowed")
    if scan.text.encoding is None:
        raise UploadRejected(_MSG_NOT_ALLOWED, code="type_not_allowed")
    if not scan.text.has_content:
        raise UploadRejected(_MSG_EMPTY, code="empty")
    return "text"


def _looks_like_markup(head: bytes) -> bool:
    """Whether the text starts as a web page, SVG, XML or a script does (markup further in is _MarkupScan's)."""
    start = head[:_MARKUP_WINDOW].lower().removeprefix(_UTF8_BOM).lstrip()
    return bool(start.startswith(b"#!") or _MARKUP_START.match(start))


def _office_kind(archive: IO[bytes] | UploadedFile) -> str:
    """ "docx" or "xlsx" for a safe, macro-free Office Open XML file; rejects anything else.

    Only the zip's directory is read: nothing is decompressed.
    """
    archive.seek(0)
    if not zipfile.is_zipfile(archive):
        raise UploadRejected(_MSG_NOT_ALLOWED, code="type_not_allowed")
    _check_zip_directory_size(archive)
    try:
        archive.seek(0)
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise UploadRejected(_MSG_NOT_ALLOWED, code="type_not_allowed") from exc

    if len(members) > _MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > _MAX_ZIP_UNCOMPRESSED:
        raise UploadRejected(_MSG_ZIP_BOMB, code="zip_bomb")
    for member in members:
        if member.file_size > _ZIP_RATIO_MIN_BYTES and member.file_size > member.compress_size * _MAX_ZIP_RATIO:
            raise UploadRejected(_MSG_ZIP_BOMB, code="zip_bomb")
    if any(_unsafe_member_name(member.filename) for member in members):
        raise UploadRejected(_MSG_ZIP_BOMB, code="unsafe_zip")
    if any(member.flag_bits & 0x1 for member in members):
        raise UploadRejected(_MSG_ENCRYPTED, code="encrypted")
    names = {member.filename.lower() for member in members}
    if any(name.rsplit("/", 1)[-1] == "vbaproject.bin" for name in names):
        raise UploadRejected(_MSG_MACROS, code="macros")
    kinds = {kind for kind, part in (("docx", "word/document.xml"), ("xlsx", "xl/workbook.xml")) if part in names}
    if "[content_types].xml" not in names or len(kinds) != 1:
        raise UploadRejected(_MSG_NOT_ALLOWED, code="type_not_allowed")
    return kinds.pop()


def _unsafe_member_name(name: str) -> bool:
    """A member name no Word or Excel file has: a path out of the package ("..", absolute, a drive, a
    backslash) or a control character. Harmless to the portal, which never unpacks, but not to whoever
    unzips the download."""
    parts = name.split("/")
    return (
        name.startswith("/")
        or "\\" in name
        or ".." in parts
        or bool(re.match(r"[A-Za-z]:", name))
        or any(ord(char) < 0x20 for char in name)
    )


def _check_zip_directory_size(archive: IO[bytes] | UploadedFile) -> None:
    """Refuse a zip whose directory is too big to list safely, before zipfile reads it all into memory.

    Reads the end-of-central-directory record the way zipfile finds it. Zip64 archives declare 0xFFFF
    entries here and are refused too: no Word or Excel file needs one.
    """
    record_size = 22
    archive.seek(0, os.SEEK_END)
    end = archive.tell()
    archive.seek(max(0, end - record_size - 0xFFFF))
    tail = archive.read()
    at = len(tail) - record_size
    if not (at >= 0 and tail[at : at + 4] == b"PK\x05\x06" and tail[-2:] == b"\x00\x00"):
        at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < record_size:
        raise UploadRejected(_MSG_NOT_ALLOWED, code="type_not_allowed")
    entries, directory_bytes = struct.unpack_from("<HL", tail, at + 10)
    if entries > _MAX_ZIP_MEMBERS or directory_bytes > _MAX_ZIP_DIRECTORY_BYTES:
        raise UploadRejected(_MSG_ZIP_BOMB, code="zip_bomb")


def _agree_with_name(kind: str, scan: _Scan, name: str, *, content: IO[bytes] | UploadedFile) -> str:
    """The final kind, once the name's extension is known to agree with the content."""
    extension = _extension_of(name)
    if kind != "text":
        if extension not in _EXTENSIONS[kind]:
            raise _mismatch(_DESCRIPTIONS[kind], extension, expected=f".{_EXTENSIONS[kind][0]}")
        return kind
    if extension == "txt":
        return "txt"
    if extension == "csv":
        if _parses_as_csv(scan, content):
            return "csv"
        raise UploadRejected(_MSG_NOT_CSV, code="extension_mismatch")
    raise _mismatch(_DESCRIPTIONS["text"], extension, expected=".txt or .csv")


def _extension_of(name: str) -> str:
    base = re.split(r"[/\\]", name)[-1].strip().rstrip(". ")
    _stem, dot, extension = base.rpartition(".")
    return extension.strip().lower() if dot else ""


def _mismatch(description: str, extension: str, *, expected: str) -> UploadRejected:
    if not extension:
        message = f"The file’s name has no extension. Add {expected} to the end of its name and upload it again."
    elif _ECHOABLE_EXTENSION.fullmatch(extension):
        message = (
            f"The file’s contents are {description} but its name ends in .{extension}. "
            "Rename it or choose the right file."
        )
    else:
        message = (
            f"The file’s contents are {description} but its name does not end in {expected}. "
            "Rename it or choose the right file."
        )
    return UploadRejected(message, code="extension_mismatch")


def _parses_as_csv(scan: _Scan, content: IO[bytes] | UploadedFile) -> bool:
    """Whether the whole text reads as CSV (strictly: no stray quotes, every quoted field closed) with at least
    one row that has something in it. Read line by line, so a large file is never held in memory at once."""
    content.seek(0)
    text = io.TextIOWrapper(
        io.BufferedReader(_Unclosable(content), _CHUNK_BYTES), encoding=scan.text.encoding or "utf-8-sig", newline=""
    )
    # A line is handed over in pieces of at most _MAX_LINE_CHARS; csv refuses a field that long anyway.
    lines = iter(functools.partial(text.readline, _MAX_LINE_CHARS), "")
    has_content = False
    try:
        for row in csv.reader(lines, strict=True):
            has_content = has_content or any(field.strip() for field in row)
    except (csv.Error, UnicodeDecodeError):
        return False
    return has_content


class _Unclosable(io.RawIOBase):
    """The upload as a raw stream for io's text reading, which must not close the upload when it is done."""

    def __init__(self, file: IO[bytes] | UploadedFile) -> None:
        super().__init__()
        self._file = file

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._file.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# --- structure ---------------------------------------------------------------------------------------
# Each check reads the stored content again from the start, in pieces: a 20 MB file is never held in memory.

_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")
_PDF_TAIL_BYTES = 1024  # where readers look for the end-of-file marker
_PDF_END = re.compile(rb"startxref\s+(\d{1,10})\s*%%EOF\Z")
_PDF_XREF_SUBSECTION = re.compile(rb"(\d{1,10})[ \t]+(\d{1,10})[ \t]*(?:\r\n|\r|\n)")
_PDF_XREF_ENTRY = rb"\d{10} \d{5} [fn](?:\r\n| \r| \n|\r|\n)"  # 20 bytes each; some writers use 19
_PDF_XREF_ENTRIES_AT_ONCE = 4096
_PDF_XREF_STREAM = re.compile(rb"\d{1,10}\s+\d{1,10}\s+obj\s*(?=<<)")
_PDF_MAX_SECTIONS = 1000  # incremental updates, each with its own cross-reference section
_PDF_MAX_DICTIONARY = 64 * 1024
_PDF_DELIMITER = re.compile(rb"<<|>>|[<(%]")
_PDF_WHITESPACE = b" \t\r\n\f\x00"
_PDF_STREAM_START = re.compile(rb"(?<![a-z])stream(?:\r\n|\n|\r)")

_PNG_CRITICAL = {b"IHDR", b"PLTE", b"IDAT", b"IEND"}
_PNG_TEXT_CHUNKS = {b"zTXt", b"iTXt"}  # compressed text is unpacked and checked for markup too
_PNG_COMPRESSED_DATA = {b"IDAT", b"fdAT", b"iCCP"}  # image and colour profile data: not searched for markup
_PNG_MAX_CHUNK = 2**31 - 1
_PNG_MAX_TEXT = 1024 * 1024

_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and the restart markers carry no length
_JPEG_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # a marker after entropy-coded data
_JPEG_MAX_IMAGES = 16  # phones append a gain map or depth map as further JPEGs (MPF)
_JPEG_PADDING = b"\x00\xff \t\r\n"

_OPC_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
_OFFICE_MAIN_TYPES = {
    "docx": {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    },
    "xlsx": {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    },
}
_OFFICE_MAIN_PARTS = {"docx": "/word/document.xml", "xlsx": "/xl/workbook.xml"}
_OFFICE_MACRO_TYPES = {
    "application/vnd.ms-word.document.macroenabled.main+xml",
    "application/vnd.ms-word.template.macroenabledtemplate.main+xml",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml",
    "application/vnd.ms-excel.template.macroenabled.main+xml",
}
_MAX_CONTENT_TYPES_BYTES = 1024 * 1024


class _Damaged(Exception):
    """The content does not have the structure of its type; `problem` says how, for the user."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class _HiddenMarkup(Exception):
    """Markup found where only unpacking the content shows it."""


def _check_structure(kind: str, content: IO[bytes] | UploadedFile, *, size: int, label: str) -> None:
    checks: dict[str, Callable[[IO[bytes] | UploadedFile, int], None]] = {
        "pdf": _check_pdf,
        "png": _check_png,
        "jpeg": _check_jpeg,
        "docx": lambda file, size: _check_office_package(file, size, kind="docx"),
        "xlsx": lambda file, size: _check_office_package(file, size, kind="xlsx"),
    }
    if kind not in checks:
        return
    try:
        checks[kind](content, size)
    except UploadRejected:
        raise
    except _Damaged as exc:
        message = gettext(_MSG_DAMAGED[kind]) % {"name": label, "problem": gettext(exc.problem)}
        raise UploadRejected(message, code="damaged") from exc
    except _HiddenMarkup as exc:
        raise _markup_inside(kind, label) from exc
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, struct.error, zlib.error) as exc:
        message = gettext(_MSG_DAMAGED[kind]) % {"name": label, "problem": gettext(_BAD_LAYOUT)}
        raise UploadRejected(message, code="damaged") from exc


def _read_at(content: IO[bytes] | UploadedFile, offset: int, length: int) -> bytes:
    content.seek(offset)
    return content.read(length)


def _is_padding(content: IO[bytes] | UploadedFile, offset: int, size: int, allowed: bytes) -> bool:
    """Whether everything from `offset` to the end is bytes from `allowed`."""
    content.seek(offset)
    while offset < size:
        chunk = content.read(_CHUNK_BYTES)
        if not chunk:
            return True
        if chunk.translate(None, allowed):
            return False
        offset += len(chunk)
    return True


def _has_markup(content: IO[bytes] | UploadedFile, start: int, end: int) -> bool:
    scan = _MarkupScan()
    content.seek(start)
    while start < end and scan.line is None:
        chunk = content.read(min(_CHUNK_BYTES, end - start))
        if not chunk:
            break
        scan.feed(chunk)
        start += len(chunk)
    return scan.line is not None


# PDF: a header at the start; at the end "startxref <offset> %%EOF" with nothing after it but whitespace; at that
# offset a cross-reference table and trailer with the document's /Root (or a cross-reference stream), and the
# same for each earlier section it names with /Prev. Object offsets inside are not followed: readers repair those.


def _check_pdf(content: IO[bytes] | UploadedFile, size: int) -> None:
    if not _PDF_HEADER.match(_read_at(content, 0, 16)):
        raise _Damaged(_BAD_LAYOUT)
    tail_start = max(0, size - _PDF_TAIL_BYTES)
    tail = _read_at(content, tail_start, _PDF_TAIL_BYTES).rstrip(_PDF_WHITESPACE)
    if not tail.endswith(b"%%EOF"):
        raise _Damaged(_ADDED_AFTER_END if b"%%EOF" in tail else _CUT_SHORT)
    end = _PDF_END.search(tail)
    if end is None:
        raise _Damaged(_BAD_PDF_INDEX)
    offset: int | None = int(end[1])
    limit = tail_start + end.start()  # every section starts before the final startxref
    seen: set[int] = set()
    while offset is not None:
        if offset in seen or offset >= limit or len(seen) >= _PDF_MAX_SECTIONS:
            raise _Damaged(_BAD_PDF_INDEX)
        trailer = _pdf_xref_section(content, offset, limit)
        if not seen and not re.search(rb"/Root\s*\d+\s+\d+\s+R", trailer):
            raise _Damaged(_BAD_PDF_INDEX)
        seen.add(offset)
        previous = re.search(rb"/Prev\s+(\d{1,10})(?!\s+\d+\s+R)", trailer)
        offset = int(previous[1]) if previous else None
    if _pdf_has_markup(content, size):
        raise _HiddenMarkup


def _pdf_has_markup(content: IO[bytes] | UploadedFile, size: int) -> bool:
    """Whether markup appears anywhere outside the PDF's streams (whose data is mostly compressed)."""
    content.seek(0)
    window = b""
    window_start = 0  # file offset of window[0]
    searched_to = 0  # file offset up to which matches have been looked for
    in_stream = False
    while chunk := content.read(_CHUNK_BYTES):
        keep = window[-_MARKUP_OVERLAP:]
        window_start += len(window) - len(keep)
        window = keep + chunk.lower()
        at = max(0, searched_to - window_start)
        while True:
            if in_stream:
                end = window.find(b"endstream", at)
                if end < 0:
                    break
                at, in_stream = end + 9, False
                continue
            start = _PDF_STREAM_START.search(window, at)
            if _MARKUP_ANYWHERE.search(window, at, start.start() if start else len(window)):
                return True
            if start is None:
                break
            at, in_stream = start.end(), True
        searched_to = window_start + max(at, len(window) - _MARKUP_OVERLAP)
    return False


def _pdf_xref_section(content: IO[bytes] | UploadedFile, offset: int, limit: int) -> bytes:
    """The trailer dictionary of the cross-reference section at `offset`, once the section is known to parse."""
    data = _read_at(content, offset, min(_PDF_MAX_DICTIONARY, limit - offset))
    at = len(data) - len(data.lstrip(_PDF_WHITESPACE))
    stream = _PDF_XREF_STREAM.match(data, at)
    if stream:  # a cross-reference stream: its dictionary says so and carries the trailer's entries
        dictionary = _pdf_dictionary(data, stream.end())
        if not re.search(rb"/Type\s*/XRef\b", dictionary) or not data[stream.end() + len(dictionary) :].lstrip(
            _PDF_WHITESPACE
        ).startswith(b"stream"):
            raise _Damaged(_BAD_PDF_INDEX)
        return dictionary
    if not data.startswith(b"xref", at):
        raise _Damaged(_BAD_PDF_INDEX)
    position = offset + at + 4
    while True:
        data = _read_at(content, position, min(_PDF_MAX_DICTIONARY, limit - position))
        at = len(data) - len(data.lstrip(_PDF_WHITESPACE))
        if data.startswith(b"trailer", at):
            rest = data[at + 7 :]
            return _pdf_dictionary(rest, len(rest) - len(rest.lstrip(_PDF_WHITESPACE)))
        subsection = _PDF_XREF_SUBSECTION.match(data, at)
        if subsection is None:
            raise _Damaged(_BAD_PDF_INDEX)
        position += subsection.end()
        remaining = int(subsection[2])
        while remaining:
            count = min(remaining, _PDF_XREF_ENTRIES_AT_ONCE)
            block = _read_at(content, position, min(count * 21, limit - position))
            entries = re.match(rb"(?:%s){%d}" % (_PDF_XREF_ENTRY, count), block)
            if entries is None:
                raise _Damaged(_BAD_PDF_INDEX)
            position += entries.end()
            remaining -= count


def _pdf_dictionary(data: bytes, start: int) -> bytes:
    """The dictionary (<< ... >>, nested ones included) that starts at data[start]."""
    if not data.startswith(b"<<", start):
        raise _Damaged(_BAD_PDF_INDEX)
    depth = 0
    at = start
    while (token := _PDF_DELIMITER.search(data, at)) is not None:
        at = token.end()
        if token[0] == b"<<":
            depth += 1
        elif token[0] == b">>":
            depth -= 1
            if depth == 0:
                return data[start:at]
        elif token[0] == b"<":  # a hex string
            at = data.find(b">", at) + 1
        elif token[0] == b"%":  # a comment, to the end of the line
            at = min((p for p in (data.find(b"\r", at), data.find(b"\n", at)) if p >= 0), default=-1) + 1
        else:
            at = _pdf_string_end(data, at)
        if at <= 0:
            break
    raise _Damaged(_BAD_PDF_INDEX)


def _pdf_string_end(data: bytes, at: int) -> int:
    """Where a literal string that opened just before `at` ends (balanced parentheses, backslash escapes)."""
    depth = 1
    while at < len(data):
        char = data[at]
        if char == 0x5C:  # backslash
            at += 2
            continue
        depth += (char == 0x28) - (char == 0x29)
        at += 1
        if depth == 0:
            return at
    return -1


# PNG: the signature, IHDR first, every chunk's CRC right, no unknown critical chunk, IDAT chunks together, IEND
# last and nothing after it. Compressed text chunks are unpacked (up to 1 MB) and checked for markup.


def _check_png(content: IO[bytes] | UploadedFile, size: int) -> None:
    position = len(_PNG_SIGNATURE)
    previous = b""
    seen: set[bytes] = set()
    while True:
        header = _read_at(content, position, 8)
        if len(header) < 8:
            raise _Damaged(_CUT_SHORT)
        length, tag = struct.unpack(">I4s", header)
        if length > _PNG_MAX_CHUNK or not (tag.isascii() and tag.isalpha()):
            raise _Damaged(_BAD_LAYOUT)
        if position + 12 + length > size:
            raise _Damaged(_CUT_SHORT)
        if (not seen) != (tag == b"IHDR") or (tag == b"IHDR" and length != 13):
            raise _Damaged(_BAD_LAYOUT)
        critical = tag[:1].isupper()
        if (critical and tag not in _PNG_CRITICAL) or (critical and tag != b"IDAT" and tag in seen):
            raise _Damaged(_BAD_LAYOUT)
        if tag == b"IDAT" and b"IDAT" in seen and previous != b"IDAT":
            raise _Damaged(_BAD_LAYOUT)
        checksum = zlib.crc32(tag)
        text = bytearray() if tag in _PNG_TEXT_CHUNKS and length <= _PNG_MAX_TEXT else None
        markup = None if tag in _PNG_COMPRESSED_DATA else _MarkupScan()
        remaining = length
        while remaining:
            chunk = content.read(min(remaining, _CHUNK_BYTES))
            if not chunk:
                raise _Damaged(_CUT_SHORT)
            checksum = zlib.crc32(chunk, checksum)
            if text is not None:
                text += chunk
            if markup is not None:
                markup.feed(chunk)
            remaining -= len(chunk)
        if content.read(4) != struct.pack(">I", checksum):
            raise _Damaged(_BAD_CHECKSUM)
        if markup is not None and markup.line is not None:
            raise _HiddenMarkup
        if tag in _PNG_TEXT_CHUNKS:
            _check_png_text(tag, text)
        seen.add(tag)
        previous = tag
        position += 12 + length
        if tag == b"IEND":
            break
    if b"IDAT" not in seen or length:
        raise _Damaged(_BAD_LAYOUT)
    if position != size:
        raise _Damaged(_ADDED_AFTER_END)


def _check_png_text(tag: bytes, text: bytearray | None) -> None:
    """Unpack a zTXt or compressed iTXt chunk and refuse it if it holds markup (plain text chunks are searched
    as they stream past, like the rest of the file)."""
    if text is None:
        raise _Damaged(_BAD_LAYOUT)  # over 1 MB of text: no image needs that
    keyword_end = text.find(b"\x00")
    if keyword_end < 0:
        raise _Damaged(_BAD_LAYOUT)
    if tag == b"zTXt":
        compressed = text[keyword_end + 2 :]
    elif text[keyword_end + 1 : keyword_end + 2] == b"\x01":  # iTXt with its compression flag set
        rest = text[keyword_end + 3 :]
        parts = rest.split(b"\x00", 2)  # language tag, translated keyword, text
        if len(parts) != 3:
            raise _Damaged(_BAD_LAYOUT)
        compressed = parts[2]
    else:
        return
    inflate = zlib.decompressobj()
    unpacked = inflate.decompress(compressed, _PNG_MAX_TEXT)
    if inflate.unconsumed_tail:
        raise _Damaged(_BAD_LAYOUT)
    if _MARKUP_ANYWHERE.search(unpacked.lower()):
        raise _HiddenMarkup


# JPEG: SOI, marker segments with their lengths, a frame header before the first scan, entropy-coded data
# running to the next marker, and EOI. After EOI only padding, further complete JPEG images (phones store gain
# and depth maps that way), a motion photo's video (ISO boxes to the very end) or a Samsung trailer.


def _check_jpeg(content: IO[bytes] | UploadedFile, size: int) -> None:
    position = _jpeg_image_end(content, 0, size)
    for _ in range(_JPEG_MAX_IMAGES):
        if position == size or _is_padding(content, position, size, _JPEG_PADDING):
            return
        start = _read_at(content, position, 12)
        if start.startswith(b"\xff\xd8\xff"):
            position = _jpeg_image_end(content, position, size)
            continue
        if start[4:8] == b"ftyp" and _iso_boxes_reach_end(content, position, size):
            return
        if _is_samsung_trailer(content, position, size):
            return
        raise _Damaged(_ADDED_AFTER_END)
    raise _Damaged(_ADDED_AFTER_END)


def _jpeg_image_end(content: IO[bytes] | UploadedFile, position: int, size: int) -> int:
    """Where the JPEG image that starts at `position` ends (just after its EOI marker)."""
    if _read_at(content, position, 2) != b"\xff\xd8":
        raise _Damaged(_BAD_LAYOUT)
    position += 2
    framed = scanned = False
    while True:
        marker = _read_at(content, position, 2)
        if len(marker) < 2:
            raise _Damaged(_CUT_SHORT)
        if marker[0] != 0xFF:
            raise _Damaged(_BAD_LAYOUT)
        code = marker[1]
        if code == 0xFF:  # fill byte before a marker
            position += 1
            continue
        position += 2
        if code == 0xD9:
            if not scanned:
                raise _Damaged(_BAD_LAYOUT)
            return position
        if code in _JPEG_STANDALONE:
            continue
        if code in (0x00, 0xD8):
            raise _Damaged(_BAD_LAYOUT)
        length_bytes = content.read(2)
        if len(length_bytes) < 2:
            raise _Damaged(_CUT_SHORT)
        (length,) = struct.unpack(">H", length_bytes)
        if length < 2:
            raise _Damaged(_BAD_LAYOUT)
        if position + length > size:
            raise _Damaged(_CUT_SHORT)
        if _MARKUP_ANYWHERE.search(content.read(length - 2).lower()):  # comments, Exif, XMP and the like
            raise _HiddenMarkup
        position += length
        framed = framed or code in _JPEG_FRAMES
        if code == 0xDA:
            if not framed:
                raise _Damaged(_BAD_LAYOUT)
            scanned = True
            position = _jpeg_scan_end(content, position, size)


def _jpeg_scan_end(content: IO[bytes] | UploadedFile, position: int, size: int) -> int:
    """Where the entropy-coded data that starts at `position` ends: at the next marker that is not a restart."""
    content.seek(position)
    carry = b""
    while position < size:
        chunk = carry + content.read(_CHUNK_BYTES)
        if len(chunk) == len(carry):
            break
        found = _JPEG_SCAN_END.search(chunk)
        if found:
            return position - len(carry) + found.start()
        position += len(chunk) - len(carry)
        carry = chunk[-1:]
    raise _Damaged(_CUT_SHORT)


def _iso_boxes_reach_end(content: IO[bytes] | UploadedFile, position: int, size: int) -> bool:
    """Whether ISO base media boxes (an MP4 video) run from `position` exactly to the end of the file."""
    while position < size:
        header = _read_at(content, position, 16)
        if len(header) < 8:
            return False
        length, tag = struct.unpack(">I4s", header[:8])
        if length == 1 and len(header) == 16:
            (length,) = struct.unpack(">Q", header[8:])
        elif length == 0:
            length = size - position
        if length < 8 or not all(32 <= char < 127 for char in tag):
            return False
        position += length
    return position == size


def _is_samsung_trailer(content: IO[bytes] | UploadedFile, position: int, size: int) -> bool:
    """Whether the file ends in the trailer Samsung cameras write after the image ("SEFH" ... "SEFT")."""
    if size - position < 16:
        return False
    end = _read_at(content, size - 8, 8)
    (length,) = struct.unpack("<I", end[:4])
    directory = size - 8 - length
    return end[4:] == b"SEFT" and position <= directory and _read_at(content, directory, 4) == b"SEFH"


# Word and Excel: the zip's parts lie end to end from the first byte, the central directory follows them and
# the end record closes the file (so nothing is hidden before, between or after); no part is listed twice; and
# [Content_Types].xml declares the main document with the content type of a Word or Excel file.


def _check_office_package(content: IO[bytes] | UploadedFile, size: int, *, kind: str) -> None:
    end_record = _zip_end_record(content, size)
    entries, directory_size, directory_offset, comment_length = struct.unpack_from("<HLLH", end_record, 10)
    end_offset = size - len(end_record)
    if len(end_record) != 22 + comment_length:
        raise _Damaged(_ADDED_AFTER_END)
    if directory_offset + directory_size != end_offset:
        raise _Damaged(_BAD_LAYOUT)
    content.seek(0)
    with zipfile.ZipFile(content) as zipped:
        members = zipped.infolist()
        if len(members) != entries or len({m.filename.lower() for m in members}) != len(members):
            raise _Damaged(_BAD_LAYOUT)
        expected = 0
        for member in sorted(members, key=lambda m: m.header_offset):
            header = _read_at(content, member.header_offset, 30)
            if member.header_offset != expected or len(header) < 30 or not header.startswith(b"PK\x03\x04"):
                raise _Damaged(_BAD_LAYOUT)
            name_length, extra_length = struct.unpack_from("<HH", header, 26)
            if _has_markup(content, member.header_offset + 30, member.header_offset + 30 + name_length + extra_length):
                raise _HiddenMarkup
            expected = member.header_offset + 30 + name_length + extra_length + member.compress_size
            if member.flag_bits & 0x08:  # a data descriptor follows the data, with or without its signature
                expected += 16 if _read_at(content, expected, 4) == b"PK\x07\x08" else 12
        if expected != directory_offset:
            raise _Damaged(_BAD_LAYOUT)
        if _has_markup(content, directory_offset, size):  # names, extra fields and the comment
            raise _HiddenMarkup
        by_name = {m.filename.lower(): m for m in members}
        types = by_name.get("[content_types].xml")
        if types is None or types.file_size > _MAX_CONTENT_TYPES_BYTES:
            raise _Damaged(_BAD_CONTENT_TYPES)
        with zipped.open(types) as part:
            declared = _content_types(part.read(_MAX_CONTENT_TYPES_BYTES + 1))
    main_type = declared.get(_OFFICE_MAIN_PARTS[kind])
    if main_type in _OFFICE_MACRO_TYPES:
        raise UploadRejected(_MSG_MACROS, code="macros")
    if main_type not in _OFFICE_MAIN_TYPES[kind]:
        raise _Damaged(_BAD_CONTENT_TYPES)


def _zip_end_record(content: IO[bytes] | UploadedFile, size: int) -> bytes:
    """The end-of-central-directory record and everything after it (its comment, and any junk)."""
    tail_start = max(0, size - 22 - 0xFFFF)
    tail = _read_at(content, tail_start, size - tail_start)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise _Damaged(_BAD_LAYOUT)
    return tail[at:]


def _content_types(data: bytes) -> dict[str, str]:
    """Part name (lower case, with its leading slash) -> content type, from [Content_Types].xml's overrides.
    A document type declaration is refused: OOXML has none, and entities are how XML bombs work."""
    if len(data) > _MAX_CONTENT_TYPES_BYTES:
        raise _Damaged(_BAD_CONTENT_TYPES)
    declared: dict[str, str] = {}
    root: list[str] = []

    def start(tag: str, attributes: dict[str, str]) -> None:
        if not root:
            root.append(tag)
        if tag == f"{_OPC_TYPES} Override":
            declared[attributes.get("PartName", "").lower()] = attributes.get("ContentType", "").strip().lower()

    def refuse(*args: object) -> None:
        raise _Damaged(_BAD_CONTENT_TYPES)

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise _Damaged(_BAD_CONTENT_TYPES) from exc
    if root != [f"{_OPC_TYPES} Types"]:
        raise _Damaged(_BAD_CONTENT_TYPES)
    return declared
