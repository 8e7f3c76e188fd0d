"""Report pages: request, progress (htmx polling), download, revoke, and the public verify page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from portal.addresses import requester_key
from portal.tenancy import TenantRequest, require
from reports import services
from reports.models import AttestationReport, ReportStatus


@require_GET
def report_list(request: TenantRequest, org_slug: str) -> HttpResponse:
    membership = require(request, "download_report")
    reports = list(
        AttestationReport.objects.filter(organisation=request.organisation)
        .select_related("assessment", "requested_by")
        .order_by("-requested_at")[:100]
    )
    statuses = services.verifications_of(reports)
    finals = list(services.reportable_assessments(request.organisation))
    return render(
        request,
        "reports/list.html",
        {
            "reports": [(report, statuses[report.pk]) for report in reports],
            "finals": finals,
            "can_request": membership.can("request_report"),
            "can_revoke": services.report_can_revoke(membership),
        },
    )


@require_http_methods(["GET", "POST"])
def report_create(request: TenantRequest, org_slug: str) -> HttpResponse:
    """Check your answers: which assessment, what the report contains, then request it."""
    require(request, "request_report")
    finals = list(services.reportable_assessments(request.organisation))
    wanted = request.POST.get("assessment") if request.method == "POST" else request.GET.get("assessment")
    chosen = next((a for a in finals if str(a.pk) == wanted), None)
    if chosen is None and request.method == "GET" and len(finals) == 1:
        chosen = finals[0]  # preselect the only candidate; a POST must name it
    error = None
    if request.method == "POST":
        if chosen is None:
            error = _("Choose the final self-assessment the report is about")
        else:
            try:
                report = services.report_request(
                    organisation=request.organisation, actor=request.user, assessment=chosen
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                messages.success(request, _("Your report has been requested."))
                return redirect("reports:detail", org_slug=org_slug, report_id=report.pk)
    return render(
        request,
        "reports/create.html",
        {"finals": finals, "chosen": chosen, "error": error},
        status=400 if error else 200,
    )


def _report(request: TenantRequest, report_id: Any) -> AttestationReport:
    return get_object_or_404(
        AttestationReport.objects.select_related("organisation", "assessment", "requested_by", "revoked_by"),
        organisation=request.organisation,
        pk=report_id,
    )


@require_GET
def report_detail(request: TenantRequest, org_slug: str, report_id: Any) -> HttpResponse:
    membership = require(request, "download_report")
    report = _report(request, report_id)
    template = "reports/_status.html" if request.headers.get("HX-Request") else "reports/detail.html"
    response = render(
        request,
        template,
        {
            "report": report,
            "can_revoke": services.report_can_revoke(membership),
            "verification": services.verification_of(report),  # the report is read already
        },
    )
    if request.headers.get("HX-Request") and report.status in (ReportStatus.READY, ReportStatus.FAILED):
        response["HX-Trigger"] = "report-finished"  # for scripts that want to react; polling stops by itself
    return response


@require_GET
def report_download(request: TenantRequest, org_slug: str, report_id: Any) -> FileResponse:
    membership = require(request, "download_report")
    report = _report(request, report_id)
    try:
        download = services.report_download(report=report, membership=membership, actor=request.user)
    except (services.ReportNotReady, FileNotFoundError, ValueError):
        raise Http404 from None
    response = FileResponse(
        download.handle, as_attachment=True, content_type="application/pdf", filename=download.filename
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
def report_revoke(request: TenantRequest, org_slug: str, report_id: Any) -> HttpResponse:
    require(request, "revoke_report")
    report = _report(request, report_id)
    error = None
    if request.method == "POST":
        try:
            services.report_revoke(report=report, actor=request.user, reason=request.POST.get("reason", ""))
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("The report has been revoked. The verify page now says so, with your reason."))
            return redirect("reports:detail", org_slug=org_slug, report_id=report.pk)
    return render(
        request,
        "reports/revoke.html",
        {"report": report, "error": error, "reason": request.POST.get("reason", "")},
        status=400 if error else 200,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, report_id: Any) -> HttpResponse:
    """Public: who issued a report, when, its hash and status; and a byte-for-byte check of a file."""
    if services.verify_rate_limited(requester_key(request)):
        return _noindex(render(request, "reports/verify_limited.html", status=429))
    verification = services.report_verification(report_id)
    if verification is None:
        raise Http404
    match = None
    error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = _("Choose the PDF file to check")
        elif verification.status == "not_ready":
            error = _("This report has not been issued yet")
        else:
            match = services.file_matches(verification.report, upload)
    return _noindex(
        render(
            request,
            "reports/verify.html",
            {"v": verification, "report": verification.report, "match": match, "error": error},
            status=400 if error else 200,
        )
    )


def _noindex(response: HttpResponse) -> HttpResponse:
    """Verify pages are found through the report printed with their id, never through a search engine."""
    response["X-Robots-Tag"] = "noindex"
    return response
