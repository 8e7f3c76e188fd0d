"""The text layer of a PDF, page by page, as poppler reads it (`pdftotext`, the library behind most
Linux PDF viewers' copy and paste; .ci/run installs poppler-utils).

`-raw` keeps the text in the order the page draws it, as pypdf's `extract_text` did (the body first,
then the running header and footer). pypdf, in pure Python, took about 2.3 s of CPU for the demo's
21-page report, more than a third of what a report test cost; poppler takes a tenth of that.
"""

from __future__ import annotations

import shutil
import subprocess


def pdf_pages(pdf: bytes) -> list[str]:
    """Each page's text, in drawing order."""
    assert shutil.which("pdftotext"), "pdftotext is missing: apt-get install poppler-utils"
    out = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    pages = out.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()  # pdftotext ends every page, the last one too, with a form feed
    return pages
