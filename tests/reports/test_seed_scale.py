"""`manage.py seed_scale`: the benchmark data set is what it says, valid, reproducible and resumable."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from assessments.models import (
    Assessment,
    Characteristic,
    ConsultationMeeting,
    EqiaRow,
    Evidence,
    Plan,
    PlanCitation,
    Response,
)
from portal.audit import audit_verify_chain
from portal.models import AuditEvent, Membership, Organisation, User
from principles.models import Criterion
from reports.scale import SLUG_PREFIX, ScalePlan, seed_scale
from supplychain.models import Campaign, CampaignEdge, Supplier, SupplierInvitation, SupplierLink

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
    assert (result.plans_built, result.campaigns_built) == (10, 2)


def test_plans_and_campaigns_are_complete_and_follow_the_links() -> None:
    seed_scale(PLAN)
    with scopes_disabled():
        # Two plans each: one final, one draft; every section filled, evidence cited, an EqIA row
        # per protected characteristic, two consultation meetings.
        assert Plan.objects.count() == 20
        assert Plan.objects.filter(status="final").count() == 10
        assert not Plan.objects.filter(technology="").exists() and not Plan.objects.filter(jobs_affected="").exists()
        assert EqiaRow.objects.count() == 20 * len(Characteristic.values)
        assert ConsultationMeeting.objects.count() == 40
        assert PlanCitation.objects.count() >= 10
        assert all(c.evidence.organisation_id == c.plan.organisation_id for c in PlanCitation.objects.all())
        # The two top buyers each run a two-tier campaign along their links.
        campaigns = list(Campaign.objects.all())
        assert sorted(c.organisation.slug for c in campaigns) == [f"{SLUG_PREFIX}00000", f"{SLUG_PREFIX}00001"]
        links = set(SupplierLink.objects.values_list("buyer_id", "supplier_organisation_id"))
        for invitation in SupplierInvitation.objects.select_related("supplier", "parent"):
            supplier_org = invitation.supplier.linked_organisation_id
            assert (invitation.inviter_id, supplier_org) in links
            assert invitation.tier == (1 if invitation.parent is None else 2)
            if invitation.parent is not None:
                assert invitation.parent.state == "accepted"
                assert invitation.parent.supplier.linked_organisation_id == invitation.inviter_id
        assert SupplierInvitation.objects.filter(tier=1).count() >= 2
        assert CampaignEdge.objects.count() == SupplierInvitation.objects.count()


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
    assert result.plans_built == 2, "the two rebuilt organisations get their plans back, no other"
    with scopes_disabled():
        assert Plan.objects.count() == 20
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
