"""The technology register as CSV (assessments/technology_csv.py and its pages): import is all or
nothing, each refused row named by line and column; an export imports back unchanged; formulas in an
export are shown as text; the pages answer each role as portal/roles.py says."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from assessments import technology_csv
from assessments.models import TechnologySystem
from portal.models import AuditEvent
from portal.roles import Role
from tests.assessments.test_technology import agreement_in_force, register
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

HEADER = ",".join(technology_csv.COLUMNS)


def systems_of(tenant) -> dict[str, TechnologySystem]:
    with scopes_disabled():
        return {s.name: s for s in TechnologySystem.objects.filter(organisation=tenant.organisation)}


def run(tenant, text: str) -> technology_csv.ImportResult:
    return technology_csv.import_register(organisation=tenant.organisation, actor=tenant.manager, data=text.encode())


def problems(result: technology_csv.ImportResult) -> set[tuple[int, str]]:
    return {(e.line, column) for e in result.errors for column, _message in e.problems}


def test_a_file_with_bad_rows_saves_nothing_and_names_each_row_and_column(tenant) -> None:
    existing = register(tenant, name="Badge scanner", status="planned")
    text = (
        f"{HEADER}\n"
        "Rota app,Rota Ltd,Shifts,Sheffield,Assembly,2026-02-30,live,Availability,yes,allocation,,\n"
        "Badge scanner,,,,,,someday,,no,,,\n"
        "Wearables,,,,,,planned,,maybe,pay,,\n"
        "ROTA APP,,,,,,live,,,,,\n"
        "Good row,,,,,2026-09-01,piloting,,,,,\n"
    )
    result = run(tenant, text)
    assert not result.ok and result.total_rows == 5
    assert problems(result) == {
        (2, "go_live_on"),
        (3, "status"),
        (4, "monitors_people"),
        (4, "decisions"),
        (5, "name"),
    }
    by_line = {e.line: e for e in result.errors}
    assert "2026-02-30" in by_line[2].reason and "YYYY-MM-DD" in by_line[2].reason
    assert "someday" in by_line[3].reason
    assert "line 2" in by_line[5].reason
    # Nothing saved: not the good row, not a change to the existing system.
    assert set(systems_of(tenant)) == {"Badge scanner"}
    assert systems_of(tenant)["Badge scanner"].updated_at == existing.updated_at


def test_the_services_rules_refuse_a_row_and_undo_the_rows_before_it(tenant) -> None:
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    text = f"name,notice_given_on,committee_met_on\nFirst,,\nSecond,{tomorrow},\nThird,,2026-01-01\n"
    result = run(tenant, text)
    assert problems(result) == {(3, "notice_given_on"), (4, "committee_met_on")}
    assert systems_of(tenant) == {}
    assert result.created == 0


def test_the_file_itself_is_checked(tenant) -> None:
    for data, words in (
        (b"", "empty"),
        (b"colour,name\nred,A\n", "Unknown column"),
        (b"supplier\nAcme\n", "no “name” column"),
        (b"name\n", "no systems"),
        (b"PK\x03\x04rest", "Excel workbook"),
        (b"name\n" + b"x" * (technology_csv.MAX_BYTES + 1), "larger than"),
    ):
        result = technology_csv.import_register(organisation=tenant.organisation, actor=tenant.manager, data=data)
        assert result.file_errors and words in " ".join(result.file_errors), (data[:20], result.file_errors)


def test_rows_create_or_update_by_name_through_the_services(tenant) -> None:
    agreement_in_force(tenant)
    register(tenant, name="Badge scanner", supplier_name="Old supplier", purpose="Keeps its purpose")
    notice = (timezone.localdate() - timedelta(days=5)).isoformat()
    text = (
        "name;supplier;decisions;monitors_people;notice_given_on\n"
        "badge scanner;New supplier;discipline, hiring;Yes;\n"
        f"Rota app;Rota Ltd;Allocation of work;no;{notice}\n"
    )
    result = run(tenant, text)
    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    found = systems_of(tenant)
    badge, rota = found["badge scanner"], found["Rota app"]
    assert badge.supplier_name == "New supplier" and badge.purpose == "Keeps its purpose"  # no purpose column
    assert badge.decisions == ["discipline", "hiring"] and badge.monitors_people is True
    assert rota.status == "planned" and rota.decisions == ["allocation"]
    assert rota.notice_given_on.isoformat() == notice and rota.attention == "meeting"  # the clocks followed
    with scopes_disabled():
        recorded = set(AuditEvent.objects.filter(organisation=tenant.organisation).values_list("verb", flat=True))
    assert {"technology.system_registered", "technology.system_changed", "technology.notice_recorded"} <= recorded


def test_export_imports_back_unchanged(tenant) -> None:
    today = timezone.localdate()
    register(
        tenant,
        name="Rota app",
        supplier_name="Rota, Ltd",
        purpose="Offers shifts\nby skill",
        go_live_on=today + timedelta(days=200),
        status="piloting",
        decisions=["allocation", "hiring"],
    )
    register(tenant, name='=HYPERLINK("http://x")', worker_data="-5 readings", monitors_people=False, decisions=[])
    with scopes_disabled():
        system = TechnologySystem.objects.get(name="Rota app")
    from assessments import technology

    technology.notice_record(
        system=system, actor=tenant.manager, notice_given_on=today - timedelta(days=3), committee_met_on=today
    )
    before = {name: technology_csv_state(s) for name, s in systems_of(tenant).items()}

    exported = technology_csv.export_csv(tenant.organisation)
    result = technology_csv.import_register(
        organisation=tenant.organisation, actor=tenant.manager, data=exported.encode("utf-8")
    )
    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert {name: technology_csv_state(s) for name, s in systems_of(tenant).items()} == before

    # Into an empty register, the same file registers the same systems.
    with scopes_disabled():
        TechnologySystem.objects.filter(organisation=tenant.organisation).delete()
    result = technology_csv.import_register(
        organisation=tenant.organisation, actor=tenant.manager, data=exported.encode("utf-8")
    )
    assert result.ok and result.created == 2
    assert {name: technology_csv_state(s) for name, s in systems_of(tenant).items()} == before


def technology_csv_state(system: TechnologySystem) -> tuple:
    from assessments import technology

    return (
        *(getattr(system, name) for name in technology.SYSTEM_FIELDS),
        system.notice_given_on,
        system.committee_met_on,
    )


def test_export_shows_formulas_as_text(tenant) -> None:
    register(tenant, name="=cmd|' /C calc'!A0", supplier_name="+44 supplier", purpose="@SUM(A1)", sites="-1+1")
    text = technology_csv.export_csv(tenant.organisation)
    assert text.startswith("\ufeff")
    (header, row) = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert header == list(technology_csv.COLUMNS)
    values = dict(zip(header, row, strict=True))
    assert values["name"] == "'=cmd|' /C calc'!A0"
    assert values["supplier"] == "'+44 supplier" and values["purpose"] == "'@SUM(A1)" and values["sites"] == "'-1+1"
    assert values["monitors_people"] == "yes" and values["decisions"] == "performance"


# --- the pages -------------------------------------------------------------------------------------


def import_url(tenant) -> str:
    return reverse("assessments:technology_import", kwargs={"org_slug": tenant.organisation.slug})


def export_url(tenant) -> str:
    return reverse("assessments:technology_export", kwargs={"org_slug": tenant.organisation.slug})


def test_the_import_page_shows_every_row_error_and_saves_nothing(tenant) -> None:
    client = client_for(tenant.manager)
    assert client.get(import_url(tenant)).status_code == 200
    upload = SimpleUploadedFile("register.csv", b"name,go_live_on,status\nRota app,31/12/2026,live\nA,,soon\n")
    response = client.post(import_url(tenant), {"file": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert "31/12/2026" in page and "soon" in page and "go_live_on" in page
    assert systems_of(tenant) == {}

    upload = SimpleUploadedFile("register.csv", b"name,status\nRota app,live\n")
    response = client.post(import_url(tenant), {"file": upload})
    assert response.status_code == 302
    assert response["Location"] == reverse("assessments:technology", kwargs={"org_slug": tenant.organisation.slug})
    assert systems_of(tenant)["Rota app"].status == "live"

    response = client.post(import_url(tenant), {"file": SimpleUploadedFile("x.csv", b"colour\nred\n")})
    assert response.status_code == 200 and "Unknown column" in response.content.decode()
    assert client.post(import_url(tenant), {}).status_code == 200  # no file: the form says so


@pytest.mark.parametrize(
    ("role", "import_status", "export_status"),
    [
        (Role.OWNER, 200, 200),
        (Role.MANAGER, 200, 200),
        (Role.WORKFORCE_REP, 403, 200),
        (Role.AUDITOR, 403, 200),
        (Role.MEMBER, 403, 200),
    ],
)
def test_the_pages_for_each_role(tenant, role, import_status, export_status) -> None:
    register(tenant, name="Rota app")
    client = client_for(tenant.user(role))
    assert client.get(import_url(tenant)).status_code == import_status
    upload = SimpleUploadedFile("register.csv", b"name\nNew one\n")
    assert client.post(import_url(tenant), {"file": upload}).status_code == (302 if import_status == 200 else 403)
    response = client.get(export_url(tenant))
    assert response.status_code == export_status
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert "Rota app" in response.content.decode()


def test_the_pages_are_404_to_another_organisation(tenant, outsider) -> None:
    client = client_for(outsider)
    assert client.get(import_url(tenant)).status_code == 404
    assert client.post(import_url(tenant), {"file": SimpleUploadedFile("r.csv", b"name\nX\n")}).status_code == 404
    assert client.get(export_url(tenant)).status_code == 404
    assert systems_of(tenant) == {}
