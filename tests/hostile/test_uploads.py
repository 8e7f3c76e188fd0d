"""Hostile evidence uploads, through the web form and the API: each is refused with a message that says
what is wrong and leaves nothing behind (no row, no file, no audit event), or is stored under a safe
name and served as an attachment that no browser renders or sniffs."""

from __future__ import annotations

import html
import re
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.test import Client
from django_scopes import scopes_disabled

from assessments.models import Evidence
from portal.models import AuditEvent
from tests.api.conftest import make_token, token_client
from tests.hostile.corpus import UPLOADS, HostileUpload

pytestmark = pytest.mark.django_db

CHANNELS = ["web", "api"]


def multipart(upload: HostileUpload) -> tuple[bytes, str]:
    """The request body a client sends, with the file name exactly as given: raw UTF-8 in quotes as
    browsers send it, or (for control characters and quotes) RFC 5987 encoded, so NUL, CR, LF and
    bidi controls reach the server as they are."""
    boundary = f"hostile-{uuid.uuid4().hex}"
    fields = {"description": "Hostile corpus file", "effective_date": "2026-03-01"}
    body = b""
    for name, value in fields.items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    if upload.filename.isprintable() and '"' not in upload.filename:
        disposition = f'form-data; name="file"; filename="{upload.filename}"'
    else:
        disposition = f"form-data; name=\"file\"; filename*=UTF-8''{quote(upload.filename, safe='')}"
    body += (
        f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {upload.content_type}\r\n\r\n".encode()
    )
    body += upload.data() + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def send(channel: str, tenant, upload: HostileUpload):
    body, content_type = multipart(upload)
    slug = tenant.organisation.slug
    if channel == "web":
        client = Client()
        client.force_login(tenant.manager)
        return client.post(f"/o/{slug}/evidence/new/", data=body, content_type=content_type)
    client = token_client(make_token(tenant.manager, tenant.organisation))
    return client.post(f"/api/v1/organisations/{slug}/evidence/", data=body, content_type=content_type)


def error_shown(channel: str, response) -> list[str]:
    if channel == "web":
        assert response.status_code == 200, response.status_code
        return [str(e) for e in response.context["form"].errors.get("file", [])]
    assert response.status_code == 400, response.content[:500]
    return response.json()["fields"].get("file", [])


def stored_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "private").rglob("*") if p.is_file()]


REFUSED = [u for u in UPLOADS if u.error is not None]
ACCEPTED = [u for u in UPLOADS if u.error is None]


def test_the_corpus_covers_every_category() -> None:
    assert len(REFUSED) >= 30 and len(ACCEPTED) >= 15
    assert len({u.id for u in UPLOADS}) == len(UPLOADS)


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("upload", REFUSED, ids=[u.id for u in REFUSED])
def test_a_hostile_file_is_refused_with_a_clear_message_and_nothing_is_kept(channel, upload, tenant, tmp_path):
    response = send(channel, tenant, upload)

    assert error_shown(channel, response) == [upload.error]
    if channel == "web":
        assert html.escape(upload.error) in response.content.decode()
    with scopes_disabled():
        assert not Evidence.objects.exists()
        assert not AuditEvent.objects.filter(verb__startswith="evidence.").exists()
    assert stored_files(tmp_path) == []


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("upload", ACCEPTED, ids=[u.id for u in ACCEPTED])
def test_an_odd_but_harmless_file_is_stored_safely_and_served_as_an_attachment(channel, upload, tenant, tmp_path):
    data = upload.data()
    response = send(channel, tenant, upload)

    assert response.status_code == (302 if channel == "web" else 201), response.content[:500]
    with scopes_disabled():
        evidence = Evidence.objects.get()
        assert AuditEvent.objects.filter(verb="evidence.uploaded").count() == 1
    name = evidence.original_name
    if upload.stored_name is not None:
        assert name == upload.stored_name
    assert len(name) <= 150
    assert not re.search(r"[/\\\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]", name)
    assert not name.startswith((".", " "))
    assert evidence.content_type == upload.stored_type
    # The file on disk has a random name of the portal's choosing, never the user's.
    (stored,) = stored_files(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{32}\.(pdf|png|jpg|docx|xlsx|csv|txt)", stored.name)
    assert stored.parent.name == str(tenant.organisation.pk)
    assert stored.read_bytes() == data

    client = Client()
    client.force_login(tenant.manager)
    download = client.get(f"/o/{tenant.organisation.slug}/evidence/{evidence.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Type"] == upload.stored_type
    assert download["X-Content-Type-Options"] == "nosniff"
    disposition = download["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "\r" not in disposition and "\n" not in disposition
    assert b"".join(download.streaming_content) == data
