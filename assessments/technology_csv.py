"""The technology register as a CSV file: export, and import, like the supplier register's.

    result = import_register(organisation=org, actor=user, data=upload.read(MAX_BYTES + 1))
    if not result.ok:
        ...  # result.file_errors, or result.errors: each row's problems by line and column

A row updates the system of the same name already in the register (names compared without regard to
case) or registers a new one, through `technology.system_create`, `system_update` and `notice_record`, so
each change is audited and the agreement's clocks follow. The whole file is one transaction: if any row
is refused (by the file's checks or by the services' rules), nothing is saved and every row's problems
are returned, each naming its line (as a spreadsheet shows it, the header on line 1) and its column.

A column left out of the file leaves that field of existing systems as it is; a column present but empty
on a row clears it. Every cell of an export goes through `csv_safe`, so a name such as ``=HYPERLINK(..)``
is shown as text, never run as a formula; import takes that escape off again, so an export imports back
unchanged.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_scopes import scope

from assessments import technology
from assessments.models import SystemStatus, TechnologySystem, WorkerDecision
from portal.models import Organisation, User
from portal.text import has_hidden_characters, single_line_problem

# The csv module's reading rules, as the supplier import applies them (quotes, delimiters, blank lines).
from supplychain.csv_io import RowError, _detect_delimiter, _is_blank, _read_records, write_csv

COLUMNS: tuple[str, ...] = (
    "name",
    "supplier",
    "purpose",
    "sites",
    "teams",
    "go_live_on",
    "status",
    "worker_data",
    "monitors_people",
    "decisions",
    "notice_given_on",
    "committee_met_on",
)
MAX_ROWS = 2_000
MAX_BYTES = 2 * 1024 * 1024
# The longest each cell may be (the register's own limits).
MAX_CHARS = {"name": 200, "supplier": 200, "sites": 300, "teams": 300, "purpose": 10_000, "worker_data": 10_000}
DATE_COLUMNS = ("go_live_on", "notice_given_on", "committee_met_on")
ONE_LINE = ("name", "supplier", "sites", "teams", "go_live_on", "status", "monitors_people", "decisions")
# The register's field for each column, where the name differs.
FIELD_OF = {"supplier": "supplier_name"}
COLUMN_OF = {"supplier_name": "supplier"}

_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SEP_LINE = re.compile(r"sep=([,;\t])\s*", re.IGNORECASE)  # Excel's hint line
_FORMULA_ESCAPE = re.compile(r"'(?=[=+\-@\t\r])")  # what `csv_safe` put in front of a would-be formula
_WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
_SAVE_AS_UTF8 = "In Excel, choose Save As > CSV UTF-8 (Comma delimited), then upload it again."


def _label(column: str) -> str:
    return {
        "name": _("Name"),
        "supplier": _("Supplier"),
        "purpose": _("Purpose"),
        "sites": _("Sites"),
        "teams": _("Teams"),
        "go_live_on": _("Go-live date"),
        "status": _("Status"),
        "worker_data": _("Worker data"),
        "monitors_people": _("Monitors people"),
        "decisions": _("Decisions"),
        "notice_given_on": _("Notice given on"),
        "committee_met_on": _("Committee met on"),
    }[column]


@dataclass(frozen=True)
class SystemRow:
    """One row of the file, checked and ready for the register's services. `values` holds only the
    columns present in the file (register field names); `notice` the two dates, when either column is."""

    line: int
    name: str
    values: dict[str, Any]
    notice: dict[str, date | None] | None


@dataclass
class ImportResult:
    """What importing the file did, or why it did nothing. `file_errors`: the file cannot be read as a
    register; `errors`: one entry per refused row, each problem with its column ("" for the whole row)."""

    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.file_errors


# --- Export ----------------------------------------------------------------------------------------


def export_values(organisation: Organisation) -> list[list[object]]:
    """The register's rows in `COLUMNS` order, dates as dates (for the XLSX export; the CSV writes them as text)."""
    with scope(organisation=organisation):
        systems = list(technology.register_rows(organisation))
    return [
        [
            s.name,
            s.supplier_name,
            s.purpose,
            s.sites,
            s.teams,
            s.go_live_on,
            s.status,
            s.worker_data,
            "yes" if s.monitors_people else "no",
            ";".join(s.decisions),
            s.notice_given_on,
            s.committee_met_on,
        ]
        for s in systems
    ]


def export_rows(organisation: Organisation) -> list[list[object]]:
    """The register's rows as the CSV writes them: dates as yyyy-mm-dd text."""
    return [[_iso(value) if isinstance(value, date) else value for value in row] for row in export_values(organisation)]


def export_csv(organisation: Organisation) -> str:
    """The register as CSV text (UTF-8 with a byte order mark, formulas escaped), in the import's columns."""
    return write_csv(header=list(COLUMNS), rows=export_rows(organisation))


def export_xlsx(organisation: Organisation) -> bytes:
    """The register as an Excel workbook: the CSV's rows and escaping, with real dates."""
    from portal.xlsx import Sheet, write_xlsx

    return write_xlsx([Sheet(_("Technology register"), header=list(COLUMNS), rows=export_values(organisation))])


def _iso(value: date | None) -> str:
    return "" if value is None else value.isoformat()


# --- Reading the file ------------------------------------------------------------------------------


def parse_csv(data: bytes) -> tuple[list[SystemRow], list[RowError], list[str], int]:
    """The file's rows, checked without the database: (rows, row errors, file errors, data rows)."""
    text, problem = _decode(data)
    if problem:
        return [], [], [problem], 0
    lines = io.StringIO(text, newline="").readlines()
    delimiter = None
    if lines and (sep := _SEP_LINE.fullmatch(lines[0])):
        delimiter, lines = sep.group(1), lines[1:]
    header_text = next((line for line in lines if line.strip(' \t\r\n,;"')), None)
    if header_text is None:
        return [], [], [_("The file is empty. Export your register to see the layout, then fill it in.")], 0
    delimiter = delimiter or _detect_delimiter(header_text)
    records, problem = _read_records(lines, delimiter)
    if problem:
        return [], [], [problem], 0
    header_index = next(index for index, cells in enumerate(records) if not _is_blank(cells))
    positions, problems = _read_header(records[header_index])
    rows = [
        (line, cells)
        for line, cells in enumerate(records[header_index + 1 :], start=header_index + 2)
        if not _is_blank(cells)
    ]
    if problems:
        return [], [], problems, len(rows)
    if not rows:
        return [], [], [_("The file has column names but no systems under them.")], 0
    if len(rows) > MAX_ROWS:
        return (
            [],
            [],
            [_("The file has %(n)s rows; import at most %(max)s at a time.") % {"n": len(rows), "max": MAX_ROWS}],
            len(rows),
        )
    width = len(records[header_index])
    found: list[SystemRow] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    for line, cells in rows:
        row, row_problems = _read_row(line, cells, positions, width)
        index = positions["name"]
        name = _unescape(cells[index].strip()) if index < len(cells) else ""
        if name:  # the same system twice, even when either row has other problems
            key = name.casefold()
            if key in first_line:
                message = _("%(name)s is also on line %(line)s: a system appears once in the file") % {
                    "name": name,
                    "line": first_line[key],
                }
                row_problems.append(("name", message))
            else:
                first_line[key] = line
        if row_problems:
            errors.append(_row_error(line, row_problems))
        elif row is not None:
            found.append(row)
    return found, errors, [], len(rows)


def _row_error(line: int, problems: list[tuple[str, str]]) -> RowError:
    return RowError(line=line, reason="; ".join(m for _c, m in problems), problems=tuple(problems))


def _decode(data: bytes) -> tuple[str, str | None]:
    if len(data) > MAX_BYTES:
        return "", _("The file is larger than %(mb)s MB. Split it into smaller files.") % {
            "mb": MAX_BYTES // (1024 * 1024)
        }
    if not data.strip():
        return "", _("The file is empty. Export your register to see the layout, then fill it in.")
    if data.startswith(_WORKBOOK_SIGNATURES):
        return "", _("The file is an Excel workbook, not a CSV file.") + " " + _SAVE_AS_UTF8
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        return "", _("The file is not UTF-8 text.") + " " + _SAVE_AS_UTF8
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return "", _("The file is not UTF-8 text.") + " " + _SAVE_AS_UTF8


def _header_key(cell: str) -> str:
    return "_".join(re.sub(r"[\-. ]", " ", cell.replace("\ufeff", "").strip().lower()).split())


_ALIASES = {
    **{c: c for c in COLUMNS},
    "system": "name",
    "supplier_name": "supplier",
    "go_live": "go_live_on",
    "go_live_date": "go_live_on",
    "monitors": "monitors_people",
    "notice_given": "notice_given_on",
    "committee_met": "committee_met_on",
}


def _read_header(cells: list[str]) -> tuple[dict[str, int], list[str]]:
    positions: dict[str, int] = {}
    problems: list[str] = []
    columns = ", ".join(COLUMNS)
    for index, cell in enumerate(cells):
        if not cell.strip():
            continue
        column = _ALIASES.get(_header_key(cell))
        if column is None:
            problems.append(
                _("Unknown column “%(name)s”: remove it or rename it to one of %(columns)s.")
                % {"name": cell.strip(), "columns": columns}
            )
        elif column in positions:
            problems.append(_("The column “%(name)s” appears twice; keep only one.") % {"name": cell.strip()})
        else:
            positions[column] = index
    if "name" not in positions:
        problems.insert(
            0, _("The file has no “name” column. The first row holds the column names: %(c)s.") % {"c": columns}
        )
    return positions, problems


def _unescape(text: str) -> str:
    return _FORMULA_ESCAPE.sub("", text, count=1) if text.startswith("'") else text


def _read_row(
    line: int, cells: list[str], positions: dict[str, int], width: int
) -> tuple[SystemRow | None, list[tuple[str, str]]]:
    raw = {c: _unescape(cells[i].strip()) if i < len(cells) else "" for c, i in positions.items()}
    problems: list[tuple[str, str]] = []
    if any(cell.strip() for cell in cells[width:]):
        problems.append(
            ("", _("This row has more cells than there are columns; put quotes around any value with a comma"))
        )
    for column, value in raw.items():
        limit = MAX_CHARS.get(column)
        if limit is not None and len(value) > limit:
            problems.append(
                (column, _("%(label)s is longer than %(n)s characters") % {"label": _label(column), "n": limit})
            )
        elif column in ONE_LINE and (problem := single_line_problem(value, label=_label(column))):
            problems.append((column, problem))
        elif has_hidden_characters(value):
            problems.append(
                (column, _("%(label)s must not contain hidden control characters") % {"label": _label(column)})
            )
    bad = {column for column, _m in problems}
    values: dict[str, Any] = {}
    for column, value in raw.items():
        if column in bad or column in ("notice_given_on", "committee_met_on"):
            continue
        if column in DATE_COLUMNS:
            parsed, problem = _date(value, column)
            if problem:
                problems.append((column, problem))
            values["go_live_on"] = parsed
        elif column == "status":
            status = _status(value)
            if status is None:
                problems.append(
                    (
                        column,
                        _("Status “%(value)s” is not one of: %(choices)s")
                        % {"value": value, "choices": ", ".join(SystemStatus.values)},
                    )
                )
            elif status:
                values["status"] = status
        elif column == "monitors_people":
            if value.lower() in _YES:
                values["monitors_people"] = True
            elif value.lower() in _NO:
                values["monitors_people"] = False
            else:
                problems.append((column, _("Monitors people must be yes or no, not “%(value)s”") % {"value": value}))
        elif column == "decisions":
            decisions, unknown = _decisions(value)
            if unknown:
                problems.append(
                    (
                        column,
                        _("Unknown decision “%(value)s”: use %(choices)s, separated by semicolons")
                        % {"value": unknown[0], "choices": ", ".join(WorkerDecision.values)},
                    )
                )
            values["decisions"] = decisions
        else:
            values[FIELD_OF.get(column, column)] = value
    notice = None
    if "notice_given_on" in raw or "committee_met_on" in raw:
        notice = {}
        for column in ("notice_given_on", "committee_met_on"):
            if column in raw and column not in bad:
                parsed, problem = _date(raw[column], column)
                if problem:
                    problems.append((column, problem))
                notice[column] = parsed
    name = raw.get("name", "")
    if not name and "name" not in bad:
        problems.append(("name", _("Enter the system's name")))
    if problems:
        return None, problems
    return SystemRow(line=line, name=name, values=values, notice=notice), []


def _date(value: str, column: str) -> tuple[date | None, str | None]:
    if not value:
        return None, None
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value), None
    except ValueError:
        return None, _("%(label)s “%(value)s” is not a date in the form YYYY-MM-DD, such as 2026-09-30") % {
            "label": _label(column),
            "value": value,
        }


def _status(value: str) -> str | None:
    """The status value for a cell ("" when blank: the register's default, or unchanged)."""
    if not value:
        return ""
    wanted = value.strip().casefold()
    for choice, label in SystemStatus.choices:
        if wanted in (choice, str(label).casefold()):
            return choice
    return None


def _decisions(value: str) -> tuple[list[str], list[str]]:
    by_name = {}
    for choice, label in WorkerDecision.choices:
        by_name[choice] = choice
        by_name[str(label).casefold()] = choice
    found, unknown = [], []
    for part in re.split(r"[;,|]", value):
        part = part.strip().casefold()
        if not part:
            continue
        if part in by_name:
            found.append(by_name[part])
        else:
            unknown.append(part)
    return found, unknown


# --- Importing -------------------------------------------------------------------------------------


class _Refused(Exception):
    """Leaves the import's transaction, undoing every row already saved."""


def import_register(*, organisation: Organisation, actor: User, data: bytes) -> ImportResult:
    """Register or update every system in the file, all or nothing (see the module's docstring)."""
    rows, errors, file_errors, total = parse_csv(data)
    result = ImportResult(total_rows=total, errors=errors, file_errors=file_errors)
    if file_errors or errors:
        return result
    with scope(organisation=organisation):
        try:
            with transaction.atomic():
                existing = {
                    s.name.casefold(): s
                    for s in TechnologySystem.objects.filter(organisation=organisation).select_related("organisation")
                }
                for row in rows:
                    problems = _import_row(organisation, actor, row, existing.get(row.name.casefold()), result)
                    if problems:
                        result.errors.append(_row_error(row.line, problems))
                if result.errors:
                    raise _Refused
        except _Refused:
            result.created = result.updated = result.unchanged = 0
    return result


def _import_row(
    organisation: Organisation,
    actor: User,
    row: SystemRow,
    system: TechnologySystem | None,
    result: ImportResult,
) -> list[tuple[str, str]]:
    """Save one row through the register's services, counting it; the problems they found, by column."""
    before = None if system is None else _state(system)
    try:
        with transaction.atomic():
            if system is None:
                values = {"status": SystemStatus.PLANNED, **row.values}
                system = technology.system_create(organisation=organisation, actor=actor, values=values)
            else:
                system = technology.system_update(system=system, actor=actor, values=row.values)
            if row.notice is not None:
                current = {"notice_given_on": system.notice_given_on, "committee_met_on": system.committee_met_on}
                wanted = {**current, **row.notice}
                if wanted != current:
                    system = technology.notice_record(system=system, actor=actor, **wanted)
    except ValidationError as exc:
        return _by_column(exc)
    if before is None:
        result.created += 1
    elif _state(system) != before:
        result.updated += 1
    else:
        result.unchanged += 1
    return []


def _state(system: TechnologySystem) -> tuple[Any, ...]:
    return (
        *(getattr(system, name) for name in technology.SYSTEM_FIELDS),
        system.notice_given_on,
        system.committee_met_on,
    )


def _by_column(exc: ValidationError) -> list[tuple[str, str]]:
    if hasattr(exc, "error_dict"):
        return [
            ("" if name == "__all__" else COLUMN_OF.get(name, name), str(message))
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    return [("", message) for message in exc.messages]
