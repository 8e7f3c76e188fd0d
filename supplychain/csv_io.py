"""Read supplier CSV files (and Excel workbooks) for import, and write CSV files for export.

Pure Python with no database access: the caller passes in the match keys of the suppliers already in
the register, and gets back a preview it can show before anything is saved.

    preview = parse_supplier_csv(data=upload.read(), existing_keys={s.match_key for s in register})
    if not preview.ok:
        ...  # show preview.file_errors
    else:
        ...  # create preview.valid; list preview.errors and preview.skipped by line number

Import accepts UTF-8 (with or without a byte order mark) separated by commas, semicolons or tabs, with
column names matched loosely; `parse_supplier_file` also takes an Excel workbook (.xlsx), whose first
sheet goes through the same checks row by row (`parse_supplier_xlsx`). Every cell of an export goes
through `csv_safe`, so text such as ``=HYPERLINK(...)`` that was imported as a supplier's name is shown
as text, never run as a formula.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from portal.text import csv_safe as csv_safe  # the escaping every CSV and XLSX export shares
from portal.text import single_line_problem
from portal.xlsx import XlsxError, looks_like_xlsx, read_first_sheet

COLUMNS: tuple[str, ...] = ("name", "contact_name", "contact_email", "company_number", "country")
REQUIRED: tuple[str, ...] = ("name", "contact_email")
MAX_ROWS = 10_000
MAX_BYTES = 5 * 1024 * 1024
MAX_CELL_CHARS = 200
DEFAULT_COUNTRY = "GB"

TEMPLATE_ROWS: tuple[tuple[str, ...], ...] = (
    ("Example Components Ltd", "Jane Smith", "jane.smith@example.com", "01234567", "GB"),
    ("Beispiel Metallbau GmbH", "Max Mustermann", "max.mustermann@example.org", "HRB12345", "DE"),
)
# Rows that are still the template's examples are refused, so they never land in a register.
_TEMPLATE_EXAMPLES = frozenset((row[0], row[2]) for row in TEMPLATE_ROWS)  # name and email, as parsed


def _template() -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(TEMPLATE_ROWS)
    return buffer.getvalue()


TEMPLATE_CSV: str = _template()
"""The column names and two example rows, for users to download and fill in."""

_COLUMN_LIST = ", ".join(COLUMNS)
_SAVE_AS_UTF8 = "In Excel, choose Save As > CSV UTF-8 (Comma delimited), then upload it again."

_MSG_EMPTY = "The file is empty. Download the template, add your suppliers and upload it again."
_MSG_HEADER_ONLY = "The file has column names but no suppliers under them."
_MSG_TOO_LARGE = (
    f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB. "
    "Split it into smaller files and upload them one at a time."
)
_MSG_NOT_UTF8 = f"The file is not UTF-8 text. {_SAVE_AS_UTF8}"
_MSG_BINARY = f"The file contains binary data, so it is not a CSV file. {_SAVE_AS_UTF8}"
_MSG_WORKBOOK = f"The file is an Excel workbook, not a CSV file. {_SAVE_AS_UTF8}"
_MSG_NO_HEADER = f"The first row must hold the column names: {_COLUMN_LIST}. Download the template to see the layout."
_MSG_COUNTRY = "Country must be a two-letter code like GB or DE"

_WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")  # XLSX (zip), XLS (OLE2)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # Excel's "Unicode Text" is UTF-16

_DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
_SEP_LINE = re.compile(r"sep=([,;\t])\s*", re.IGNORECASE)  # Excel's hint line, which Excel itself hides

# Header names, lower-cased with "_", "-" and "." turned into spaces, that mean each column.
_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "name": (
        "name",
        "supplier",
        "supplier name",
        "company",
        "company name",
        "organisation",
        "organisation name",
        "organization",
        "organization name",
        "business name",
        "trading name",
    ),
    "contact_name": ("contact name", "contact", "contact person", "contact full name"),
    "contact_email": (
        "contact email",
        "email",
        "e mail",
        "email address",
        "e mail address",
        "contact email address",
    ),
    "company_number": (
        "company number",
        "company no",
        "company num",
        "company reg",
        "company registration",
        "company registration number",
        "registration number",
        "registered number",
        "companies house number",
        "crn",
    ),
    "country": ("country", "country code"),
}
_ALIASES = {alias: column for column, aliases in _HEADER_NAMES.items() for alias in aliases}

_LABELS = {
    "name": "Name",
    "contact_name": "Contact name",
    "contact_email": "Email address",
    "company_number": "Company number",
    "country": "Country",
}

_COMPANY_NUMBER = re.compile(r"[A-Z0-9]{6,10}")
_COUNTRY_CODE = re.compile(r"[A-Z]{2}")
_COUNTRY_ALIASES = {"UK": "GB"}  # "UK" is not ISO 3166, but everyone in the UK writes it
_WHITESPACE = re.compile(r"\s+")
_JOINING_PUNCTUATION = re.compile(r"['’‘`.]")  # "A.B.C." -> "abc", "O’Brien" -> "obrien"
_OTHER_PUNCTUATION = re.compile(r"[\W_]+")
_LEGAL_SUFFIXES = frozenset({"ltd", "limited", "plc", "llp", "inc"})


@dataclass(frozen=True)
class SupplierRow:
    """One valid supplier from the file, cleaned up and ready to save."""

    line: int  # line number in the file as a spreadsheet user sees it (header is line 1)
    name: str
    contact_name: str
    contact_email: str  # lower-cased, stripped
    company_number: str  # upper-cased, spaces removed, "" if none
    country: str  # ISO 3166 alpha-2 upper-case, "GB" when blank
    match_key: str  # "cn:<COMPANY NUMBER>" if company_number else "dn:<email domain>|<normalised name>"


@dataclass(frozen=True)
class RowError:
    """Why the row on `line` was not imported, in plain English.

    `problems` pairs each problem with the column it is about ("" when it is about the whole row),
    so an API can name the cell: `reason` is their messages joined by "; ".
    """

    line: int
    reason: str
    problems: tuple[tuple[str, str], ...] = field(default=(), compare=False)


@dataclass
class ImportPreview:
    """What importing the file would do, to show the user before anything is saved.

    `valid` rows are new suppliers. `errors` lists every row that was rejected (one entry per row, its
    problems joined by "; "). `skipped` lists rows already in the register, so re-importing the same
    file creates no duplicates. `file_errors` are problems with the whole file; when there are any, no
    rows are returned at all. `total_rows` counts the data rows, not the header or blank lines.
    """

    valid: list[SupplierRow]
    errors: list[RowError]
    file_errors: list[str]
    total_rows: int
    skipped: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the file itself could be read (rows may still have errors)."""
        return not self.file_errors


def normalise_name(name: str) -> str:
    """A company name reduced for matching: lower case, no punctuation, no "Ltd"/"Limited"/"PLC"/"LLP"/"Inc".

    "Acme Components Ltd.", "ACME components limited" and "Acme  Components" all become "acme components".
    The legal-form words are dropped wherever they stand, unless nothing else would be left.
    """
    text = unicodedata.normalize("NFKC", name).casefold()
    text = _JOINING_PUNCTUATION.sub("", text)
    words = _OTHER_PUNCTUATION.sub(" ", text).split()
    kept = [word for word in words if word not in _LEGAL_SUFFIXES]
    return " ".join(kept or words)


def match_key(*, name: str, email: str, company_number: str) -> str:
    """The key that says two suppliers are the same one.

    The company number when there is one ("cn:01234567"); otherwise the contact's email domain with the
    normalised name ("dn:example.com|example components"). Inputs are normalised here, so the caller can
    pass values straight from the database to build `existing_keys`.
    """
    number = _WHITESPACE.sub("", company_number).upper()
    if number:
        return f"cn:{number}"
    domain = email.strip().lower().rpartition("@")[2]
    return f"dn:{domain}|{normalise_name(name)}"


def write_csv(*, header: list[str], rows: Iterable[Iterable[object]]) -> str:
    """CSV text for download: every cell through `csv_safe`, starting with a UTF-8 BOM so Excel reads it right.

    Encode the result as UTF-8 (not "utf-8-sig", which would add a second BOM).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_safe(cell) for cell in header])
    for row in rows:
        writer.writerow([csv_safe(cell) for cell in row])
    return "\ufeff" + buffer.getvalue()


def parse_supplier_csv(*, data: bytes, existing_keys: AbstractSet[str]) -> ImportPreview:
    """Read an uploaded supplier CSV and say what importing it would do, without saving anything.

    `existing_keys` are the `match_key`s of the suppliers already in the register: rows matching one are
    listed in `skipped`, not imported again. Line numbers are the rows as a spreadsheet shows them, with
    the header on line 1.
    """
    text, problem = _decode(data)
    if problem:
        return _file_error(problem)

    lines = io.StringIO(text, newline="").readlines()
    offset = 0
    delimiter = None
    if lines and (sep := _SEP_LINE.fullmatch(lines[0])):
        delimiter, offset = sep.group(1), 1
    body = lines[offset:]
    header_text = next((line for line in body if line.strip(' \t\r\n,;"')), None)
    if header_text is None:
        return _file_error(_MSG_EMPTY)
    delimiter = delimiter or _detect_delimiter(header_text)

    records, problem = _read_records(body, delimiter)
    if problem:
        return _file_error(problem)
    overflow = (
        "This row has more cells than there are columns; put quotes around any value that contains a "
        f"{_DELIMITER_NAMES[delimiter]}"
    )
    return _preview(records, existing_keys=existing_keys, overflow=overflow)


def parse_supplier_xlsx(*, data: bytes, existing_keys: AbstractSet[str]) -> ImportPreview:
    """`parse_supplier_csv` for an Excel workbook (.xlsx): its first sheet, read as the rows of a CSV file.

    The same columns, checks, line numbers (the sheet's row numbers), duplicates and messages apply. A
    file that is not a workbook, is too big or has too many rows is refused as a whole. Formulas are
    never run: a cell holding one reads as the value last saved with it, as text.
    """
    try:
        records = read_first_sheet(data, max_bytes=MAX_BYTES, max_rows=MAX_ROWS)
    except XlsxError as exc:
        return _file_error(str(exc))
    overflow = "This row has values to the right of the last named column; delete them or give their column a name"
    return _preview(records, existing_keys=existing_keys, overflow=overflow)


def parse_supplier_file(*, data: bytes, file_name: str, existing_keys: AbstractSet[str]) -> ImportPreview:
    """A CSV file or an Excel workbook, told apart by content (a workbook is a zip) or by a name ending .xlsx."""
    if looks_like_xlsx(data, file_name):
        return parse_supplier_xlsx(data=data, existing_keys=existing_keys)
    return parse_supplier_csv(data=data, existing_keys=existing_keys)


def _preview(records: list[list[str]], *, existing_keys: AbstractSet[str], overflow: str) -> ImportPreview:
    """What importing the records (one per line of the file, blank ones included) would do."""
    header_index = next((index for index, cells in enumerate(records) if not _is_blank(cells)), None)
    if header_index is None:
        return _file_error(_MSG_EMPTY)
    header_line = header_index + 1
    rows = [
        (line, cells)
        for line, cells in enumerate(records[header_index + 1 :], start=header_line + 1)
        if not _is_blank(cells)
    ]

    positions, header_problems = _read_header(records[header_index])
    if header_problems:
        return _file_error(*header_problems, total_rows=len(rows))
    if not rows:
        return _file_error(_MSG_HEADER_ONLY)
    if len(rows) > MAX_ROWS:
        return _file_error(
            f"The file has {len(rows):,} rows; import at most {MAX_ROWS:,} at a time.", total_rows=len(rows)
        )

    preview = ImportPreview(valid=[], errors=[], file_errors=[], total_rows=len(rows))
    width = len(records[header_index])
    first_line_of_key: dict[str, int] = {}
    for line, cells in rows:
        row, problems = _read_row(line, cells, positions, width, overflow)
        if row is None:
            reason = "; ".join(message for _column, message in problems)
            preview.errors.append(RowError(line=line, reason=reason, problems=tuple(problems)))
        elif row.match_key in existing_keys:
            preview.skipped.append(RowError(line=line, reason=f"Already in your register ({_same(row)})"))
        elif row.match_key in first_line_of_key:
            earlier = first_line_of_key[row.match_key]
            reason = f"Duplicate of line {earlier} ({_same(row)})"
            preview.errors.append(RowError(line=line, reason=reason, problems=((_key_column(row), reason),)))
        elif (row.name, row.contact_email) in _TEMPLATE_EXAMPLES:
            reason = "This is an example row from the template: delete it and add your own suppliers"
            preview.errors.append(RowError(line=line, reason=reason, problems=(("", reason),)))
        else:
            first_line_of_key[row.match_key] = line
            preview.valid.append(row)
    return preview


def _file_error(*messages: str, total_rows: int = 0) -> ImportPreview:
    return ImportPreview(valid=[], errors=[], file_errors=list(messages), total_rows=total_rows)


def _decode(data: bytes) -> tuple[str, str | None]:
    """The file's text, or a message saying why it cannot be read as text."""
    if len(data) > MAX_BYTES:
        return "", _MSG_TOO_LARGE
    if not data.strip():
        return "", _MSG_EMPTY
    if data.startswith(_WORKBOOK_SIGNATURES):
        return "", _MSG_WORKBOOK
    if data.startswith(_UTF16_BOMS):
        return "", _MSG_NOT_UTF8
    if b"\x00" in data:
        return "", _MSG_BINARY
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "", _MSG_NOT_UTF8
    if not text.strip():
        return "", _MSG_EMPTY
    return text, None


def _detect_delimiter(line: str) -> str:
    """The comma, semicolon or tab that occurs most often outside quotes in the header line."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(_DELIMITERS, key=lambda delimiter: counts[delimiter])  # ties go to the comma
    return best if counts[best] else ","


def _read_records(lines: list[str], delimiter: str) -> tuple[list[list[str]], str | None]:
    """Every record (blank ones included, so indexes are line numbers), or why the file cannot be read."""
    reader = csv.reader(lines, delimiter=delimiter)
    records: list[list[str]] = []
    last_start = 0
    while True:
        start = reader.line_num
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            return [], (
                f"Line {len(records) + 1} could not be read: a cell is far too long, usually because a quotation "
                "mark is never closed. Check the quotation marks on that line and upload the file again."
            )
        records.append(cells)
        last_start = start
    if records and _ends_inside_quotes("".join(lines[last_start:]), delimiter):
        return [], (
            f"A quotation mark on line {len(records)} is never closed, so everything after it was read as one "
            "cell. Close the quotes or remove the stray quotation mark, then upload the file again."
        )
    return records, None


def _ends_inside_quotes(text: str, delimiter: str) -> bool:
    """Whether a quoted cell in `text` is still open at the end, following the csv module's rules."""
    # States: 0 at the start of a cell, 1 in an unquoted cell, 2 in a quoted cell, 3 just after a quote in one.
    state, cell_start, quote_at = 0, 0, -1
    for match in re.finditer(f'["\\r\\n{re.escape(delimiter)}]', text):
        char, at = match.group(), match.start()
        if state == 2:
            if char == '"':
                state, quote_at = 3, at
            continue
        if state == 3:
            if char == '"' and at == quote_at + 1:
                state = 2  # a doubled quote inside the quoted cell
                continue
            state = 1  # the quoted part is over; anything after it is plain text
        if char == '"':
            state = 2 if state == 0 and at == cell_start else 1
        else:
            state, cell_start = 0, at + 1
    return state == 2


def _is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def _header_key(cell: str) -> str:
    text = cell.replace("\ufeff", "").strip().lower()
    return " ".join(re.sub(r"[_\-.]", " ", text).split())


def _read_header(cells: list[str]) -> tuple[dict[str, int], list[str]]:
    """Where each known column is, and any problems with the column names."""
    positions: dict[str, int] = {}
    names: dict[str, str] = {}
    problems: list[str] = []
    unknown: list[str] = []
    for index, cell in enumerate(cells):
        name = cell.strip()
        if not name:
            continue  # a column with no name (often a stray trailing delimiter) is ignored
        column = _ALIASES.get(_header_key(name))
        if column is None:
            unknown.append(name)
        elif column in positions:
            problems.append(
                f"The column “{name}” appears twice; keep only one."
                if names[column] == name
                else f"The columns “{names[column]}” and “{name}” are the same column; keep only one."
            )
        else:
            positions[column], names[column] = index, name
    if not positions:
        return positions, [_MSG_NO_HEADER]
    problems = [
        f"The file has no “{column}” column. Use the template’s column names: {_COLUMN_LIST}."
        for column in REQUIRED
        if column not in positions
    ] + problems
    problems += [f"Unknown column “{name}”: remove it or rename it to one of {_COLUMN_LIST}." for name in unknown]
    return positions, problems


def _read_row(
    line: int, cells: list[str], positions: dict[str, int], width: int, overflow: str
) -> tuple[SupplierRow | None, list[tuple[str, str]]]:
    """The cleaned-up supplier on this row, or the reasons it cannot be imported, each with its column."""
    values = dict.fromkeys(COLUMNS, "")
    for column, index in positions.items():
        if index < len(cells):
            values[column] = cells[index].strip()
    reasons: list[tuple[str, str]] = []
    if any(cell.strip() for cell in cells[width:]):
        reasons.append(("", overflow))
    too_long = {column for column, value in values.items() if len(value) > MAX_CELL_CHARS}
    reasons += [
        (column, f"{_LABELS[column]} is longer than {MAX_CELL_CHARS} characters")
        for column in COLUMNS
        if column in too_long
    ]
    # Line breaks (inside quotes) and hidden control characters: the name reaches email subjects.
    unclean = {column: single_line_problem(values[column], label=_LABELS[column]) for column in COLUMNS}
    hidden = {column for column, problem in unclean.items() if problem} - too_long
    reasons += [(column, str(unclean[column])) for column in COLUMNS if column in hidden]
    reported = too_long | hidden  # one message per cell

    name = values["name"]
    if not name and "name" not in reported:
        reasons.append(("name", "Missing name"))

    raw_email = values["contact_email"]
    email = raw_email.lower()
    if "contact_email" not in reported:
        if not email:
            reasons.append(("contact_email", "Missing email address"))
        elif not _is_valid_email(email):
            reasons.append(("contact_email", f"“{raw_email}” is not a valid email address"))

    country = values["country"].upper() or DEFAULT_COUNTRY
    country = _COUNTRY_ALIASES.get(country, country)
    if "country" not in reported and not _COUNTRY_CODE.fullmatch(country):
        reasons.append(("country", _MSG_COUNTRY))

    raw_number = values["company_number"]
    number = _WHITESPACE.sub("", raw_number).upper()
    if "company_number" not in reported and number and not _COMPANY_NUMBER.fullmatch(number):
        reasons.append(("company_number", f"Company number “{raw_number}” must be 6 to 10 letters or digits"))

    if reasons:
        return None, reasons
    key = match_key(name=name, email=email, company_number=number)
    row = SupplierRow(
        line=line,
        name=name,
        contact_name=values["contact_name"],
        contact_email=email,
        company_number=number,
        country=country,
        match_key=key,
    )
    return row, []


def _is_valid_email(email: str) -> bool:
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


def _key_column(row: SupplierRow) -> str:
    """The column that makes two rows the same supplier: the company number, or else the name."""
    return "company_number" if row.company_number else "name"


def _same(row: SupplierRow) -> str:
    if row.company_number:
        return f"same company number {row.company_number}"
    return "same email domain and name"
