"""Where private files live, and checking them: the local folder by default, or an S3-compatible bucket.

Evidence, report PDFs and organisation exports are stored through Django's default storage
(`STORAGES["default"]`, chosen by `PORTAL_STORAGE_URL` in portal/env.py) and read back only through
it, never through filesystem paths, so the same code serves, checks and exports them wherever they
are. In a bucket they are private (no ACL beyond the owner's, URLs only signed and short-lived),
encrypted by the server and never overwritten: a name that exists gets a new one.

Every model row that names a stored file and records its SHA-256 (a `FileField` beside a `sha256`
field) is found by `recorded_files`, without this app importing the others; `check_recorded_files`
re-reads each one (`manage.py verify_stored_files`, the backup check, `move_files_to_storage`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.files.storage import Storage, default_storage
from django.db import models
from django_scopes import scopes_disabled
from storages.backends.s3 import S3Storage

CHUNK_BYTES = 1024 * 1024


class PrivateS3Storage(S3Storage):
    """django-storages' S3 backend with the portal's rules as defaults that settings cannot loosen by accident.

    Private: no public-read ACL (the bucket's owner alone, `private`), and `url()` only ever gives a
    signed URL that expires quickly; the portal itself streams downloads through its checked views.
    Encrypted at rest: every object is written with server-side encryption (AES256 unless aws:kms is
    asked for). Never rewritten: a name already in the bucket gets a new one (`file_overwrite` off).
    Large files are spooled to disk beyond 1 MB when read."""

    def get_default_settings(self) -> dict[str, Any]:
        defaults: dict[str, Any] = super().get_default_settings()
        defaults.update(
            default_acl="private",
            querystring_auth=True,
            querystring_expire=60,
            signature_version="s3v4",
            file_overwrite=False,
            object_parameters={"ServerSideEncryption": "AES256"},
            max_memory_size=CHUNK_BYTES,
        )
        return defaults

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        # Whatever the options said: these three are not choices.
        self.querystring_auth = True
        self.file_overwrite = False
        if getattr(self, "default_acl", None) not in ("private", None):
            self.default_acl = "private"
        parameters: dict[str, Any] = dict(getattr(self, "object_parameters", None) or {})
        if not parameters.get("ServerSideEncryption"):
            self.object_parameters = {**parameters, "ServerSideEncryption": "AES256"}


def storage_description(storage: Storage | None = None) -> str:
    """Where files go, for messages: "bucket NAME at URL" or "folder PATH"."""
    storage = storage or default_storage
    if isinstance(storage, S3Storage):
        where = f" at {storage.endpoint_url}" if storage.endpoint_url else ""
        prefix = f"/{storage.location}" if storage.location else ""
        return f"bucket {storage.bucket_name}{prefix}{where}"
    location = getattr(storage, "location", "")
    return f"folder {location}" if location else type(storage).__name__


def file_sha256(name: str, storage: Storage | None = None) -> str:
    """The SHA-256 of a stored file, read in chunks through the storage API.

    Raises FileNotFoundError when there is no such file (OSError or ValueError for other failures)."""
    storage = storage or default_storage
    digest = hashlib.sha256()
    with storage.open(name, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class RecordedFile:
    """A stored file a row names, with the hash the row recorded when it was stored ("" if none)."""

    name: str
    sha256: str
    model: str  # "assessments.evidence"
    pk: str
    organisation_id: str
    storage: Storage


def _file_models() -> Iterator[tuple[type[models.Model], models.FileField, str | None]]:
    for model in apps.get_models():
        fields = {field.name: field for field in model._meta.get_fields()}
        hash_field = "sha256" if isinstance(fields.get("sha256"), models.CharField) else None
        for field in fields.values():
            if isinstance(field, models.FileField):
                yield model, field, hash_field


def recorded_files(*, organisation_id: Any = None) -> Iterator[RecordedFile]:
    """Every stored file that a row names (evidence, report PDFs, exports...), across all tenants."""
    for model, field, hash_field in _file_models():
        columns = ["pk", field.name, hash_field or field.name]
        has_organisation = any(f.name == "organisation" for f in model._meta.get_fields())
        if has_organisation:
            columns.append("organisation_id")
        with scopes_disabled():
            rows = model._default_manager.exclude(**{field.name: ""}).exclude(**{f"{field.name}__isnull": True})
            if organisation_id is not None:
                if not has_organisation:
                    continue
                rows = rows.filter(organisation_id=organisation_id)
            values = list(rows.order_by("pk").values_list(*columns))
        for row in values:
            yield RecordedFile(
                name=row[1],
                sha256=row[2] if hash_field else "",
                model=model._meta.label_lower,
                pk=str(row[0]),
                organisation_id=str(row[3]) if has_organisation else "",
                storage=field.storage,
            )


@dataclass(frozen=True)
class FileProblem:
    file: RecordedFile
    problem: str  # "missing", "changed", "unreadable: ..."


@dataclass
class FileCheck:
    checked: int = 0
    matched: int = 0
    unhashed: int = 0  # rows that record no hash: only their presence is checked
    problems: list[FileProblem] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check_recorded_files(*, organisation_id: Any = None) -> FileCheck:
    """Re-read every recorded file from wherever it is stored and compare it with the hash its row keeps."""
    result = FileCheck(problems=[])
    assert result.problems is not None
    for item in recorded_files(organisation_id=organisation_id):
        result.checked += 1
        try:
            digest = file_sha256(item.name, item.storage)
        except FileNotFoundError:
            result.problems.append(FileProblem(item, "missing"))
            continue
        except (OSError, ValueError) as exc:
            result.problems.append(FileProblem(item, f"unreadable: {type(exc).__name__}: {exc}"))
            continue
        if not item.sha256:
            result.unhashed += 1
        elif digest == item.sha256:
            result.matched += 1
        else:
            result.problems.append(FileProblem(item, f"changed: SHA-256 is {digest}, {item.sha256} was recorded"))
    return result
