"""The framework as versioned data: verbatim principles, an idempotent loader, versions kept."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from principles.framework import DEFAULT_FRAMEWORK_FILE, current_framework, framework_load
from principles.models import Criterion, Framework
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db
SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "made-smarter-guiding-principles-2019.txt"


def test_bundled_file_quotes_the_principles_verbatim() -> None:
    data = json.loads(DEFAULT_FRAMEWORK_FILE.read_text())
    seed = SEED.read_text(encoding="utf-8") if SEED.exists() else None
    assert [p["number"] for p in data["principles"]] == [1, 2, 3, 4, 5, 6]
    for principle in data["principles"]:
        assert 4 <= len(principle["criteria"]) <= 8
        if seed is not None:
            assert principle["text"] in seed and principle["title"] in seed
        for criterion in principle["criteria"]:
            assert criterion["source_sentence"] in principle["text"]
    assert [m["label"] for m in data["maturity_scale"]] == [
        "Not started",
        "Planned",
        "In progress",
        "Established",
        "Embedded and reviewed",
    ]


def test_loading_twice_is_a_no_op() -> None:
    out = StringIO()
    call_command("load_framework", stdout=out)
    call_command("load_framework", stdout=out)
    assert Framework.objects.count() == 1
    assert Criterion.objects.count() == 36
    assert "nothing to do" in out.getvalue()


def test_a_changed_file_becomes_a_new_version_and_the_old_one_stays(tmp_path) -> None:
    first, created = framework_load()
    assert created and first.version == 1
    data = json.loads(DEFAULT_FRAMEWORK_FILE.read_text())
    data["principles"][0]["criteria"][0]["guidance"] += " Updated guidance."
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    second, created = framework_load(path=changed)
    assert created and second.version == 2
    assert current_framework() == second
    first.refresh_from_db()
    assert first.criteria.count() == 36  # old version untouched for assessments made with it
    assert not first.criteria.get(code="1.1").guidance.endswith("Updated guidance.")


def test_a_broken_file_is_refused_with_the_reason(tmp_path) -> None:
    data = json.loads(DEFAULT_FRAMEWORK_FILE.read_text())
    data["principles"][2]["criteria"][0]["source_sentence"] = "Not in the principle."
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(CommandError, match="criterion 3.1: source_sentence is not a sentence"):
        call_command("load_framework", str(bad), stdout=StringIO())
    assert Framework.objects.count() == 0


def test_public_framework_page_needs_no_sign_in() -> None:
    framework_load()
    client = Client()
    # the framework, its versions, the principles, their criteria (counted from those, not again)
    with assert_queries(4, "framework page, anonymous"):
        response = client.get("/framework/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Partnership at Work" in html and "Equalities, diversity and inclusion" in html
    assert "Embedded and reviewed" in html
    assert Client().get("/framework/made-smarter-2019/v9/").status_code == 404


def _another_version(tmp_path, n: int) -> Framework:
    data = json.loads(DEFAULT_FRAMEWORK_FILE.read_text(encoding="utf-8"))
    data["title"] += f" (revision {n})"
    path = tmp_path / f"revision-{n}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return framework_load(path=path)[0]


@pytest.mark.parametrize("page", ["current", "version"])
def test_framework_pages_do_not_grow_with_versions(tmp_path, page) -> None:
    from portal.roles import Role
    from tests.conftest import client_for
    from tests.factories import OrganisationFactory, UserFactory, add_member

    first = framework_load()[0]
    address = "/framework/" if page == "current" else f"/framework/{first.code}/v{first.version}/"
    person = UserFactory()
    add_member(OrganisationFactory(), person, Role.OWNER)
    signed_in = client_for(person)
    signed_in.get(address)
    for n in range(2):
        if n:
            for i in range(3):
                _another_version(tmp_path, i)
        with assert_queries(4, f"framework {page}, anonymous, {n}"):
            assert Client().get(address).status_code == 200
        # + the base of a signed-in page: the user, the memberships, the "Your work" count
        with assert_queries(7, f"framework {page}, signed in, {n}"):
            response = signed_in.get(address)
        assert response.status_code == 200
    assert "36 in all" in response.content.decode()
