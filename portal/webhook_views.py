"""Webhook pages (owners only): endpoints, the secret shown once, the delivery log, send again, rotate,
pause and resume, delete. The rules are portal.webhooks'."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal import webhooks
from portal.forms import PortalFormMixin, apply_errors
from portal.models import WebhookDelivery, WebhookEndpoint
from portal.tenancy import TenantRequest, require

PER_PAGE = 50
REVEAL_KEY = "webhook_secret_reveal"


class EndpointForm(PortalFormMixin, forms.Form):
    url = forms.CharField(
        label=gettext_lazy("URL"),
        max_length=500,
        help_text=gettext_lazy("Where the portal sends each event, as a POST request. It must start with https://."),
    )
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=[],
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Choose the events this endpoint receives."),
        error_messages={"required": gettext_lazy("Choose at least one event.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["events"]
        field.choices = [(key, str(label)) for key, label in webhooks.EVENTS.items()]


def _endpoint(request: TenantRequest, endpoint_id: Any) -> WebhookEndpoint:
    endpoint = get_object_or_404(WebhookEndpoint, organisation=request.organisation, pk=endpoint_id)
    endpoint.organisation = request.organisation  # already loaded
    return endpoint


def _labels(endpoint: WebhookEndpoint) -> list[str]:
    return [str(webhooks.EVENTS[e]) for e in endpoint.events if e in webhooks.EVENTS]


@require_GET
def webhook_list(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "manage_webhooks")
    endpoints = list(WebhookEndpoint.objects.filter(organisation=request.organisation).order_by("created_at")[:100])
    rows = [{"endpoint": e, "labels": _labels(e)} for e in endpoints]
    return render(request, "portal/webhook_list.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
def webhook_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "manage_webhooks")
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = webhooks.endpoint_create(
                organisation=request.organisation,
                actor=request.user,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            request.session[REVEAL_KEY] = str(endpoint.pk)
            return redirect("portal:webhook_secret", org_slug=org_slug, endpoint_id=endpoint.pk)
    return render(request, "portal/webhook_form.html", {"form": form})


@require_GET
def webhook_secret(request: TenantRequest, org_slug: str, endpoint_id: Any) -> HttpResponse:
    """The secret, once: right after the endpoint is made or its secret rotated; afterwards, the detail."""
    require(request, "manage_webhooks")
    endpoint = _endpoint(request, endpoint_id)
    if request.session.get(REVEAL_KEY) != str(endpoint.pk):
        return redirect("portal:webhook_detail", org_slug=org_slug, endpoint_id=endpoint.pk)
    del request.session[REVEAL_KEY]
    response = render(request, "portal/webhook_secret.html", {"endpoint": endpoint})
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def webhook_detail(request: TenantRequest, org_slug: str, endpoint_id: Any) -> HttpResponse:
    require(request, "manage_webhooks")
    endpoint = _endpoint(request, endpoint_id)
    deliveries = (
        WebhookDelivery.objects.filter(organisation=request.organisation, endpoint=endpoint)
        .only(
            "id",
            "event",
            "event_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "sent_at",
            "last_attempt_at",
        )
        .order_by("-created_at", "-id")
    )
    page = Paginator(deliveries, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/webhook_detail.html",
        {
            "endpoint": endpoint,
            "labels": _labels(endpoint),
            "page": page,
            "deliveries": list(page.object_list),
            "event_labels": {k: str(v) for k, v in webhooks.EVENTS.items()},
        },
    )


@require_http_methods(["GET", "POST"])
def webhook_rotate(request: TenantRequest, org_slug: str, endpoint_id: Any) -> HttpResponse:
    require(request, "manage_webhooks")
    endpoint = _endpoint(request, endpoint_id)
    if request.method == "POST":
        webhooks.endpoint_rotate_secret(endpoint=endpoint, actor=request.user)
        request.session[REVEAL_KEY] = str(endpoint.pk)
        return redirect("portal:webhook_secret", org_slug=org_slug, endpoint_id=endpoint.pk)
    return render(request, "portal/webhook_rotate.html", {"endpoint": endpoint})


@require_POST
def webhook_pause(request: TenantRequest, org_slug: str, endpoint_id: Any) -> HttpResponse:
    require(request, "manage_webhooks")
    endpoint = _endpoint(request, endpoint_id)
    webhooks.endpoint_set_active(endpoint=endpoint, actor=request.user, active=False)
    messages.success(request, _("The webhook is paused: events are not sent to it until you resume it."))
    return redirect("portal:webhook_detail", org_slug=org_slug, endpoint_id=endpoint.pk)


@require_POST
def webhook_resume(request: TenantRequest, org_slug: str, endpoint_id: Any) -> HttpResponse:
    require(request, "manage_webhooks")
    endpoint = _endpoint(request, endpoint_id)
    webhooks.endpoint_set_active(endpoint=endpoint, actor=request.user, active=True)
    messages.success(request, _("The webhook is active again: deliveries still waiting go out within minutes."))
    return redirect("portal:webhook_detail", org_slug=org_slug, endpoint_id=endpoint.pk)


@require_http_methods(["GET", "POST"])
def webhook_delete(request: TenantRequest, org_slug: str, endpoint_id: Any) -> HttpResponse:
    require(request, "manage_webhooks")
    endpoint = _endpoint(request, endpoint_id)
    if request.method == "POST":
        webhooks.endpoint_delete(endpoint=endpoint, actor=request.user)
        messages.success(request, _("The webhook to %(url)s is deleted.") % {"url": endpoint.url})
        return redirect("portal:webhook_list", org_slug=org_slug)
    return render(request, "portal/webhook_delete.html", {"endpoint": endpoint})


@require_POST
def webhook_send_again(request: TenantRequest, org_slug: str, endpoint_id: Any, delivery_id: Any) -> HttpResponse:
    require(request, "manage_webhooks")
    endpoint = _endpoint(request, endpoint_id)
    delivery = get_object_or_404(WebhookDelivery, organisation=request.organisation, endpoint=endpoint, pk=delivery_id)
    delivery.organisation, delivery.endpoint = request.organisation, endpoint
    try:
        webhooks.delivery_send_again(delivery=delivery, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The event will be sent again within moments."))
    return redirect("portal:webhook_detail", org_slug=org_slug, endpoint_id=endpoint.pk)
