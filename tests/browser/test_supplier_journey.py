"""The supply-chain journey, in a real browser, with three companies at three browsers: a buyer imports
its suppliers from a CSV file (one bad row, one formula-injection name) and starts a two-tier campaign;
the tier-1 supplier opens the link in the email, signs up, creates its organisation, accepts (signing
the commitment) and passes the request on to its own supplier, who is already on the portal, signs
in, finds the request waiting on "Your work" without the emailed link, and accepts too. The buyer's
coverage shows both tiers, tier 2 only as counts, and the CSV export agrees.
axe-core checks every page (Visitor.check).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from functools import partial

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from portal.roles import Role
from tests.browser import steps
from tests.factories import OrganisationFactory, UserFactory, add_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A short buyer name keeps the email's Subject header short (see test_manager_journey.py).
BUYER = "Acme Precision"
BUYER_EMAIL = "olivia.owen@acme.example"

# The tier-1 supplier, as the buyer lists it, and as it names itself when it signs up.
TIER1_LISTED = "Brampton Plastics Ltd"
TIER1_EMAIL = "sam.singh@brampton.example"
TIER1_PERSON = "Sam Singh"
TIER1_ORG = "Brampton Plastics"
SIGN_UP_PASSWORD = "a long and memorable passphrase"

# The tier-2 supplier: already on the portal, owner of its own organisation.
TIER2_LISTED = "Tallis Coatings Ltd"
TIER2_EMAIL = "tom.tran@tallis.example"
TIER2_PERSON = "Tom Tran"
TIER2_ORG = "Tallis Coatings"

OTHER_SUPPLIER = "Castleford Castings Ltd"
FORMULA = '=HYPERLINK("http://evil.example","x")'
NO_EMAIL_SUPPLIER = "Dunmore Fasteners Ltd"

TITLE = "Supplier commitment 2026"
MESSAGE = "We are asking every supplier to commit to the principles this year.\nThank you for your help."


@pytest.fixture
def parties(framework):
    buyer = OrganisationFactory(name=BUYER)
    owner = UserFactory(email=BUYER_EMAIL, full_name="Olivia Owen")
    add_member(buyer, owner, Role.OWNER)
    tallis = OrganisationFactory(name=TIER2_ORG)
    tom = UserFactory(email=TIER2_EMAIL, full_name=TIER2_PERSON)
    add_member(tallis, tom, Role.OWNER)
    return buyer, tallis


# --- Helpers -------------------------------------------------------------------------------------


_sign_in = steps.sign_in
_code = steps.verification_code
_sign_up = partial(steps.sign_up, password=SIGN_UP_PASSWORD)
_follow = steps.follow
_nav = steps.nav
_main = steps.main
_path = steps.path


def _invitation_path(text: str) -> str:
    match = re.search(r"https?://\S+?(/supplier-invitations/[^/\s]+/)", text)
    assert match, text
    return match.group(1)


def _coverage(page: Page) -> dict[str, list[str]]:
    """The "Replies at each tier" table: tier -> [invited, accepted, declined, waiting, expired]."""
    table = page.get_by_role("region", name="Replies at each tier")
    rows = {}
    for row in table.locator("tbody tr").all():
        cells = [" ".join(c.split()) for c in row.locator("td").all_inner_texts()]
        rows[row.locator("th").inner_text().strip()] = cells
    return rows


def _write_csv(tmp_path) -> str:
    path = tmp_path / "our-suppliers.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["name", "contact_name", "contact_email", "company_number", "country"])
        writer.writerow([TIER1_LISTED, TIER1_PERSON, TIER1_EMAIL, "", "GB"])  # line 2
        writer.writerow([FORMULA, "", "accounts@evil.example", "", "GB"])  # line 3: imported, as text
        writer.writerow([NO_EMAIL_SUPPLIER, "Dee Dunmore", "", "", "GB"])  # line 4: refused
        writer.writerow([OTHER_SUPPLIER, "Carl Cole", "carl.cole@castleford.example", "", "UK"])  # line 5
    return str(path)


# --- The journey ---------------------------------------------------------------------------------


def _buyer_imports_suppliers(visitor, tmp_path) -> None:
    page = visitor.page
    _nav(visitor, "Supply chain")
    expect(page.get_by_role("heading", level=1)).to_have_text("Supplier campaigns")
    expect(_main(page)).to_contain_text("No campaigns yet")
    _follow(visitor, "Supplier register", within=_main(page))
    expect(page.get_by_role("heading", level=1)).to_have_text("Supplier register")
    expect(_main(page)).to_contain_text("Your register is empty")
    _follow(visitor, "Import from CSV", within=_main(page))
    expect(page.get_by_role("heading", level=1)).to_have_text("Import suppliers from a CSV or Excel file")

    page.get_by_label("CSV or Excel file").set_input_files(_write_csv(tmp_path))
    visitor.submit("Check the file")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the suppliers before importing them")
    main = _main(page)
    expect(main).to_contain_text("The file has 4 rows of suppliers.")
    expect(page.locator(".stat__value")).to_have_text(["3", "1", "0"])
    problems = page.get_by_role("region", name="Rows with problems")
    expect(problems.locator("tbody tr")).to_have_count(1)
    expect(problems.locator("tbody th")).to_have_text("4")
    expect(problems.locator("tbody td")).to_have_text("Missing email address")
    ready = page.get_by_role("region", name="Suppliers to import")
    expect(ready.locator("tbody tr")).to_have_count(3)
    # The formula is shown as the text it is, and "UK" is read as GB.
    expect(ready.locator("tbody th")).to_have_text([TIER1_LISTED, FORMULA, OTHER_SUPPLIER])
    expect(ready.locator("tbody tr").nth(2)).to_contain_text("GB")
    visitor.submit("Import 3 suppliers")

    assert _path(page).endswith("/supply-chain/suppliers/"), page.url
    expect(main).to_contain_text("3 suppliers have been added to your register.")
    register = page.get_by_role("region", name="Suppliers")
    expect(register.locator("caption")).to_have_text("3 suppliers")
    # Sorted by name: the "=" of the formula sorts before the letters.
    names = [
        n.split("\n")[0].replace(" (change details)", "").strip()
        for n in register.locator("tbody th").all_inner_texts()
    ]
    assert sorted(names) == sorted([TIER1_LISTED, FORMULA, OTHER_SUPPLIER]), names
    expect(register).to_contain_text(TIER1_EMAIL)
    expect(register).not_to_contain_text(NO_EMAIL_SUPPLIER)
    # Shown as text: nothing on the page links to the formula's address.
    expect(page.locator("a[href*='evil.example']")).to_have_count(0)


def _buyer_starts_the_campaign(visitor) -> str:
    page = visitor.page
    _follow(visitor, "Supplier campaigns")  # the back link
    _follow(visitor, "Start a campaign", within=_main(page))
    expect(page.get_by_role("heading", level=1)).to_have_text("Start a campaign")
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Message to your suppliers").fill(MESSAGE)
    page.get_by_label("2 tiers: they pass it on once").check()
    reply_by = (timezone.localdate() + timedelta(days=21)).isoformat()
    page.get_by_label("Reply by").fill(reply_by)
    page.get_by_label("Only the suppliers I choose below").check()
    page.get_by_label(TIER1_LISTED).check()
    visitor.submit("Continue")

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your campaign before it starts")
    summary = page.locator(".summary-list")
    expect(summary).to_contain_text(TITLE)
    expect(summary).to_contain_text("2 tiers")
    expect(summary).to_contain_text("1 supplier")
    emailed = page.locator("h2:has-text('Who will be emailed') + ul li")
    expect(emailed).to_have_count(1)
    expect(emailed).to_have_text(f"{TIER1_LISTED} ({TIER1_EMAIL})")
    expect(_main(page)).to_contain_text("down to tier 2")
    visitor.submit("Start the campaign and send 1 email")

    campaign_path = _path(page)
    assert re.fullmatch(r"/o/[^/]+/supply-chain/campaigns/[0-9a-f-]{36}/", campaign_path), campaign_path
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    # UX: "1 suppliers are being emailed" (see the report: the message is not pluralised).
    expect(_main(page)).to_contain_text("The campaign has started:")
    assert _coverage(page) == {
        "Tier 1": ["1", "0 (0%)", "0 (0%)", "1 (100%)", "0 (0%)"],
        "Tier 2": ["0", "0 (0%)", "0 (0%)", "0 (0%)", "0 (0%)"],
    }, _coverage(page)
    tree = page.get_by_role("region", name="Suppliers you asked")
    expect(tree.locator("tbody tr")).to_have_count(1)
    expect(tree.locator("tbody th")).to_contain_text(TIER1_LISTED)
    expect(tree.locator("tbody tr .tag").first).to_have_text("Waiting")
    expect(tree.locator("tbody tr")).to_contain_text("None yet")
    return campaign_path


def _tier1_signs_up_and_accepts(visitor, invitation_path: str, mailbox) -> None:
    page = visitor.page
    visitor.goto(invitation_path)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{BUYER} asks you to commit to the Made Smarter Guiding Principles"
    )
    main = _main(page)
    expect(page.locator(".inset-text")).to_contain_text("We are asking every supplier to commit")
    expect(page.locator(".summary-list")).to_contain_text(TIER1_LISTED)
    expect(page.locator(".summary-list")).to_contain_text(TIER1_EMAIL)
    expect(main).to_contain_text("pass the request on to your own suppliers, one more tier down")
    expect(page.get_by_role("button", name="Accept and commit")).to_have_count(0)

    _follow(visitor, "Create an account", within=page.locator("#main-content"))
    _sign_up(visitor, email=TIER1_EMAIL, name=TIER1_PERSON, mailbox=mailbox)
    assert _path(page) == invitation_path, page.url

    # Signed in, but with no organisation to answer for yet.
    expect(main).to_contain_text("Add your organisation to answer")
    expect(page.get_by_role("button", name="Accept and commit")).to_have_count(0)
    _follow(visitor, "Create your organisation", within=main)
    expect(page.get_by_role("heading", level=1)).to_have_text("Create an organisation")
    page.get_by_label("Organisation name").fill(TIER1_ORG)
    page.get_by_label("Sector").select_option(label="Plastics and rubber")
    page.get_by_label("Small (10 to 49 employees)").check()
    visitor.submit("Create organisation")

    # Back on the invitation, now able to answer for the new organisation.
    assert _path(page) == invitation_path, page.url
    expect(main).to_contain_text(f"{TIER1_ORG} has been created.")
    answering = page.get_by_role("group", name="Which organisation are you answering for?")
    expect(answering.get_by_label(TIER1_ORG)).to_be_checked()
    expect(answering).to_contain_text("Not yet committed: an owner signs the commitment now")
    page.get_by_label("Your full name").fill(TIER1_PERSON)
    page.get_by_label("Job title").fill("Managing Director")
    visitor.submit("Accept and commit")

    # Straight on to passing it on: tier 1 of 2.
    assert re.fullmatch(r"/o/[^/]+/supply-chain/requests/[0-9a-f-]{36}/forward/", _path(page)), page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Pass the request on")
    expect(main).to_contain_text(f"You accepted the request from {BUYER}. Your commitment is shared with them.")
    expect(main).to_contain_text("The suppliers you choose are asked as tier 2 of the campaign")
    expect(main).to_contain_text("Your supplier register is empty")


def _tier1_passes_it_on(visitor, campaign_title: str) -> None:
    page = visitor.page
    main = _main(page)
    forward_path = _path(page)
    _follow(visitor, "Add a supplier", within=main)
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a supplier")
    page.get_by_label("Supplier name").fill(TIER2_LISTED)
    page.get_by_label("Contact name").fill(TIER2_PERSON)
    page.get_by_label("Contact email").fill(TIER2_EMAIL)
    visitor.submit("Save")
    # Saving brings the supplier straight back to the request it was passing on.
    expect(main).to_contain_text(f"{TIER2_LISTED} has been saved.")
    assert _path(page) == forward_path, page.url
    page.get_by_label(TIER2_LISTED).check()
    visitor.submit("Send to the chosen suppliers")

    expect(page.get_by_role("heading", level=1)).to_have_text("Supplier campaigns")
    expect(main).to_contain_text("Your request has gone to 1 of your suppliers.")
    received = page.get_by_role("region", name="Requests from your buyers")
    expect(received).to_contain_text("Passed on to 1 supplier")

    # Its view of the campaign: the supplier it asked, by name, at the last tier.
    _follow(visitor, campaign_title, within=received)
    expect(page.locator(".caption-l")).to_have_text(f"Supplier campaign of {BUYER}")
    expect(page.get_by_role("region", name="Replies at each tier")).to_have_count(0)
    passed = page.get_by_role("region", name="Suppliers you passed the request on to")
    expect(passed.locator("tbody tr")).to_have_count(1)
    expect(passed.locator("tbody th")).to_contain_text(TIER2_LISTED)
    expect(passed.locator("tbody tr")).to_contain_text("Last tier of the campaign")


def _tier2_accepts(visitor) -> None:
    """Tom never opens the emailed link: signing in lands on "Your work", where the request waits."""
    page = visitor.page
    main = _main(page)
    _sign_in(visitor, TIER2_EMAIL)
    assert _path(page) == "/your-work/", page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Your work")
    work = page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(r"^Your work"))
    expect(work).to_have_accessible_name("Your work 1 item waiting for you")
    # Brampton knows Tallis by Tom's address only: the request is listed as sent to him.
    waiting = page.get_by_role("region", name="Sent to your email address")
    expect(waiting.locator("tbody tr")).to_have_count(1)
    expect(waiting.locator("tbody tr")).to_contain_text(TITLE)
    _follow(visitor, f"Answer {TIER1_ORG}'s request", within=waiting)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{TIER1_ORG} asks you to commit to the Made Smarter Guiding Principles"
    )
    expect(main).to_contain_text(f"{TIER1_ORG} is asking on behalf of {BUYER}, further up the supply chain.")
    expect(page.locator(".summary-list")).to_contain_text(TIER2_LISTED)
    # The last tier: nothing more to pass on.
    expect(main).not_to_contain_text("pass the request on to your own suppliers")
    answering = page.get_by_role("group", name="Which organisation are you answering for?")
    expect(answering.get_by_label(TIER2_ORG)).to_be_checked()
    page.get_by_label("Your full name").fill(TIER2_PERSON)
    page.get_by_label("Job title").fill("Operations Director")
    visitor.submit("Accept and commit")

    assert re.fullmatch(r"/o/[^/]+/", _path(page)), page.url
    expect(main).to_contain_text(f"You accepted the request from {TIER1_ORG}. Your commitment is shared with them.")
    # Answered, it is no longer waiting: the count is gone.
    work = page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(r"^Your work"))
    expect(work).to_have_accessible_name("Your work")


def _buyer_sees_both_tiers(visitor, campaign_path: str) -> None:
    page = visitor.page
    visitor.goto(campaign_path)
    assert _coverage(page) == {
        "Tier 1": ["1", "1 (100%)", "0 (0%)", "0 (0%)", "0 (0%)"],
        "Tier 2": ["1", "1 (100%)", "0 (0%)", "0 (0%)", "0 (0%)"],
    }, _coverage(page)
    tree = page.get_by_role("region", name="Suppliers you asked")
    expect(tree.locator("tbody tr")).to_have_count(1)
    row = tree.locator("tbody tr")
    expect(row.locator("th")).to_contain_text(TIER1_LISTED)
    expect(row.locator(".tag")).to_have_text("Accepted")
    expect(row).to_contain_text("Below: 1 invited, 1 accepted, 0 declined, 0 waiting, 0 expired")
    # Tier 2 only as counts: its name and address appear nowhere on the buyer's page.
    for hidden in (TIER2_LISTED, TIER2_ORG, TIER2_EMAIL):
        expect(_main(page)).not_to_contain_text(hidden)
    expect(page.get_by_role("button", name=re.compile("^Resend"))).to_have_count(0)

    # The export, fetched with the buyer's session.
    link = page.get_by_role("link", name=re.compile("^Download the replies as CSV"))
    response = page.request.get(visitor.base_url + link.get_attribute("href"))
    assert response.status == 200, response.status
    assert response.headers["content-type"].startswith("text/csv"), response.headers
    assert "attachment" in response.headers["content-disposition"]
    text = response.body().decode("utf-8")
    assert text.startswith("\ufeff"), text[:10]
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == [
        "tier",
        "supplier",
        "contact_email",
        "company_number",
        "state",
        "answered_at",
        "decline_reason",
        "below_invited",
        "below_accepted",
        "below_declined",
        "below_pending",
        "below_expired",
    ], rows[0]
    assert len(rows) == 2, rows
    tier1 = dict(zip(rows[0], rows[1], strict=True))
    assert (tier1["tier"], tier1["supplier"], tier1["contact_email"], tier1["state"]) == (
        "1",
        TIER1_LISTED,
        TIER1_EMAIL,
        "accepted",
    ), tier1
    assert tier1["answered_at"], tier1
    assert (tier1["below_invited"], tier1["below_accepted"], tier1["below_pending"]) == ("1", "1", "0"), tier1
    assert TIER2_LISTED not in text and TIER2_EMAIL not in text

    # The register now knows which organisation on the portal the supplier is.
    _follow(visitor, "All campaigns")
    _follow(visitor, "Supplier register", within=_main(page))
    register = page.get_by_role("region", name="Suppliers")
    expect(register.get_by_role("row", name=re.compile(re.escape(TIER1_LISTED)))).to_contain_text(TIER1_ORG)
    expect(register.get_by_role("row", name=re.compile(re.escape(OTHER_SUPPLIER)))).to_contain_text("Not yet")


def test_buyer_runs_a_two_tier_campaign_through_two_suppliers(visitor_factory, parties, mailbox, tmp_path) -> None:
    buyer, tallis = parties

    buyer_visitor = visitor_factory()
    _sign_in(buyer_visitor, BUYER_EMAIL)
    assert _path(buyer_visitor.page) == f"/o/{buyer.slug}/", buyer_visitor.page.url
    _buyer_imports_suppliers(buyer_visitor, tmp_path)
    campaign_path = _buyer_starts_the_campaign(buyer_visitor)
    assert campaign_path.startswith(f"/o/{buyer.slug}/")

    invitation = mailbox.wait_for(TIER1_EMAIL, containing=BUYER)
    assert " ".join(invitation.subject.split()) == (
        f"{BUYER} asks {TIER1_LISTED} to commit to the Made Smarter Guiding Principles"
    )
    assert "Hello Sam Singh," in invitation.text
    assert "Thank you for your help." in invitation.text
    tier1_path = _invitation_path(invitation.text)

    tier1 = visitor_factory()
    _tier1_signs_up_and_accepts(tier1, tier1_path, mailbox)
    _tier1_passes_it_on(tier1, TITLE)

    # The request came down the chain: the email says who started it.
    forwarded = mailbox.wait_for(TIER2_EMAIL, containing="Made Smarter")
    assert f"The request started with {BUYER}" in forwarded.text, forwarded.text
    tier2_path = _invitation_path(forwarded.text)
    assert tier2_path != tier1_path

    tier2 = visitor_factory()
    _tier2_accepts(tier2)

    # Each link works once.
    tier2.goto(tier2_path, status=410)
    expect(tier2.page.get_by_role("heading", level=1)).to_have_text("This request has already been answered")

    _buyer_sees_both_tiers(buyer_visitor, campaign_path)

    # Every page of the journey was checked by axe-core, none with a console error.
    assert len(buyer_visitor.checked) >= 12, buyer_visitor.checked
    assert len(tier1.checked) >= 10, tier1.checked
    assert len(tier2.checked) >= 4, tier2.checked
