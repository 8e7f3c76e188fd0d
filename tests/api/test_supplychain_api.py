"""The supply-chain API: the register and its CSV import, campaigns, coverage and the tree as the
buyer sees it, resend and revoke, and the supplier's side (requests, accept, decline, pass on, buyers)."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scopes_disabled

from portal.models import AuditEvent, Signature
from portal.roles import Role
from principles.services import active_commitment
from supplychain import services
from supplychain.models import Campaign, InvitationState, Supplier, SupplierImport, SupplierInvitation, SupplierLink
from tests.api.conftest import make_token, token_client
from tests.querycount import assert_queries
from tests.supplychain.test_cascade import CONTEXT, Company, start

pytestmark = pytest.mark.django_db


def _error(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["message"]
    if field is not None:
        assert field in body["fields"], body
    return body


def _add(tenant, name: str, email: str, **extra) -> Supplier:
    return services.supplier_save(
        organisation=tenant.organisation, actor=tenant.owner, name=name, contact_name="", contact_email=email, **extra
    )


def _verbs(organisation) -> list[str]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(organisation=organisation).values_list("verb", flat=True))


def _suppliers(organisation) -> list[Supplier]:
    with scopes_disabled():
        return list(Supplier.objects.filter(organisation=organisation).order_by("name"))


def _company_client(company: Company):
    return token_client(make_token(company.owner, company.org))


# An API request's base cost is 1 query: the token with its person, organisation and membership
# (portal.tokens.token_by_prefix). The comments at each call say what the endpoint reads itself.
def _queries(client, url: str, expected: int, label: str) -> None:
    client.get(url)  # a token's first use of the minute records it; measure the steady state
    with assert_queries(expected, label):
        response = client.get(url)
    assert response.status_code == 200, response.content


def _due(days: int = 20) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


# --- Register ------------------------------------------------------------------------------------


def test_register_lists_searches_and_shows_archived(api) -> None:
    severn = _add(api.tenant, "Severn Plastics", "sam@severn.example", company_number="01234567")
    _add(api.tenant, "Wolds Electrical", "wendy@wolds.example")
    services.supplier_archive(supplier=_add(api.tenant, "Old Mill", "o@mill.example"), actor=api.tenant.owner)
    client = api.client("workforce_rep")
    names = [s["name"] for s in client.get(f"{api.base}suppliers/").json()["results"]]
    assert sorted(names) == ["Severn Plastics", "Wolds Electrical"]
    found = client.get(f"{api.base}suppliers/", {"search": "0123"}).json()["results"]
    assert [s["id"] for s in found] == [str(severn.pk)]
    assert found[0]["country"] == "GB" and found[0]["archived"] is False and found[0]["linked_organisation"] is None
    archived = client.get(f"{api.base}suppliers/", {"archived": "true"}).json()["results"]
    assert [(s["name"], s["archived"]) for s in archived] == [("Old Mill", True)]
    _error(client.get(f"{api.base}suppliers/", {"archived": "maybe"}), 400, "archived")


def test_auditors_do_not_reach_the_supply_chain(api) -> None:
    client = api.client("auditor")
    for path in ("suppliers/", "campaigns/", "requests/", "buyers/"):
        assert _error(client.get(f"{api.base}{path}"), 403)["code"] == "permission_denied"


def test_outsiders_get_404_everywhere(api, outsider_client) -> None:
    supplier = _add(api.tenant, "Severn Plastics", "sam@severn.example")
    for path in ("suppliers/", f"suppliers/{supplier.pk}/", "campaigns/", "requests/", "buyers/"):
        assert _error(outsider_client.get(f"{api.base}{path}"), 404)["code"] == "not_found"
    _error(outsider_client.post(f"{api.base}suppliers/", {"name": "X", "contact_email": "x@x.example"}), 404)
    _error(outsider_client.patch(f"{api.base}suppliers/{supplier.pk}/", {"name": "Hacked"}), 404)
    _error(outsider_client.post(f"{api.base}suppliers/{supplier.pk}/archive/"), 404)
    assert _suppliers(api.organisation)[0].name == "Severn Plastics"


def test_register_queries_do_not_grow(api) -> None:
    client = api.client("owner")
    _add(api.tenant, "Supplier 0", "s0@s0.example")
    _queries(client, f"{api.base}suppliers/", 2, "suppliers, one")  # + one page of suppliers
    for i in range(1, 4):
        _add(api.tenant, f"Supplier {i}", f"s{i}@s{i}.example")
    _queries(client, f"{api.base}suppliers/", 2, "suppliers, four")


def test_create_a_supplier(api) -> None:
    response = api.client("manager").post(
        f"{api.base}suppliers/",
        {
            "name": " Severn Plastics ",
            "contact_email": "Sam@Severn.example",
            "company_number": "0123 4567",
            "country": "de",
        },
    )
    assert response.status_code == 201, response.content
    (supplier,) = _suppliers(api.organisation)
    assert (supplier.name, supplier.contact_email, supplier.company_number, str(supplier.country)) == (
        "Severn Plastics",
        "sam@severn.example",
        "01234567",
        "DE",
    )
    assert response.json()["id"] == str(supplier.pk)
    assert _verbs(api.organisation).count("supplier.added") == 1


def test_members_cannot_add_suppliers(api) -> None:
    response = api.client("member").post(f"{api.base}suppliers/", {"name": "X", "contact_email": "x@x.example"})
    assert _error(response, 403)["code"] == "permission_denied"
    assert _suppliers(api.organisation) == []


def test_a_supplier_is_refused_twice_with_a_field_error(api) -> None:
    _add(api.tenant, "Severn Plastics", "sam@severn.example", company_number="01234567")
    _add(api.tenant, "Wolds Electrical", "wendy@wolds.example")
    client = api.client("owner")
    body = _error(
        client.post(
            f"{api.base}suppliers/", {"name": "Other", "contact_email": "a@b.example", "company_number": "01234567"}
        ),
        400,
        "company_number",
    )
    assert body["code"] == "validation_error" and "already in your register" in body["fields"]["company_number"][0]
    body = _error(
        client.post(f"{api.base}suppliers/", {"name": "Wolds Electrical Ltd", "contact_email": "bob@wolds.example"}),
        400,
        "name",
    )
    assert "Wolds Electrical is already in your register" in body["fields"]["name"][0]
    body = _error(client.post(f"{api.base}suppliers/", {"name": "", "contact_email": "nope", "country": "XX"}), 400)
    assert set(body["fields"]) == {"name", "contact_email", "country"}
    assert len(_suppliers(api.organisation)) == 2


def test_read_and_change_a_supplier(api) -> None:
    supplier = _add(api.tenant, "Severn Plastics", "sam@severn.example")
    _add(api.tenant, "Wolds Electrical", "wendy@wolds.example")
    url = f"{api.base}suppliers/{supplier.pk}/"
    assert api.client("workforce_rep").get(url).json()["name"] == "Severn Plastics"
    assert _error(api.client("member").patch(url, {"contact_name": "Sam"}), 403)
    response = api.client("manager").patch(url, {"contact_name": "Sam Price"})
    assert response.status_code == 200 and response.json()["contact_name"] == "Sam Price"
    supplier.refresh_from_db()
    assert (supplier.name, supplier.contact_name, supplier.contact_email) == (
        "Severn Plastics",
        "Sam Price",
        "sam@severn.example",
    )
    body = _error(
        api.client("manager").patch(url, {"name": "Wolds Electrical", "contact_email": "x@wolds.example"}), 400, "name"
    )
    assert "already in your register" in body["message"]
    _error(api.client("manager").patch(url, {"contact_email": "not-an-email"}), 400, "contact_email")
    supplier.refresh_from_db()
    assert supplier.name == "Severn Plastics"
    _error(api.client("owner").get(f"{api.base}suppliers/00000000-0000-0000-0000-000000000000/"), 404)


def test_a_supplier_reads_exactly_as_its_serializer_fields_say(api) -> None:
    """The serializer builds each row directly (cheaper than DRF's walk over its fields): the same data
    as the fields give, for a current, an archived and a linked supplier, and in the list."""
    from rest_framework import serializers

    from supplychain.api import SupplierSerializer

    _add(api.tenant, "Severn Plastics", "sam@severn.example", company_number="01234567", country="DE")
    archived = _add(api.tenant, "Old Mill", "o@mill.example")
    services.supplier_archive(supplier=archived, actor=api.tenant.owner)
    linked = _add(api.tenant, "Wolds Electrical", "wendy@wolds.example")
    with scopes_disabled():
        Supplier.objects.filter(pk=linked.pk).update(linked_organisation=api.organisation)
        rows = list(Supplier.objects.filter(organisation=api.organisation).select_related("linked_organisation"))
    for supplier in rows:
        fast = SupplierSerializer(supplier).data
        assert fast == serializers.ModelSerializer.to_representation(SupplierSerializer(), supplier)
        assert list(fast) == list(SupplierSerializer().fields)
    by_name = {s["name"]: s for s in api.client("owner").get(f"{api.base}suppliers/").json()["results"]}
    assert by_name["Wolds Electrical"]["linked_organisation"] == api.organisation.name
    assert by_name["Severn Plastics"]["country"] == "DE" and by_name["Severn Plastics"]["archived_at"] is None


def test_archive_and_restore(api) -> None:
    supplier = _add(api.tenant, "Severn Plastics", "sam@severn.example")
    client = api.client("manager")
    assert _error(api.client("member").post(f"{api.base}suppliers/{supplier.pk}/archive/"), 403)
    response = client.post(f"{api.base}suppliers/{supplier.pk}/archive/")
    assert response.status_code == 200 and response.json()["archived"] is True
    supplier.refresh_from_db()
    assert supplier.archived_at is not None
    assert _error(client.post(f"{api.base}suppliers/{supplier.pk}/archive/"), 409)["code"] == "conflict"
    assert client.post(f"{api.base}suppliers/{supplier.pk}/restore/").json()["archived"] is False
    supplier.refresh_from_db()
    assert supplier.archived_at is None
    assert {"supplier.archived", "supplier.restored"} <= set(_verbs(api.organisation))


# --- CSV import ----------------------------------------------------------------------------------

CLEAN = (
    "name,contact_name,contact_email,company_number,country\n"
    "Severn Plastics,Sam Price,sam@severn.example,01234567,GB\n"
    '"=HYPERLINK(""http://evil.example"",""x"")",Eve,eve@evil.example,,GB\n'
    "Wolds Electrical,Wendy Ross,wendy@wolds.example,,GB\n"
)
BAD = (
    "name,contact_name,contact_email,company_number,country\n"
    '"=HYPERLINK(""http://evil.example"",""x"")",Eve,eve@evil.example,,GB\n'
    "Bad Email Ltd,Bob,bob@,,GB\n"
    ",Nobody,,12,Germany\n"
    "Wolds Electrical,Wendy Ross,wendy@wolds.example,,GB\n"
)


def _upload(client, api, text: str, name: str = "suppliers.csv"):
    return client.post(
        f"{api.base}suppliers/import/",
        {"file": SimpleUploadedFile(name, text.encode(), content_type="text/csv")},
        format="multipart",
    )


def _imports(api) -> list[SupplierImport]:
    with scopes_disabled():
        return list(SupplierImport.objects.filter(organisation=api.organisation))


def test_import_previews_then_confirms_once(api) -> None:
    _add(api.tenant, "Wolds Electrical", "wendy@wolds.example")
    client = api.client("manager")
    response = _upload(client, api, CLEAN)
    assert response.status_code == 201, response.content
    preview = response.json()
    assert (preview["total_rows"], preview["to_import"], preview["already_in_register"]) == (3, 2, 1)
    assert [(r["line"], r["name"]) for r in preview["rows"]] == [
        (2, "Severn Plastics"),
        (3, '=HYPERLINK("http://evil.example","x")'),  # data, returned as text
    ]
    assert preview["skipped"][0]["line"] == 4 and "Already in your register" in preview["skipped"][0]["reason"]
    assert len(_suppliers(api.organisation)) == 1  # nothing imported yet
    confirm = client.post(f"{api.base}supplier-imports/{preview['id']}/confirm/")
    assert confirm.status_code == 200, confirm.content
    assert (confirm.json()["imported"], confirm.json()["already_in_register"]) == (2, 1)
    assert sorted(s.name for s in _suppliers(api.organisation)) == [
        '=HYPERLINK("http://evil.example","x")',
        "Severn Plastics",
        "Wolds Electrical",
    ]
    assert _error(client.post(f"{api.base}supplier-imports/{preview['id']}/confirm/"), 409)["code"] == (
        "already_imported"
    )
    assert len(_suppliers(api.organisation)) == 3


def test_import_refuses_rows_with_problems_by_spreadsheet_line_and_cell(api) -> None:
    body = _error(_upload(api.client("owner"), api, BAD), 400, "rows.3.contact_email")
    assert body["code"] == "validation_error"
    assert "2 of 4 rows have problems" in body["message"]
    assert body["fields"]["rows.3.contact_email"] == ["“bob@” is not a valid email address"]
    assert body["fields"]["rows.4.name"] == ["Missing name"]
    assert body["fields"]["rows.4.contact_email"] == ["Missing email address"]
    assert body["fields"]["rows.4.country"] and body["fields"]["rows.4.company_number"]
    assert not any(key.startswith("rows.2") or key.startswith("rows.5") for key in body["fields"])
    # Nothing saved: neither suppliers nor a preview waiting for confirmation.
    assert _suppliers(api.organisation) == [] and _imports(api) == []


def test_import_duplicate_rows_name_the_matching_cell(api) -> None:
    text = "name,contact_email,company_number\nA Ltd,a@a.example,01234567\nB Ltd,b@b.example,01234567\n"
    body = _error(_upload(api.client("owner"), api, text), 400, "rows.3.company_number")
    assert "Duplicate of line 2" in body["fields"]["rows.3.company_number"][0]


def test_import_refuses_an_unreadable_file_on_the_file_field(api) -> None:
    body = _error(_upload(api.client("owner"), api, "name,contact_email,phone\nA,a@a.example,1\n"), 400, "file")
    assert "Unknown column" in body["fields"]["file"][0]
    _error(_upload(api.client("owner"), api, ""), 400, "file")
    _error(api.client("owner").post(f"{api.base}suppliers/import/", {}, format="multipart"), 400, "file")
    assert _imports(api) == []


def test_import_needs_edit_rights_and_stays_in_its_organisation(api, outsider_client) -> None:
    assert _error(_upload(api.client("member"), api, CLEAN), 403)
    preview = _upload(api.client("owner"), api, CLEAN).json()
    assert _error(api.client("workforce_rep").post(f"{api.base}supplier-imports/{preview['id']}/confirm/"), 403)
    assert _error(outsider_client.post(f"{api.base}supplier-imports/{preview['id']}/confirm/"), 404)
    assert _suppliers(api.organisation) == []


# --- Campaigns -----------------------------------------------------------------------------------


def _campaign_body(**extra) -> dict:
    return {"title": "Commit 2026", "message": "Please commit", "depth": 2, "due_date": _due(), **extra}


def test_start_a_campaign_with_chosen_suppliers(api, framework) -> None:
    bravo, charlie = Company("Bravo"), Company("Charlie")
    chosen = _add(api.tenant, "Bravo", bravo.email)
    _add(api.tenant, "Charlie", charlie.email)
    response = api.client("manager").post(
        f"{api.base}campaigns/",
        _campaign_body(supplier_ids=[str(chosen.pk)], reminder_days=[15, 3], invitation_ttl_days=10),
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["owner"] is True and data["created_by"]["email"] == api.tenant.manager.email
    with scopes_disabled():
        campaign = Campaign.objects.get(pk=data["id"])
    assert (campaign.depth, campaign.reminder_days, campaign.invitation_ttl_days) == (2, [3, 15], 10)
    (invitation,) = SupplierInvitation.objects.filter(campaign=campaign)
    assert invitation.email == bravo.email and invitation.tier == 1
    assert timedelta(days=9) < invitation.expires_at - timezone.now() <= timedelta(days=10)
    assert "campaign.started" in _verbs(api.organisation)


def test_start_a_campaign_for_every_supplier(api, framework) -> None:
    _add(api.tenant, "Bravo", "b@bravo.example")
    _add(api.tenant, "Charlie", "c@charlie.example")
    response = api.client("owner").post(f"{api.base}campaigns/", _campaign_body(all_suppliers=True), format="json")
    assert response.status_code == 201
    assert SupplierInvitation.objects.filter(campaign_id=response.json()["id"]).count() == 2


def test_campaign_validation_matches_the_form(api) -> None:
    supplier = _add(api.tenant, "Bravo", "b@bravo.example")
    client = api.client("owner")
    url = f"{api.base}campaigns/"
    ids = [str(supplier.pk)]
    body = _error(client.post(url, _campaign_body(depth=6, supplier_ids=ids), format="json"), 400, "depth")
    assert body["fields"]["depth"] == ["Choose a depth from 1 to 5 tiers"]
    body = _error(client.post(url, _campaign_body(due_date=_due(0), supplier_ids=ids), format="json"), 400)
    assert body["fields"] == {"due_date": ["The reply-by date must be in the future"]}
    _error(client.post(url, _campaign_body(reminder_days=[0], supplier_ids=ids), format="json"), 400, "reminder_days.0")
    body = _error(client.post(url, _campaign_body(), format="json"), 400, "supplier_ids")
    assert "Choose at least one supplier" in body["fields"]["supplier_ids"][0]
    unknown = "00000000-0000-0000-0000-000000000000"
    _error(client.post(url, _campaign_body(supplier_ids=[ids[0], unknown]), format="json"), 400, "supplier_ids.1")
    _error(client.post(url, {"message": "x"}, format="json"), 400, "title")
    services.supplier_archive(supplier=supplier, actor=api.tenant.owner)
    _error(client.post(url, _campaign_body(all_suppliers=True), format="json"), 400, "all_suppliers")
    with scopes_disabled():
        assert not Campaign.objects.filter(organisation=api.organisation).exists()


def test_members_cannot_start_campaigns(api) -> None:
    supplier = _add(api.tenant, "Bravo", "b@bravo.example")
    response = api.client("member").post(
        f"{api.base}campaigns/", _campaign_body(supplier_ids=[str(supplier.pk)]), format="json"
    )
    _error(response, 403)
    assert not SupplierInvitation.objects.exists()


def _buyer_campaign(api, *companies: Company, depth: int = 3) -> Campaign:
    for company in companies:
        _add(api.tenant, company.org.name, company.email)
    return services.campaign_start(
        organisation=api.organisation,
        actor=api.tenant.owner,
        title="Commit",
        message="Please commit",
        depth=depth,
        due_date=timezone.localdate() + timedelta(days=20),
        supplier_ids=None,
    )


def test_campaign_list_detail_and_query_counts(api, framework, outsider_client) -> None:
    campaign = _buyer_campaign(api, Company("Bravo"))
    client = api.client("workforce_rep")
    listed = client.get(f"{api.base}campaigns/").json()["results"]
    assert [c["id"] for c in listed] == [str(campaign.pk)]
    _queries(client, f"{api.base}campaigns/", 2, "campaigns, one")  # + one page of campaigns
    for _ in range(3):
        _buyer_campaign(api)
    _queries(client, f"{api.base}campaigns/", 2, "campaigns, four")
    detail = client.get(f"{api.base}campaigns/{campaign.pk}/").json()
    assert detail["title"] == "Commit" and detail["owner"] is True and detail["created_by"]["email"]
    _error(outsider_client.get(f"{api.base}campaigns/{campaign.pk}/"), 404)
    _error(outsider_client.get(f"{api.base}campaigns/{campaign.pk}/coverage/"), 404)
    _error(outsider_client.get(f"{api.base}campaigns/{campaign.pk}/invitations/"), 404)


def test_a_supplier_sees_the_campaign_it_accepted_but_not_the_buyers_coverage(api, framework) -> None:
    bravo, charlie = Company("Bravo"), Company("Charlie")
    campaign = _buyer_campaign(api, bravo, charlie)
    client = _company_client(bravo)
    base = f"/api/v1/organisations/{bravo.org.slug}/"
    _error(client.get(f"{base}campaigns/{campaign.pk}/"), 404)  # only invited so far
    bravo.accept(campaign)
    detail = client.get(f"{base}campaigns/{campaign.pk}/").json()
    assert detail["owner"] is False and detail["created_by"] is None
    assert detail["organisation_name"] == api.organisation.name
    _error(client.get(f"{base}campaigns/{campaign.pk}/coverage/"), 403)
    # Bravo has asked no one: it sees none of the buyer's other suppliers.
    assert client.get(f"{base}campaigns/{campaign.pk}/invitations/").json()["results"] == []


def test_coverage_per_tier(api, framework) -> None:
    bravo, charlie, delta, echo = Company("Bravo"), Company("Charlie"), Company("Delta"), Company("Echo")
    campaign = _buyer_campaign(api, bravo, charlie, echo)
    bravo.lists(delta)
    bravo.accept(campaign)
    bravo.forward(campaign, delta)
    services.invitation_decline(
        invitation=SupplierInvitation.objects.get(campaign=campaign, email=charlie.email),
        user=charlie.owner,
        organisation=charlie.org,
        reason="Not now",
    )
    services.invitation_revoke(
        invitation=SupplierInvitation.objects.get(campaign=campaign, email=echo.email), actor=api.tenant.owner
    )
    response = api.client("workforce_rep").get(f"{api.base}campaigns/{campaign.pk}/coverage/")
    assert response.status_code == 200
    tiers = {t["tier"]: t for t in response.json()["tiers"]}
    assert set(tiers) == {1, 2, 3}
    t1 = tiers[1]
    assert (t1["invited"], t1["accepted"], t1["declined"], t1["pending"], t1["expired"]) == (3, 1, 1, 0, 1)
    assert (t1["accepted_percent"], t1["expired_percent"]) == (33, 33)
    assert (tiers[2]["invited"], tiers[2]["pending"], tiers[2]["pending_percent"]) == (1, 1, 100)
    assert tiers[3]["invited"] == 0


def test_the_tree_names_only_the_buyers_own_suppliers(api, framework) -> None:
    bravo, charlie, delta = Company("Bravo"), Company("Charlie"), Company("Delta Secret")
    campaign = _buyer_campaign(api, bravo, charlie)
    bravo.lists(delta)
    bravo.accept(campaign)
    bravo.forward(campaign, delta)
    url = f"{api.base}campaigns/{campaign.pk}/invitations/"
    response = api.client("workforce_rep").get(url)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Delta" not in text and delta.email not in text
    rows = {r["supplier"]["name"]: r for r in response.json()["results"]}
    assert set(rows) == {"Bravo", "Charlie"}
    assert rows["Bravo"]["state"] == "accepted" and rows["Bravo"]["shared_summary"] is None
    assert rows["Bravo"]["below"] == {"invited": 1, "accepted": 0, "declined": 0, "pending": 1, "expired": 0}
    assert rows["Charlie"]["state"] == "pending" and rows["Charlie"]["tier"] == 1
    # Filters: state (as shown) and tier.
    accepted = api.client("workforce_rep").get(url, {"state": "accepted"}).json()["results"]
    assert [r["supplier"]["name"] for r in accepted] == ["Bravo"]
    assert api.client("workforce_rep").get(url, {"tier": 2}).json()["results"] == []
    _error(api.client("workforce_rep").get(url, {"state": "revoked"}), 400, "state")
    # Bravo sees the supplier it asked itself, by name.
    mine = _company_client(bravo).get(f"/api/v1/organisations/{bravo.org.slug}/campaigns/{campaign.pk}/invitations/")
    assert [r["supplier"]["name"] for r in mine.json()["results"]] == ["Delta Secret"]
    # Once Bravo shares, the buyer sees its summary maturity; never before.
    link = SupplierLink.objects.get(buyer=api.organisation, supplier_organisation=bravo.org)
    services.link_set_sharing(link=link, actor=bravo.owner, share=True)
    shared = api.client("workforce_rep").get(url, {"state": "accepted"}).json()["results"][0]["shared_summary"]
    assert shared == {"assessment": None, "principles": []}


def test_tree_queries_do_not_grow(api, framework) -> None:
    companies = [Company(f"Sharer{i}") for i in range(4)]
    campaign = _buyer_campaign(api, *companies)
    url = f"{api.base}campaigns/{campaign.pk}/invitations/"
    client = api.client("owner")

    def share(company: Company) -> None:
        company.accept(campaign)
        link = SupplierLink.objects.get(buyer=api.organisation, supplier_organisation=company.org)
        services.link_set_sharing(link=link, actor=company.owner, share=True)

    share(companies[0])
    # + the campaign; one page of the buyer's own invitations; the whole campaign's states (counts
    # below each); the links sharing maturity; the sharers' final assessments
    _queries(client, f"{url}?state=accepted", 6, "tree, one sharing")
    for company in companies[1:]:
        share(company)
    assert len(client.get(f"{url}?state=accepted").json()["results"]) == 4
    _queries(client, f"{url}?state=accepted", 6, "tree, four sharing")


# --- Resend and revoke ---------------------------------------------------------------------------


def test_resend_and_revoke(api, framework, outsider_client) -> None:
    bravo = Company("Bravo")
    campaign = _buyer_campaign(api, bravo)
    invitation = SupplierInvitation.objects.get(campaign=campaign)
    old_nonce = invitation.nonce
    base = f"{api.base}supplier-invitations/{invitation.pk}/"
    _error(api.client("member").post(f"{base}resend/"), 403)
    _error(outsider_client.post(f"{base}resend/"), 404)
    response = api.client("manager").post(f"{base}resend/")
    assert response.status_code == 200 and response.json()["state"] == "pending"
    invitation.refresh_from_db()
    assert invitation.nonce != old_nonce
    _error(api.client("workforce_rep").post(f"{base}revoke/"), 403)
    assert api.client("owner").post(f"{base}revoke/").json()["state"] == "revoked"
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.REVOKED
    assert _error(api.client("owner").post(f"{base}revoke/"), 409)["code"] == "conflict"
    assert {"supplier_request.resent", "supplier_request.revoked"} <= set(_verbs(api.organisation))


def test_a_supplier_cannot_resend_the_buyers_invitations(api, framework) -> None:
    bravo, charlie = Company("Bravo"), Company("Charlie")
    campaign = _buyer_campaign(api, bravo, charlie)
    bravo.accept(campaign)
    other = SupplierInvitation.objects.get(campaign=campaign, email=charlie.email)
    client = _company_client(bravo)
    _error(client.post(f"/api/v1/organisations/{bravo.org.slug}/supplier-invitations/{other.pk}/revoke/"), 404)
    other.refresh_from_db()
    assert other.state == InvitationState.PENDING


# --- The supplier's side -------------------------------------------------------------------------


_BUYERS = count(1)


def _request_to_tenant(api, depth: int = 2, *, by_org: bool = False) -> tuple[Company, Campaign, SupplierInvitation]:
    """A new buyer on the portal asks `tenant` (by its owner's email address, or knowing the organisation)."""
    buyer = Company(f"Buyer {next(_BUYERS)}")
    supplier = services.supplier_save(
        organisation=buyer.org, actor=buyer.owner, name="Acme", contact_name="", contact_email=api.tenant.owner.email
    )
    if by_org:
        with scopes_disabled():
            Supplier.objects.filter(pk=supplier.pk).update(
                linked_organisation=api.organisation, contact_email="someone.else@acme.example"
            )
    campaign = start(buyer, depth=depth)
    return buyer, campaign, SupplierInvitation.objects.get(campaign=campaign)


def test_requests_list_what_is_addressed_to_the_organisation(api, framework) -> None:
    buyer, _campaign, invitation = _request_to_tenant(api)
    third = Company("Third")
    third.lists(Company("Elsewhere"))
    start(third)  # nothing to do with the tenant
    results = api.client("owner").get(f"{api.base}requests/").json()["results"]
    assert [r["id"] for r in results] == [str(invitation.pk)]
    assert (
        results[0]["buyer"] == buyer.org.name
        and results[0]["state"] == "pending"
        and results[0]["can_pass_on"] is False
    )
    # Addressed by email to the owner: the manager (another address) does not see it as the owner's.
    assert api.client("manager").get(f"{api.base}requests/").json()["results"] == []


def test_requests_addressed_to_the_organisation_are_seen_by_those_who_see_its_supply_chain(api, framework) -> None:
    _buyer, _campaign, invitation = _request_to_tenant(api, by_org=True)
    assert invitation.target_key == f"org:{api.organisation.pk}"
    results = api.client("workforce_rep").get(f"{api.base}requests/").json()["results"]
    assert [r["id"] for r in results] == [str(invitation.pk)]
    assert api.client("member").get(f"{api.base}requests/").status_code == 403  # not `view_supply_chain`


def test_accept_signs_the_commitment_with_the_token(api, framework) -> None:
    buyer, campaign, invitation = _request_to_tenant(api)
    url = f"{api.base}requests/{invitation.pk}/accept/"
    body = _error(api.client("owner").post(url, {}, format="json"), 400, "typed_name")
    assert "job_title" in body["fields"]
    response = api.client("owner").post(url, {"typed_name": "Olive Owner", "job_title": "MD"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "accepted" and response.json()["can_pass_on"] is True
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.ACCEPTED and invitation.supplier_organisation == api.organisation
    assert invitation.responded_by == api.tenant.owner
    commitment = active_commitment(api.organisation)
    assert commitment is not None
    with scopes_disabled():
        signature = Signature.objects.get(pk=commitment.signature_id)
    assert signature.signer == api.tenant.owner and signature.auth_methods == ["api_token"]
    assert SupplierLink.objects.filter(buyer=buyer.org, supplier_organisation=api.organisation).exists()
    again = _error(api.client("owner").post(url, {}, format="json"), 409)
    assert again["code"] == "request_used"


def test_only_an_owner_accepts_when_that_signs_the_commitment(api, framework) -> None:
    _buyer, _campaign, invitation = _request_to_tenant(api, by_org=True)
    url = f"{api.base}requests/{invitation.pk}/accept/"
    body = {"typed_name": "M", "job_title": "Manager"}
    assert _error(api.client("member").post(url, body, format="json"), 403)
    assert _error(api.client("manager").post(url, body, format="json"), 403)
    # A manager-role token of the owner cannot sign either.
    narrowed = token_client(make_token(api.tenant.owner, api.organisation, role=Role.MANAGER))
    assert _error(narrowed.post(url, body, format="json"), 403)
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.PENDING and active_commitment(api.organisation) is None


def test_a_committed_organisations_manager_confirms_without_signing_again(api, framework) -> None:
    _buyer, first, first_invitation = _request_to_tenant(api, by_org=True)
    services.invitation_accept(
        invitation=first_invitation,
        user=api.tenant.owner,
        organisation=api.organisation,
        typed_name="Olive",
        job_title="MD",
        context=CONTEXT,
    )
    second_buyer = Company("Second Buyer")
    second_buyer_supplier = services.supplier_save(
        organisation=second_buyer.org,
        actor=second_buyer.owner,
        name="Acme",
        contact_name="",
        contact_email="x@acme.example",
    )
    with scopes_disabled():
        Supplier.objects.filter(pk=second_buyer_supplier.pk).update(linked_organisation=api.organisation)
    second = start(second_buyer)
    invitation = SupplierInvitation.objects.get(campaign=second)
    response = api.client("manager").post(f"{api.base}requests/{invitation.pk}/accept/", {}, format="json")
    assert response.status_code == 200, response.content
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.ACCEPTED and invitation.responded_by == api.tenant.manager


def test_decline_with_a_reason(api, framework, outsider_client) -> None:
    buyer, _campaign, invitation = _request_to_tenant(api, by_org=True)
    url = f"{api.base}requests/{invitation.pk}/decline/"
    _error(outsider_client.post(url, {"reason": "x"}, format="json"), 404)
    _error(api.client("workforce_rep").post(url, {"reason": "x"}, format="json"), 403)
    body = _error(api.client("manager").post(url, {"reason": "  "}, format="json"), 400, "reason")
    assert body["fields"]["reason"] == ["Say why you are declining, so the buyer understands"]
    response = api.client("manager").post(url, {"reason": "We are too small"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "declined"
    invitation.refresh_from_db()
    assert (invitation.state, invitation.decline_reason) == (InvitationState.DECLINED, "We are too small")
    assert invitation.supplier_organisation == api.organisation
    assert "supplier_request.declined" in _verbs(buyer.org)
    assert _error(api.client("manager").post(url, {"reason": "again"}, format="json"), 409)["code"] == "request_used"


def test_expired_and_unaddressed_requests_cannot_be_answered(api, framework) -> None:
    _buyer, _campaign, invitation = _request_to_tenant(api, by_org=True)
    SupplierInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    body = _error(api.client("owner").post(f"{api.base}requests/{invitation.pk}/decline/", {"reason": "x"}), 409)
    assert body["code"] == "request_expired"
    # A request to another organisation is not found here.
    zulu = Company("Zulu")
    zulu.lists(Company("Bravo"))
    theirs = SupplierInvitation.objects.get(campaign=start(zulu))
    _error(api.client("owner").post(f"{api.base}requests/{theirs.pk}/accept/", {}, format="json"), 404)
    theirs.refresh_from_db()
    assert theirs.state == InvitationState.PENDING


def test_pass_a_request_on_to_your_own_suppliers(api, framework) -> None:
    _buyer, campaign, invitation = _request_to_tenant(api, depth=2)
    api.client("owner").post(
        f"{api.base}requests/{invitation.pk}/accept/", {"typed_name": "Olive", "job_title": "MD"}, format="json"
    )
    delta = Company("Delta")
    mine = _add(api.tenant, "Delta", delta.email)
    url = f"{api.base}requests/{invitation.pk}/forward/"
    _error(api.client("member").post(url, {"supplier_ids": [str(mine.pk)]}, format="json"), 403)
    _error(api.client("owner").post(url, {"supplier_ids": []}, format="json"), 400, "supplier_ids")
    _error(
        api.client("owner").post(url, {"supplier_ids": ["00000000-0000-0000-0000-000000000000"]}, format="json"),
        400,
        "supplier_ids.0",
    )
    response = api.client("manager").post(url, {"supplier_ids": [str(mine.pk)]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["invited"] == 1 and response.json()["invitations"][0]["tier"] == 2
    forwarded = SupplierInvitation.objects.get(campaign=campaign, email=delta.email)
    assert forwarded.tier == 2 and forwarded.inviter == api.organisation and forwarded.parent == invitation
    listed = api.client("owner").get(f"{api.base}requests/").json()["results"]
    assert listed[0]["forwarded"] == 1
    # The campaign stops at tier 2: Delta's answer cannot go further.
    delta.accept(campaign)
    delta_client = _company_client(delta)
    echo = delta.lists(Company("Echo"))[0]
    body = _error(
        delta_client.post(
            f"/api/v1/organisations/{delta.org.slug}/requests/{forwarded.pk}/forward/",
            {"supplier_ids": [str(echo.pk)]},
            format="json",
        ),
        409,
    )
    assert "no deeper than tier 2" in body["message"]


def test_requests_queries_do_not_grow(api, framework) -> None:
    client = api.client("owner")
    _request_to_tenant(api, by_org=True)
    _queries(client, f"{api.base}requests/", 2, "requests, one")  # + one page of requests
    for _ in range(3):
        _request_to_tenant(api, by_org=True)
    assert len(client.get(f"{api.base}requests/").json()["results"]) == 4
    _queries(client, f"{api.base}requests/", 2, "requests, four")


# --- Buyers --------------------------------------------------------------------------------------


def _answered_buyers(api, n: int) -> list[Company]:
    buyers = []
    for _ in range(n):
        buyer, _campaign, invitation = _request_to_tenant(api, by_org=True)
        services.invitation_accept(
            invitation=invitation,
            user=api.tenant.owner,
            organisation=api.organisation,
            typed_name="Olive Owner",
            job_title="MD",
            context=CONTEXT,
        )
        buyers.append(buyer)
    return buyers


def test_buyers_and_sharing(api, framework, outsider_client) -> None:
    (buyer,) = _answered_buyers(api, 1)
    link = SupplierLink.objects.get(buyer=buyer.org, supplier_organisation=api.organisation)
    listed = api.client("workforce_rep").get(f"{api.base}buyers/").json()["results"]
    assert [(b["id"], b["buyer"], b["share_maturity"]) for b in listed] == [(str(link.pk), buyer.org.name, False)]
    url = f"{api.base}buyers/{link.pk}/"
    _error(api.client("member").patch(url, {"share_maturity": True}, format="json"), 403)
    _error(outsider_client.patch(url, {"share_maturity": True}, format="json"), 404)
    _error(api.client("manager").patch(url, {}, format="json"), 400, "share_maturity")
    response = api.client("manager").patch(url, {"share_maturity": True}, format="json")
    assert response.status_code == 200 and response.json()["share_maturity"] is True
    link.refresh_from_db()
    assert link.share_maturity is True
    assert "supplier_link.sharing_changed" in _verbs(api.organisation)
    # The buyer cannot change the supplier's choice through its own organisation.
    buyer_client = _company_client(buyer)
    url = f"/api/v1/organisations/{buyer.org.slug}/buyers/{link.pk}/"
    _error(buyer_client.patch(url, {"share_maturity": False}, format="json"), 404)
    link.refresh_from_db()
    assert link.share_maturity is True


def test_buyers_queries_do_not_grow(api, framework) -> None:
    client = api.client("owner")
    _answered_buyers(api, 1)
    _queries(client, f"{api.base}buyers/", 2, "buyers, one")  # + one page of buyers
    _answered_buyers(api, 3)
    assert len(client.get(f"{api.base}buyers/").json()["results"]) == 4
    _queries(client, f"{api.base}buyers/", 2, "buyers, four")
