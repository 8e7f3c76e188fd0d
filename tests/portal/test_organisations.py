"""Creating an organisation, and how its form treats bad input."""

from __future__ import annotations

import re

import pytest
from django_scopes import scope

from portal.models import AuditEvent, Membership, Organisation
from portal.roles import Role
from tests.conftest import client_for
from tests.factories import UserFactory, add_member

pytestmark = pytest.mark.django_db


def test_create_organisation_makes_the_creator_owner_and_records_it() -> None:
    user = UserFactory()
    client = client_for(user)
    response = client.post(
        "/organisations/new/",
        {
            "name": "Brampton Plastics",
            "company_number": "sc 123456",
            "sector": "plastics",
            "size_band": "small",
            "country": "GB",
        },
    )
    organisation = Organisation.objects.get(name="Brampton Plastics")
    assert response.status_code == 302
    assert response["Location"] == f"/o/{organisation.slug}/"
    assert organisation.company_number == "SC123456"
    # A random suffix keeps slugs unguessable even for a well-known company name.
    assert (
        organisation.slug.startswith("brampton-plastics-") and len(organisation.slug) == len("brampton-plastics-") + 6
    )
    with scope(organisation=organisation):
        assert Membership.objects.get(organisation=organisation).role == Role.OWNER
        event = AuditEvent.objects.get(organisation=organisation)
    assert event.verb == "organisation.created" and event.actor == user
    page = client.get(response["Location"])
    assert "Brampton Plastics has been created" in page.content.decode()


def test_same_name_twice_gets_two_different_slugs() -> None:
    user = UserFactory()
    client = client_for(user)
    data = {"name": "Twin Forge", "sector": "metals", "size_band": "micro", "country": "GB"}
    client.post("/organisations/new/", data)
    client.post("/organisations/new/", data)
    slugs = set(Organisation.objects.filter(name="Twin Forge").values_list("slug", flat=True))
    assert len(slugs) == 2


def test_invalid_form_shows_error_summary_linked_to_fields_and_keeps_input() -> None:
    client = client_for(UserFactory())
    response = client.post(
        "/organisations/new/",
        {"name": "Half Typed Ltd", "company_number": "12-34", "sector": "", "size_band": "", "country": "GB"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert Organisation.objects.count() == 0
    assert "<title>Error: Create an organisation" in html
    assert 'class="error-summary"' in html
    assert 'href="#id_company_number"' in html  # each error links to its field
    assert 'href="#id_sector"' in html
    assert 'href="#id_size_band_0"' in html  # radios link to their first option
    assert "Enter a company number of 6 to 10 letters and digits" in html
    assert "Select your sector" in html and "Select how many people you employ" in html
    assert 'value="Half Typed Ltd"' in html  # nothing typed is lost
    assert 'aria-describedby="id_company_number_helptext id_company_number_error"' in html


def test_organisation_list_empty_state_offers_to_create_one() -> None:
    html = client_for(UserFactory()).get("/organisations/").content.decode()
    assert "You are not in an organisation yet" in html
    assert 'href="/organisations/new/"' in html


def test_home_sends_a_single_organisation_member_to_its_dashboard(tenant) -> None:
    response = client_for(tenant.manager).get("/")
    assert response.status_code == 302 and response["Location"] == f"/o/{tenant.organisation.slug}/"


def test_organisation_switcher_lists_every_organisation_of_the_user(tenant, outsider) -> None:
    from tests.factories import add_member

    add_member(tenant.organisation, outsider, Role.AUDITOR)
    html = client_for(outsider).get(f"/o/{tenant.organisation.slug}/").content.decode()
    assert "Switch organisation" in html
    assert "Northern Castings" in html and "Acme Precision Engineering" in html


def test_the_size_question_offers_only_real_sizes_and_none_is_preselected() -> None:
    client = client_for(UserFactory())
    html = client.get("/organisations/new/").content.decode()
    assert "---------" not in html  # neither a blank radio nor a blank sector option
    radios = re.findall(r'<input[^>]*name="size_band"[^>]*>', html)
    assert [re.search(r'value="([^"]*)"', radio).group(1) for radio in radios] == ["micro", "small", "medium", "large"]
    assert not any("checked" in radio for radio in radios)  # the person chooses
    assert "How many people do you employ?" in html and ">Select your sector</option>" in html
    # Leaving it unanswered is an error at the field, not a silent blank.
    response = client.post("/organisations/new/", {"name": "Quiet Ltd", "sector": "metals", "country": "GB"})
    assert response.status_code == 200 and "Select how many people you employ" in response.content.decode()
    assert not Organisation.objects.filter(name="Quiet Ltd").exists()
    blank = client.post(
        "/organisations/new/", {"name": "Quiet Ltd", "sector": "metals", "size_band": "", "country": "GB"}
    )
    assert "Select how many people you employ" in blank.content.decode()
    client.post("/organisations/new/", {"name": "Quiet Ltd", "sector": "metals", "size_band": "micro", "country": "GB"})
    organisation = Organisation.objects.get(name="Quiet Ltd")
    assert organisation.size_band == "micro"
    # The API shows the size people chose (it is read-only there: organisations are created on the web).
    assert client.get(f"/api/v1/organisations/{organisation.slug}/").json()["size_band"] == "micro"


def test_the_dashboard_links_to_the_members_in_words_that_fit_how_many_there_are() -> None:
    owner = UserFactory()
    client = client_for(owner)
    client.post("/organisations/new/", {"name": "Solo Ltd", "sector": "metals", "size_band": "micro", "country": "GB"})
    organisation = Organisation.objects.get(name="Solo Ltd")
    html = client.get(f"/o/{organisation.slug}/").content.decode()
    assert ">See 1 member</a>" in html and "See the member" not in html
    for _ in range(2):
        add_member(organisation, UserFactory(), Role.MEMBER)
    assert ">See all 3 members</a>" in client.get(f"/o/{organisation.slug}/").content.decode()
