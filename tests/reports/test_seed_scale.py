"""`manage.py seed_scale`: the benchmark data set is what it says, valid, reproducible and resumable."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from assessments.models import Assessment, Evidence, Response
from portal.audit import audit_verify_chain
from portal.models import AuditEvent, Membership, Organisation, User
from principles.models import Criterion
from reports.scale import SLUG_PREFIX, ScalePlan, seed_scale
from supplychain.models import Supplier, SupplierLink

pytestmark = pytest.mark.django_db

PLAN = ScalePlan(organisations=10, years=3, evidence=25, links=14, events=250, seed=7)


def _fingerprint() -> dict[str, tuple[str, str, int]]:
    return {
        o.slug: (str(o.pk), o.audit_head_hash, o.audit_head_sequence)
        for o in Organisation.objects.filter(slug__startswith=SLUG_PREFIX)
    }


def test_builds_what_the_plan_asks_for() -> None:
    result = seed_scale(PLAN)
    assert (result.built, result.skipped) == (10, 0)
    with scopes_disabled():
        criteria = Criterion.objects.count()
        assert Organisation.objects.filter(slug__startswith=SLUG_PREFIX).count() == 10
        assert Membership.objects.count() == 30
        assert Assessment.objects.count() == 30
        assert Assessment.objects.filter(status="final").count() == 20
        assert Response.objects.count() == 30 * criteria
        assert Evidence.objects.count() == 25
        assert AuditEvent.objects.count() == 250
        # Four tiers: organisations 0-7 buy (two per tier), 14 links between neighbouring tiers.
        assert SupplierLink.objects.count() == 14 == Supplier.objects.count()
        levels = {o.pk: int(o.slug[-5:]) * 5 // 10 for o in Organisation.objects.all()}
        assert all(
            levels[link.supplier_organisation_id] == levels[link.buyer_id] + 1 for link in SupplierLink.objects.all()
        )
        evidence = Evidence.objects.first()
        with evidence.file.open("rb") as handle:
            import hashlib

            assert hashlib.sha256(handle.read()).hexdigest() == evidence.sha256
    for organisation in Organisation.objects.filter(slug__startswith=SLUG_PREFIX):
        check = audit_verify_chain(organisation=organisation)
        assert check.ok, check.reason
        assert check.events_checked == 25


def test_the_same_seed_builds_the_same_data() -> None:
    seed_scale(PLAN)
    first = _fingerprint()
    Organisation.objects.filter(slug__startswith=SLUG_PREFIX).delete()
    User.objects.filter(email__endswith="@scale.example").delete()
    seed_scale(PLAN)
    assert _fingerprint() == first
    seed_scale(ScalePlan(organisations=10, years=3, evidence=25, links=14, events=250, seed=8))
    assert _fingerprint() == first, "a finished data set is left alone, whatever the seed"


def test_an_interrupted_run_is_finished_by_the_next() -> None:
    seed_scale(PLAN)
    expected = _fingerprint()
    with scopes_disabled():
        links = SupplierLink.objects.count()
    # As if the run had stopped: one organisation never built, one without its chain head yet.
    Organisation.objects.filter(slug=f"{SLUG_PREFIX}00007").delete()
    Organisation.objects.filter(slug=f"{SLUG_PREFIX}00004").update(audit_head_sequence=0)
    result = seed_scale(PLAN)
    assert (result.built, result.skipped) == (2, 8)
    assert _fingerprint() == expected
    with scopes_disabled():
        assert AuditEvent.objects.count() == 250
        assert SupplierLink.objects.count() == links


def test_the_command_reports_what_it_did() -> None:
    out = StringIO()
    call_command(
        "seed_scale",
        organisations=5,
        years=1,
        evidence=5,
        links=3,
        events=20,
        quiet=True,
        stdout=out,
        stderr=StringIO(),
    )
    assert "5 organisations ready: 5 built, 0 already there" in out.getvalue()
