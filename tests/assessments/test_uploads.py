"""Evidence uploads: the content decides the type, the name must agree, and anything risky is refused."""

from __future__ import annotations

import contextlib
import hashlib
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assessments.uploads import (
    ALLOWED_KINDS,
    DEFAULT_MAX_BYTES,
    UploadRejected,
    safe_display_name,
    sniff_upload,
)
from tests.sample_files import jpeg, pdf, png
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
