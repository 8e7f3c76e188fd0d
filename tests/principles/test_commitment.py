"""Signing and withdrawing the organisation's commitment, through the signing primitive."""

from __future__ import annotations

import pytest
from django_scopes import scope, scopes_disabled

from portal.models import AuditEvent, Organisation, Signature
from portal.roles import Role
from portal.signing import snapshot_hash
from portal.versions import bump
from principles.models import Commitment
from tests.conftest import client_for
from tests.querycount import assert_queries

pytestmark = pytest.mark.django_db


def _sign(client, slug: str, *, name="Olivia Owen", title="Managing Director", supply_chain=True):
    data = {"typed_name": name, "job_title": title}
    if supply_chain:
        data["extends_to_supply_chain"] = "on"
    step1 = client.post(f"/o/{slug}/commitment/sign/", data)
    assert step1.status_code == 302 and step1["Location"].endswith("/commitment/sign/check/")
    check = client.get(step1["Location"])
    content_hash = check.context["content_hash"]
    return check, client.post(
        step1["Location"], {"content_hash": content_hash}, HTTP_USER_AGENT="Firefox on the shop floor"
    )


def test_owner_signs_after_checking_exactly_what_is_signed(tenant, framework, owner_client) -> None:
    slug = tenant.organisation.slug
    check, response = _sign(owner_client, slug)
    html = check.content.decode()
    assert "Check what you are signing" in html and "extend these principles to our supply chain" in html
    assert check.context["content_hash"] in html
    assert response.status_code == 302
    with scope(organisation=tenant.organisation):
        commitment = Commitment.objects.get()
        signature = Signature.objects.get()
    assert commitment.status == "active" and commitment.extends_to_supply_chain
    assert signature.content_hash == check.context["content_hash"] == snapshot_hash(signature.snapshot)
    assert signature.typed_name == "Olivia Owen" and signature.job_title == "Managing Director"
    assert signature.signer == tenant.owner and signature.signer_role == Role.OWNER
    assert signature.ip_address == "127.0.0.1" and signature.user_agent == "Firefox on the shop floor"
    assert signature.mfa_used is False and signature.statement == commitment.statement
    page = owner_client.get(f"/o/{slug}/commitment/").content.decode()
    assert signature.content_hash in page and "Olivia Owen, Managing Director" in page
    with scope(organisation=tenant.organisation):
        verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    assert {"signature.sign", "commitment.signed"} <= verbs


def test_sign_step_errors_keep_input(tenant, framework, owner_client) -> None:
    response = owner_client.post(f"/o/{tenant.organisation.slug}/commitment/sign/", {"typed_name": "Olivia Owen"})
    html = response.content.decode()
    assert "<title>Error:" in html and "Enter your job title" in html and 'value="Olivia Owen"' in html


def test_content_changed_between_check_and_sign_is_refused(tenant, framework, owner_client) -> None:
    slug = tenant.organisation.slug
    owner_client.post(f"/o/{slug}/commitment/sign/", {"typed_name": "Olivia Owen", "job_title": "MD"})
    check = owner_client.get(f"/o/{slug}/commitment/sign/check/")
    with scopes_disabled():
        Organisation.objects.filter(pk=tenant.organisation.pk).update(name="Renamed Ltd")
    response = owner_client.post(f"/o/{slug}/commitment/sign/check/", {"content_hash": check.context["content_hash"]})
    assert response.status_code == 400 and "has changed since" in response.content.decode()
    with scope(organisation=tenant.organisation):
        assert not Commitment.objects.exists()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.WORKFORCE_REP, Role.AUDITOR, Role.MEMBER])
def test_only_owners_sign_the_commitment(tenant, framework, role) -> None:
    client = client_for(tenant.user(role))
    slug = tenant.organisation.slug
    assert client.get(f"/o/{slug}/commitment/").status_code == 200
    assert client.get(f"/o/{slug}/commitment/sign/").status_code == 403
    assert client.post(f"/o/{slug}/commitment/sign/check/", {"content_hash": "x"}).status_code == 403


def test_withdrawal_needs_a_reason_then_a_new_commitment_can_be_signed(tenant, framework, owner_client) -> None:
    slug = tenant.organisation.slug
    _sign(owner_client, slug)
    url = f"/o/{slug}/commitment/withdraw/"
    assert "Withdraw the commitment?" in owner_client.get(url).content.decode()
    response = owner_client.post(url, {"reason": ""})
    assert "Say why the commitment is being withdrawn" in response.content.decode()
    owner_client.post(url, {"reason": "Company sold; new owners to decide"})
    with scope(organisation=tenant.organisation):
        old = Commitment.objects.get()
    assert old.status == "withdrawn" and old.withdrawal_reason == "Company sold; new owners to decide"
    _sign(owner_client, slug, supply_chain=False)
    with scope(organisation=tenant.organisation):
        assert Commitment.objects.filter(status="active").count() == 1
        assert Commitment.objects.count() == 2
    page = owner_client.get(f"/o/{slug}/commitment/").content.decode()
    assert "Earlier commitments" in page and "Company sold" in page


def test_signing_twice_is_refused(tenant, framework, owner_client) -> None:
    slug = tenant.organisation.slug
    _sign(owner_client, slug)
    response = owner_client.get(f"/o/{slug}/commitment/sign/")
    assert response.status_code == 302
    with scope(organisation=tenant.organisation):
        assert Commitment.objects.count() == 1


def _count(client, url: str, expected: int, label: str) -> None:
    from tests.querycount import assert_queries

    client.get(url)  # the first request of a session records it
    with assert_queries(expected, label):
        response = client.get(url)
    assert response.status_code == 200, (label, response.status_code)


def test_commitment_pages_do_not_grow_with_the_history(tenant, framework, owner_client) -> None:
    """Each page's queries after the base 3 (the user; the memberships with their organisations; the
    "Your work" count)."""
    slug = tenant.organisation.slug
    base = f"/o/{slug}/commitment/"

    def measure() -> None:
        # warm, the content from the cache; cold (after any write): the commitments with their
        # framework, signature and withdrawer, and the current framework
        _count(owner_client, base, 3, "commitment")
        bump(organisations=[tenant.organisation])
        with assert_queries(5, "commitment, cold"):
            assert owner_client.get(base).status_code == 200
        # whether one is active (the sign page redirects then: measured on a fresh organisation below)
        _count(owner_client, base + "withdraw/", 4, "withdraw")  # the active commitment

    _sign(owner_client, slug)
    measure()
    for n in range(3):
        owner_client.post(base + "withdraw/", {"reason": f"Restructure {n}"})
        _sign(owner_client, slug, name=f"Olivia Owen {n}")
    with scope(organisation=tenant.organisation):
        assert Commitment.objects.count() == 4
    measure()


def test_signing_pages_do_not_grow(tenant, framework, outsider) -> None:
    from tests.factories import OrganisationFactory, add_member

    client = client_for(outsider)
    with scopes_disabled():
        (membership,) = outsider.memberships.all()
    slug = membership.organisation.slug
    sign, check = f"/o/{slug}/commitment/sign/", f"/o/{slug}/commitment/sign/check/"
    client.post(sign, {"typed_name": "Nora North", "job_title": "Owner", "extends_to_supply_chain": "on"})

    def measure() -> None:
        _count(client, sign, 5, "sign")  # whether one is active; the current framework
        _count(client, check, 4, "check")  # the current framework

    measure()
    for _ in range(3):
        add_member(OrganisationFactory(), outsider, Role.OWNER)
    measure()


def test_the_commitment_page_is_cached_and_each_signing_or_withdrawal_is_seen_on_the_next_request(
    tenant, framework, owner_client
) -> None:
    """The page's content is kept per organisation version, role and date (issue 19): a warm request
    reads no commitment, and signing and withdrawing (through the pages and the service) show at once."""
    from principles.services import commitment_withdraw

    slug = tenant.organisation.slug
    url = f"/o/{slug}/commitment/"
    member = client_for(tenant.member)
    assert "has not signed the commitment" in owner_client.get(url).content.decode()
    assert "An owner of the organisation signs it." in member.get(url).content.decode()  # worded for the role
    assert f"/o/{slug}/commitment/sign/" in owner_client.get(url).content.decode()
    bump(organisations=[tenant.organisation])
    with assert_queries(5, "commitment page, cold"):  # the base 3, the commitments, the current framework
        cold = owner_client.get(url).content.decode()
    with assert_queries(3, "commitment page, warm"):
        warm = owner_client.get(url).content.decode()
    assert warm.split("csrfmiddlewaretoken")[0] == cold.split("csrfmiddlewaretoken")[0]

    _sign(owner_client, slug, name="Olivia Owen")
    html = owner_client.get(url).content.decode()
    assert "Olivia Owen, Managing Director" in html and "has not signed" not in html
    assert "Olivia Owen, Managing Director" in member.get(url).content.decode()

    with scope(organisation=tenant.organisation):
        commitment = Commitment.objects.get()
    commitment_withdraw(commitment=commitment, actor=tenant.owner, reason="We are <restructuring> & will re-sign")
    html = owner_client.get(url).content.decode()
    assert "has not signed the commitment" in html and "Earlier commitments" in html
    assert "We are &lt;restructuring&gt; &amp; will re-sign" in html
