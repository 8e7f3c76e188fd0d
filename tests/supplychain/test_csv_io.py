"""Supplier CSV import and export: encodings, delimiters, column names, row checks, re-imports and formulas."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from supplychain.csv_io import (
    COLUMNS,
    MAX_BYTES,
    MAX_ROWS,
    REQUIRED,
    TEMPLATE_CSV,
    ImportPreview,
    RowError,
    SupplierRow,
    csv_safe,
    match_key,
    normalise_name,
    parse_supplier_csv,
    write_csv,
)

NOT_UTF8 = "The file is not UTF-8 text. In Excel, choose Save As > CSV UTF-8 (Comma delimited), then upload it again."
COLUMN_LIST = "name, contact_name, contact_email, company_number, country"

GOOD = (
    "name,contact_name,contact_email,company_number,country\r\n"
    "Acme Components Ltd,Jane Smith, Jane.Smith@Acme-Components.co.uk ,01234567,gb\r\n"
    "Brass & Co. Limited,Bob Brown,bob@brass.example,,\r\n"
    "Cogs GmbH,Clara Vogel,clara@cogs.example,hrb 12345,DE\r\n"
)


def parse(text: str, existing: set[str] | None = None, *, encoding: str = "utf-8") -> ImportPreview:
    return parse_supplier_csv(data=text.encode(encoding), existing_keys=existing or set())


def assert_good_rows(preview: ImportPreview) -> None:
    assert preview.ok and preview.errors == [] and preview.skipped == []
    assert preview.total_rows == 3
    assert preview.valid == [
        SupplierRow(
            line=2,
            name="Acme Components Ltd",
            contact_name="Jane Smith",
            contact_email="jane.smith@acme-components.co.uk",
            company_number="01234567",
            country="GB",
            match_key="cn:01234567",
        ),
        SupplierRow(
            line=3,
            name="Brass & Co. Limited",
            contact_name="Bob Brown",
            contact_email="bob@brass.example",
            company_number="",
            country="GB",
            match_key="dn:brass.example|brass co",
        ),
        SupplierRow(
            line=4,
            name="Cogs GmbH",
            contact_name="Clara Vogel",
            contact_email="clara@cogs.example",
            company_number="HRB12345",
            country="DE",
            match_key="cn:HRB12345",
        ),
    ]


def supplier_lines(count: int) -> str:
    rows = "".join(f"Supplier {i},Contact {i},buyer{i}@supplier{i}.example,,GB\r\n" for i in range(count))
    return "name,contact_name,contact_email,company_number,country\r\n" + rows


def single_error(preview: ImportPreview) -> RowError:
    assert preview.ok and preview.valid == [] and len(preview.errors) == 1
    return preview.errors[0]


# --- Good files in every shape Excel produces -------------------------------------------------------


def test_good_comma_file_gives_clean_rows_with_match_keys() -> None:
    assert_good_rows(parse(GOOD))


def test_utf8_with_bom_is_the_same() -> None:
    assert_good_rows(parse_supplier_csv(data=b"\xef\xbb\xbf" + GOOD.encode(), existing_keys=set()))


def test_semicolons_from_european_excel() -> None:
    text = GOOD.replace(",", ";").replace("Brass & Co. Limited", '"Brass & Co. Limited"')
    assert_good_rows(parse(text))


def test_semicolon_file_keeps_commas_inside_cells() -> None:
    preview = parse("name;contact_email\r\nSmith, Jones & Co;info@smithjones.example\r\n")
    assert [row.name for row in preview.valid] == ["Smith, Jones & Co"]


def test_tab_separated() -> None:
    assert_good_rows(parse(GOOD.replace(",", "\t")))


def test_excel_sep_line_sets_the_delimiter_and_is_not_a_line() -> None:
    text = "sep=;\r\nname;contact_email\r\nAcme, Ltd;a@acme.example\r\n"
    preview = parse(text)
    assert [(row.line, row.name) for row in preview.valid] == [(2, "Acme, Ltd")]


def test_aliases_any_case_and_any_order() -> None:
    text = (
        " Country ,Company No.,E-mail,Contact,Supplier Name\n"
        "gb,01234567, Jane.Smith@Acme-Components.co.uk ,Jane Smith,Acme Components Ltd\n"
        ",,bob@brass.example,Bob Brown,Brass & Co. Limited\n"
        "DE,hrb 12345,clara@cogs.example,Clara Vogel,Cogs GmbH\n"
    )
    assert_good_rows(parse(text))


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("email", "contact_email"),
        ("Contact Email", "contact_email"),
        ("EMAIL ADDRESS", "contact_email"),
        ("supplier name", "name"),
        ("Company", "name"),
        ("company number", "company_number"),
        ("Company_No", "company_number"),
        ("country code", "country"),
        ("contact name", "contact_name"),
    ],
)
def test_each_alias(header: str, column: str) -> None:
    values = {"name": "Acme", "contact_email": "a@acme.example", "company_number": "01234567", "country": "FR"}
    values["contact_name"] = "Ann"
    others = [c for c in ("name", "contact_email") if c != column]
    cells = [values[c] for c in others] + [values[column]]
    preview = parse(",".join([*others, header]) + "\n" + ",".join(cells) + "\n")
    assert preview.ok and preview.errors == []
    assert getattr(preview.valid[0], column) == values[column]


def test_optional_columns_may_be_left_out() -> None:
    preview = parse("name,contact_email\nAcme,a@acme.example\n")
    assert preview.valid[0].contact_name == "" and preview.valid[0].company_number == ""
    assert preview.valid[0].country == "GB"


def test_blank_lines_are_not_rows_but_keep_their_line_numbers() -> None:
    text = "name,contact_email\r\n\r\nAcme,a@acme.example\r\n,\r\n  ,  \r\nBrass,bob@\r\n\r\n"
    preview = parse(text)
    assert preview.total_rows == 2
    assert [row.line for row in preview.valid] == [3]
    assert preview.errors == [RowError(line=6, reason="“bob@” is not a valid email address")]


def test_line_numbers_count_a_quoted_multi_line_cell_as_one_row() -> None:
    text = 'name,contact_name,contact_email\n"Acme\nComponents",Ann,a@acme.example\nBrass,,\n'
    preview = parse(text)
    # A name on two lines is refused (it would break the invitation email's subject), by its row.
    assert preview.errors == [
        RowError(line=2, reason="Name must be on one line: remove the line breaks"),
        RowError(line=3, reason="Missing email address"),
    ]


def test_template_is_header_plus_two_example_rows_that_are_not_imported() -> None:
    lines = TEMPLATE_CSV.splitlines()
    assert len(lines) == 3 and lines[0] == ",".join(COLUMNS)
    preview = parse(TEMPLATE_CSV)
    assert preview.ok and preview.valid == [] and [error.line for error in preview.errors] == [2, 3]
    assert preview.errors[0].reason.startswith("This is an example row from the template")


def test_template_with_users_own_rows_added() -> None:
    preview = parse(TEMPLATE_CSV + "Acme,Ann,a@acme.example,,\r\n")
    assert [row.name for row in preview.valid] == ["Acme"] and len(preview.errors) == 2


def test_a_real_supplier_sharing_an_example_company_number_is_not_an_example() -> None:
    preview = parse("name,contact_email,company_number\nReal Co,real@real.example,01234567\n")
    assert [row.match_key for row in preview.valid] == ["cn:01234567"]


# --- Whole-file problems ----------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", b"\xef\xbb\xbf", b",,,\r\n;;\r\n"])
def test_empty_file(data: bytes) -> None:
    preview = parse_supplier_csv(data=data, existing_keys=set())
    assert not preview.ok and preview.file_errors[0].startswith("The file is empty.")
    assert preview.valid == [] and preview.errors == [] and preview.total_rows == 0


def test_header_only() -> None:
    preview = parse("name,contact_name,contact_email,company_number,country\r\n\r\n")
    assert preview.file_errors == ["The file has column names but no suppliers under them."]


def test_windows_1252_is_refused_with_save_as_advice() -> None:
    text = "name,contact_email\r\nMüller GmbH,info@mueller.example\r\n"
    preview = parse(text, encoding="cp1252")
    assert preview.file_errors == [NOT_UTF8] and preview.valid == [] and preview.errors == []


def test_latin_1_is_refused_too() -> None:
    assert parse("name,contact_email\nCafé Façade,c@cafe.example\n", encoding="latin-1").file_errors == [NOT_UTF8]


def test_utf16_from_excel_unicode_text_is_an_encoding_problem_not_binary() -> None:
    preview = parse("name\tcontact_email\r\nAcme\ta@acme.example\r\n", encoding="utf-16")
    assert preview.file_errors == [NOT_UTF8]


def test_nul_bytes_are_binary() -> None:
    preview = parse_supplier_csv(data=b"name,contact_email\r\nAc\x00me,a@acme.example\r\n", existing_keys=set())
    assert len(preview.file_errors) == 1 and "binary data" in preview.file_errors[0]


def test_an_excel_workbook_is_named_as_such() -> None:
    preview = parse_supplier_csv(data=b"PK\x03\x04\x14\x00\x06\x00rest-of-zip", existing_keys=set())
    assert preview.file_errors[0].startswith("The file is an Excel workbook, not a CSV file.")


def test_too_large() -> None:
    data = supplier_lines(1).encode() + b" " * MAX_BYTES
    preview = parse_supplier_csv(data=data, existing_keys=set())
    assert len(preview.file_errors) == 1 and "larger than 5 MB" in preview.file_errors[0]


def test_one_row_too_many() -> None:
    preview = parse(supplier_lines(MAX_ROWS + 1))
    assert preview.file_errors == ["The file has 10,001 rows; import at most 10,000 at a time."]
    assert preview.valid == [] and preview.errors == [] and preview.total_rows == 10_001


def test_exactly_the_maximum_is_fine() -> None:
    preview = parse(supplier_lines(MAX_ROWS))
    assert preview.ok and preview.errors == [] and len(preview.valid) == MAX_ROWS == preview.total_rows
    assert preview.valid[-1].line == MAX_ROWS + 1


def test_unknown_column() -> None:
    preview = parse("name,contact_email,phone\nAcme,a@acme.example,0123\n")
    assert preview.file_errors == [f"Unknown column “phone”: remove it or rename it to one of {COLUMN_LIST}."]
    assert preview.valid == []


@pytest.mark.parametrize("missing", REQUIRED)
def test_missing_required_column(missing: str) -> None:
    header = [column for column in COLUMNS if column != missing]
    preview = parse(",".join(header) + "\n" + ",".join("x" for _ in header) + "\n")
    assert preview.file_errors == [
        f"The file has no “{missing}” column. Use the template’s column names: {COLUMN_LIST}."
    ]


def test_missing_and_unknown_are_reported_together() -> None:
    preview = parse("name,mail\nAcme,a@acme.example\n")
    assert preview.file_errors == [
        f"The file has no “contact_email” column. Use the template’s column names: {COLUMN_LIST}.",
        f"Unknown column “mail”: remove it or rename it to one of {COLUMN_LIST}.",
    ]


def test_the_same_column_twice() -> None:
    preview = parse("name,email,contact_email\nAcme,a@acme.example,a@acme.example\n")
    assert preview.file_errors == ["The columns “email” and “contact_email” are the same column; keep only one."]


def test_no_header_row_at_all() -> None:
    preview = parse("Acme Ltd,a@acme.example\nBrass Ltd,b@brass.example\n")
    assert preview.file_errors == [
        f"The first row must hold the column names: {COLUMN_LIST}. Download the template to see the layout."
    ]


def test_columns_without_a_name_are_ignored() -> None:
    preview = parse("name,contact_email,,\nAcme,a@acme.example,,\n")
    assert [row.name for row in preview.valid] == ["Acme"]


def test_a_quote_that_is_never_closed() -> None:
    text = 'name,contact_email\nAcme,a@acme.example\n"Brass,b@brass.example\nCogs,c@cogs.example\n'
    preview = parse(text)
    assert len(preview.file_errors) == 1
    assert preview.file_errors[0].startswith("A quotation mark on line 3 is never closed")


def test_stray_quotes_inside_a_cell_are_just_text() -> None:
    text = 'name,contact_email\nBob "The Builder" Ltd,bob@builder.example\n"Quoted ""Name""",q@q.example\n'
    preview = parse(text)
    assert [row.name for row in preview.valid] == ['Bob "The Builder" Ltd', 'Quoted "Name"']


# --- Row problems -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (",Ann,a@acme.example,,", "Missing name"),
        ("Acme,Ann,,,", "Missing email address"),
        ("Acme,Ann,  ,,", "Missing email address"),
        ("Acme,Ann,bob@,,", "“bob@” is not a valid email address"),
        ("Acme,Ann,Bob Smith <bob@acme.example>,,", "“Bob Smith <bob@acme.example>” is not a valid email address"),
        ("Acme,Ann,a@acme.example,,Germany", "Country must be a two-letter code like GB or DE"),
        ("Acme,Ann,a@acme.example,,G", "Country must be a two-letter code like GB or DE"),
        ("Acme,Ann,a@acme.example,,G1", "Country must be a two-letter code like GB or DE"),
        ("Acme,Ann,a@acme.example,12345,GB", "Company number “12345” must be 6 to 10 letters or digits"),
        ("Acme,Ann,a@acme.example,12345678901,GB", "Company number “12345678901” must be 6 to 10 letters or digits"),
        ("Acme,Ann,a@acme.example,12-345-678,GB", "Company number “12-345-678” must be 6 to 10 letters or digits"),
        ("A" * 201 + ",Ann,a@acme.example,,", "Name is longer than 200 characters"),
        ("Acme," + "A" * 201 + ",a@acme.example,,", "Contact name is longer than 200 characters"),
        ("Acme,Ann,a@" + "a" * 200 + ".example,,", "Email address is longer than 200 characters"),
        (
            "Acme,Ann,a@acme.example,,GB,extra",
            "This row has more cells than there are columns; put quotes around any value that contains a comma",
        ),
    ],
)
def test_each_row_error_with_its_line_number(row: str, reason: str) -> None:
    text = "name,contact_name,contact_email,company_number,country\nGood Ltd,,good@good.example,,\n\n" + row + "\n"
    preview = parse(text)
    assert preview.ok and [r.name for r in preview.valid] == ["Good Ltd"] and preview.total_rows == 2
    assert preview.errors == [RowError(line=4, reason=reason)]


def test_a_name_of_exactly_200_characters_is_fine() -> None:
    preview = parse(f"name,contact_email\n{'A' * 200},a@acme.example\n")
    assert preview.valid[0].name == "A" * 200


def test_several_problems_on_one_row_are_listed_together() -> None:
    error = single_error(parse("name,contact_email,country\n,bob@,Germany\n"))
    assert error == RowError(
        line=2,
        reason="Missing name; “bob@” is not a valid email address; Country must be a two-letter code like GB or DE",
    )


def test_country_is_upper_cased_defaults_to_gb_and_uk_means_gb() -> None:
    text = "name,contact_email,country\nA,a@a.example,fr\nB,b@b.example,\nC,c@c.example,UK\nD,d@d.example, uk \n"
    assert [row.country for row in parse(text).valid] == ["FR", "GB", "GB", "GB"]


def test_every_row_error_is_listed_not_just_the_first() -> None:
    text = "name,contact_email\n" + "".join(f"Supplier {i},\n" for i in range(50))
    preview = parse(text)
    assert [error.line for error in preview.errors] == list(range(2, 52))


# --- Duplicates and re-imports ----------------------------------------------------------------------


def test_duplicate_company_number_within_the_file() -> None:
    text = (
        "name,contact_email,company_number\n"
        "Acme,a@acme.example,01234567\n"
        "Brass,b@brass.example,\n"
        "Cogs,c@cogs.example,\n"
        "Acme Components,sales@acme.example,0123 4567\n"
    )
    preview = parse(text)
    assert [row.line for row in preview.valid] == [2, 3, 4]
    assert preview.errors == [RowError(line=5, reason="Duplicate of line 2 (same company number 01234567)")]


def test_duplicate_domain_and_name_within_the_file() -> None:
    text = "name,contact_email\nAcme Ltd,ann@acme.example\nACME Limited.,bob@ACME.example\nAcme,ann@other.example\n"
    preview = parse(text)
    assert [row.line for row in preview.valid] == [2, 4]
    assert preview.errors == [RowError(line=3, reason="Duplicate of line 2 (same email domain and name)")]


def test_an_invalid_row_does_not_count_as_the_first_of_a_duplicate() -> None:
    text = "name,contact_email,country\nAcme,a@acme.example,Germany\nAcme,a@acme.example,DE\n"
    preview = parse(text)
    assert [row.line for row in preview.valid] == [3] and [error.line for error in preview.errors] == [2]


def test_rows_already_in_the_register_are_skipped_not_errors() -> None:
    existing = {"cn:01234567", "dn:brass.example|brass co"}
    preview = parse(GOOD, existing)
    assert [row.line for row in preview.valid] == [4] and preview.errors == []
    assert preview.skipped == [
        RowError(line=2, reason="Already in your register (same company number 01234567)"),
        RowError(line=3, reason="Already in your register (same email domain and name)"),
    ]
    assert preview.total_rows == 3


def test_reimporting_the_same_file_creates_nothing() -> None:
    first = parse(GOOD)
    register = {row.match_key for row in first.valid}
    second = parse(GOOD, register)
    assert second.ok and second.valid == [] and second.errors == []
    assert [skip.line for skip in second.skipped] == [2, 3, 4]


def test_reimport_of_the_same_suppliers_saved_by_excel_in_another_shape() -> None:
    register = {row.match_key for row in parse(GOOD).valid}
    reshaped = GOOD.replace(",", ";").replace("Acme Components Ltd", "ACME COMPONENTS LIMITED")
    assert parse(reshaped, register).valid == []


def test_existing_keys_may_be_a_frozenset() -> None:
    preview = parse_supplier_csv(data=GOOD.encode(), existing_keys=frozenset({"cn:HRB12345"}))
    assert [skip.line for skip in preview.skipped] == [4]


# --- Match keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Acme Components Ltd", "acme components"),
        ("ACME COMPONENTS LIMITED", "acme components"),
        ("Acme  Components Ltd.", "acme components"),
        ("Acme-Components (UK) Ltd", "acme components uk"),
        ("A.B.C. Plastics PLC", "abc plastics"),
        ("O’Brien & Sons LLP", "obrien sons"),
        ("Widgets, Inc.", "widgets"),
        ("Müller GmbH", "müller gmbh"),
        ("Limited", "limited"),
        ("", ""),
    ],
)
def test_normalise_name(name: str, expected: str) -> None:
    assert normalise_name(name) == expected


def test_match_key_prefers_the_company_number() -> None:
    assert match_key(name="Acme", email="a@acme.example", company_number=" sc 123456 ") == "cn:SC123456"
    assert match_key(name="Acme Ltd", email=" Ann@Acme.Example ", company_number="") == "dn:acme.example|acme"


# --- Formulas and export ----------------------------------------------------------------------------

HYPERLINK = '=HYPERLINK("http://evil.example","Click me")'


def test_formula_looking_name_is_imported_as_text_and_neutralised_on_export() -> None:
    cell = '"' + HYPERLINK.replace('"', '""') + '"'
    preview = parse(f"name,contact_email\n{cell},x@evil.example\n")
    assert preview.valid[0].name == HYPERLINK

    exported = write_csv(header=["name"], rows=[[row.name] for row in preview.valid])
    cells = list(csv.reader(io.StringIO(exported.removeprefix("\ufeff"), newline="")))
    assert cells == [["name"], ["'" + HYPERLINK]]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Acme Ltd", "Acme Ltd"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (42, "42"),
        (-5, "-5"),
        (Decimal("-1.50"), "-1.50"),
        (True, "True"),
    ],
)
def test_csv_safe(value: object, expected: str) -> None:
    assert csv_safe(value) == expected


def test_write_csv_starts_with_bom_and_round_trips() -> None:
    rows = [
        ["Acme, Ltd", 'Say "hi"', "line one\nline two", None, 3],
        ["=cmd|' /C calc'!A0", "-1", "+1", "@x", "\tx"],
    ]
    text = write_csv(header=["a", "b", "c", "d", "e"], rows=iter(rows))
    assert text.startswith("\ufeff") and not text.startswith("\ufeff\ufeff")
    assert list(csv.reader(io.StringIO(text[1:], newline=""))) == [
        ["a", "b", "c", "d", "e"],
        ["Acme, Ltd", 'Say "hi"', "line one\nline two", "", "3"],
        ["'=cmd|' /C calc'!A0", "'-1", "'+1", "'@x", "'\tx"],
    ]


def test_header_cells_are_neutralised_too() -> None:
    assert write_csv(header=["=x"], rows=[]) == "\ufeff'=x\r\n"


def test_an_export_reads_back_in_as_an_import() -> None:
    register = parse(GOOD).valid
    exported = write_csv(
        header=list(COLUMNS),
        rows=([r.name, r.contact_name, r.contact_email, r.company_number, r.country] for r in register),
    )
    again = parse_supplier_csv(data=exported.encode(), existing_keys=set())
    assert [row.match_key for row in again.valid] == [row.match_key for row in register]
