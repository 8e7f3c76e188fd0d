"""Organisation data export (DESIGN.md section 5: owners export all the organisation's data).

An owner requests an export; a worker builds a zip with one JSON file per kind of data, the evidence
files and rendered report PDFs, and a manifest.json with counts and the SHA-256 of every file. The
zip is stored privately, downloadable by the organisation's owners only, and deleted by the retention
sweep (portal.privacy.retention_apply) after PORTAL_EXPORT_RETENTION_DAYS.

Each app contributes its own sections from its AppConfig.ready(), so portal imports none of them.
A section reads inside the organisation's scope and returns only that organisation's rows.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope

from portal.activity import sentence, with_subject_titles
from portal.audit import audit_record
from portal.models import (
    AuditEvent,
    ExportStatus,
    Invitation,
    Membership,
    Organisation,
    OrganisationExport,
    Signature,
    User,
)
from portal.roles import role_can

FORMAT_VERSION = 1


@dataclass(frozen=True)
class ExportFile:
    """A stored file to copy into the zip at `path` (evidence, report PDFs)."""

    path: str
    storage_name: str


SectionRows = Callable[[Organisation], list[dict[str, Any]]]
SectionFiles = Callable[[Organisation], list[ExportFile]]

_sections: dict[str, tuple[int, SectionRows]] = {}
_files: dict[str, SectionFiles] = {}


def register_export_section(*, name: str, order: int, rows: SectionRows) -> None:
    """Add `<name>.json` to every export. Registering a name again replaces it."""
    _sections[name] = (order, rows)


def register_export_files(*, name: str, files: SectionFiles) -> None:
    """Add stored files (evidence, PDFs) to every export."""
    _files[name] = files


def export_sections() -> list[str]:
    return [name for name, _entry in sorted(_sections.items(), key=lambda item: (item[1][0], item[0]))]


def safe_file_name(name: str, *, limit: int = 120) -> str:
    """A file name that is safe inside a zip on any system: no folders, no odd characters."""
    cleaned = re.sub(r"[^A-Za-z0-9._ -]+", "_", name).strip(" .") or "file"
    return cleaned[-limit:]


def person(user: User | None) -> dict[str, Any] | None:
    """How a person appears in an export: as the account is now (a deleted account shows anonymised)."""
    if user is None:
        return None
    return {"id": str(user.pk), "name": user.display_name, "email": user.email, "deleted": user.deleted_at is not None}


# --- Portal's own sections -------------------------------------------------------------------


def _organisation_rows(organisation: Organisation) -> list[dict[str, Any]]:
    return [
        {
            "id": organisation.pk,
            "name": organisation.name,
            "slug": organisation.slug,
            "company_number": organisation.company_number,
            "sector": organisation.sector,
            "size_band": organisation.size_band,
            "country": str(organisation.country),
            "created_at": organisation.created_at,
            "created_by": person(organisation.created_by),
            "audit_head_sequence": organisation.audit_head_sequence,
            "audit_head_hash": organisation.audit_head_hash,
        }
    ]


def _member_rows(organisation: Organisation) -> list[dict[str, Any]]:
    memberships = Membership.objects.filter(organisation=organisation).select_related("user").order_by("created_at")
    return [
        {
            "id": m.pk,
            "name": m.user.full_name,
            "email": m.user.email,
            "role": m.role,
            "joined_at": m.created_at,
            "access_expires_at": m.expires_at,
        }
        for m in memberships
    ]


def _invitation_rows(organisation: Organisation) -> list[dict[str, Any]]:
    invitations = Invitation.objects.filter(organisation=organisation).select_related("invited_by", "accepted_by")
    return [
        {
            "id": i.pk,
            "email": i.email,
            "role": i.role,
            "status": i.status,
            "invited_by": person(i.invited_by),
            "created_at": i.created_at,
            "expires_at": i.expires_at,
            "accepted_at": i.accepted_at,
            "accepted_by": person(i.accepted_by),
            "revoked_at": i.revoked_at,
            "access_expires_at": i.access_expires_at,
            "email_status": i.email_status,
            "email_sent_at": i.email_sent_at,
        }
        for i in invitations.order_by("created_at")
    ]


def _signature_rows(organisation: Organisation) -> list[dict[str, Any]]:
    signatures = Signature.objects.filter(organisation=organisation).select_related("signer").order_by("signed_at")
    return [
        {
            "id": s.pk,
            "subject_type": s.subject_type,
            "subject_id": s.subject_id,
            "subject_version": s.subject_version,
            "content_hash": s.content_hash,
            "snapshot": s.snapshot,
            "capacity": s.capacity,
            "decision": s.decision,
            "reservations": s.reservations,
            "reasons": s.reasons,
            "statement": s.statement,
            "signer": person(s.signer),
            "signer_email": s.signer_email,
            "signer_role": s.signer_role,
            "typed_name": s.typed_name,
            "job_title": s.job_title,
            "signed_at": s.signed_at,
            "ip_address": s.ip_address,
            "user_agent": s.user_agent,
            "auth_methods": s.auth_methods,
            "mfa_used": s.mfa_used,
        }
        for s in signatures
    ]


def _audit_rows(organisation: Organisation) -> list[dict[str, Any]]:
    # Every field the chain's hash covers, as recorded, so the chain can be checked from the export;
    # and beside them the event in words (`sentence`, as the audit trail page shows it), which the
    # hash does not cover.
    events = with_subject_titles(
        AuditEvent.objects.filter(organisation=organisation).select_related("actor").order_by("sequence")
    )
    return [
        {
            "sentence": sentence(e),
            "sequence": e.sequence,
            "id": e.pk,
            "actor_label": e.actor_label,
            "actor": person(e.actor),
            "verb": e.verb,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "target_label": e.target_label,
            "before": e.before,
            "after": e.after,
            "created_at": e.created_at,
            "request_id": e.request_id,
            "prev_hash": e.prev_hash,
            "hash": e.hash,
        }
        for e in events.iterator(chunk_size=2000)
    ]


register_export_section(name="organisation", order=0, rows=_organisation_rows)
register_export_section(name="members", order=1, rows=_member_rows)
register_export_section(name="invitations", order=2, rows=_invitation_rows)
register_export_section(name="signatures", order=50, rows=_signature_rows)
register_export_section(name="audit_events", order=99, rows=_audit_rows)


# --- Requesting, building and downloading ----------------------------------------------------


def export_can_manage(membership: Membership | None) -> bool:
    return membership is not None and membership.is_active() and role_can(membership.role, "export_data")


def exports_of(organisation: Organisation) -> QuerySet[OrganisationExport]:
    return (
        OrganisationExport.objects.filter(organisation=organisation)
        .select_related("requested_by")
        .order_by("-requested_at")
    )


def export_request(*, organisation: Organisation, actor: User) -> OrganisationExport:
    """Queue an export of everything the organisation holds; a worker builds it after commit.

    Only owners export; while one export is being made another request returns that one."""
    from portal.tasks import build_organisation_export

    with scope(organisation=organisation), transaction.atomic():
        membership = Membership.objects.filter(organisation=organisation, user=actor).first()
        if not export_can_manage(membership):
            raise ValidationError(_("Only owners export the organisation's data."))
        Organisation.objects.select_for_update().filter(pk=organisation.pk).values_list("pk").get()
        running = (
            OrganisationExport.objects.filter(
                organisation=organisation, status__in=[ExportStatus.QUEUED, ExportStatus.BUILDING]
            )
            .order_by("-requested_at")
            .first()
        )
        if running is not None:
            return running
        export = OrganisationExport.objects.create(organisation=organisation, requested_by=actor)
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="export.requested",
            target=export,
            target_label=_("organisation data export"),
            after={"export": str(export.pk)},
        )
        build_organisation_export.publish(organisation_id=str(organisation.pk), export_id=str(export.pk))
    return export


def _dump(value: Any) -> bytes:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


@dataclass(frozen=True)
class BuiltExport:
    storage_name: str
    sha256: str
    size: int
    counts: dict[str, Any]


def export_build(*, organisation: Organisation, export: OrganisationExport) -> BuiltExport:
    """Write the zip for `export` to private storage; the caller records the result on the row."""
    manifest_files: list[dict[str, Any]] = []
    sections: dict[str, int] = {}
    missing: list[str] = []
    with tempfile.TemporaryFile() as handle:
        with scope(organisation=organisation), zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as zf:

            def add(path: str, data: bytes) -> None:
                zf.writestr(path, data)
                manifest_files.append({"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})

            for name in export_sections():
                rows = _sections[name][1](organisation)
                sections[name] = len(rows)
                add(f"{name}.json", _dump(rows))
            for provider in _files.values():
                for item in provider(organisation):
                    try:
                        with default_storage.open(item.storage_name, "rb") as stored:
                            data = stored.read()
                    except (OSError, ValueError):
                        missing.append(item.path)
                        continue
                    add(item.path, data)
            manifest = {
                "format_version": FORMAT_VERSION,
                "export_id": str(export.pk),
                "organisation": {"id": str(organisation.pk), "name": organisation.name, "slug": organisation.slug},
                "generated_at": timezone.now(),
                "requested_by": person(export.requested_by),
                "counts": sections,
                "files": manifest_files,
                "missing_files": missing,
            }
            zf.writestr("manifest.json", _dump(manifest))
        handle.seek(0)
        digest = hashlib.sha256()
        size = 0
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
            size += len(chunk)
        handle.seek(0)
        name = default_storage.save(
            f"exports/{organisation.pk}/{export.pk}-{uuid.uuid4().hex[:8]}.zip", File(handle, name="export.zip")
        )
    return BuiltExport(
        storage_name=name,
        sha256=digest.hexdigest(),
        size=size,
        counts={"sections": sections, "files": len(manifest_files) + 1, "missing_files": len(missing)},
    )


def export_expiry(completed_at: Any) -> Any:
    return completed_at + timedelta(days=settings.PORTAL_EXPORT_RETENTION_DAYS)


def export_url(export: OrganisationExport) -> str:
    return settings.SITE_URL + reverse(
        "portal:export_detail", kwargs={"org_slug": export.organisation.slug, "export_id": export.pk}
    )


def export_notify_ready(*, organisation: Organisation, export: OrganisationExport) -> None:
    """Tell whoever asked for the export that it can be downloaded (unless they have since gone)."""
    from portal.notifications import Email, notify

    requester = export.requested_by
    if requester is None or requester.deleted_at is not None:
        return
    notify(
        kind="export_ready",
        recipients=[requester],
        organisation=organisation,
        actor=None,
        text=_("The data export of %(org)s you asked for is ready to download") % {"org": organisation.name},
        url=reverse("portal:export_detail", kwargs={"org_slug": organisation.slug, "export_id": export.pk}),
        key=f"export-ready:{export.pk}",
        target=export,
        email=Email(
            subject=_("%(org)s: your data export is ready to download") % {"org": organisation.name},
            template="export_ready",
            context={
                "url": export_url(export),
                "expires_at": timezone.localtime(export.expires_at).strftime("%-d %B %Y") if export.expires_at else "",
                "days": settings.PORTAL_EXPORT_RETENTION_DAYS,
            },
        ),
    )


class ExportNotReady(Exception):
    """There is no zip to download: still being made, failed, or expired and deleted."""


@dataclass(frozen=True)
class ExportDownload:
    handle: IO[bytes]
    filename: str


def export_download(*, export: OrganisationExport, membership: Membership, actor: User) -> ExportDownload:
    """Open a ready export for an owner; every download is recorded in the audit trail."""
    if not export_can_manage(membership) or membership.organisation_id != export.organisation_id:
        raise ValidationError(_("Only owners download the organisation's data export."))
    if export.status != ExportStatus.READY or not export.file:
        raise ExportNotReady(export.status)
    if export.expires_at is not None and export.expires_at <= timezone.now():
        raise ExportNotReady("expired")
    handle = export.file.open("rb")
    audit_record(
        organisation=export.organisation,
        actor=actor,
        verb="export.downloaded",
        target=export,
        target_label=_("organisation data export"),
        after={"sha256": export.sha256},
    )
    stamp = timezone.localtime(export.completed_at or export.requested_at).strftime("%Y-%m-%d")
    return ExportDownload(handle, f"export-{export.organisation.slug}-{stamp}.zip")
