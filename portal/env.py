"""Small typed helpers that read settings from the environment and fail loudly on bad values."""

from __future__ import annotations

import os
import re
from urllib.parse import urlparse


class ImproperlyConfiguredEnv(ValueError):
    """An environment variable holds a value the portal cannot use."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfiguredEnv(f"{name} must be set")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name} must be a whole number; got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfiguredEnv(f"{name} must be at least {minimum}; got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, *, schemes: tuple[str, ...]) -> str | None:
    """A URL, or None when unset; raises when set to something that is not a URL of those schemes."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        raise ImproperlyConfiguredEnv(
            f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}; got {raw!r}"
        )
    return raw


# Query parameters PORTAL_STORAGE_URL understands (docs/deploy.md, "Files").
_STORAGE_PARAMETERS = {"endpoint_url", "region", "addressing_style", "expire", "sse", "kms_key_id"}
_STORAGE_SSE = {"AES256", "aws:kms"}


def env_storage(name: str, *, local_location: str) -> dict[str, object]:
    """Django's STORAGES["default"] entry for where private files live.

    Unset: the local folder `local_location` (the embedded default). Set to
    `s3://BUCKET[/PREFIX][?endpoint_url=URL&region=NAME&addressing_style=path|virtual&expire=SECONDS
    &sse=AES256|aws:kms&kms_key_id=ID]`: an S3-compatible bucket through django-storages, private
    (no public ACL, URLs only signed and short-lived), encrypted at rest by the server, never
    overwriting a stored file. Access keys come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
    (or boto3's other sources, such as an instance role). Raises on anything it cannot use."""
    from urllib.parse import parse_qs

    raw = os.environ.get(name, "").strip()
    if not raw:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": local_location}}
    example = f"{name} must look like s3://bucket-name?endpoint_url=https://s3.example&region=eu-west-2"
    parsed = urlparse(raw)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ImproperlyConfiguredEnv(f"{example}; got {raw!r}")
    bucket = parsed.netloc
    if "@" in bucket or ":" in bucket:
        raise ImproperlyConfiguredEnv(
            f"{name} names only the bucket: put the keys in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "and the server in ?endpoint_url="
        )
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
        raise ImproperlyConfiguredEnv(
            f"{name}: {bucket!r} is not a bucket name (3 to 63 lower-case letters, digits, dots or hyphens)"
        )
    try:
        query = parse_qs(parsed.query, keep_blank_values=True, strict_parsing=bool(parsed.query))
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{example}; got {raw!r}") from None
    unknown = sorted(set(query) - _STORAGE_PARAMETERS)
    if unknown:
        raise ImproperlyConfiguredEnv(
            f"{name}: unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(_STORAGE_PARAMETERS))}"
        )
    params = {key: values[-1].strip() for key, values in query.items()}
    endpoint_url = params.get("endpoint_url") or None
    if endpoint_url is not None:
        endpoint = urlparse(endpoint_url)
        if endpoint.scheme not in ("http", "https") or not endpoint.netloc:
            raise ImproperlyConfiguredEnv(
                f"{name}: endpoint_url must be an http:// or https:// URL; got {endpoint_url!r}"
            )
    addressing_style = params.get("addressing_style") or ("path" if endpoint_url else "virtual")
    if addressing_style not in ("path", "virtual"):
        raise ImproperlyConfiguredEnv(f"{name}: addressing_style must be path or virtual; got {addressing_style!r}")
    try:
        expire = int(params.get("expire") or 60)
    except ValueError:
        raise ImproperlyConfiguredEnv(
            f"{name}: expire must be a whole number of seconds; got {params['expire']!r}"
        ) from None
    if not 1 <= expire <= 3600:
        raise ImproperlyConfiguredEnv(f"{name}: expire must be between 1 and 3600 seconds; got {expire}")
    sse = params.get("sse") or "AES256"
    if sse not in _STORAGE_SSE:
        raise ImproperlyConfiguredEnv(f"{name}: sse must be AES256 or aws:kms (encryption cannot be off); got {sse!r}")
    object_parameters = {"ServerSideEncryption": sse}
    if params.get("kms_key_id"):
        if sse != "aws:kms":
            raise ImproperlyConfiguredEnv(f"{name}: kms_key_id needs sse=aws:kms")
        object_parameters["SSEKMSKeyId"] = params["kms_key_id"]
    has_key, has_secret = bool(os.environ.get("AWS_ACCESS_KEY_ID")), bool(os.environ.get("AWS_SECRET_ACCESS_KEY"))
    if has_key != has_secret:
        raise ImproperlyConfiguredEnv(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (or neither, for an instance role)"
        )
    return {
        "BACKEND": "portal.storage.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "location": parsed.path.strip("/"),
            "endpoint_url": endpoint_url,
            "region_name": params.get("region") or None,
            "addressing_style": addressing_style,
            "querystring_expire": expire,
            "object_parameters": object_parameters,
        },
    }
