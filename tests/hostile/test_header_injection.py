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


# --- Values that reached email subjects after the fields above were checked (issue 16's notifications) ---


@pytest.mark.parametrize("case", CASES)
def test_an_action_title_is_refused_at_the_field_on_the_web_in_the_api_and_in_the_service(
    case, tenant, framework
) -> None:
    """An action's title goes into the subjects of its reminders ("your action ... is due") and of the
    email telling its owner it was assigned to them."""
    from datetime import date

    from django.core.exceptions import ValidationError

    from assessments import services as assessment_services
    from assessments.models import ActionItem

    assessment = assessment_services.assessment_create(
        organisation=tenant.organisation,
        actor=tenant.manager,
        framework=framework,
        title="Self-assessment 2026",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    slug = tenant.organisation.slug
    with scopes_disabled():
        response = assessment.responses.select_related("criterion").order_by("criterion__code").first()
    due = (timezone.localdate() + timedelta(days=20)).isoformat()
    page = client_for(tenant.manager).post(
        f"/o/{slug}/assessments/{assessment.pk}/responses/{response.pk}/actions/new/",
        {"title": value(case), "owner": "", "due_date": due, "status": "open"},
    )
    assert web_errors(page, "title") == [message("Title", case)]
    client = api(tenant)
    base = f"/api/v1/organisations/{slug}/action-items/"
    body = {"assessment_id": str(assessment.pk), "criterion_code": response.criterion.code, "due_date": due}
    refused = client.post(base, {**body, "title": value(case)}, format="json")
    assert refused.status_code == 400, refused.content[:300]
    assert refused.json()["fields"]["title"] == [message("Title", case)]
    with pytest.raises(ValidationError) as raised:
        assessment_services.action_item_create(
            response=response, actor=tenant.manager, title=value(case), owner=None, due_date=timezone.localdate()
        )
    assert raised.value.message_dict["title"] == [message("Title", case)]
    with scopes_disabled():
        assert not ActionItem.objects.exists()
    created = client.post(base, {**body, "title": "Train the line 3 operators"}, format="json")
    assert created.status_code == 201, created.content[:300]
    changed = client.patch(f"{base}{created.json()['id']}/", {"title": value(case)}, format="json")
    assert changed.status_code == 400 and changed.json()["fields"]["title"] == [message("Title", case)]
    with scopes_disabled():
        assert ActionItem.objects.get().title == "Train the line 3 operators"


def test_free_text_on_several_lines_in_a_notification_still_makes_a_one_line_subject(
    framework, django_capture_on_commit_callbacks
) -> None:
    """A decline reason is written on several lines, and a notification's email without a subject of its
    own takes the notification's sentence, which quotes it. The buyer who asked for these emails
    straight away gets the email, with its subject on one line and no header smuggled in."""
    from django.core import mail

    from portal import notifications
    from portal.models import Delivery, Outbox
    from supplychain import services as supplychain_services
    from supplychain.models import SupplierInvitation
    from tests.supplychain.test_cascade import Company, start

    alpha, bravo = Company("Alpha"), Company("Bravo")
    alpha.lists(bravo)
    notifications.set_preference(user=alpha.owner, kind="supplier_request_answered", delivery=Delivery.IMMEDIATE)
    with django_capture_on_commit_callbacks(execute=True):
        campaign = start(alpha, depth=1)
    invitation = SupplierInvitation.objects.get(campaign=campaign)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        supplychain_services.invitation_decline(
            invitation=invitation,
            user=bravo.owner,
            organisation=bravo.org,
            reason="We are not ready this year.\r\nBcc: victim@evil.example\r\n\r\nAsk us again in 2027.",
        )
    with scopes_disabled():
        (row,) = Outbox.objects.filter(to_email=alpha.owner.email)
    assert row.status == "sent", (row.status, row.last_error)
    (email,) = [m for m in mail.outbox if m.to == [alpha.owner.email]]
    raw = email.message()
    assert "\n" not in email.subject and "\r" not in email.subject
    assert "We are not ready this year. Bcc: victim@evil.example Ask us again in 2027." in email.subject
    assert raw["Bcc"] is None and "victim@evil.example" not in email.recipients()


def test_a_mitigation_on_several_lines_makes_a_one_line_action_whose_owner_is_emailed(
    tenant, framework, django_capture_on_commit_callbacks
) -> None:
    """Choosing "Adjust the plan" turns each mitigation (a box of several lines) into an action titled after it;
    the action's owner, who asked for straight-away emails, is told of it with a one-line subject."""
    from django.core import mail

    from assessments import plans
    from assessments.models import ActionItem, EqiaOutcome, Impact, PlanKind
    from assessments.plans import EqiaRowInput
    from portal import notifications
    from portal.models import Delivery
    from tests.assessments.test_plans import rows

    notifications.set_preference(user=tenant.rep, kind="action_assigned", delivery=Delivery.IMMEDIATE)
    plan = plans.plan_create(
        organisation=tenant.organisation, actor=tenant.manager, kind=PlanKind.DIGITALISATION, title="Cobots"
    )
    mitigation = "Adjustable stations on line 3.\r\nBcc: victim@evil.example\nReview after a month."
    row = EqiaRowInput("disability", Impact.NEGATIVE, "Reach heights", mitigation, tenant.rep)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        plans.eqia_save(
            plan=plan, actor=tenant.manager, rows=rows(disability=row), outcome=EqiaOutcome.ADJUST, justification=""
        )
    with scopes_disabled():
        (item,) = ActionItem.objects.filter(plan=plan)
    assert item.title == "Disability: Adjustable stations on line 3. Bcc: victim@evil.example Review after a month."
    (email,) = [m for m in mail.outbox if m.to == [tenant.rep.email]]
    assert "\n" not in email.subject and "\r" not in email.subject and item.title in email.subject
    assert email.message()["Bcc"] is None
