"""Evidence uploads: the content decides the type, the name must agree, and anything risky is refused."""

from __future__ import annotations

import contextlib
import hashlib
import io
import struct
import zipfile
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assessments.uploads import (
    ALLOWED_KINDS,
    DEFAULT_MAX_BYTES,
    UploadRejected,
    safe_display_name,
    sniff_upload,
)
from tests.sample_files import jpeg, office_members, pdf, png, png_chunk
from tests.sample_files import office as sample_office

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOT_ALLOWED = "The file must be a PDF, PNG, JPEG, Word (DOCX), Excel (XLSX), CSV or plain text file."
ZIP_BOMB = "The file could not be checked safely. Save it again from Word or Excel and upload the new copy."

PDF = pdf()
JPEG = jpeg()
CSV = b"site,principle,score\nLeeds,Safety,4\nHull,Wellbeing,3\n"
TXT = b"Toolbox talk held on 3 March. Attendance: 14.\n"


def office(kind: str, **extra: bytes) -> bytes:
    """A minimal DOCX ("docx"), XLSX ("xlsx") or plain zip ("zip"); `extra` adds members by path ("__" for "/")."""
    return sample_office(kind, {path.replace("__", "/"): data for path, data in extra.items()})


def sniff(data: bytes, name: str, **kwargs: int):
    return sniff_upload(file=io.BytesIO(data), name=name, **kwargs)


def rejected(data: bytes, name: str, **kwargs: int) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        sniff(data, name, **kwargs)
    return caught.value


class OneWayStream:
    """A stream that cannot seek, like a socket, and counts what was read from it."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._data.read(size)
        self.bytes_read += len(chunk)
        return chunk

    def seekable(self) -> bool:
        return False


# --- accepted ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "kind", "content_type", "extension"),
    [
        (PDF, "policy.pdf", "pdf", "application/pdf", "pdf"),
        (png(), "site-photo.png", "png", "image/png", "png"),
        (JPEG, "site-photo.jpg", "jpeg", "image/jpeg", "jpg"),
        (JPEG, "Site Photo.JPEG", "jpeg", "image/jpeg", "jpg"),
        (office("docx"), "minutes.docx", "docx", DOCX_TYPE, "docx"),
        (office("xlsx"), "training-log.xlsx", "xlsx", XLSX_TYPE, "xlsx"),
        (CSV, "scores.csv", "csv", "text/csv", "csv"),
        (TXT, "notes.txt", "txt", "text/plain", "txt"),
        (CSV, "scores.txt", "txt", "text/plain", "txt"),
        (b"\xef\xbb\xbf" + TXT, "notes-with-bom.txt", "txt", "text/plain", "txt"),
        ("Café visit — £40\n".encode("cp1252"), "expenses.txt", "txt", "text/plain", "txt"),
    ],
)
def test_each_allowed_kind_is_accepted_with_its_type_size_and_hash(data, name, kind, content_type, extension):
    sniffed = sniff(data, name)

    assert sniffed.kind == kind
    assert sniffed.kind in ALLOWED_KINDS
    assert sniffed.content_type == content_type
    assert sniffed.extension == extension
    assert sniffed.size == len(data)
    assert sniffed.sha256 == hashlib.sha256(data).hexdigest()


def test_a_django_upload_is_judged_by_content_not_the_browsers_content_type():
    upload = SimpleUploadedFile("site-photo.png", png(), content_type="application/pdf")

    sniffed = sniff_upload(file=upload, name=upload.name)

    assert (sniffed.kind, sniffed.content_type) == ("png", "image/png")


def test_a_stream_that_cannot_seek_is_still_checked_fully():
    data = office("docx")

    sniffed = sniff_upload(file=OneWayStream(data), name="minutes.docx")

    assert sniffed.kind == "docx"
    assert sniffed.sha256 == hashlib.sha256(data).hexdigest()


def test_a_file_exactly_at_the_limit_is_accepted():
    assert sniff(b"x" * 1024, "notes.txt", max_bytes=1024).size == 1024


# --- size --------------------------------------------------------------------------------------


def test_an_empty_file_is_rejected():
    error = rejected(b"", "policy.pdf")

    assert error.code == "empty"
    assert error.message == "The selected file is empty. Choose a file that has something in it."
    assert str(error) == error.message


def test_a_text_file_of_only_whitespace_counts_as_empty():
    assert rejected(b"\xef\xbb\xbf \r\n\t\n", "notes.txt").code == "empty"


@pytest.mark.parametrize(
    ("max_bytes", "limit"),
    [(1024, "1 KB"), (10 * 1024, "10 KB"), (1536 * 1024, "1.5 MB"), (DEFAULT_MAX_BYTES, "20 MB")],
)
def test_a_file_over_the_limit_is_rejected_with_the_limit_in_the_message(max_bytes, limit):
    stream = OneWayStream(b"x" * (max_bytes + 10))

    with pytest.raises(UploadRejected) as caught:
        sniff_upload(file=stream, name="notes.txt", max_bytes=max_bytes)

    assert caught.value.code == "too_large"
    assert caught.value.message == f"The file must be smaller than {limit}."
    assert stream.bytes_read == max_bytes + 1  # stops reading as soon as the file is known to be too big


# --- content that is not allowed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<!DOCTYPE html><html><body><h1>Policy</h1></body></html>", "policy.pdf"),
        (b"\xef\xbb\xbf\n  <html lang='en'><p>Policy</p></html>", "policy.pdf"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>', "logo.svg"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "logo.png"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "logo.png"),
        (b"<script>alert(1)</script>", "notes.txt"),
        (b"Notes for the audit\n<SCRIPT src=//evil.example></SCRIPT>\n", "notes.txt"),
        (b"name,link\nsite,javascript:alert(1)\n", "links.csv"),
        (b"#!/bin/sh\nrm -rf /\n", "notes.txt"),
    ],
)
def test_web_pages_svg_and_scripts_are_rejected_whatever_they_are_named(data, name):
    assert rejected(data, name).code == "type_not_allowed"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(48), "policy.pdf"),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(8), "policy.pdf"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00;", "site-photo.png"),
        (b"RIFF\x1a\x00\x00\x00WEBPVP8L", "site-photo.png"),
        (office("zip", **{"docs__readme.txt": b"hello"}), "bundle.zip"),
        (b"PK\x05\x06" + bytes(18), "minutes.docx"),
        (b"\x00\x01\x02\x03binary", "notes.txt"),
        ("a note".encode("utf-16"), "notes.txt"),
    ],
)
def test_executables_other_formats_and_binary_data_are_rejected(data, name):
    error = rejected(data, name)

    assert error.code == "type_not_allowed"
    assert error.message


def test_an_executable_disguised_as_a_pdf_gets_the_list_of_allowed_types():
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8" + bytes(200)

    error = rejected(exe, "policy.pdf")

    assert (error.code, error.message) == ("type_not_allowed", NOT_ALLOWED)


def test_text_that_merely_starts_like_an_executable_or_zip_is_still_text():
    assert sniff(b"MZ Engineering: audit notes\n", "notes.txt").kind == "txt"
    assert sniff(b"PKI rollout notes\n", "notes.txt").kind == "txt"


def test_nul_bytes_in_a_text_file_are_rejected():
    assert rejected(b"Attendance: 14\x00\x00\x00\n", "notes.txt").code == "type_not_allowed"


def test_an_old_binary_office_file_is_rejected_with_advice_to_resave():
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)

    error = rejected(ole2, "minutes.docx")

    assert error.code == "type_not_allowed"
    assert ".docx or .xlsx" in error.message


# --- Word and Excel --------------------------------------------------------------------------------


def test_a_zip_named_docx_without_a_word_document_is_rejected():
    not_word = office("zip", **{"docProps__app.xml": b"<Properties/>"})

    assert rejected(not_word, "minutes.docx").code == "type_not_allowed"


def test_a_zip_bomb_named_xlsx_is_rejected_without_unpacking_it():
    buffer = io.BytesIO(office("xlsx"))
    with (
        zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/media/zeros.bin", "w") as member,
    ):
        for _ in range(50):
            member.write(bytes(1024 * 1024))
    bomb = buffer.getvalue()
    assert len(bomb) < 1024 * 1024  # 50 MB squeezed into a small upload

    error = rejected(bomb, "training-log.xlsx")

    assert (error.code, error.message) == ("zip_bomb", ZIP_BOMB)


def test_a_zip_with_too_many_members_is_rejected():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number in range(10_001):
            archive.writestr(f"{number}", b"")

    assert rejected(buffer.getvalue(), "training-log.xlsx").code == "zip_bomb"


def test_a_word_file_with_macros_is_rejected():
    with_macros = office("docx", **{"word__vbaProject.bin": b"\xd0\xcf\x11\xe0macro"})

    error = rejected(with_macros, "minutes.docx")

    assert error.code == "macros"
    assert "macros" in error.message


def test_an_encrypted_zip_is_rejected():
    data = bytearray(office("xlsx"))
    at = data.find(b"PK\x01\x02")
    while at != -1:  # set the "encrypted" flag on every central directory entry
        data[at + 8] |= 0x01
        at = data.find(b"PK\x01\x02", at + 4)

    assert rejected(bytes(data), "training-log.xlsx").code == "encrypted"


# --- the name must agree with the content ------------------------------------------------------------


def test_a_png_named_pdf_is_rejected_with_a_clear_message():
    error = rejected(png(), "report.pdf")

    assert error.code == "extension_mismatch"
    assert error.message == (
        "The file’s contents are a PNG image but its name ends in .pdf. Rename it or choose the right file."
    )


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (PDF, "policy.docx"),
        (office("docx"), "minutes.xlsx"),
        (office("xlsx"), "training-log.docx"),
        (JPEG, "site-photo.png"),
        (TXT, "notes.pdf"),
        (TXT, "notes.html"),
    ],
)
def test_a_name_that_disagrees_with_the_content_is_rejected(data, name):
    assert rejected(data, name).code == "extension_mismatch"


@pytest.mark.parametrize(("data", "expected"), [(PDF, ".pdf"), (JPEG, ".jpg"), (TXT, ".txt or .csv")])
def test_a_name_without_an_extension_is_rejected_asking_for_one(data, expected):
    error = rejected(data, "C:\\Users\\sam\\evidence")

    assert error.code == "extension_mismatch"
    assert f"Add {expected} to the end of its name" in error.message


def test_a_text_file_named_csv_that_is_not_csv_is_rejected():
    error = rejected(b'"an unfinished quote\nand more\n', "scores.csv")

    assert error.code == "extension_mismatch"
    assert ".csv" in error.message


def test_an_odd_extension_is_not_repeated_back_to_the_user():
    error = rejected(png(), "photo.<b>bold<b>")

    assert error.code == "extension_mismatch"
    assert "<b>" not in error.message
    assert "does not end in .png" in error.message


# --- file position -------------------------------------------------------------------------------


def test_the_file_is_read_from_the_start_and_left_at_the_start():
    upload = io.BytesIO(PDF)
    upload.read(7)  # a form field might already have peeked at it

    sniffed = sniff_upload(file=upload, name="policy.pdf")

    assert sniffed.size == len(PDF)
    assert upload.tell() == 0
    assert upload.read() == PDF


@pytest.mark.parametrize(("data", "name"), [(png(), "report.pdf"), (office("docx"), "minutes.docx")])
def test_the_file_is_left_at_the_start_after_zip_checks_and_rejections(data, name):
    upload = io.BytesIO(data)

    with contextlib.suppress(UploadRejected):
        sniff_upload(file=upload, name=name)

    assert upload.tell() == 0


# --- display names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\report.pdf", "report.pdf"),
        ("  .hidden.pdf", "hidden.pdf"),
        ("quarterly\nreport\r\n.pdf", "quarterly report.pdf"),
        ("site   visit\tnotes.txt", "site visit notes.txt"),
        ("audit\x00\x07 notes.txt", "audit notes.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # a right-to-left override would show "exe.pdf"
        ("Café plan.docx", "Café plan.docx"),
        (".pdf", "evidence.pdf"),
        ("../..", "evidence"),
        ("", "evidence"),
    ],
)
def test_safe_display_name(name, expected):
    assert safe_display_name(name) == expected


def test_a_long_display_name_is_shortened_but_keeps_its_extension():
    shown = safe_display_name("a" * 400 + ".pdf")

    assert shown.endswith(".pdf")
    assert len(shown) <= 150
    assert shown.startswith("aaaa")


# --- the whole file, not just its start (issue 15 part 7) ----------------------------------------------


def damaged(name: str, what: str, problem: str, fix: str) -> str:
    return f"“{name}” cannot be read as {what}: {problem}. {fix}"


PDF_FIX = "Save or export it as a PDF again and upload the new copy."
IMAGE_FIX = "Save or export the image again and upload the new copy."
WORD_FIX = "Open it in Word, save it again and upload the new copy."
CUT_SHORT = "the end of the file is missing, so it may have been cut short"
ADDED = "something has been added after the end of the file"
PDF_INDEX = "its cross-reference table, which says where each part is, is missing or damaged"
LAYOUT = "its parts are missing, damaged or in the wrong order"
HTML = b"<html><body><script>alert(1)</script></body></html>\n"
DOCX_TYPES = office_members("docx")["[Content_Types].xml"]
LINE = b"Toolbox talk notes, attendance recorded.\n"  # 41 bytes


def hidden_markup(name: str, description: str) -> str:
    return (
        f"“{name}” is {description} with web page code or a script hidden inside it, which cannot be uploaded. "
        "Save or export it again and upload the new copy."
    )


def with_chunk_before_iend(tag: bytes, data: bytes) -> bytes:
    image = png()
    return image[:-12] + png_chunk(tag, data) + image[-12:]


def pillow(format: str, **options) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 60)).save(buffer, format, **options)
    return buffer.getvalue()


def weasyprint_pdf() -> bytes:
    import weasyprint

    return weasyprint.HTML(string="<h1>Minutes</h1><p>Agreed with the workforce.</p>").write_pdf()


@pytest.mark.parametrize(
    ("offset", "line"),
    [(5000, 123), (8192, 201), (64 * 1024, 1600)],
)
def test_markup_anywhere_in_a_text_file_is_refused_naming_the_file_and_line(offset, line):
    data = LINE * (offset // 41 + 1) + b"<html><body>Signed off</body></html>\n"

    error = rejected(data, "notes.txt")

    assert error.code == "type_not_allowed"
    assert error.message == (
        f"“notes.txt” contains web page code or a script on line {line:,}, which cannot be uploaded. "
        "Remove it and upload the file again, or save the document as a PDF and upload that instead."
    )


def test_markup_split_across_two_reads_is_still_found():
    data = b"x" * (64 * 1024 - 4) + b"\n<script>alert(1)</script>\n"  # "<script" straddles the first 64 KB read

    assert "on line 2," in rejected(data, "notes.txt").message


def test_a_csv_is_parsed_to_its_end():
    good = b"site,score\n" + b"Leeds,4\n" * 20_000  # 160 KB
    assert sniff(good, "scores.csv").kind == "csv"
    assert sniff(b"site,note\r" + b'Leeds,"two\rlines"\r' * 8000, "scores.csv").kind == "csv"  # old Mac line ends

    error = rejected(good + b'Hull,"never closed\n', "scores.csv")

    assert error.code == "extension_mismatch"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (PDF + HTML, ADDED),
        (PDF + office("docx"), ADDED),
        (PDF[: len(PDF) // 2], CUT_SHORT),
        (b"%PDF-1.4\n" + HTML, CUT_SHORT),
        (b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n", PDF_INDEX),  # no startxref
        (PDF.replace(b"startxref\n", b"startxref\n9"), PDF_INDEX),  # points past the end
        (PDF.replace(b"xref\n0 4", b"xref\n0 5"), PDF_INDEX),  # says five entries, has four
        (PDF.replace(b"/Root 1 0 R", b"/Info 1 0 R"), PDF_INDEX),
    ],
    ids=[
        "html-after",
        "zip-after",
        "cut-short",
        "header-on-html",
        "no-startxref",
        "bad-offset",
        "bad-count",
        "no-root",
    ],
)
def test_a_pdf_must_parse_from_header_to_end_of_file(data, problem):
    error = rejected(data, "policy.pdf")

    assert (error.code, error.message) == ("damaged", damaged("policy.pdf", "a PDF", problem, PDF_FIX))


def test_markup_in_a_pdf_outside_its_streams_is_refused():
    error = rejected(pdf("<html><body><script>alert(1)</script>"), "policy.pdf")

    assert (error.code, error.message) == ("type_not_allowed", hidden_markup("policy.pdf", "a PDF"))


def test_real_pdfs_are_accepted():
    import pypdf

    rendered = weasyprint_pdf()  # a cross-reference stream, compressed objects
    writer = pypdf.PdfWriter(io.BytesIO(rendered), incremental=True)  # as signing a PDF appends a section
    writer.add_metadata({"/Subject": "Signed"})
    updated = io.BytesIO()
    writer.write(updated)

    for data in (rendered, updated.getvalue(), pillow("PDF"), PDF + b"\r\n\x00\x00  \n"):
        assert sniff(data, "policy.pdf").kind == "pdf"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (png() + HTML, ADDED),
        (png() + png_chunk(b"tEXt", b"a\x00b"), ADDED),
        (png()[:-12], CUT_SHORT),  # no IEND
        (png()[:-20], CUT_SHORT),
        (png()[:29] + b"\x00\x00\x00\x00" + png()[33:], "part of it is damaged (a checksum does not match)"),
        (with_chunk_before_iend(b"EVIL", b"x"), LAYOUT),  # an unknown critical chunk
        (with_chunk_before_iend(b"IHDR", png()[16:29]), LAYOUT),  # a second header
        (with_chunk_before_iend(b"tEXt", b"a\x00b")[:-12] + png()[33:], LAYOUT),  # image data split by a chunk
    ],
    ids=[
        "html-after",
        "chunk-after-iend",
        "no-iend",
        "cut-short",
        "bad-crc",
        "unknown-critical",
        "two-ihdr",
        "split-idat",
    ],
)
def test_a_png_must_parse_chunk_by_chunk_to_iend(data, problem):
    error = rejected(data, "photo.png")

    assert (error.code, error.message) == ("damaged", damaged("photo.png", "a PNG image", problem, IMAGE_FIX))


@pytest.mark.parametrize(
    "chunk",
    [
        (b"tEXt", b"Comment\x00" + HTML),
        (b"zTXt", b"Comment\x00\x00" + zlib.compress(HTML)),
        (b"iTXt", b"Comment\x00\x01\x00en\x00\x00" + zlib.compress(HTML)),
        (b"htMl", HTML),
    ],
    ids=["tEXt", "zTXt", "iTXt", "private"],
)
def test_markup_in_a_png_chunk_is_refused(chunk):
    error = rejected(with_chunk_before_iend(*chunk), "photo.png")

    assert (error.code, error.message) == ("type_not_allowed", hidden_markup("photo.png", "a PNG image"))


def test_compressed_pixels_are_not_mistaken_for_markup_and_real_pngs_are_accepted():
    from PIL import PngImagePlugin

    lucky_pixels = with_chunk_before_iend(b"IDAT", b"<svg <html>")  # compressed data can hold any bytes
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "Site camera")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta xmlns:x='adobe:ns:meta/'/>", zip=True)

    for data in (lucky_pixels, pillow("PNG"), pillow("PNG", pnginfo=info, optimize=True)):
        assert sniff(data, "photo.png").kind == "png"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (JPEG + HTML, ADDED),
        (JPEG + office("docx"), ADDED),
        (JPEG[:-30], CUT_SHORT),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9", LAYOUT),  # no image in it
    ],
    ids=["html-after", "zip-after", "cut-short", "no-frame-or-scan"],
)
def test_a_jpeg_must_parse_from_soi_to_eoi(data, problem):
    error = rejected(data, "photo.jpg")

    assert (error.code, error.message) == ("damaged", damaged("photo.jpg", "a JPEG image", problem, IMAGE_FIX))


def test_markup_in_a_jpeg_comment_is_refused():
    comment = b"\xff\xfe" + struct.pack(">H", len(HTML) + 2) + HTML

    error = rejected(JPEG[:2] + comment + JPEG[2:], "photo.jpg")

    assert (error.code, error.message) == ("type_not_allowed", hidden_markup("photo.jpg", "a JPEG image"))


def test_what_phones_append_to_a_jpeg_is_accepted():
    gain_map = JPEG + pillow("JPEG", quality=40)  # a second image (MPF), as HDR photos carry
    motion = JPEG + struct.pack(">I4s4sI", 16, b"ftyp", b"isom", 0) + struct.pack(">I4s", 12, b"mdat") + b"clip"
    samsung = JPEG + b"SEFH" + bytes(20) + struct.pack("<I", 24) + b"SEFT"
    padded = JPEG + bytes(64)
    progressive = pillow("JPEG", progressive=True, optimize=True)

    for data in (gain_map, motion, samsung, padded, progressive):
        assert sniff(data, "photo.jpg").kind == "jpeg"


def _office_with_gap() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (path, data) in enumerate(office_members("docx").items()):
            archive.writestr(path, data)
            if index == 1:
                buffer.write(b"between the parts")
                archive.start_dir += len(b"between the parts")
    return buffer.getvalue()


def _office_with_comment(comment: bytes) -> bytes:
    buffer = io.BytesIO(office("docx"))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.comment = comment
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (office("docx") + b"junk after the end", ADDED),
        (_office_with_gap(), LAYOUT),
        (
            sample_office("docx", {"[Content_Types].xml": b"<Types/>"}),
            "its list of contents ([Content_Types].xml) is missing or damaged",
        ),
        (
            sample_office("docx", {"[Content_Types].xml": b'<!DOCTYPE t [<!ENTITY a "b">]>' + DOCX_TYPES}),
            "its list of contents ([Content_Types].xml) is missing or damaged",
        ),
    ],
    ids=["junk-after", "bytes-between-parts", "no-main-content-type", "doctype"],
)
def test_a_word_file_must_be_a_whole_zip_with_its_content_types(data, problem):
    error = rejected(data, "minutes.docx")

    assert (error.code, error.message) == (
        "damaged",
        damaged("minutes.docx", "a Word document (DOCX)", problem, WORD_FIX),
    )


def test_a_word_file_declaring_macros_is_refused_even_without_the_macro_part():
    types = office_members("docx")["[Content_Types].xml"].replace(
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        b"application/vnd.ms-word.document.macroEnabled.main+xml",
    )

    assert rejected(sample_office("docx", {"[Content_Types].xml": types}), "minutes.docx").code == "macros"


def test_markup_in_a_zip_comment_is_refused():
    error = rejected(_office_with_comment(HTML), "minutes.docx")

    assert (error.code, error.message) == ("type_not_allowed", hidden_markup("minutes.docx", "a Word document (DOCX)"))


def test_a_zip_written_as_a_stream_with_data_descriptors_is_accepted():
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            self.data += data
            return len(data)

    stream = Unseekable()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in office_members("xlsx").items():
            archive.writestr(path, data)

    assert sniff(bytes(stream.data), "log.xlsx").kind == "xlsx"


def test_a_stream_that_cannot_seek_gets_the_same_structure_checks():
    error = sniff_upload_error(OneWayStream(png() + HTML), "photo.png")

    assert error.code == "damaged"


def sniff_upload_error(stream, name: str) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        sniff_upload(file=stream, name=name)
    return caught.value
