"""Demo data for `make run`, and the error pages in the portal's look."""

from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import path
from django_scopes import scopes_disabled

from portal.demo import DEMO_PASSWORD
from portal.models import AuditEvent, Invitation, Membership, Organisation, User
from portal.roles import Role
from supplychain.models import Campaign, SupplierInvitation
from supplychain.services import invitation_token
from tests.conftest import client_for
from tests.factories import OrganisationFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    with scopes_disabled():
        return (
            User.objects.count(),
            Organisation.objects.count(),
            Membership.objects.count(),
            Invitation.objects.count(),
            AuditEvent.objects.count(),
        )


def test_demo_data_loads_twice_without_duplicates_and_prints_logins() -> None:
    out = StringIO()
    call_command("load_demo", stdout=out)
    first = _counts()
    call_command("load_demo", stdout=StringIO())
    assert _counts() == first
    text = out.getvalue()
    for email in (
        "owner@acme.example",
        "manager@acme.example",
        "rep@acme.example",
        "auditor@audit.example",
        "owner@northern.example",
    ):
        assert email in text
    assert DEMO_PASSWORD in text
    call_command("verify_audit_trail", stdout=StringIO())  # the demo chain is intact


@pytest.mark.parametrize(
    ("email", "role_label"),
    [
        ("owner@acme.example", "Owner"),
        ("rep@acme.example", "Workforce representative"),
        ("auditor@audit.example", "Auditor"),
    ],
)
def test_demo_logins_work(email, role_label) -> None:
    call_command("load_demo", stdout=StringIO())
    client = Client()
    response = client.post("/accounts/login/", {"login": email, "password": DEMO_PASSWORD}, follow=True)
    assert response.status_code == 200
    # Demo people with something waiting land on "Your work"; their role shows on their organisations.
    assert role_label in client.get("/organisations/").content.decode()


def test_the_demo_supplier_finds_a_pending_request_on_your_work() -> None:
    call_command("load_demo", stdout=StringIO())
    client = Client()
    response = client.post("/accounts/login/", {"login": "owner@pennine.example", "password": DEMO_PASSWORD})
    assert response["Location"] == "/your-work/"
    html = client.get("/your-work/").content.decode()
    assert "Answer Northern Castings&#x27;s request" in html and "Northern Castings suppliers 2026" in html


def test_the_demo_shows_a_plan_due_for_review_and_a_final_assessment_to_start_the_next_from() -> None:
    from assessments.models import Assessment

    call_command("load_demo", stdout=StringIO())
    client = Client()
    client.post("/accounts/login/", {"login": "owner@acme.example", "password": DEMO_PASSWORD})
    html = client.get("/your-work/").content.decode()
    assert ">Review the plan<" in html and "Cobots on line 3" in html
    with scopes_disabled():
        final = Assessment.objects.filter(organisation__name="Acme Precision Engineering", status="final").get()
    overview = client.get(f"/o/{final.organisation.slug}/assessments/{final.pk}/").content.decode()
    assert f'href="/o/{final.organisation.slug}/assessments/{final.pk}/next/">Start the' in overview
    check = client.get(f"/o/{final.organisation.slug}/assessments/{final.pk}/next/").content.decode()
    assert "A self-assessment is already in progress" in check  # the demo's current draft, left as it is


def test_404_page_uses_the_portal_layout() -> None:
    response = Client().get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404 and "Page not found" in html and 'class="skip-link"' in html


def _is_the_portal_404(response) -> bool:
    html = response.content.decode()
    return (
        response.status_code == 404
        and "Page not found" in html
        and 'class="skip-link"' in html
        and "Using the URLconf" not in html
        and "Django tried these URL patterns" not in html
    )


def test_with_debug_on_an_unknown_report_shows_the_portal_404_not_the_url_list(settings) -> None:
    """`make run` has DEBUG on: an unknown report id is an ordinary not-found, not a developer's page."""
    settings.DEBUG = True
    organisation = OrganisationFactory()
    client = client_for(add_member(organisation, UserFactory(), Role.OWNER).user)
    slug = organisation.slug
    assert _is_the_portal_404(client.get(f"/o/{slug}/reports/{uuid.uuid4()}/"))  # the view's Http404
    assert _is_the_portal_404(Client().get(f"/verify/{uuid.uuid4()}/"))
    assert _is_the_portal_404(client.get("/no/such/page/"))  # no URL matches at all
    assert client.get(f"/o/{slug}/reports").status_code == 301  # a missing slash is still redirected
    assert client.get("/api/v1/no-such-endpoint/").json()["code"] == "not_found"  # the API answers in JSON


def _a_real_bug(request):
    raise RuntimeError("a real bug in a view")


urlpatterns = [path("broken/", _a_real_bug)]  # this module as a URLconf, for the test below


def test_with_debug_on_real_errors_keep_djangos_debug_page(settings) -> None:
    settings.DEBUG = True
    settings.ROOT_URLCONF = __name__
    response = Client(raise_request_exception=False).get("/broken/")
    assert response.status_code == 500 and "a real bug in a view" in response.content.decode()  # the traceback


def test_500_page_renders_without_a_request_context() -> None:
    from django.views.defaults import server_error

    response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in html and "portal.css" in html


def test_csrf_failure_page_is_friendly() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"login": "a@example.org", "password": "x"})
    assert response.status_code == 403
    assert "Your form could not be sent" in response.content.decode()


def test_the_demo_people_have_a_reminder_of_each_kind() -> None:
    from portal.models import Notification

    call_command("load_demo", stdout=StringIO())
    call_command("load_demo", stdout=StringIO())  # again: no reminder twice
    reminders = sorted(
        (n.recipient.email, n.kind, n.dedupe_key.rsplit(":", 1)[-1])
        for n in Notification.objects.filter(kind__in=["action_due", "evidence_expiring"]).select_related("recipient")
    )
    assert reminders == [
        ("manager@acme.example", "action_due", "overdue"),
        ("manager@acme.example", "evidence_expiring", "14d"),
        ("owner@acme.example", "action_due", "7d"),
        ("owner@acme.example", "evidence_expiring", "14d"),
    ]


def test_the_demo_shows_the_recurring_cycle(django_capture_on_commit_callbacks) -> None:
    """Acme's owner is asked to reaffirm the commitment and has a report ready; Acme's campaign can be
    repeated; Pennine's owner confirms Northern's repeated request in one step."""
    import html as html_lib

    from tests.api.world import tasks_in_process

    # As `make run` does: tasks in-process after each commit, so the demo report is rendered.
    with tasks_in_process(), django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", stdout=StringIO())
    client = Client()
    client.post("/accounts/login/", {"login": "owner@acme.example", "password": DEMO_PASSWORD})
    page = client.get("/your-work/").content.decode()
    assert "Reaffirm the commitment" in page and "Download the attestation report" in page
    with scopes_disabled():
        campaign = Campaign.objects.get(title="Supplier commitment 2026")
    detail = client.get(f"/o/{campaign.organisation.slug}/supply-chain/campaigns/{campaign.pk}/").content.decode()
    assert "Repeat this campaign" in detail
    client = Client()
    client.post("/accounts/login/", {"login": "owner@pennine.example", "password": DEMO_PASSWORD})
    with scopes_disabled():
        request = SupplierInvitation.objects.get(campaign__title="Northern Castings suppliers 2026")
    landing = html_lib.unescape(client.get(f"/supplier-invitations/{invitation_token(request)}/").content.decode())
    assert "for Northern Castings: confirm your commitment still stands" in landing
