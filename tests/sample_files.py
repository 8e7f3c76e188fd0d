"""Small, structurally valid files of each kind the evidence check accepts, built in code.

The upload check (assessments/uploads.py) reads every file to its end and refuses one whose structure
does not parse as its type, so a test that stores evidence needs a real file, not just a header:

    PDF = pdf("training records")    # a one-page PDF; notes become comment lines, to make files differ
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

OPC_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def pdf(*notes: str, page: tuple[int, int] = (595, 842)) -> bytes:
    """A one-page PDF any reader opens: objects, a cross-reference table with their offsets, the trailer,
    startxref and %%EOF. Each note is written as a comment line after the header."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 %d %d]>>" % page,
    ]
    out = bytearray(b"%PDF-1.4\n")
    for note in notes:
        out += b"% " + note.encode() + b"\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png() -> bytes:
    """A 1x1 red PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte, then one red pixel
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", pixels) + png_chunk(b"IEND", b"")


def jpeg() -> bytes:
    """An 8x8 JPEG as Pillow (which WeasyPrint depends on) writes it."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def office_members(kind: str) -> dict[str, bytes]:
    """The parts of a minimal DOCX ("docx") or XLSX ("xlsx"), or of a zip that is neither ("zip")."""
    overrides = {"docx": ("/word/document.xml", DOCX_MAIN), "xlsx": ("/xl/workbook.xml", XLSX_MAIN)}
    override = '<Override PartName="{}" ContentType="{}"/>'.format(*overrides[kind]) if kind in overrides else ""
    types = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="{OPC_TYPES}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{override}</Types>'
    )
    members = {"[Content_Types].xml": types.encode(), "_rels/.rels": b"<Relationships/>"}
    if kind == "docx":
        members["word/document.xml"] = b"<w:document><w:body><w:p/></w:body></w:document>"
    elif kind == "xlsx":
        members["xl/workbook.xml"] = b"<workbook><sheets/></workbook>"
        members["xl/worksheets/sheet1.xml"] = b"<worksheet><sheetData/></worksheet>"
    return members


def office(kind: str, extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal DOCX or XLSX (or a plain zip for "zip"), with `extra` parts added or replaced."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in {**office_members(kind), **(extra or {})}.items():
            archive.writestr(path, data)
    return buffer.getvalue()
