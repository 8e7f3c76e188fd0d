"""Loading framework files as versioned data, and reading the current framework."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Max, Prefetch

from portal.canonical import canonical_json, sha256_hex
from principles.models import Criterion, Framework, Principle

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_FRAMEWORK_FILE = DATA_DIR / "made-smarter-2019.json"
DEFAULT_FRAMEWORK_CODE = "made-smarter-2019"
MATURITY_LEVELS = (0, 1, 2, 3, 4)


# A framework version never changes once loaded (a changed file is a new version with a new id),
# so its principles can be kept in each process instead of read on every page.
_PRINCIPLES_CACHE_SIZE = 32


@lru_cache(maxsize=_PRINCIPLES_CACHE_SIZE)
def _principles_of(framework_id: Any) -> tuple[Principle, ...]:
    return tuple(Principle.objects.filter(framework=framework_id).order_by("number"))


def principles_of(framework_id: Any) -> list[Principle]:
    """The principles of one framework version, in order: read once per process, then from memory.
    Treat them as read-only (every caller in the process shares them)."""
    principles = _principles_of(framework_id)
    if not principles:
        _principles_of.cache_clear()  # not loaded yet, or gone: never remember an empty answer
    return list(principles)


class FrameworkFileError(ValueError):
    """The framework file does not have the shape the portal needs; the message says where."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise FrameworkFileError(message)


def validate_framework_data(data: dict[str, Any]) -> None:
    for key in ("code", "title", "maturity_scale", "principles"):
        _require(key in data, f"missing top-level key {key!r}")
    levels = [m.get("level") for m in data["maturity_scale"]]
    _require(tuple(levels) == MATURITY_LEVELS, f"maturity_scale must have levels 0 to 4 in order, got {levels}")
    for level in data["maturity_scale"]:
        _require(
            bool(level.get("label")) and bool(level.get("descriptor")),
            f"maturity level {level} needs a label and a descriptor",
        )
    numbers = [p.get("number") for p in data["principles"]]
    _require(
        bool(numbers) and numbers == list(range(1, len(numbers) + 1)),
        f"principles must be numbered 1..n, got {numbers}",
    )
    codes: set[str] = set()
    for principle in data["principles"]:
        where = f"principle {principle['number']}"
        for key in ("title", "text", "criteria"):
            _require(bool(principle.get(key)), f"{where}: missing {key!r}")
        _require(
            4 <= len(principle["criteria"]) <= 8,
            f"{where}: needs 4 to 8 criteria, has {len(principle['criteria'])}",
        )
        for position, criterion in enumerate(principle["criteria"], start=1):
            code = criterion.get("code", "")
            _require(
                code == f"{principle['number']}.{position}",
                f"{where}: criterion {position} should be coded {principle['number']}.{position}, got {code!r}",
            )
            _require(code not in codes, f"duplicate criterion code {code}")
            codes.add(code)
            for key in ("title", "guidance", "source_sentence"):
                _require(bool(criterion.get(key)), f"criterion {code}: missing {key!r}")
            _require(
                criterion["source_sentence"] in principle["text"],
                f"criterion {code}: source_sentence is not a sentence of the principle's text",
            )
            _require(
                isinstance(criterion.get("evidence_expected"), bool),
                f"criterion {code}: evidence_expected must be true or false",
            )


@transaction.atomic
def framework_load(*, path: Path = DEFAULT_FRAMEWORK_FILE) -> tuple[Framework, bool]:
    """Load a framework file. The same content twice is a no-op; changed content is a new version."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FrameworkFileError(f"cannot read {path}: {exc}") from exc
    validate_framework_data(data)
    content_hash = sha256_hex(canonical_json(data))
    existing = Framework.objects.filter(code=data["code"], content_hash=content_hash).first()
    if existing:
        return existing, False
    latest = Framework.objects.select_for_update().filter(code=data["code"]).aggregate(v=Max("version"))["v"] or 0
    framework = Framework.objects.create(
        code=data["code"],
        version=latest + 1,
        title=data["title"],
        source=data.get("source", ""),
        published=data.get("published") or None,
        content_hash=content_hash,
        data=data,
    )
    for p in data["principles"]:
        principle = Principle.objects.create(
            framework=framework,
            number=p["number"],
            title=p["title"],
            summary=p.get("summary", ""),
            text=p["text"],
        )
        Criterion.objects.bulk_create(
            Criterion(
                framework=framework,
                principle=principle,
                code=c["code"],
                position=i,
                title=c["title"],
                guidance=c["guidance"],
                source_sentence=c["source_sentence"],
                evidence_expected=c["evidence_expected"],
                evidence_examples=c.get("evidence_examples", []),
            )
            for i, c in enumerate(p["criteria"], start=1)
        )
    return framework, True


def current_framework(code: str = DEFAULT_FRAMEWORK_CODE) -> Framework | None:
    """The newest loaded version of a framework."""
    return Framework.objects.filter(code=code).order_by("-version").first()


def ensure_framework() -> Framework:
    """The current framework, loading the bundled file first if nothing is loaded yet."""
    return current_framework() or framework_load()[0]


def principles_with_criteria(framework: Framework) -> list[Principle]:
    """Principles in order with their criteria, in two queries."""
    return list(
        framework.principles.order_by("number").prefetch_related(
            Prefetch("criteria", queryset=Criterion.objects.order_by("position"))
        )
    )
