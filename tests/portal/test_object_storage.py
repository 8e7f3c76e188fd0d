"""Object storage (issue 22 part 1): evidence, report PDFs and exports in an S3-compatible bucket.

Every test here runs against a real S3 server speaking HTTP: moto's server, started by the tests as a
process of its own on a free port on 127.0.0.1 (no in-process mock), one fresh bucket per test. The
portal is pointed at it the way production is, through PORTAL_STORAGE_URL and the AWS_* keys, parsed
by the settings' own code (portal/env.py env_storage).
"""

from __future__ import annotations

import hashlib
import io
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from datetime import date
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django_scopes import scope, scopes_disabled

from assessments import services as assessment_services
from assessments.models import Evidence
from portal.env import ImproperlyConfiguredEnv, env_storage
from portal.models import ExportStatus, OrganisationExport
from portal.storage import PrivateS3Storage
from reports.models import ReportStatus
from tests.api.conftest import make_token, token_client
from tests.conftest import client_for
from tests.reports.conftest import make_final, request_and_render
from tests.sample_files import pdf

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-2"
KEY, SECRET = "portal-test-key", "portal-test-secret"


# --- the S3 server: moto as its own process ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> str:
    """Start `moto_server` on a free port, wait until it answers S3 requests, stop it at the end."""
    moto_server = Path(sys.executable).with_name("moto_server")
    assert moto_server.exists(), f"{moto_server} is missing: install the dev dependencies (moto[server])"
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("moto") / "moto_server.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        client = _client(endpoint)
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited: {log_path.read_text(errors='replace')[-2000:]}")
            try:
                client.list_buckets()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


class Bucket:
    def __init__(self, endpoint: str, name: str, local: Path) -> None:
        self.endpoint = endpoint
        self.name = name
        self.local = local  # the test's own local folder, which the bucket replaces
        self.client = _client(endpoint)

    def objects(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def encryption(self, key: str) -> str | None:
        return self.client.head_object(Bucket=self.name, Key=key).get("ServerSideEncryption")

    def replace(self, key: str, content: bytes) -> None:
        """Someone with the bucket's keys changes a stored file behind the portal's back."""
        self.client.put_object(Bucket=self.name, Key=key, Body=content, ServerSideEncryption="AES256")

    def local_files(self) -> list[str]:
        if not self.local.exists():
            return []
        return sorted(p.relative_to(self.local).as_posix() for p in self.local.rglob("*") if p.is_file())


@pytest.fixture
def bucket(s3_server, settings, monkeypatch) -> Bucket:
    """A new empty bucket, and the portal's default storage switched to it through PORTAL_STORAGE_URL."""
    name = f"portal-{uuid.uuid4().hex[:16]}"
    local = Path(settings.STORAGES["default"]["OPTIONS"]["location"])  # the test's own folder (tests/conftest.py)
    result = Bucket(s3_server, name, local)
    result.client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    monkeypatch.setenv("PORTAL_STORAGE_URL", f"s3://{name}?endpoint_url={s3_server}&region={REGION}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    use_bucket(settings)
    return result


def use_bucket(settings) -> None:
    """STORAGES["default"] as the settings module builds it from the environment (a settings change resets
    Django's storages, so default_storage and every FileField's storage pick it up)."""
    settings.STORAGES = {**settings.STORAGES, "default": env_storage("PORTAL_STORAGE_URL", local_location="unused")}
    assert isinstance(storages["default"], PrivateS3Storage)


def use_folder(settings, folder: Path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(folder)}},
    }


def upload(tenant, content: bytes, name: str = "Training records.pdf") -> Evidence:
    return assessment_services.evidence_upload(
        organisation=tenant.organisation,
        actor=tenant.manager,
        file=io.BytesIO(content),
        name=name,
        description="Training records",
        effective_date=date(2026, 1, 5),
        expiry_date=None,
    )


def get_file(client, path: str) -> tuple[object, bytes]:
    response = client.get(path)
    body = b"".join(response.streaming_content) if getattr(response, "streaming", False) else b""
    return response, body


def anonymous_get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - a test URL on 127.0.0.1
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def run_failing(command: str, *args: str) -> tuple[str, str]:
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(command, *args, stdout=out)
    return out.getvalue(), str(failure.value)


# --- configuration ------------------------------------------------------------------------------------


def test_the_storage_url_makes_a_private_encrypted_bucket_and_the_folder_stays_the_default(monkeypatch) -> None:
    monkeypatch.delenv("PORTAL_STORAGE_URL", raising=False)
    assert env_storage("PORTAL_STORAGE_URL", local_location="/srv/private") == {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": "/srv/private"},
    }
    monkeypatch.setenv(
        "PORTAL_STORAGE_URL", "s3://portal-files/prod?endpoint_url=https://minio.internal:9000&expire=30"
    )
    config = env_storage("PORTAL_STORAGE_URL", local_location="/srv/private")
    assert config == {
        "BACKEND": "portal.storage.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": "portal-files",
            "location": "prod",
            "endpoint_url": "https://minio.internal:9000",
            "region_name": None,
            "addressing_style": "path",
            "querystring_expire": 30,
            "object_parameters": {"ServerSideEncryption": "AES256"},
        },
    }
    # Options that would loosen the rules are overridden by the backend itself.
    storage = PrivateS3Storage(
        bucket_name="portal-files",
        default_acl="public-read",
        querystring_auth=False,
        file_overwrite=True,
        object_parameters={},
    )
    assert storage.default_acl == "private" and storage.querystring_auth and not storage.file_overwrite
    assert storage.object_parameters == {"ServerSideEncryption": "AES256"} and storage.signature_version == "s3v4"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/var/portal/private", "PORTAL_STORAGE_URL must look like s3://bucket-name"),
        ("s3://Portal_Files", "is not a bucket name"),
        ("s3://key:secret@portal-files", "names only the bucket"),
        ("s3://portal-files?endpoint=http://x", "unknown parameter(s) endpoint"),
        ("s3://portal-files?endpoint_url=minio:9000", "endpoint_url must be an http:// or https:// URL"),
        ("s3://portal-files?sse=none", "encryption cannot be off"),
        ("s3://portal-files?expire=86400", "expire must be between 1 and 3600 seconds"),
        ("s3://portal-files?addressing_style=dns", "addressing_style must be path or virtual"),
    ],
)
def test_bad_storage_settings_are_refused_with_a_clear_message(monkeypatch, value, message) -> None:
    monkeypatch.setenv("PORTAL_STORAGE_URL", value)
    with pytest.raises(ImproperlyConfiguredEnv) as refused:
        env_storage("PORTAL_STORAGE_URL", local_location="/srv/private")
    assert message in str(refused.value)


def test_the_portal_refuses_to_start_with_a_bad_storage_url_or_half_a_key() -> None:
    from tests.portal.test_settings import _manage

    result = _manage("check", PORTAL_STORAGE_URL="s3://portal-files", AWS_ACCESS_KEY_ID="only-the-id")
    assert result.returncode != 0
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together" in result.stderr


# --- evidence -------------------------------------------------------------------------------------------


def test_an_uploaded_file_lands_in_the_bucket_encrypted_private_and_never_overwritten(tenant, bucket) -> None:
    content = pdf("board minutes")
    response = client_for(tenant.manager).post(
        f"/o/{tenant.organisation.slug}/evidence/new/",
        {
            "file": SimpleUploadedFile("Board minutes.pdf", content, content_type="application/pdf"),
            "description": "Board minutes",
            "effective_date": "2026-03-04",
            "expiry_date": "",
        },
    )
    assert response.status_code == 302
    with scope(organisation=tenant.organisation):
        evidence = Evidence.objects.get()
    name = evidence.file.name
    assert (
        name.startswith(f"evidence/{tenant.organisation.pk}/")
        and evidence.sha256 == hashlib.sha256(content).hexdigest()
    )
    assert bucket.objects() == [name] and bucket.read(name) == content
    assert bucket.local_files() == []  # nothing in the local folder
    assert bucket.encryption(name) == "AES256"

    # Private: the object's ACL grants nobody but the owner, an anonymous GET is refused, and the only URL
    # the storage gives is signed and expires within a minute.
    grants = bucket.client.get_object_acl(Bucket=bucket.name, Key=name)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"] and "URI" not in grants[0]["Grantee"]
    assert anonymous_get(f"{bucket.endpoint}/{bucket.name}/{name}") == 403
    signed = default_storage.url(name)
    assert (
        "X-Amz-Signature=" in signed and "X-Amz-Expires=60" in signed and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in signed
    )

    # Never rewritten: saving under a name that exists stores a new object beside it.
    again = default_storage.save(name, ContentFile(b"something else"))
    assert again != name and bucket.read(name) == content


def test_downloads_stream_from_the_bucket_through_the_checked_view_only(tenant, outsider, bucket) -> None:
    content = pdf("minutes")
    evidence = upload(tenant, content, "minutes.pdf")
    assert bucket.objects() == [evidence.file.name]
    url = f"/o/{tenant.organisation.slug}/evidence/{evidence.pk}/download/"
    for user in (tenant.owner, tenant.manager, tenant.rep):
        response, body = get_file(client_for(user), url)
        assert response.status_code == 200 and body == content
        assert response["Content-Disposition"].startswith('attachment; filename="minutes.pdf"')
        assert response["Content-Length"] == str(len(content)) and "no-store" in response["Cache-Control"]
    assert client_for(tenant.member).get(url).status_code == 403  # a role without download_evidence
    assert client_for(tenant.auditor).get(url).status_code == 404  # not cited by final work
    assert client_for(outsider).get(url).status_code == 404  # another tenant
    # The API's download: the same checks, the same stream from the bucket.
    api_url = f"/api/v1/organisations/{tenant.organisation.slug}/evidence/{evidence.pk}/download/"
    response, body = get_file(token_client(make_token(tenant.rep, tenant.organisation)), api_url)
    assert response.status_code == 200 and body == content
    assert token_client(make_token(tenant.member, tenant.organisation)).get(api_url).status_code == 403


def test_a_file_changed_in_the_bucket_voids_the_signatures_citing_it_and_fails_the_file_check(
    tenant, framework, bucket, django_capture_on_commit_callbacks
) -> None:
    evidence = upload(tenant, pdf("training records"))
    assessment = assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    with django_capture_on_commit_callbacks(execute=True):
        make_final(tenant, assessment, evidence)
    assert "All signatures match" in run("verify_signatures")
    assert "1 file(s) checked in the bucket" in run("verify_stored_files")

    bucket.replace(evidence.file.name, pdf("training records, edited"))
    out, error = run_failing("verify_signatures")
    assert error == "2 signature(s) are void"
    assert out.count("cited evidence files changed in storage: Training records.pdf") == 2
    out, error = run_failing("verify_stored_files")
    assert f"assessments.evidence {evidence.pk}  {evidence.file.name}: changed: SHA-256 is" in out
    assert "1 missing or changed" in error


# --- moving the files of a running portal -----------------------------------------------------------------


def test_the_move_command_copies_verifies_is_idempotent_and_reports_mismatches(tenant, bucket, settings) -> None:
    folder = bucket.local
    use_folder(settings, folder)
    first, second = upload(tenant, pdf("one")), upload(tenant, pdf("two"))
    orphan = default_storage.save("evidence/orphans/left-over.txt", ContentFile(b"no row names this file"))
    use_bucket(settings)

    out = run("move_files_to_storage", "--from", str(folder), "--dry-run")
    assert "to copy 3" in out and "Dry run" in out and bucket.objects() == []

    out = run("move_files_to_storage", "--from", str(folder))
    assert "copied 3, already there 0, mismatched 0" in out
    assert bucket.objects() == sorted([first.file.name, second.file.name, orphan])
    assert all(bucket.encryption(key) == "AES256" for key in bucket.objects())
    assert bucket.read(first.file.name) == pdf("one") and bucket.read(orphan) == b"no row names this file"
    assert len(bucket.local_files()) == 3  # nothing deleted without --delete-local
    assert "2 match their recorded SHA-256" in run("verify_stored_files")  # the evidence, now read from the bucket

    out = run("move_files_to_storage", "--from", str(folder))  # again: nothing to do
    assert "copied 0, already there 3, mismatched 0" in out

    # A local file changed since it was recorded, and an object already in the bucket that differs.
    use_folder(settings, folder)
    changed, clashing = upload(tenant, pdf("three")), upload(tenant, pdf("four"))
    (folder / changed.file.name).write_bytes(pdf("three, altered on disk"))
    use_bucket(settings)
    bucket.replace(clashing.file.name, b"not the recorded file")
    out, error = run_failing("move_files_to_storage", "--from", str(folder), "--delete-local")
    assert f"MISMATCHED {changed.file.name}: the local file's SHA-256 is" in out
    assert f"MISMATCHED {clashing.file.name}: already in the bucket with SHA-256" in out
    assert "copied 0, already there 3, mismatched 2" in error
    # Verified files were deleted locally; the two that did not match stay where they were, untouched.
    assert bucket.local_files() == sorted([changed.file.name, clashing.file.name])
    assert bucket.read(clashing.file.name) == b"not the recorded file" and changed.file.name not in bucket.objects()


def test_the_move_command_refuses_to_run_without_a_bucket(tenant, settings, tmp_path) -> None:
    use_folder(settings, tmp_path / "private")
    _out, error = run_failing("move_files_to_storage", "--from", str(tmp_path / "private"))
    assert "set PORTAL_STORAGE_URL" in error


# --- reports and exports ----------------------------------------------------------------------------------


def test_a_report_and_an_export_are_stored_in_and_downloaded_from_the_bucket_and_checked_there(
    tenant, outsider, framework, bucket, django_capture_on_commit_callbacks
) -> None:
    evidence_content = pdf("training records")
    evidence = upload(tenant, evidence_content)
    draft = assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    with django_capture_on_commit_callbacks(execute=True):
        final = make_final(tenant, draft, evidence)
    report = request_and_render(tenant, final, django_capture_on_commit_callbacks)
    assert report.status == ReportStatus.READY, report.error
    assert report.file.name in bucket.objects() and bucket.encryption(report.file.name) == "AES256"
    assert hashlib.sha256(bucket.read(report.file.name)).hexdigest() == report.sha256

    download = f"/o/{tenant.organisation.slug}/reports/{report.pk}/download/"
    response, body = get_file(client_for(tenant.rep), download)
    assert response.status_code == 200 and hashlib.sha256(body).hexdigest() == report.sha256
    assert client_for(tenant.member).get(download).status_code == 403
    assert client_for(outsider).get(download).status_code == 404

    owner = client_for(tenant.owner)
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.post(f"/o/{tenant.organisation.slug}/settings/export/new/").status_code == 302
    with scopes_disabled():
        export = OrganisationExport.objects.get(organisation=tenant.organisation)
    assert export.status == ExportStatus.READY, export.error
    assert export.file.name in bucket.objects() and bucket.encryption(export.file.name) == "AES256"
    response, body = get_file(owner, f"/o/{tenant.organisation.slug}/settings/export/{export.pk}/download/")
    assert response.status_code == 200 and hashlib.sha256(body).hexdigest() == export.sha256
    archive = zipfile.ZipFile(io.BytesIO(body))
    contents = [archive.read(n) for n in archive.namelist()]
    assert evidence_content in contents and bucket.read(report.file.name) in contents  # read from the bucket
    assert client_for(tenant.manager).get(
        f"/o/{tenant.organisation.slug}/settings/export/{export.pk}/download/"
    ).status_code in (403, 404)
    assert bucket.local_files() == []

    # The integrity check of the backup procedure reads all three from the bucket ...
    out = run("verify_stored_files")
    assert "3 file(s) checked in the bucket" in out and "3 match their recorded SHA-256" in out
    # ... and notices one gone.
    bucket.client.delete_object(Bucket=bucket.name, Key=report.file.name)
    out, error = run_failing("verify_stored_files")
    assert f"reports.attestationreport {report.pk}  {report.file.name}: missing" in out
