"""Values that reach an email header (supplier and contact names, campaign titles, organisation and
people's names) are refused at their field when they hold a line break or a hidden control character,
in the web forms and the API alike (the CSV import's cases are in corpus.CSVS). The API used to take
"CRLF Ltd\\r\\nBcc: ...": Django then refused the email's header, and the invitation stayed pending.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from portal.models import User
from supplychain.models import Campaign, Supplier
from tests.conftest import client_for
from tests.hostile.corpus import HEADER_BREAKERS
from tests.hostile.test_forms_api import api, post_web, stored_count, web_errors

pytestmark = pytest.mark.django_db
CASES = list(HEADER_BREAKERS)


def message(label: str, case: str) -> str:
    return f"{label} {HEADER_BREAKERS[case][1]}"


def value(case: str) -> str:
    return HEADER_BREAKERS[case][0]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("field", "label"), [("name", "Name"), ("contact_name", "Contact name")])
def test_web_supplier_form_refuses_it_at_the_field(case, field, label, tenant) -> None:
    response = post_web("supplier", tenant, {field: value(case)})
    assert web_errors(response, field) == [message(label, case)]
    assert stored_count("supplier") == 0


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("field", "label"), [("name", "Name"), ("contact_name", "Contact name")])
def test_api_supplier_create_and_change_refuse_it_at_the_field(case, field, label, tenant) -> None:
    client = api(tenant)
    base = f"/api/v1/organisations/{tenant.organisation.slug}/suppliers/"
    body = {"name": "Pennine", "contact_email": "ops@pennine.example", field: value(case)}
    refused = client.post(base, body, format="json")
    assert refused.status_code == 400, refused.content[:300]
    assert refused.json()["fields"][field] == [message(label, case)]
    assert stored_count("supplier") == 0
    created = client.post(base, {"name": "Pennine", "contact_email": "ops@pennine.example"}, format="json")
    changed = client.patch(f"{base}{created.json()['id']}/", {field: value(case)}, format="json")
    assert changed.status_code == 400
    assert changed.json()["fields"][field] == [message(label, case)]
    with scopes_disabled():
        assert (Supplier.objects.get().name, Supplier.objects.get().contact_name) == ("Pennine", "")


def _campaign_form(title: str) -> dict[str, str]:
    return {
        "title": title,
        "message": "Please commit",
        "depth": "1",
        "due_date": (timezone.localdate() + timedelta(days=20)).isoformat(),
        "reminder_days": "3",
        "everyone": "all",
    }


@pytest.mark.parametrize("case", CASES)
def test_a_campaign_title_is_refused_at_the_field_on_the_web_and_in_the_api(case, tenant) -> None:
    client = api(tenant)
    slug = tenant.organisation.slug
    client.post(
        f"/api/v1/organisations/{slug}/suppliers/",
        {"name": "Pennine", "contact_email": "ops@pennine.example"},
        format="json",
    )
    page = client_for(tenant.manager).post(f"/o/{slug}/supply-chain/campaigns/new/", _campaign_form(value(case)))
    assert web_errors(page, "title") == [message("Title", case)]
    body = {
        "title": value(case),
        "message": "Please commit",
        "depth": 1,
        "due_date": (timezone.localdate() + timedelta(days=20)).isoformat(),
        "all_suppliers": True,
    }
    refused = client.post(f"/api/v1/organisations/{slug}/campaigns/", body, format="json")
    assert refused.status_code == 400, refused.content[:300]
    assert refused.json()["fields"]["title"] == [message("Title", case)]
    with scopes_disabled():
        assert not Campaign.objects.exists()


@pytest.mark.parametrize("case", CASES)
def test_an_organisation_name_and_a_persons_name_are_refused_at_the_field(case, tenant) -> None:
    before = stored_count("organisation")
    response = post_web("organisation", tenant, {"name": value(case)})
    assert web_errors(response, "name") == [message("Name", case)]
    assert stored_count("organisation") == before
    client = client_for(tenant.owner)
    profile = client.post("/account/", {"full_name": value(case)})
    assert web_errors(profile, "full_name") == [message("Full name", case)]
    with scopes_disabled():
        assert User.objects.get(pk=tenant.owner.pk).full_name == tenant.owner.full_name


def test_a_plain_name_with_accents_and_punctuation_is_still_accepted(tenant) -> None:
    response = post_web("supplier", tenant, {"name": "Café Müller & Söhne (UK) Ltd – “Nord”"})
    assert response.status_code == 302
    with scopes_disabled():
        assert Supplier.objects.get().name == "Café Müller & Söhne (UK) Ltd – “Nord”"


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("form", ["assessment", "plan"])
def test_assessment_and_plan_titles_are_refused_at_the_field_on_the_web_and_in_the_api(
    case, form, tenant, framework
) -> None:
    """Their titles go into the subjects of the review emails ("... sent for your review")."""
    response = post_web(form, tenant, {"title": value(case)})
    assert web_errors(response, "title") == [message("Title", case)]
    assert stored_count(form) == 0
    slug = tenant.organisation.slug
    if form == "assessment":
        path, body = "assessments/", {"title": value(case), "period_start": "2026-01-01", "period_end": "2026-12-31"}
    else:
        path, body = "plans/", {"kind": "digitalisation", "title": value(case)}
    refused = api(tenant).post(f"/api/v1/organisations/{slug}/{path}", body, format="json")
    assert refused.status_code == 400, refused.content[:300]
    assert refused.json()["fields"]["title"] == [message("Title", case)]
    assert stored_count(form) == 0
