"""Check evidence files that users upload before anything stores them.

A file's type is decided from its content alone, never from its name or the browser's Content-Type
header; the name's extension must then agree with what the content turned out to be. Only PDF, PNG,
JPEG, Word (DOCX), Excel (XLSX), CSV and plain text are accepted. Standard library only.

    try:
        sniffed = sniff_upload(file=request.FILES["evidence"], name=request.FILES["evidence"].name)
    except UploadRejected as exc:
        form.add_error("evidence", ValidationError(exc.message, code=exc.code))
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
import struct
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

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

_CHUNK_BYTES = 64 * 1024
_HEAD_BYTES = 64 * 1024  # kept for signatures, markup checks and the CSV sample
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
_MARKUP_ANYWHERE = re.compile(rb"<script|<svg|<iframe|javascript:|vbscript:")
# C0 controls other than tab, line feed, form feed and carriage return; DEL; C1 controls.
_BAD_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_TEXT_WHITESPACE = b" \t\r\n\f"
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
    "empty", "too_large", "type_not_allowed", "extension_mismatch", "zip_bomb", "unsafe_zip", "encrypted" or
    "macros".
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def sniff_upload(*, file: IO[bytes] | UploadedFile, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> SniffedFile:
    """Decide what `file` really is and check that `name` agrees with it.

    Reads from the start in chunks, never more than `max_bytes + 1` bytes, hashing as it goes, and leaves a
    seekable file at position 0 whether it is accepted or not. Raises UploadRejected with a message for the
    user when the file is empty, too large, not an allowed type, or named with the wrong extension.
    """
    if max_bytes < 1:
        raise ValueError("max_bytes must be at least 1")
    if not _is_seekable(file):
        # Checking a zip needs random access, so a stream is copied aside (to disk beyond 1 MB).
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


@dataclass(frozen=True)
class _Scan:
    size: int
    sha256: str
    head: bytes
    text: _TextCheck


def _is_seekable(file: IO[bytes] | UploadedFile) -> bool:
    try:
        return bool(file.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _read(source: IO[bytes] | UploadedFile, *, copy: IO[bytes] | None, max_bytes: int) -> _Scan:
    digest = hashlib.sha256()
    text = _TextCheck()
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
        if copy is not None:
            copy.write(chunk)
    text.finish()
    return _Scan(size=size, sha256=digest.hexdigest(), head=bytes(head), text=text)


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
    kind = _content_kind(scan, archive=copy if copy is not None else source)
    kind = _agree_with_name(kind, scan, name)
    return SniffedFile(
        kind=kind,
        content_type=_CONTENT_TYPES[kind],
        extension=_EXTENSIONS[kind][0],
        size=scan.size,
        sha256=scan.sha256,
    )


def _content_kind(scan: _Scan, *, archive: IO[bytes] | UploadedFile) -> str:
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
    if scan.text.encoding is None:
        raise UploadRejected(_MSG_NOT_ALLOWED, code="type_not_allowed")
    if not scan.text.has_content:
        raise UploadRejected(_MSG_EMPTY, code="empty")
    return "text"


def _looks_like_markup(head: bytes) -> bool:
    window = head[:_MARKUP_WINDOW].lower()
    start = window.removeprefix(_UTF8_BOM).lstrip()
    return bool(start.startswith(b"#!") or _MARKUP_START.match(start) or _MARKUP_ANYWHERE.search(window))


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


def _agree_with_name(kind: str, scan: _Scan, name: str) -> str:
    """The final kind, once the name's extension is known to agree with the content."""
    extension = _extension_of(name)
    if kind != "text":
        if extension not in _EXTENSIONS[kind]:
            raise _mismatch(_DESCRIPTIONS[kind], extension, expected=f".{_EXTENSIONS[kind][0]}")
        return kind
    if extension == "txt":
        return "txt"
    if extension == "csv":
        if _parses_as_csv(scan):
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


def _parses_as_csv(scan: _Scan) -> bool:
    """Whether the start of the text reads as CSV with at least one row that has something in it."""
    truncated = scan.size > len(scan.head)
    encoding = scan.text.encoding or "utf-8-sig"
    sample = codecs.getincrementaldecoder(encoding)().decode(scan.head, final=not truncated)
    if truncated and "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]
    rows = 0
    try:
        for row in csv.reader(io.StringIO(sample, newline=""), strict=True):
            rows += any(field.strip() for field in row)
    except csv.Error:
        return truncated and rows > 0  # the sample may have been cut inside a quoted field
    return rows > 0
