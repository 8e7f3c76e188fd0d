"""Hostile strings and fields in the main forms and the API: over-long values and control characters
are refused at the field, organisation slugs are always plain ASCII, and fields a form or endpoint does
not offer (organisation, role, staff flags, status, signatures) cannot be set by sending them."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django_scopes import scopes_disabled

from assessments import services as assessment_services
from assessments.models import Assessment, AssessmentStatus, Plan, Response
from portal.models import ApiToken, Invitation, Membership, Organisation, User
from portal.roles import Role
from supplychain.models import Supplier
from tests.api.conftest import make_token, token_client
from tests.conftest import client_for
from tests.hostile.corpus import CONTROL_STRINGS, SLUG_NAMES

pytestmark = pytest.mark.django_db

NUL_MESSAGE = "Null characters are not allowed."
SMUGGLED = {
    "organisation": "OTHER",
    "organisation_id": "OTHER",
    "role": "owner",
    "is_staff": "true",
    "is_superuser": "true",
    "created_by": "OTHER_USER",
    "status": "final",
    "signed_at": "2020-01-01T00:00:00Z",
}


def smuggled(other: Organisation, user: User) -> dict[str, str]:
    values = {"OTHER": str(other.pk), "OTHER_USER": str(user.pk)}
    return {key: values.get(value, value) for key, value in SMUGGLED.items()}


def api(tenant, role: str = "manager"):
    return token_client(make_token(tenant.user(role), tenant.organisation))


@pytest.fixture
def other_org(outsider) -> Organisation:
    with scopes_disabled():
        return Membership.objects.get(user=outsider).organisation


@pytest.fixture
def assessment(tenant, framework) -> Assessment:
    return assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )


def web_errors(response, field: str) -> list[str]:
    assert response.status_code in (200, 400), response.status_code
    return [str(e) for e in response.context["form"].errors.get(field, [])]


# --- Over-long strings -----------------------------------------------------------------------------

# (form, field, limit): the web page and its field, and the longest value it takes.
WEB_FIELDS = [
    ("organisation", "name", 200),
    ("supplier", "name", 200),
    ("supplier", "contact_name", 200),
    ("assessment", "title", 200),
    ("plan", "title", 200),
    ("evidence", "description", 500),
    ("comment", "body", 5000),
]


def post_web(form: str, tenant, value_of: dict[str, str], assessment=None):
    slug = tenant.organisation.slug
    client = client_for(tenant.owner)
    if form == "organisation":
        data = {"name": "Acme", "sector": "machinery", "size_band": "medium", "country": "GB", **value_of}
        return client.post("/organisations/new/", data)
    if form == "supplier":
        data = {"name": "Pennine", "contact_email": "ops@pennine.example", "country": "GB", **value_of}
        return client.post(f"/o/{slug}/supply-chain/suppliers/new/", data)
    if form == "assessment":
        data = {"title": "Cycle", "period_start": "2026-01-01", "period_end": "2026-12-31", **value_of}
        return client.post(f"/o/{slug}/assessments/new/", data)
    if form == "plan":
        return client.post(f"/o/{slug}/plans/new/", {"kind": "digitalisation", "title": "Plan", **value_of})
    if form == "evidence":
        from django.core.files.uploadedfile import SimpleUploadedFile

        from tests.hostile.corpus import PDF

        data = {"description": "Minutes", "effective_date": "2026-03-01", **value_of}
        return client.post(f"/o/{slug}/evidence/new/", {**data, "file": SimpleUploadedFile("m.pdf", PDF)})
    if form == "comment":
        return client.post(f"/o/{slug}/review/assessment/{assessment.pk}/comments/", {"anchor": "1.1", **value_of})
    raise AssertionError(form)


def stored_count(form: str) -> int:
    from assessments.models import Evidence, ReviewComment

    model = {
        "organisation": Organisation,
        "supplier": Supplier,
        "assessment": Assessment,
        "plan": Plan,
        "evidence": Evidence,
        "comment": ReviewComment,
    }[form]
    with scopes_disabled():
        return model.objects.count()


@pytest.mark.parametrize(("form", "field", "limit"), WEB_FIELDS, ids=[f"{f}-{n}" for f, n, _ in WEB_FIELDS])
def test_web_refuses_an_over_long_value_at_its_field(form, field, limit, tenant, assessment) -> None:
    before = stored_count(form)
    response = post_web(form, tenant, {field: "x" * (limit + 1)}, assessment)
    message = f"Ensure this value has at most {limit:,} characters (it has {limit + 1:,})."
    if form == "comment":  # the comment box is a fragment of the review page: the error comes back on it
        assert response.status_code in (200, 302, 400)
        assert stored_count(form) == before
        return
    assert web_errors(response, field) == [message.replace(",", "")] or web_errors(response, field) == [message]
    assert stored_count(form) == before


# (endpoint, method, body builder, field, limit)
API_FIELDS = [
    ("suppliers/", "post", "name", 200, {"contact_email": "ops@pennine.example"}),
    ("suppliers/", "post", "contact_name", 200, {"name": "Pennine", "contact_email": "ops@pennine.example"}),
    ("assessments/", "post", "title", 200, {"period_start": "2026-01-01", "period_end": "2026-12-31"}),
    ("plans/", "post", "title", 200, {"kind": "digitalisation"}),
]


@pytest.mark.parametrize(
    ("endpoint", "method", "field", "limit", "rest"), API_FIELDS, ids=[f"{e}{f}" for e, _m, f, _l, _r in API_FIELDS]
)
def test_api_refuses_an_over_long_value_in_fields(endpoint, method, field, limit, rest, tenant, framework) -> None:
    base = f"/api/v1/organisations/{tenant.organisation.slug}/"
    body = {field: "x" * (limit + 1), **rest}
    if field != "name" and endpoint == "suppliers/":
        body.setdefault("name", "Pennine")
    if field != "title" and endpoint != "suppliers/":
        body.setdefault("title", "Title")
    response = getattr(api(tenant), method)(base + endpoint, body, format="json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["fields"][field] in (
        [f"Ensure this field has no more than {limit} characters."],  # a serializer's words
        [f"Ensure this value has at most {limit} characters (it has {limit + 1})."],  # the web form's, reused
    )


def test_a_megabyte_narrative_is_stored_whole_or_refused_never_a_crash(tenant, assessment) -> None:
    with scopes_disabled():
        response = Response.objects.filter(assessment=assessment).select_related("criterion").first()
    narrative = "Evidence of consultation. " * 40_000  # about 1 MB
    client = client_for(tenant.manager)
    url = f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/principles/{response.criterion.principle.number}/"
    page = client.post(url, {f"r-{response.pk}-narrative": narrative})
    assert page.status_code == 302
    patch = api(tenant).patch(
        f"/api/v1/organisations/{tenant.organisation.slug}/assessments/{assessment.pk}/responses/"
        f"{response.criterion.code}/",
        {"narrative": narrative + "API"},
        format="json",
    )
    assert patch.status_code == 200, patch.content[:300]
    with scopes_disabled():
        assert Response.objects.get(pk=response.pk).narrative == (narrative + "API").strip()
    # A body over Django's limit for form fields is refused as a whole, not a crash.
    huge = client.post(url, {f"r-{response.pk}-narrative": "x" * (3 * 1024 * 1024)})
    assert huge.status_code == 400


# --- Control characters -----------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["organisation", "supplier", "assessment", "plan"])
def test_web_refuses_a_nul_character_at_the_field(form, tenant, assessment) -> None:
    field = "name" if form in ("organisation", "supplier") else "title"
    before = stored_count(form)
    response = post_web(form, tenant, {field: CONTROL_STRINGS["nul"]}, assessment)
    assert web_errors(response, field) == [NUL_MESSAGE]
    assert stored_count(form) == before


def test_api_refuses_a_nul_character_at_the_field(tenant, framework) -> None:
    base = f"/api/v1/organisations/{tenant.organisation.slug}/"
    response = api(tenant).post(
        base + "suppliers/", {"name": CONTROL_STRINGS["nul"], "contact_email": "o@p.example"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["name"] == [NUL_MESSAGE]


def test_a_nul_in_a_narrative_is_refused_on_the_page_and_in_the_api(tenant, assessment) -> None:
    """The principle page read the narrative straight from the POST: a NUL reached the database
    (PostgreSQL refuses it, so the page crashed there)."""
    with scopes_disabled():
        response = Response.objects.filter(assessment=assessment).select_related("criterion__principle").first()
    client = client_for(tenant.manager)
    url = f"/o/{tenant.organisation.slug}/assessments/{assessment.pk}/principles/{response.criterion.principle.number}/"
    page = client.post(url, {f"r-{response.pk}-narrative": "Line one\x00 line two"})
    assert page.status_code == 400
    assert NUL_MESSAGE in page.content.decode()
    patch = api(tenant).patch(
        f"/api/v1/organisations/{tenant.organisation.slug}/assessments/{assessment.pk}/responses/"
        f"{response.criterion.code}/",
        {"narrative": "a\x00b"},
        format="json",
    )
    assert patch.status_code == 400
    assert patch.json()["fields"]["narrative"] == [NUL_MESSAGE]
    with scopes_disabled():
        assert Response.objects.get(pk=response.pk).narrative == ""


@pytest.mark.parametrize("kind", ["escape", "rtl-override"])
def test_other_control_characters_in_a_supplier_name_are_refused_as_in_the_csv_import(kind, tenant) -> None:
    value = CONTROL_STRINGS[kind]
    response = post_web("supplier", tenant, {"name": value})
    assert web_errors(response, "name") == ["Name must not contain hidden control characters"]
    body = {"name": value, "contact_email": "o@p.example"}
    refused = api(tenant).post(f"/api/v1/organisations/{tenant.organisation.slug}/suppliers/", body, format="json")
    assert refused.status_code == 400
    assert refused.json()["fields"]["name"] == ["Name must not contain hidden control characters"]
    assert stored_count("supplier") == 0


# --- Organisation slugs ---------------------------------------------------------------------------

SAFE_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@pytest.mark.parametrize(("case", "name"), SLUG_NAMES, ids=[c for c, _n in SLUG_NAMES])
def test_an_organisation_slug_is_always_plain_ascii(case, name, tenant) -> None:
    client = client_for(tenant.owner)
    response = client.post(
        "/organisations/new/",
        {"name": name, "sector": "machinery", "size_band": "medium", "country": "GB", "slug": "Evil-\u0430dmin"},
    )
    if case == "long":
        length = len(name.strip())
        assert web_errors(response, "name") == [f"Ensure this value has at most 200 characters (it has {length})."]
        return
    if case == "rtl-override":  # it would show the name as something else, in pages and email subjects
        assert web_errors(response, "name") == ["Name must not contain hidden control characters"]
        return
    assert response.status_code == 302, response.content[:300]
    with scopes_disabled():
        organisation = (
            Organisation.objects.exclude(pk=tenant.organisation.pk)
            .exclude(pk__in=Membership.objects.exclude(user=tenant.owner).values("organisation"))
            .get(name=name.strip())
        )
    slug = organisation.slug
    assert SAFE_SLUG.fullmatch(slug), slug
    assert len(slug) <= 64 and "dmin" not in slug
    assert response["Location"] == f"/o/{slug}/"
    assert client.get(f"/o/{slug}/").status_code == 200
    # Look-alikes of the slug reach nothing: no case folding, no Unicode slugs.
    assert client.get(f"/o/{slug.upper()}/").status_code == 404
    look_alike = slug.replace("a", "\u0430", 1) if "a" in slug else "\u0430" + slug
    assert client.get(f"/o/{look_alike}/").status_code == 404


# --- Mass assignment --------------------------------------------------------------------------------


def test_web_forms_ignore_fields_they_do_not_offer(tenant, other_org, outsider) -> None:
    extra = smuggled(other_org, outsider)
    client = client_for(tenant.manager)
    slug = tenant.organisation.slug
    client.post(
        f"/o/{slug}/supply-chain/suppliers/new/",
        {"name": "Pennine", "contact_email": "ops@pennine.example", "country": "GB", **extra},
    )
    client.post(f"/o/{slug}/plans/new/", {"kind": "digitalisation", "title": "Plan", **extra})
    client.post("/account/", {"full_name": "Mallory", "email": "x@evil.example", **extra})
    client.post(
        "/organisations/new/",
        {"name": "Mallory Ltd", "sector": "machinery", "size_band": "medium", "country": "GB", "slug": "x", **extra},
    )
    with scopes_disabled():
        supplier = Supplier.objects.get()
        assert supplier.organisation_id == tenant.organisation.pk and supplier.created_by_id == tenant.manager.pk
        plan = Plan.objects.get()
        assert plan.organisation_id == tenant.organisation.pk and plan.status == AssessmentStatus.DRAFT
        assert plan.created_by_id == tenant.manager.pk
        manager = User.objects.get(pk=tenant.manager.pk)
        assert (manager.full_name, manager.email, manager.is_staff, manager.is_superuser) == (
            "Mallory",
            tenant.manager.email,
            False,
            False,
        )
        mallory = Organisation.objects.get(name="Mallory Ltd")
        assert mallory.slug != "x" and mallory.created_by_id == tenant.manager.pk
        assert Membership.objects.get(organisation=mallory).user_id == tenant.manager.pk
        assert Membership.objects.get(organisation=tenant.organisation, user=tenant.manager).role == Role.MANAGER
        assert not Membership.objects.filter(organisation=other_org, user=tenant.manager).exists()


def test_api_bodies_cannot_set_organisation_role_staff_status_or_signatures(
    tenant, other_org, outsider, framework
) -> None:
    extra = smuggled(other_org, outsider)
    client = api(tenant)
    base = f"/api/v1/organisations/{tenant.organisation.slug}/"
    created = client.post(
        base + "suppliers/", {"name": "Pennine", "contact_email": "ops@pennine.example", **extra}, format="json"
    )
    assert created.status_code in (201, 400), created.content[:300]
    plan = client.post(base + "plans/", {"kind": "digitalisation", "title": "Plan", **extra}, format="json")
    assert plan.status_code == 400  # plans refuse unknown fields by name
    assert set(plan.json()["fields"]) == set(SMUGGLED)
    assessment = client.post(
        base + "assessments/",
        {"title": "Cycle", "period_start": "2026-01-01", "period_end": "2026-12-31", **extra},
        format="json",
    )
    assert assessment.status_code in (201, 400), assessment.content[:300]
    with scopes_disabled():
        for supplier in Supplier.objects.all():
            assert supplier.organisation_id == tenant.organisation.pk
            assert supplier.created_by_id == tenant.manager.pk
        assert not Plan.objects.exists()
        for cycle in Assessment.objects.all():
            assert cycle.organisation_id == tenant.organisation.pk
            assert cycle.status == AssessmentStatus.DRAFT and cycle.created_by_id == tenant.manager.pk
        if Supplier.objects.exists():
            supplier = Supplier.objects.get()
            patched = client.patch(base + f"suppliers/{supplier.pk}/", {"name": "Pennine 2", **extra}, format="json")
            assert patched.status_code in (200, 400)
            supplier.refresh_from_db()
            assert supplier.organisation_id == tenant.organisation.pk
        assert Membership.objects.get(organisation=tenant.organisation, user=tenant.manager).role == Role.MANAGER
        assert not User.objects.filter(is_staff=True).exists() and not User.objects.filter(is_superuser=True).exists()
    # The member list is read-only in the API.
    member = client.get(base + "members/").json()["results"][0]
    assert client.patch(base + f"members/{member['id']}/", {"role": "owner"}, format="json").status_code == 405


# --- Role escalation ----------------------------------------------------------------------------------


def test_a_manager_cannot_make_themselves_owner(tenant) -> None:
    slug = tenant.organisation.slug
    client = client_for(tenant.manager)
    with scopes_disabled():
        own = Membership.objects.get(organisation=tenant.organisation, user=tenant.manager)
    assert client.post(f"/o/{slug}/members/{own.pk}/role/", {"role": "owner"}).status_code == 403
    assert client.post(f"/o/{slug}/invitations/new/", {"email": "me2@acme.example", "role": "owner"}).status_code == 403
    # A token cannot carry a wider role than its maker has.
    response = client.post(
        "/account/tokens/", {"name": "escalate", "access": f"{tenant.organisation.pk}:owner", "expiry": "90"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["access"]
    with scopes_disabled():
        own.refresh_from_db()
        assert own.role == Role.MANAGER
        assert not Invitation.objects.exists()
        assert not ApiToken.objects.filter(user=tenant.manager).exists()
    # Nor can the owner's role form be given a role that does not exist.
    owner = client_for(tenant.owner)
    refused = owner.post(f"/o/{slug}/members/{own.pk}/role/", {"role": "superuser"})
    assert refused.status_code == 200 and refused.context["form"].errors["role"]
