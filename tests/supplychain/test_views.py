"""Supply-chain pages: CSV import through the browser's eyes, the tenancy boundary between buyers
and suppliers, consent, and query counts."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scope

from assessments import services as assessment_services
from supplychain import services
from supplychain.models import Supplier, SupplierInvitation, SupplierLink
from tests.assessments.conftest import PDF
from tests.conftest import client_for
from tests.querycount import assert_queries
from tests.supplychain.test_cascade import Company, start

pytestmark = pytest.mark.django_db

GOOD = (
    "name,contact_name,contact_email,company_number,country\n"
    "Severn Plastics,Sam Price,sam@severn.example,01234567,GB\n"
    "Wolds Electrical,Wendy Ross,wendy@wolds.example,,GB\n"
    "No Email Ltd,Nobody,,,GB\n"
    '"=HYPERLINK(""http://evil.example"",""x"")",Eve,eve@evil.example,,GB\n'
)


def _upload(client, slug: str, content: bytes, name: str = "suppliers.csv"):
    return client.post(
        f"/o/{slug}/supply-chain/suppliers/import/",
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


def _register(tenant) -> list[str]:
    with scope(organisation=tenant.organisation):
        return sorted(Supplier.objects.filter(organisation=tenant.organisation).values_list("name", flat=True))


def test_import_previews_every_bad_row_and_saves_nothing_until_confirmed(tenant, owner_client) -> None:
    slug = tenant.organisation.slug
    response = _upload(owner_client, slug, GOOD.encode())
    assert response.status_code == 302
    preview = owner_client.get(response["Location"]).content.decode()
    assert "Line 4" in preview or ">4<" in preview
    assert "Missing email address" in preview
    assert _register(tenant) == []  # nothing saved yet
    owner_client.post(response["Location"])
    assert len(_register(tenant)) == 3
    # Importing the same file again adds nothing.
    again = _upload(owner_client, slug, GOOD.encode())
    owner_client.post(again["Location"])
    assert len(_register(tenant)) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        ("name,contact_email\nMüller GmbH,m@mueller.example\n".encode("cp1252"), "not UTF-8"),
        (b"name,contact_email,phone\nA,a@a.example,1\n", "Unknown column"),
        (("name,contact_email\n" + "".join(f"S{i},s{i}@x.example\n" for i in range(10_001))).encode(), "10,000"),
    ],
)
def test_bad_files_are_refused_with_a_clear_reason(tenant, owner_client, content, message) -> None:
    response = _upload(owner_client, tenant.organisation.slug, content)
    html = response.content.decode()
    assert response.status_code == 200 and "<title>Error:" in html
    assert message in html
    assert _register(tenant) == []


def test_semicolons_and_a_bom_are_understood(tenant, owner_client) -> None:
    content = "\ufeffname;contact_email\nDales Sand;dev@dales.example\n".encode()
    response = _upload(owner_client, tenant.organisation.slug, content)
    owner_client.post(response["Location"])
    assert _register(tenant) == ["Dales Sand"]


def test_exports_neutralise_formulas(framework) -> None:
    buyer, evil = Company("Alpha"), Company("Evil")
    services.supplier_save(
        organisation=buyer.org,
        actor=buyer.owner,
        name='=HYPERLINK("http://evil.example","x")',
        contact_name="",
        contact_email=evil.email,
    )
    campaign = start(buyer)
    text = (
        client_for(buyer.owner)
        .get(f"/o/{buyer.org.slug}/supply-chain/campaigns/{campaign.pk}/coverage.csv")
        .content.decode("utf-8-sig")
    )
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_the_template_downloads(tenant, owner_client) -> None:
    response = owner_client.get(f"/o/{tenant.organisation.slug}/supply-chain/suppliers/template.csv")
    assert response["Content-Disposition"].startswith("attachment")
    assert "contact_email" in response.content.decode("utf-8-sig").splitlines()[0]


def test_a_buyer_never_sees_a_suppliers_evidence_narratives_or_members(framework) -> None:
    buyer, supplier = Company("Alpha"), Company("Bravo")
    buyer.lists(supplier)
    secret_member = "secret.person@bravo.example"
    from portal.roles import Role
    from tests.factories import UserFactory, add_member

    add_member(supplier.org, UserFactory(email=secret_member), Role.MEMBER)
    evidence = assessment_services.evidence_upload(
        organisation=supplier.org,
        actor=supplier.owner,
        file=io.BytesIO(PDF),
        name="secret-minutes.pdf",
        description="Secret description",
        effective_date=timezone.localdate(),
        expiry_date=None,
    )
    campaign = start(buyer)
    supplier.accept(campaign)
    link = SupplierLink.objects.get(buyer=buyer.org, supplier_organisation=supplier.org)
    services.link_set_sharing(link=link, actor=supplier.owner, share=True)
    client = client_for(buyer.owner)
    for url in (
        f"/o/{buyer.org.slug}/supply-chain/campaigns/{campaign.pk}/",
        f"/o/{buyer.org.slug}/supply-chain/campaigns/{campaign.pk}/coverage.csv",
        f"/o/{buyer.org.slug}/supply-chain/suppliers/",
        f"/o/{buyer.org.slug}/supply-chain/campaigns/",
    ):
        html = client.get(url).content.decode("utf-8-sig")
        assert "Bravo" in html or url.endswith("/campaigns/")
        for secret in ("secret-minutes.pdf", "Secret description", secret_member):
            assert secret not in html, (url, secret)
    # The supplier's own pages stay 404 to the buyer, even with the real ids.
    assert client.get(f"/o/{supplier.org.slug}/evidence/{evidence.pk}/").status_code == 404
    assert client.get(f"/o/{supplier.org.slug}/").status_code == 404


def test_a_supplier_never_sees_the_buyers_other_suppliers(framework) -> None:
    buyer, b, c = Company("Alpha"), Company("Bravo"), Company("Charlie")
    buyer.lists(b, c)
    campaign = start(buyer, depth=2)
    b.accept(campaign)
    client = client_for(b.owner)
    page = client.get(f"/o/{b.org.slug}/supply-chain/campaigns/{campaign.pk}/")
    assert page.status_code == 200
    assert "Charlie" not in page.content.decode()
    export = client.get(f"/o/{b.org.slug}/supply-chain/campaigns/{campaign.pk}/coverage.csv").content.decode(
        "utf-8-sig"
    )
    assert "Charlie" not in export
    # Charlie, still only invited, cannot open the campaign at all.
    assert client_for(c.owner).get(f"/o/{c.org.slug}/supply-chain/campaigns/{campaign.pk}/").status_code == 404
    # Nor can Bravo reach the buyer's invitation to Charlie through its own organisation's URLs.
    other = SupplierInvitation.objects.get(campaign=campaign, email=c.email)
    assert client.post(f"/o/{b.org.slug}/supply-chain/requests/{other.pk}/resend/").status_code == 404


def test_sharing_summary_maturity_is_the_suppliers_choice(framework) -> None:
    buyer, supplier = Company("Alpha"), Company("Bravo")
    buyer.lists(supplier)
    campaign = start(buyer)
    supplier.accept(campaign)
    link = SupplierLink.objects.get(buyer=buyer.org, supplier_organisation=supplier.org)
    assert link.share_maturity is False
    client = client_for(supplier.owner)
    assert "Alpha" in client.get(f"/o/{supplier.org.slug}/supply-chain/buyers/").content.decode()
    client.post(f"/o/{supplier.org.slug}/supply-chain/buyers/{link.pk}/sharing/", {"share": "1"})
    link.refresh_from_db()
    assert link.share_maturity is True
    client.post(f"/o/{supplier.org.slug}/supply-chain/buyers/{link.pk}/sharing/", {"share": "0"})
    link.refresh_from_db()
    assert link.share_maturity is False
    # Another organisation cannot change Bravo's choice.
    assert (
        client_for(buyer.owner)
        .post(f"/o/{buyer.org.slug}/supply-chain/buyers/{link.pk}/sharing/", {"share": "1"})
        .status_code
        == 404
    )


def test_landing_page_for_anonymous_and_signed_in_suppliers(framework) -> None:
    buyer, supplier = Company("Alpha"), Company("Bravo")
    buyer.lists(supplier)
    campaign = start(buyer)
    token = services.invitation_token(SupplierInvitation.objects.get(campaign=campaign))
    from django.test import Client

    anonymous = Client().get(f"/supplier-invitations/{token}/").content.decode()
    assert "Alpha" in anonymous and "Create an account" in anonymous
    client = client_for(supplier.owner)
    page = client.get(f"/supplier-invitations/{token}/").content.decode()
    assert "Bravo" in page
    response = client.post(
        f"/supplier-invitations/{token}/",
        {"action": "accept", "organisation": "", "typed_name": "B", "job_title": "Owner"},
    )
    assert response.status_code == 400 and "Choose the organisation" in response.content.decode()
    response = client.post(
        f"/supplier-invitations/{token}/",
        {"action": "accept", "organisation": str(supplier.org.pk), "typed_name": "Bob Owner", "job_title": "Owner"},
    )
    assert response.status_code == 302
    used = client.get(f"/supplier-invitations/{token}/")
    assert used.status_code == 410
    assert Client().get(f"/supplier-invitations/{token[:-3]}abc/").status_code == 404


# Query counts. Every page's base cost is 4 queries (the user; the user's memberships with their
# organisations; the "Your work" count); the comment says what the page reads itself.
def _count(client, url: str, expected: int, label: str, status: int = 200) -> None:
    client.get(url)  # the first request of a session records it
    with assert_queries(expected, label):
        response = client.get(url)
    assert response.status_code == status, (label, response.status_code)


def _a_draft_campaign(client, slug: str) -> None:
    """What "Check your answers" shows: the draft the form left in the session."""
    response = client.post(
        f"/o/{slug}/supply-chain/campaigns/new/",
        {
            "title": "Commit",
            "message": "Please commit",
            "depth": 2,
            "due_date": (timezone.localdate() + timezone.timedelta(days=20)).isoformat(),
            "everyone": "all",
            "reminder_days": "7",
        },
    )
    assert response.status_code == 302, response.content


BUYER_PAGES = {
    "suppliers": ("suppliers/", 5),  # the count and one page of suppliers
    "supplier_create": ("suppliers/new/", 3),
    "supplier_edit": ("suppliers/{supplier}/", 4),  # the supplier
    "supplier_archive": ("suppliers/{supplier}/archive/", 4),  # the supplier with its linked organisation
    "import": ("suppliers/import/", 3),
    "import_preview": ("suppliers/import/{pending}/", 4),  # the pending import
    "campaigns": ("campaigns/", 5),  # the campaigns; the requests received
    "campaign_create": ("campaigns/new/", 4),  # the register
    "campaign_check": ("campaigns/new/check/", 4),  # the suppliers chosen
    # the campaign with its organisation and author; the whole campaign's rows (the coverage per tier
    # and the counts below each row); the viewer's own invitations (whether each shares its maturity
    # a subquery) (+ the summaries when any share: see below)
    "campaign": ("campaigns/{campaign}/", 6),
    # the user and the memberships (no header, so no badges); the campaign, its invitations, the links
    "campaign_export": ("campaigns/{campaign}/coverage.csv", 5),
    "request_revoke": ("requests/{invitation}/revoke/", 4),  # the invitation with its campaign and supplier
    "buyers": ("buyers/", 4),  # the buyers this organisation answered
}


@pytest.mark.parametrize("page", BUYER_PAGES)
def test_buyer_pages_do_not_grow_with_data(framework, page) -> None:
    path, expected = BUYER_PAGES[page]
    buyer = Company("Alpha")
    companies = [Company(f"Supplier{i}") for i in range(8)]
    buyer.lists(*companies[:2])
    campaign = start(buyer, depth=3)
    companies[0].accept(campaign)
    pending, _preview = services.import_preview(
        organisation=buyer.org, actor=buyer.owner, data=GOOD.encode(), file_name="suppliers.csv"
    )
    with scope(organisation=buyer.org):
        supplier = Supplier.objects.filter(organisation=buyer.org, linked_organisation__isnull=False).first()
    invitation = SupplierInvitation.objects.filter(campaign=campaign).order_by("email").last()
    url = f"/o/{buyer.org.slug}/supply-chain/" + path.format(
        campaign=campaign.pk, supplier=supplier.pk, pending=pending.pk, invitation=invitation.pk
    )
    client = client_for(buyer.owner)
    if page == "campaign_check":
        _a_draft_campaign(client, buyer.org.slug)
    _count(client, url, expected, page)
    buyer.lists(*companies[2:])
    second = start(buyer, depth=3)
    for company in companies[1:5]:
        company.accept(campaign if company is companies[1] else second)
    companies[0].lists(*companies[5:])
    companies[0].forward(campaign, *companies[5:])
    _count(client, url, expected, page)


SUPPLIER_PAGES = {
    "campaigns": ("campaigns/", 5),  # its own campaigns (none); the requests it answered
    # the campaign; whether this supplier accepted it; the invitations; the links sharing with it
    "campaign": ("campaigns/{campaign}/", 7),
    # the request with its campaign and inviter; its own register; how many it passed on already
    "forward": ("requests/{invitation}/forward/", 6),
    "buyers": ("buyers/", 4),  # the buyers it answered
}


@pytest.mark.parametrize("page", SUPPLIER_PAGES)
def test_supplier_side_pages_do_not_grow_with_data(framework, page) -> None:
    path, expected = SUPPLIER_PAGES[page]
    supplier = Company("Bravo")
    buyers = [Company(f"Buyer{i}") for i in range(4)]
    below = [Company(f"Below{i}") for i in range(6)]
    supplier.lists(*below)

    def asked_by(buyer: Company):
        buyer.lists(supplier)
        campaign = start(buyer, depth=3)
        return campaign, supplier.accept(campaign)

    campaign, invitation = asked_by(buyers[0])
    supplier.forward(campaign, below[0])
    url = f"/o/{supplier.org.slug}/supply-chain/" + path.format(campaign=campaign.pk, invitation=invitation.pk)
    client = client_for(supplier.owner)
    _count(client, url, expected, page)
    for buyer in buyers[1:]:
        asked_by(buyer)
    supplier.forward(campaign, *below[1:])
    for company in below[:3]:
        company.accept(campaign)
    _count(client, url, expected, page)


def test_the_invitation_landing_page_does_not_grow_with_the_suppliers_organisations(framework) -> None:
    from django.test import Client

    from portal.roles import Role
    from tests.factories import OrganisationFactory, add_member

    buyer, supplier = Company("Alpha"), Company("Bravo")
    buyer.lists(supplier)
    campaign = start(buyer)
    token = services.invitation_token(SupplierInvitation.objects.get(campaign=campaign))
    url = f"/supplier-invitations/{token}/"
    client = client_for(supplier.owner)
    # Anonymous: the request with its campaign, buyer and inviter.
    _count(Client(), url, 1, "landing, anonymous")
    # Signed in: the request; the framework (the statement to sign); the active commitments of every
    # organisation the person may answer for, in one query; then the base 3.
    _count(client, url, 6, "landing, signed in")
    for n in range(4):
        other = Company(f"Other{n}")
        add_member(other.org, supplier.owner, Role.OWNER)
        add_member(OrganisationFactory(), supplier.owner, Role.MEMBER)
        if n % 2:
            other.accept(start(_buyer_of(other)))  # accepting signs that organisation's commitment
    _count(Client(), url, 1, "landing, anonymous")
    _count(client, url, 6, "landing, signed in")


def _buyer_of(company: Company) -> Company:
    buyer = Company(f"BuyerOf{company.org.name}")
    buyer.lists(company)
    return buyer


def test_a_buyer_sees_summary_maturity_only_when_the_supplier_shares_it(framework) -> None:
    buyer, supplier = Company("Alpha"), Company("Bravo")
    buyer.lists(supplier)
    campaign = start(buyer)
    supplier.accept(campaign)
    url = f"/o/{buyer.org.slug}/supply-chain/campaigns/{campaign.pk}/"
    client = client_for(buyer.owner)
    assert "summary maturity" not in client.get(url).content.decode().lower().replace("shares its maturity", "")
    link = SupplierLink.objects.get(buyer=buyer.org, supplier_organisation=supplier.org)
    services.link_set_sharing(link=link, actor=supplier.owner, share=True)
    assert "Shares its maturity, but has no final self-assessment yet." in client.get(url).content.decode()


def test_auditors_do_not_reach_the_supplier_register(tenant) -> None:
    client = client_for(tenant.auditor)
    for path in ("supply-chain/suppliers/", "supply-chain/campaigns/", "supply-chain/buyers/"):
        assert client.get(f"/o/{tenant.organisation.slug}/{path}").status_code == 403


def test_campaign_page_with_sharing_suppliers_does_not_grow(framework) -> None:
    buyer = Company("Alpha")
    companies = [Company(f"Sharer{i}") for i in range(4)]
    buyer.lists(*companies)
    campaign = start(buyer, depth=2)
    url = f"/o/{buyer.org.slug}/supply-chain/campaigns/{campaign.pk}/"
    client = client_for(buyer.owner)

    def share(company: Company) -> None:
        company.accept(campaign)
        link = SupplierLink.objects.get(buyer=buyer.org, supplier_organisation=company.org)
        services.link_set_sharing(link=link, actor=company.owner, share=True)

    share(companies[0])
    # The campaign page's 6 + the sharers' final assessments (none final yet: no averages to read).
    _count(client, url, 7, "campaign, one supplier sharing")
    for company in companies[1:]:
        share(company)
    _count(client, url, 7, "campaign, four suppliers sharing")


def _answer_buttons(page: str) -> list[str]:
    """The texts of the buttons that accept (or confirm) on the invitation page."""
    import html

    buttons = re.findall(r'<button[^>]*value="accept"[^>]*>(.*?)</button>', page, re.S)
    return [
        " ".join(html.unescape(re.sub(r"<span class=\"visually-hidden\">.*?</span>", "", b)).split()) for b in buttons
    ]


def test_a_supplier_already_committed_is_asked_to_confirm_not_to_commit(framework) -> None:
    buyer, supplier, earlier = Company("Alpha"), Company("Bravo"), Company("Charlie")
    earlier.lists(supplier)
    supplier.accept(start(earlier))  # Bravo committed when Charlie asked
    buyer.lists(supplier)
    invitation = SupplierInvitation.objects.get(campaign=start(buyer))
    url = f"/supplier-invitations/{services.invitation_token(invitation)}/"
    client = client_for(supplier.owner)
    page = client.get(url).content.decode()
    assert _answer_buttons(page) == ["Confirm"]
    assert "Bravo has already committed to the principles: there is nothing to sign again." in page
    assert "Confirm to let Alpha see its commitment." in page
    assert client.post(url, {"action": "accept", "organisation": str(supplier.org.pk)}).status_code == 302
    invitation.refresh_from_db()
    assert invitation.supplier_organisation_id == supplier.org.pk

    # Not committed yet: accepting is committing, and says so.
    newcomer = Company("Delta")
    buyer_two = Company("Echo")
    buyer_two.lists(newcomer)
    token = services.invitation_token(SupplierInvitation.objects.get(campaign=start(buyer_two)))
    fresh_page = client_for(newcomer.owner).get(f"/supplier-invitations/{token}/").content.decode()
    assert _answer_buttons(fresh_page) == ["Accept and commit"]
    assert "has already committed to the principles" not in fresh_page
