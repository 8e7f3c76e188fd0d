"""Excel workbooks (XLSX): the one writer behind every spreadsheet download, and a careful reader for imports.

    data = write_xlsx([Sheet("Suppliers", header=[...], rows=[[...], ...])])
    return xlsx_response(data, filename="supplier-register.xlsx")

Every export that offers a CSV offers the same rows here. Text goes through the CSV exports' own
`csv_safe` (portal.text, which supplychain.csv_io.write_csv uses), so a name such as ``=HYPERLINK(..)``
gets the same leading ' in both files, and each text cell is stored as a string, never as a formula.
Dates are real dates (shown yyyy-mm-dd), datetimes real datetimes in UK time (Excel has no time zones),
numbers numbers and booleans booleans (the exports that write "yes"/"no" in their CSV pass the same
words here). The header row is bold and frozen,
with a filter, and columns are as wide as their content, up to `MAX_WIDTH`.

`read_first_sheet` reads an uploaded workbook's first sheet as rows of text, refusing what is not an
XLSX file, what is too big (compressed or unpacked) and what has too many rows, each with a message a
user can act on. Formulas are never run: openpyxl reads the value Excel last saved with the file
(`data_only`), as text; a formula no spreadsheet program has calculated reads as empty.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from portal.text import csv_safe

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
MIN_WIDTH = 8
MAX_WIDTH = 60
MAX_CELL_CHARS = 32_767  # Excel's limit for one cell
_SHEET_TITLE_CHARS = 31
_SHEET_TITLE_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", " "))

# Reading
MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # a zip bomb stops here, whatever its packed size
MAX_READ_COLUMNS = 100
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and any password-protected workbook


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook: its tab's name, the column names and the rows under them."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[object]]


def cell_value(value: object) -> Any:
    """What a cell holds: text escaped as the CSV escapes it, dates and numbers as themselves."""
    if value is None:
        return None
    if isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.make_naive(value, timezone.get_default_timezone())
        return value.replace(microsecond=0)
    if isinstance(value, date):
        return value
    text = csv_safe(str(value) if isinstance(value, UUID) else value)
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:MAX_CELL_CHARS]


def _width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return len(DATETIME_FORMAT)
    if isinstance(value, date):
        return len(DATE_FORMAT) + 1
    if isinstance(value, bool):
        return 5
    return max((len(line) for line in str(value).splitlines()), default=0)


def _sheet_title(title: str, used: set[str]) -> str:
    base = " ".join(title.translate(_SHEET_TITLE_FORBIDDEN).split())[:_SHEET_TITLE_CHARS].strip("'") or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[: _SHEET_TITLE_CHARS - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


def write_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """The workbook as bytes: one tab per sheet, in order."""
    workbook = Workbook(write_only=True)
    used: set[str] = set()
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for sheet in sheets:
        header = [cell_value(name) for name in sheet.header]
        rows = [[cell_value(value) for value in row] for row in sheet.rows]
        worksheet = workbook.create_sheet(_sheet_title(sheet.title, used))
        columns = max([len(header)] + [len(row) for row in rows])
        for index in range(columns):
            longest = max([_width(row[index]) for row in [header, *rows] if index < len(row)], default=0)
            worksheet.column_dimensions[get_column_letter(index + 1)].width = min(
                max(longest + 2, MIN_WIDTH), MAX_WIDTH
            )
        worksheet.freeze_panes = "A2"
        if header:
            worksheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
        heading = []
        for name in header:
            cell = _cell(worksheet, name)
            cell.font = bold
            heading.append(cell)
        worksheet.append(heading)
        for row in rows:
            cells = []
            for value in row:
                cell = _cell(worksheet, value)
                if isinstance(value, str) and ("\n" in value or _width(value) > MAX_WIDTH):
                    cell.alignment = wrap
                cells.append(cell)
            worksheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell(worksheet: Any, value: Any) -> Cell:
    cell: Cell = WriteOnlyCell(worksheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text, even if it looked like a formula (it cannot: `csv_safe` escaped it)
    elif isinstance(value, datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT
    return cell


def xlsx_response(data: bytes, *, filename: str) -> HttpResponse:
    """The workbook as a download (an attachment, never shown in the browser)."""
    response = HttpResponse(data, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def record_auditor_download(request: Any, label: str) -> None:
    """An auditor's download goes in the audit trail, as each page they view does (the middleware leaves
    attachments to the view, which knows what was downloaded)."""
    membership = getattr(request, "membership", None)
    if membership is None or membership.role != "auditor":
        return
    from portal.audit import audit_record

    audit_record(
        organisation=request.organisation, actor=request.user, verb="auditor.downloaded", target_label=label[:300]
    )


# --- Reading ------------------------------------------------------------------------------------------


class XlsxError(ValueError):
    """The upload cannot be read as a workbook; the message says why and what to do."""


_SAVE_AS = "In Excel, choose Save As > Excel Workbook (.xlsx), or CSV UTF-8, then upload it again."


def looks_like_xlsx(data: bytes, file_name: str = "") -> bool:
    """Whether an upload is meant as a workbook: its content is a zip, or its name ends in .xlsx."""
    return data.startswith(_ZIP) or file_name.lower().endswith((".xlsx", ".xlsm"))


def read_first_sheet(data: bytes, *, max_bytes: int, max_rows: int) -> list[list[str]]:
    """Every row of the workbook's first sheet as text (blank rows kept, so indexes are row numbers minus one).

    Raises `XlsxError` for a file that is not an XLSX workbook, is larger than `max_bytes` (or unpacks
    to more than `MAX_UNPACKED_BYTES`), or has more than `max_rows` rows that hold anything (a header
    and `max_rows` data rows are allowed). Cells are read as text: numbers as written ("1234567"), dates
    as yyyy-mm-dd, formulas as the value last saved with them.
    """
    if len(data) > max_bytes:
        raise XlsxError(
            f"The file is larger than {max_bytes // (1024 * 1024)} MB. "
            "Split it into smaller files and upload them one at a time."
        )
    if data.startswith(_OLE2):
        raise XlsxError(f"The file is an old-style Excel workbook (.xls) or is password-protected. {_SAVE_AS}")
    if not data.startswith(_ZIP):
        raise XlsxError(f"The file’s name ends in .xlsx but it is not an Excel workbook. {_SAVE_AS}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise XlsxError(f"The workbook is damaged and could not be opened. {_SAVE_AS}") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise XlsxError(
            "The workbook holds too much data to import at once. Split it into smaller files and upload them "
            "one at a time."
        )
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, EOFError):
        raise XlsxError(f"The file is not an Excel workbook this portal can read. {_SAVE_AS}") from None
    except Exception:  # openpyxl raises many kinds of error on a damaged file; none of them is ours
        raise XlsxError(f"The workbook is damaged and could not be opened. {_SAVE_AS}") from None
    try:
        if not workbook.worksheets:
            raise XlsxError(
                "The workbook has no sheets. Put the suppliers on its first sheet, one row each under the "
                "column names, then upload it again."
            )
        worksheet = workbook.worksheets[0]
        records: list[list[str]] = []
        filled = 0
        try:
            for values in worksheet.iter_rows(values_only=True, max_col=MAX_READ_COLUMNS):
                cells = [_text(value) for value in values]
                while cells and not cells[-1]:
                    cells.pop()
                records.append(cells)
                if cells:
                    filled += 1
                    if filled > max_rows + 1:
                        raise XlsxError(
                            f"The first sheet has more than {max_rows:,} rows; import at most {max_rows:,} at a time."
                        )
        except XlsxError:
            raise
        except Exception:
            raise XlsxError(f"The workbook is damaged and could not be read. {_SAVE_AS}") from None
    finally:
        workbook.close()
    while records and not records[-1]:
        records.pop()
    return records


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)
