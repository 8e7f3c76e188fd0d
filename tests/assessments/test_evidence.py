"""The evidence library through the browser's eyes: uploads checked by content, private downloads,
no deletion of what submitted work cites."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scope

from assessments import services
from assessments.models import Assessment, AssessmentStatus, Citation, Evidence
from portal.roles import Role
from tests.assessments.conftest import PDF, responses_by_code
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _png() -> bytes:
    """A real 1x1 PNG."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def _post(client, slug, name, content, content_type="application/pdf", **extra):
    data = {
        "file": SimpleUploadedFile(name, content, content_type=content_type),
        "description": "Board minutes",
        "effective_date": "2026-03-04",
        "expiry_date": "",
        **extra,
    }
    return client.post(f"/o/{slug}/evidence/new/", data)


def _stored_files(settings) -> list[Path]:
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_pdf_is_stored_privately_under_a_random_name_with_its_hash(tenant, settings) -> None:
    client = client_for(tenant.manager)
    response = _post(client, tenant.organisation.slug, "Board minutes.pdf", PDF)
    assert response.status_code == 302
    with scope(organisation=tenant.organisation):
        evidence = Evidence.objects.get()
    assert evidence.sha256 == hashlib.sha256(PDF).hexdigest()
    assert evidence.content_type == "application/pdf" and evidence.original_name == "Board minutes.pdf"
    assert "Board minutes" not in evidence.file.name and evidence.file.name.startswith(
        f"evidence/{tenant.organisation.pk}/"
    )
    files = _stored_files(settings)
    assert len(files) == 1 and files[0].read_bytes() == PDF
    assert not str(files[0]).startswith(str(settings.STATIC_ROOT))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.pdf", b"", "The selected file is empty. Choose a file that has something in it."),
        ("page.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "web page or a script"),
        (
            "drawing.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "web page or a script",
        ),
        (
            "program.pdf",
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64,
            "must be a PDF, PNG",
        ),
        ("photo.pdf", "png", "ends in .pdf"),
        ("archive.zip", b"PK\x03\x04" + b"\x00" * 40, "must be a PDF, PNG"),
    ],
)
def test_bad_uploads_are_refused_at_the_field_and_nothing_is_stored(tenant, settings, name, content, message) -> None:
    if content == "png":
        content = _png()
    response = _post(client_for(tenant.manager), tenant.organisation.slug, name, content)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error:" in html and 'href="#id_file"' in html
    assert message in html.replace("&#x27;", "'").replace("’", "'")
    assert 'value="Board minutes"' in html  # the description typed is kept
    with scope(organisation=tenant.organisation):
        assert not Evidence.objects.exists()
    assert _stored_files(settings) == []


def test_oversize_upload_is_refused_with_the_limit(tenant, settings) -> None:
    settings.EVIDENCE_MAX_BYTES = 2048
    response = _post(client_for(tenant.manager), tenant.organisation.slug, "big.pdf", PDF + b"0" * 4096)
    assert "The file must be smaller than 2 KB" in response.content.decode()
    assert _stored_files(settings) == []


def test_expiry_before_effective_date_is_refused(tenant) -> None:
    response = _post(client_for(tenant.manager), tenant.organisation.slug, "a.pdf", PDF, expiry_date="2026-01-01")
    assert "The expiry date must be on or after the effective date" in response.content.decode()


def test_download_is_a_private_attachment_for_members_only(tenant, outsider) -> None:
    evidence = services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name="minutes.pdf",
        description="Minutes",
        effective_date=timezone.localdate(),
        expiry_date=None,
    )
    url = f"/o/{tenant.organisation.slug}/evidence/{evidence.pk}/download/"
    response = client_for(tenant.rep).get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="minutes.pdf"')
    assert response["X-Content-Type-Options"] == "nosniff" and response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == PDF
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(tenant.auditor).get(url).status_code == 404  # not cited by any final work


def test_evidence_cited_by_submitted_work_cannot_be_deleted(tenant, assessment) -> None:
    evidence = services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name="cited.pdf",
        description="Cited",
        effective_date=timezone.localdate(),
        expiry_date=None,
    )
    services.response_save(
        response=responses_by_code(assessment)["1.1"],
        actor=tenant.manager,
        maturity=3,
        narrative="",
        evidence_ids=[evidence.pk],
    )
    client = client_for(tenant.manager)
    url = f"/o/{tenant.organisation.slug}/evidence/{evidence.pk}/delete/"
    assert "removed from the 1 criterion that cites it" in client.get(url).content.decode()
    with scope(organisation=tenant.organisation):
        Assessment.objects.filter(pk=assessment.pk).update(status=AssessmentStatus.IN_REVIEW)
    page = client.get(url).content.decode()
    assert "It cannot be deleted" in page and "Self-assessment 2026" in page
    response = client.post(url)
    assert response.status_code == 400
    with scope(organisation=tenant.organisation):
        assert Evidence.objects.filter(pk=evidence.pk).exists()


def test_deleting_uncited_or_draft_cited_evidence_removes_file_and_citations(
    tenant, assessment, settings, django_capture_on_commit_callbacks
) -> None:
    evidence = services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(PDF),
        name="draft.pdf",
        description="Draft",
        effective_date=timezone.localdate(),
        expiry_date=None,
    )
    services.response_save(
        response=responses_by_code(assessment)["1.1"],
        actor=tenant.manager,
        maturity=1,
        narrative="",
        evidence_ids=[evidence.pk],
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(tenant.manager).post(f"/o/{tenant.organisation.slug}/evidence/{evidence.pk}/delete/")
    assert response.status_code == 302
    with scope(organisation=tenant.organisation):
        assert not Evidence.objects.exists() and not Citation.objects.exists()
    assert _stored_files(settings) == []


@pytest.mark.parametrize("role", [Role.WORKFORCE_REP, Role.MEMBER])
def test_only_owners_and_managers_upload_or_delete(tenant, role) -> None:
    client = client_for(tenant.user(role))
    slug = tenant.organisation.slug
    # Workforce reps browse the library; plain members do not (portal.roles: view_evidence_library).
    assert client.get(f"/o/{slug}/evidence/").status_code == (200 if role == Role.WORKFORCE_REP else 403)
    assert _post(client, slug, "a.pdf", PDF).status_code == 403


def test_library_search_and_pagination(tenant) -> None:
    for i in range(30):
        services.evidence_upload(
            organisation=tenant.organisation,
            actor=tenant.manager,
            file=io.BytesIO(PDF),
            name=f"file-{i:02d}.pdf",
            description="Training record" if i % 2 else "Minutes",
            effective_date=timezone.localdate(),
            expiry_date=None,
        )
    client = client_for(tenant.manager)
    slug = tenant.organisation.slug
    first = client.get(f"/o/{slug}/evidence/").content.decode()
    assert "30 files" in first and 'rel="next"' in first
    found = client.get(f"/o/{slug}/evidence/", {"q": "training"}).content.decode()
    assert "15 files" in found
    assert "No files match" in client.get(f"/o/{slug}/evidence/", {"q": "zzz"}).content.decode()


def test_upload_returns_to_the_criterion_it_came_from_but_never_elsewhere(tenant) -> None:
    client = client_for(tenant.manager)
    slug = tenant.organisation.slug
    back = f"/o/{slug}/assessments/x/principles/1/#criterion-1-1"
    data = {"file": SimpleUploadedFile("a.pdf", PDF), "description": "x", "effective_date": "2026-01-01"}
    assert client.post(f"/o/{slug}/evidence/new/?next={back.replace('#', '%23')}", data)["Location"] == back
    data["file"] = SimpleUploadedFile("b.pdf", PDF)
    evil = client.post(f"/o/{slug}/evidence/new/?next=https://evil.example/", data)
    assert evil["Location"] == f"/o/{slug}/evidence/"
