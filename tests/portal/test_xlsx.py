"""Spreadsheet exports and the supplier register's XLSX import (portal/xlsx.py and the pages using it).

Every workbook is read back with openpyxl: its header, values, frozen header row, column widths, real
dates, formula-like text stored as escaped strings, and the same rows as the CSV next to it; who may
download it; and the XLSX import's preview, refusals and round trip.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from openpyxl import Workbook, load_workbook

from assessments import services as assessment_services
from assessments.models import Assessment, AssessmentStatus
from portal.models import AuditEvent
from portal.roles import Role
from portal.xlsx import CONTENT_TYPE, MAX_WIDTH, Sheet, read_first_sheet, write_xlsx
from supplychain import services
from supplychain.csv_io import MAX_ROWS, parse_supplier_xlsx
from supplychain.models import Supplier
from tests.assessments.conftest import PDF, responses_by_code
from tests.assessments.test_technology import register as register_system
from tests.conftest import client_for
from tests.supplychain.test_cascade import Company, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def assessment(tenant, framework):
    return assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )


EVIL = '=HYPERLINK("http://evil.example","x")'


def book(response):
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == CONTENT_TYPE
    assert response["Content-Disposition"].startswith('attachment; filename="')
    assert response["Content-Disposition"].endswith('.xlsx"')
    return load_workbook(io.BytesIO(response.content))


def values(ws) -> list[list[object]]:
    return [list(row) for row in ws.iter_rows(values_only=True)]


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def assert_shape(ws) -> None:
    """Frozen, bold header; every column's width set and capped."""
    assert ws.freeze_panes == "A2"
    assert all(cell.font.bold for cell in ws[1])
    for index in range(1, ws.max_column + 1):
        width = ws.column_dimensions[chr(64 + index)].width
        assert width and 8 <= width <= MAX_WIDTH


def as_csv_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):  # openpyxl reads a date cell back as a datetime at midnight
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# --- the writer ------------------------------------------------------------------------------------


def test_the_writer_escapes_formulas_fits_widths_and_keeps_types() -> None:
    moment = datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
    data = write_xlsx(
        [
            Sheet(
                "Things: [all]",
                header=["text", "day", "moment", "number", "flag"],
                rows=[
                    [EVIL, date(2026, 1, 2), moment, -5, True],
                    ["+1", None, None, 2.5, False],
                    ["@SUM(A1)", None, None, None, None],
                    ["\tx", None, None, None, None],
                    ["x" * 500 + "\x01", None, None, None, None],
                ],
            ),
            Sheet("Things: [all]", header=["a"], rows=[]),
        ]
    )
    wb = load_workbook(io.BytesIO(data))
    assert [ws.title for ws in wb.worksheets] == ["Things all", "Things all (2)"]
    ws = wb.worksheets[0]
    assert_shape(ws)
    assert ws["A2"].value == "'" + EVIL and ws["A2"].data_type == "s"
    assert [ws[f"A{n}"].value for n in (3, 4, 5)] == ["'+1", "'@SUM(A1)", "'\tx"]
    assert all(ws[f"A{n}"].data_type == "s" for n in range(2, 7))
    assert ws["A6"].value == "x" * 500  # the control character Excel cannot hold is dropped
    assert ws.column_dimensions["A"].width == MAX_WIDTH
    assert ws["B2"].is_date and ws["B2"].value == datetime(2026, 1, 2)
    assert ws["C2"].is_date and ws["C2"].value == datetime(2026, 7, 1, 13, 30)  # UK summer time
    assert ws["D2"].value == -5 and ws["D3"].value == 2.5
    assert ws["E2"].value is True and ws["E2"].data_type == "b"


# --- supplier register -----------------------------------------------------------------------------


def _suppliers(tenant) -> None:
    for name, email, number in (
        ("Severn Plastics", "sam@severn.example", "01234567"),
        (EVIL, "eve@evil.example", ""),
        ("-Minus Ltd", "m@minus.example", ""),
    ):
        services.supplier_save(
            organisation=tenant.organisation,
            actor=tenant.manager,
            supplier=None,
            name=name,
            contact_name="Someone",
            contact_email=email,
            company_number=number,
            country="GB",
        )


def _register(tenant) -> list[str]:
    with scope(organisation=tenant.organisation):
        return sorted(Supplier.objects.filter(organisation=tenant.organisation).values_list("name", flat=True))


def test_the_supplier_register_xlsx_has_the_csv_rows(tenant, owner_client) -> None:
    _suppliers(tenant)
    base = f"/o/{tenant.organisation.slug}/supply-chain/suppliers/"
    from_csv = csv_rows(owner_client.get(base + "export.csv"))
    wb = book(owner_client.get(base + "export.xlsx"))
    ws = wb.worksheets[0]
    assert_shape(ws)
    rows = values(ws)
    assert rows[0] == ["name", "contact_name", "contact_email", "company_number", "country"]
    assert [[as_csv_text(v) for v in row] for row in rows] == from_csv
    evil = next(row for row in ws.iter_rows(min_row=2) if "evil" in row[2].value)
    assert evil[0].value == "'" + EVIL and evil[0].data_type == "s"
    page = owner_client.get(base).content.decode()
    assert "Download as CSV" in page and "Download as Excel (XLSX)" in page and "export.xlsx" in page


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.OWNER, 200), (Role.MANAGER, 200), (Role.WORKFORCE_REP, 200), (Role.AUDITOR, 403), (Role.MEMBER, 403)],
)
def test_the_supplier_downloads_follow_the_csv_permissions(tenant, role, status) -> None:
    client = client_for(tenant.user(role))
    base = f"/o/{tenant.organisation.slug}/supply-chain/suppliers/"
    for path in ("export.csv", "export.xlsx", "template.csv", "template.xlsx"):
        assert client.get(base + path).status_code == status, path


def test_other_tenants_get_404(tenant, outsider, assessment) -> None:
    client = client_for(outsider)
    slug = tenant.organisation.slug
    for path in (
        "supply-chain/suppliers/export.xlsx",
        "supply-chain/suppliers/template.xlsx",
        "technology/export.xlsx",
        "assessments/actions.xlsx",
        f"assessments/{assessment.pk}/export.xlsx",
        f"assessments/{assessment.pk}/actions.xlsx",
    ):
        assert client.get(f"/o/{slug}/{path}").status_code == 404, path
    # Nor through the outsider's own organisation with the tenant's ids.
    own = outsider.memberships.first().organisation.slug
    assert client.get(f"/o/{own}/assessments/{assessment.pk}/export.xlsx").status_code == 404


def test_the_template_xlsx_imports_as_the_csv_one_does(tenant, owner_client) -> None:
    wb = book(owner_client.get(f"/o/{tenant.organisation.slug}/supply-chain/suppliers/template.xlsx"))
    assert values(wb.worksheets[0])[0] == ["name", "contact_name", "contact_email", "company_number", "country"]


# --- the XLSX import -------------------------------------------------------------------------------


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _upload(client, tenant, content: bytes, name: str = "suppliers.xlsx"):
    return client.post(
        f"/o/{tenant.organisation.slug}/supply-chain/suppliers/import/",
        {"file": SimpleUploadedFile(name, content, content_type=CONTENT_TYPE)},
    )


def test_the_xlsx_import_previews_row_by_row_like_the_csv(tenant, owner_client) -> None:
    data = _xlsx(
        [
            ["Supplier name", "Email", "Company number", "Country"],
            ["Severn Plastics", "sam@severn.example", 1234567, "gb"],
            ["No Email Ltd", None, None, "GB"],
            [],
            ["Wolds Electrical", "wendy@wolds.example", None, None],
            ["Wolds Electrical Limited", "x@wolds.example", None, None],
            ["=1+1", "f@formula.example", None, None],
        ]
    )
    with scopes_disabled():
        preview = parse_supplier_xlsx(data=data, existing_keys=set())
    assert preview.ok and preview.total_rows == 5
    assert [(r.line, r.name, r.company_number, r.country) for r in preview.valid] == [
        (2, "Severn Plastics", "1234567", "GB"),
        (5, "Wolds Electrical", "", "GB"),
    ]
    # The formula openpyxl wrote was never calculated: it reads as empty, never run.
    assert [(e.line, e.reason) for e in preview.errors] == [
        (3, "Missing email address"),
        (6, "Duplicate of line 5 (same email domain and name)"),
        (7, "Missing name"),
    ]
    response = _upload(owner_client, tenant, data)
    assert response.status_code == 302
    page = owner_client.get(response["Location"]).content.decode()
    assert "Missing email address" in page and "Duplicate of line 5" in page
    assert _register(tenant) == []  # nothing saved before confirming
    owner_client.post(response["Location"])
    assert _register(tenant) == ["Severn Plastics", "Wolds Electrical"]


def test_text_that_looks_like_a_formula_is_imported_as_text(tenant) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["name", "contact_email"])
    ws.append(["placeholder", "eve@evil.example"])
    ws["A2"].value, ws["A2"].data_type = EVIL, "s"
    buffer = io.BytesIO()
    wb.save(buffer)
    preview = parse_supplier_xlsx(data=buffer.getvalue(), existing_keys=set())
    assert [r.name for r in preview.valid] == [EVIL]


def test_a_round_trip_through_xlsx_creates_no_duplicates(tenant, owner_client) -> None:
    _suppliers(tenant)
    before = _register(tenant)
    exported = owner_client.get(f"/o/{tenant.organisation.slug}/supply-chain/suppliers/export.xlsx").content
    response = _upload(owner_client, tenant, exported)
    assert response.status_code == 302
    page = owner_client.get(response["Location"]).content.decode()
    assert "Already in your register" in page
    owner_client.post(response["Location"])
    assert _register(tenant) == before


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"name,contact_email\n", "suppliers.xlsx", "it is not an Excel workbook"),
        (b"PK\x03\x04 not really a zip", "suppliers.xlsx", "damaged"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "suppliers.xlsx", "old-style Excel workbook (.xls)"),
    ],
)
def test_a_broken_file_is_refused_with_a_clear_message(tenant, owner_client, content, name, message) -> None:
    response = _upload(owner_client, tenant, content, name)
    assert response.status_code == 200
    page = response.content.decode().replace("&#x27;", "'").replace("’", "'")
    assert message.replace("’", "'") in page
    assert _register(tenant) == []


def test_a_zip_that_is_not_a_workbook_is_refused(tenant) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hello")
    preview = parse_supplier_xlsx(data=buffer.getvalue(), existing_keys=set())
    assert preview.file_errors and "not an Excel workbook this portal can read" in preview.file_errors[0]


def test_too_big_and_too_many_rows_are_refused(tenant) -> None:
    with pytest.raises(ValueError, match="larger than 1 MB"):
        read_first_sheet(b"PK\x03\x04" + b"\x00" * (1024 * 1024 + 1), max_bytes=1024 * 1024, max_rows=10)
    data = _xlsx([["name", "contact_email"]] + [[f"S{n}", f"s{n}@x.example"] for n in range(12)])
    with pytest.raises(ValueError, match="more than 10 rows"):
        read_first_sheet(data, max_bytes=10**6, max_rows=10)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/big.xml", b"0" * (101 * 1024 * 1024))
    with pytest.raises(ValueError, match="too much data"):
        read_first_sheet(bomb.getvalue(), max_bytes=10**7, max_rows=10)
    assert MAX_ROWS == 10_000


# --- campaign coverage -----------------------------------------------------------------------------


def test_the_coverage_xlsx_has_the_csv_rows_with_dates(framework) -> None:
    buyer, supplier, other = Company("Alpha"), Company("Bravo"), Company("Charlie")
    buyer.lists(supplier, other)
    campaign = start(buyer)
    supplier.accept(campaign)
    client = client_for(buyer.owner)
    base = f"/o/{buyer.org.slug}/supply-chain/campaigns/{campaign.pk}/"
    from_csv = csv_rows(client.get(base + "coverage.csv"))
    ws = book(client.get(base + "coverage.xlsx")).worksheets[0]
    assert_shape(ws)
    rows = values(ws)
    assert rows[0] == from_csv[0]
    answered = rows[0].index("answered_at")
    assert len(rows) == len(from_csv) == 3
    for got, expected in zip(rows[1:], from_csv[1:], strict=True):
        cell = got[answered]
        if expected[answered]:
            moment = datetime.fromisoformat(expected[answered])
            local = timezone.make_naive(moment, timezone.get_default_timezone()).replace(microsecond=0)
            assert cell == local
        else:
            assert cell is None
        others = [as_csv_text(v) for i, v in enumerate(got) if i != answered]
        assert others == [v for i, v in enumerate(expected) if i != answered]
    dated = [row for row in ws.iter_rows(min_row=2) if row[answered].value is not None]
    assert dated and all(row[answered].is_date for row in dated)
    page = client.get(base).content.decode()
    assert "coverage.csv" in page and "coverage.xlsx" in page
    # A supplier that forwarded nothing sees its own part only; outsiders and members are refused.
    assert (
        client_for(other.owner)
        .get(f"/o/{other.org.slug}/supply-chain/campaigns/{campaign.pk}/coverage.xlsx")
        .status_code
        == 404
    )


# --- technology register ---------------------------------------------------------------------------


def test_the_technology_register_xlsx_has_the_csv_rows_with_dates(tenant) -> None:
    today = timezone.localdate()
    register_system(tenant, name="Rota app", go_live_on=today + timedelta(days=10), status="piloting")
    register_system(tenant, name="=cmd|' /C calc'!A0", supplier_name="+44 supplier", monitors_people=False)
    client = client_for(tenant.manager)
    slug = tenant.organisation.slug
    from_csv = csv_rows(client.get(reverse("assessments:technology_export", kwargs={"org_slug": slug})))
    ws = book(client.get(reverse("assessments:technology_export_xlsx", kwargs={"org_slug": slug}))).worksheets[0]
    assert_shape(ws)
    rows = values(ws)
    assert [[as_csv_text(v) for v in row] for row in rows] == from_csv
    live = rows[0].index("go_live_on")
    rota = next(row for row in ws.iter_rows(min_row=2) if row[0].value == "Rota app")
    assert rota[live].is_date and rota[live].value.date() == today + timedelta(days=10)
    evil = next(row for row in ws.iter_rows(min_row=2) if row[0].value.startswith("'"))
    assert evil[0].value == "'=cmd|' /C calc'!A0" and evil[0].data_type == "s"
    assert evil[1].value == "'+44 supplier"
    assert evil[rows[0].index("monitors_people")].value == "no"
    page = client.get(reverse("assessments:technology", kwargs={"org_slug": slug})).content.decode()
    assert "Download as CSV" in page and "Download as Excel (XLSX)" in page


@pytest.mark.parametrize("role", list(Role))
def test_every_role_that_gets_the_technology_csv_gets_the_xlsx(tenant, role) -> None:
    register_system(tenant, name="Rota app")
    client = client_for(tenant.user(role))
    slug = tenant.organisation.slug
    csv_status = client.get(reverse("assessments:technology_export", kwargs={"org_slug": slug})).status_code
    xlsx = client.get(reverse("assessments:technology_export_xlsx", kwargs={"org_slug": slug}))
    assert xlsx.status_code == csv_status == 200
    if role == Role.AUDITOR:
        with scopes_disabled():
            labels = set(
                AuditEvent.objects.filter(organisation=tenant.organisation, verb="auditor.downloaded").values_list(
                    "target_label", flat=True
                )
            )
        assert labels == {"technology-register.csv", "technology-register.xlsx"}


# --- self-assessment and action plan ---------------------------------------------------------------


def _filled(tenant, assessment):
    evidence = assessment_services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name="training-log.pdf",
        description="Training log",
        effective_date=date(2026, 1, 5),
        expiry_date=None,
    )
    responses = responses_by_code(assessment)
    code = sorted(responses)[0]
    response = responses[code]
    assessment_services.response_save(
        response=response, actor=tenant.manager, maturity=3, narrative=EVIL, evidence_ids=[str(evidence.pk)]
    )
    item = assessment_services.action_item_create(
        response=response,
        actor=tenant.manager,
        title="Train the night shift",
        owner=tenant.rep,
        due_date=date(2026, 9, 1),
    )
    return code, evidence, item


def test_the_self_assessment_workbook_has_every_criterion(tenant, assessment) -> None:
    code, evidence, _item = _filled(tenant, assessment)
    client = client_for(tenant.member)
    slug = tenant.organisation.slug
    overview = client.get(reverse("assessments:overview", kwargs={"org_slug": slug, "assessment_id": assessment.pk}))
    assert "export.xlsx" in overview.content.decode() and "actions.xlsx" in overview.content.decode()
    wb = book(
        client.get(reverse("assessments:assessment_xlsx", kwargs={"org_slug": slug, "assessment_id": assessment.pk}))
    )
    assert [ws.title for ws in wb.worksheets] == ["Summary", "Criteria", "Evidence", "Actions"]
    for ws in wb.worksheets:
        assert_shape(ws)
    criteria = values(wb["Criteria"])
    assert criteria[0] == [
        "principle",
        "code",
        "criterion",
        "maturity_level",
        "maturity_label",
        "narrative",
        "evidence",
        "evidence_sha256",
        "actions",
    ]
    with scopes_disabled():
        total = assessment.responses.count()
    assert len(criteria) == total + 1
    row = next(r for r in criteria if r[1] == code)
    assert row[3] == 3 and row[4] == assessment.framework.maturity_label(3)
    assert row[5] == "'" + EVIL
    assert row[6] == "training-log.pdf" and row[7] == evidence.sha256
    assert "Train the night shift" in row[8] and "2026-09-01" in row[8]
    narrative_cell = next(c for c in wb["Criteria"]["F"] if c.value == "'" + EVIL)
    assert narrative_cell.data_type == "s"
    unanswered = next(r for r in criteria[1:] if r[1] != code)
    assert unanswered[3] is None and unanswered[4] == "Not answered"
    ev = values(wb["Evidence"])
    assert ev[1][:3] == [code, "training-log.pdf", evidence.sha256]
    assert wb["Evidence"]["D2"].is_date
    actions = values(wb["Actions"])
    assert actions[1][:3] == [code, "Train the night shift", tenant.rep.display_name]
    assert wb["Actions"]["D2"].is_date and actions[1][4] == "Not started"
    summary = dict(values(wb["Summary"])[1:])
    assert summary["Self-assessment"] == "Self-assessment 2026"
    assert wb["Summary"]["B5"].is_date


def test_the_action_plans(tenant, assessment) -> None:
    code, _evidence, _item = _filled(tenant, assessment)
    client = client_for(tenant.rep)
    slug = tenant.organisation.slug
    for url in (
        reverse("assessments:action_plan_xlsx", kwargs={"org_slug": slug}),
        reverse("assessments:assessment_actions_xlsx", kwargs={"org_slug": slug, "assessment_id": assessment.pk}),
    ):
        ws = book(client.get(url)).worksheets[0]
        assert_shape(ws)
        rows = values(ws)
        assert rows[0] == [
            "action",
            "owner",
            "due_date",
            "status",
            "overdue",
            "completed_on",
            "source",
            "source_title",
            "criterion",
        ]
        assert rows[1][:2] == ["Train the night shift", tenant.rep.display_name]
        assert ws["C2"].is_date and rows[1][3] == "Not started"
        assert rows[1][6:] == ["Self-assessment", "Self-assessment 2026", code]
    assert (
        "assessments/actions.xlsx"
        in client.get(reverse("assessments:list", kwargs={"org_slug": slug})).content.decode()
    )


def test_auditors_get_finalised_work_only(tenant, assessment) -> None:
    _filled(tenant, assessment)
    client = client_for(tenant.auditor)
    slug = tenant.organisation.slug
    urls = {
        "assessment": reverse("assessments:assessment_xlsx", kwargs={"org_slug": slug, "assessment_id": assessment.pk}),
        "actions": reverse(
            "assessments:assessment_actions_xlsx", kwargs={"org_slug": slug, "assessment_id": assessment.pk}
        ),
    }
    overview = reverse("assessments:overview", kwargs={"org_slug": slug, "assessment_id": assessment.pk})
    assert client.get(overview).status_code == 404
    for url in urls.values():
        assert client.get(url).status_code == 404
    plan = book(client.get(reverse("assessments:action_plan_xlsx", kwargs={"org_slug": slug}))).worksheets[0]
    assert values(plan)[1:] == []  # the draft's action is not theirs to see
    with scopes_disabled():
        Assessment.objects.filter(pk=assessment.pk).update(status=AssessmentStatus.FINAL)
    assert client.get(overview).status_code == 200
    for url in urls.values():
        book(client.get(url))
    plan = book(client.get(reverse("assessments:action_plan_xlsx", kwargs={"org_slug": slug}))).worksheets[0]
    assert [row[0] for row in values(plan)[1:]] == ["Train the night shift"]
    with scopes_disabled():
        downloads = AuditEvent.objects.filter(organisation=tenant.organisation, verb="auditor.downloaded").count()
    assert downloads == 4  # each download that answered 200
