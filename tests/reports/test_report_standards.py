"""The conformance the report declares (PDF/A-3a, reports/rendering.py PDF_VARIANT) and the structure
behind the claim, read with pypdf: XMP identification, output intent, embedded fonts, tagged
structure with language, tables with header cells and figures with alternative text.

No independent validator runs here: veraPDF needs Java and is not in the package registries this
project installs from. These checks are the machine-checkable core of what the claim promises."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, BooleanObject, DictionaryObject

from reports.rendering import PDF_VARIANT
from tests.reports.conftest import report_bytes

pytestmark = [
    pytest.mark.django_db,
    # WeasyPrint 70 opens its bundled sRGB ICC profile for PDF/A output and never closes it.
    pytest.mark.filterwarnings(r"ignore:unclosed file <_io.BufferedReader name=.*sRGB2014\.icc.>:ResourceWarning"),
]


def resolved(value: Any) -> Any:
    return value.get_object() if hasattr(value, "get_object") else value


def fonts(resources: Any, seen: set[int]) -> Iterator[DictionaryObject]:
    """Every font dictionary used by a page, including inside form XObjects (the SVG charts, QR code)."""
    resources = resolved(resources) or {}
    for font in (resolved(resources.get("/Font")) or {}).values():
        yield resolved(font)
    for xobject in (resolved(resources.get("/XObject")) or {}).values():
        xobject = resolved(xobject)
        if id(xobject) in seen or "/Resources" not in xobject:
            continue
        seen.add(id(xobject))
        yield from fonts(xobject["/Resources"], seen)


def font_file(font: DictionaryObject) -> bool:
    """Whether the font's program is embedded (a Type0 font's is in its descendant CIDFont)."""
    if font.get("/Subtype") == "/Type0":
        font = resolved(resolved(font["/DescendantFonts"])[0])
    descriptor = resolved(font.get("/FontDescriptor")) or {}
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def elements(node: Any) -> Iterator[DictionaryObject]:
    """Every structure element under `node`, depth first."""
    node = resolved(node)
    kids = node.get("/K")
    if kids is None:
        return
    for kid in kids if isinstance(kids, ArrayObject) else [kids]:
        kid = resolved(kid)
        if isinstance(kid, DictionaryObject) and "/S" in kid:
            yield kid
            yield from elements(kid)


def children(node: DictionaryObject, role: str) -> list[DictionaryObject]:
    kids = node.get("/K")
    kids = kids if isinstance(kids, ArrayObject) else [kids]
    return [k for k in map(resolved, kids) if isinstance(k, DictionaryObject) and k.get("/S") == role]


def test_the_report_declares_pdfa_3a_and_carries_the_structure_it_promises(
    tenant, commitment, final_plan, report
) -> None:
    assert PDF_VARIANT == "pdf/a-3a"
    reader = PdfReader(io.BytesIO(report_bytes(report)))
    root = reader.trailer["/Root"]

    # XMP identification: PDF/A part 3, conformance level A (accessible). No PDF/UA claim is made
    # (see the comment on PDF_VARIANT): a pdfuaid:part here would be a claim nothing checks.
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert re.search(r"""pdfaid:part(="|>)3""", xmp), xmp
    assert re.search(r"""pdfaid:conformance(="|>)A""", xmp), xmp
    assert "pdfuaid" not in xmp
    assert reader.pdf_header == "%PDF-1.7"

    # The output intent PDF/A requires: an sRGB profile embedded for the colours used.
    (intent,) = [resolved(i) for i in root["/OutputIntents"]]
    assert intent["/S"] == "/GTS_PDFA1" and "/DestOutputProfile" in intent
    assert resolved(intent["/DestOutputProfile"])["/N"] == 3

    # Every font used on every page, also inside the charts' and QR code's forms, is embedded.
    used = [font for page in reader.pages for font in fonts(page.get("/Resources"), set())]
    assert used and all(font_file(font) for font in used), [f.get("/BaseFont") for f in used if not font_file(f)]

    # Tagged: marked, a structure tree, the language, and the title shown instead of the file name.
    assert root["/MarkInfo"]["/Marked"] == BooleanObject(True)
    assert root["/Lang"] == "en-GB"
    assert root["/ViewerPreferences"]["/DisplayDocTitle"] == BooleanObject(True)
    title = reader.metadata.title
    assert title.startswith("Made Smarter Principles attestation: Acme Precision Engineering")
    assert title in xmp  # dc:title says the same as the document information

    tree = list(elements(root["/StructTreeRoot"]))
    roles = [e["/S"] for e in tree]
    assert roles.count("/H1") == 1 and "/H2" in roles and "/H3" in roles

    # Tables: each has rows, and its first row is header cells (TH) - the column headings; the EqIA,
    # evidence, maturity and coverage tables are all there.
    tables = [e for e in tree if e["/S"] == "/Table"]
    assert len(tables) >= 4
    for table in tables:
        sections = children(table, "/THead") or [table]
        header_rows = [row for section in sections for row in children(section, "/TR")]
        assert header_rows, "a table without rows"
        assert children(header_rows[0], "/TH") and not children(header_rows[0], "/TD")
    assert sum(len(children(row, "/TH")) for e in tree if e["/S"] == "/TBody" for row in children(e, "/TR")) > 0

    # Figures (the maturity chart and the QR code) carry alternative text.
    figures = [e for e in tree if e["/S"] == "/Figure"]
    assert len(figures) >= 2
    alts = [str(f.get("/Alt", "")).strip() for f in figures]
    assert all(alts), alts
    assert any(alt.startswith("Maturity per principle") for alt in alts)
