"""Turning an assessment into an attestation report: the context, the HTML and the PDF.

The renderer fetches nothing outside the project's own static files and data: URIs.
"""

from __future__ import annotations

import io
import mimetypes
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.staticfiles import finders
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import scope

from portal.roles import Role

BASE_URL = "https://portal.invalid/"
DECISION_LABELS = {
    "sign": _("Signed"),
    "sign_with_reservations": _("Signed with reservations"),
    "decline": _("Declined to sign"),
}  # never fetched: only a prefix for the project's static files


class RefusedFetch(ValueError):
    """The report asked for something outside the project's static files and data: URIs."""


@dataclass
class SafeURLFetcher:
    """A WeasyPrint URL fetcher that serves only static files and data: URIs, and remembers refusals."""

    refused: list[str] = field(default_factory=list)
    # WeasyPrint reads this when a fetch fails: a refused resource is skipped, the render goes on.
    _fail_on_errors: bool = False

    def __call__(self, url: str, *args: Any, **kwargs: Any) -> Any:
        return self.fetch(url)

    def fetch(self, url: str, headers: Any = None) -> Any:
        from weasyprint.urls import URLFetcherResponse

        if url.startswith("data:"):
            from urllib.request import urlopen

            with urlopen(url) as response:  # noqa: S310 - only data: URIs reach this line
                body = response.read()
                return URLFetcherResponse(url, body=body, headers={"Content-Type": response.headers.get_content_type()})
        prefix = BASE_URL + settings.STATIC_URL.lstrip("/")
        if url.startswith(prefix):
            relative = url[len(prefix) :].split("?")[0].split("#")[0]
            if ".." not in Path(relative).parts:
                found = finders.find(relative)
                if found:
                    mimetype = mimetypes.guess_type(found)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, body=Path(found).read_bytes(), headers={"Content-Type": mimetype})
        self.refused.append(url)
        raise RefusedFetch(f"the report may not fetch {url}")


# The conformance the report declares: PDF/A-3a, the accessible level of archival PDF/A-3 (level
# "b" guarantees only the look; "u" adds Unicode text; "a" adds the tagged logical structure, language
# and Unicode text that WeasyPrint writes from the HTML). Why not PDF/UA-1 as well: WeasyPrint 70
# takes one pdf_variant at a time ("pdf/a-3a" or "pdf/ua-1", not both; its issue #2783 on multiple
# variants is open), and adding a pdfuaid:part by hand would be an unchecked claim: PDF/A-3 requires
# an extension schema for that property, and WeasyPrint's own PDF/UA list (issue #2482: figure and
# dl tags, stray Span tags) is unfinished. No validator (veraPDF is Java, not in the package
# registries here) could confirm either. tests/reports/test_report_standards.py checks the structure.
PDF_VARIANT = "pdf/a-3a"


def render_pdf(html: str, *, fetcher: SafeURLFetcher | None = None) -> bytes:
    """Archival and accessible PDF/A-3a: tagged, with the document's language and title."""
    from weasyprint import HTML

    return HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher or SafeURLFetcher()).write_pdf(
        pdf_variant=PDF_VARIANT, pdf_tags=True
    )


def _qr_svg(url: str) -> str:
    import segno

    return segno.make(url, error="m").svg_inline(scale=4, title="QR code of the verification address")


def report_context(report: Any, *, issued_at: datetime | None = None, chain: Any = None) -> dict[str, Any]:
    """Everything the report shows, read from the organisation's records (escaped by the template).

    `issued_at` is the report's one moment: printed as "Issued", the "as at" of every section taken
    on the day (commitment, plans, supplier coverage, the audit check, expiry and lateness), and
    stored as the report's `rendered_at` by the task. Defaults to now."""
    from assessments import selectors as assessment_selectors
    from assessments.charts import Bar, maturity_chart_svg
    from assessments.models import (
        ActionItem,
        ActionStatus,
        AssessmentStatus,
        ChangeRequest,
        Citation,
        Response,
    )
    from assessments.workflow import subject_hash
    from portal.audit import audit_verify_chain
    from portal.models import AuditEvent, Membership
    from principles.services import active_commitment
    from reports import signed_text, survey_results, technology_register
    from reports.models import VALID_FOR
    from supplychain.models import Campaign
    from supplychain.selectors import campaign_coverage

    issued_at = issued_at or timezone.now()
    issued_on = timezone.localdate(issued_at, ZoneInfo(settings.TIME_ZONE))
    organisation = report.organisation
    assessment = report.assessment
    framework = assessment.framework
    with scope(organisation=organisation):
        progress = assessment_selectors.assessment_progress(assessment)
        principles = [
            {
                "number": p.principle.number,
                "title": p.principle.title,
                "average": p.average_maturity,
                "answered": p.answered,
                "total": p.total,
            }
            for p in progress.principles
        ]
        responses = list(
            Response.objects.filter(assessment=assessment)
            .select_related("criterion", "criterion__principle")
            .order_by("criterion__principle__number", "criterion__position")
        )
        citations: dict[Any, list[Any]] = {}
        for citation in (
            Citation.objects.filter(response__assessment=assessment)
            .select_related("evidence")
            .order_by("evidence__original_name")
        ):
            citations.setdefault(citation.response_id, []).append(citation.evidence)
        actions: dict[Any, list[Any]] = {}
        for item in ActionItem.objects.filter(assessment=assessment).select_related("owner").order_by("due_date"):
            actions.setdefault(item.response_id, []).append(item)
        criteria = [
            {
                "principle_number": r.criterion.principle.number,
                "principle_title": r.criterion.principle.title,
                "code": r.criterion.code,
                "title": r.criterion.title,
                "maturity": r.maturity,
                "maturity_label": framework.maturity_label(r.maturity),
                "narrative": r.narrative,
                "evidence": [
                    {
                        "name": e.original_name,
                        "sha256": e.sha256,
                        "effective_date": e.effective_date,
                        "expiry_date": e.expiry_date,
                        "expired": e.is_expired(issued_on),
                    }
                    for e in citations.get(r.pk, [])
                ],
                "actions": [
                    {
                        "title": a.title,
                        "owner": a.owner.display_name if a.owner else "",
                        "due_date": a.due_date,
                        "status_label": a.get_status_display(),
                    }
                    for a in actions.get(r.pk, [])
                ],
            }
            for r in responses
        ]

        plans = signed_text.plans_context(organisation)
        # Every closed workforce survey in one query: the plans' surveys come from their records above;
        # these give the before-and-after of a repeated survey, and the surveys bound to no plan.
        closed_surveys = survey_results.closed_surveys(organisation)
        survey_results.add_before_after(plans, closed_surveys)
        other_surveys = survey_results.other_surveys(closed_surveys)
        technology = technology_register.technology_context(organisation, issued_on)
        coverage = []
        for campaign in Campaign.objects.filter(organisation=organisation).order_by("created_at"):
            coverage.append(
                {
                    "title": campaign.title,
                    "depth": campaign.depth,
                    "tiers": [
                        {"tier": t.tier, **t.counts, "accepted_percent": t.percent("accepted")}
                        for t in campaign_coverage(campaign)
                    ],
                }
            )
        commitment = active_commitment(organisation)
        if chain is None:  # the task passes the check it keeps for the verify page
            chain = audit_verify_chain(organisation=organisation)
        content_hash = subject_hash(assessment)
        # The summary's exceptions, each one query whatever the size of the assessment.
        expired_evidence = len({e["sha256"] + e["name"] for c in criteria for e in c["evidence"] if e["expired"]})
        overdue_actions = (
            ActionItem.objects.filter(
                Q(assessment=assessment) | Q(plan__organisation=organisation, plan__status=AssessmentStatus.FINAL),
                organisation=organisation,
                due_date__lt=issued_on,
            )
            .exclude(status=ActionStatus.DONE)
            .count()
        )
        open_change_requests = ChangeRequest.objects.filter(
            organisation=organisation, subject_type="assessment", subject_id=assessment.pk, answered_at__isnull=True
        ).count()
        # Who prepared it: whoever created, answered and submitted it (from the audit trail).
        editors = list(
            AuditEvent.objects.filter(
                organisation=organisation,
                verb__in=["response.updated", "response.confirmed"],
                target_id__in=[str(r.pk) for r in responses],
            )
            .values_list("actor__full_name", "actor__email", "actor_label")
            .distinct()
        )
        requester_role = (
            Membership.objects.filter(organisation=organisation, user_id=report.requested_by_id)
            .values_list("role", flat=True)
            .first()
            if report.requested_by_id
            else None
        )
        assessment_signatures = signed_text.signature_rows(assessment, current_hash=content_hash)
    verification_url = settings.SITE_URL + reverse("verify:report", kwargs={"report_id": report.pk})
    void_signatures = _void_count(assessment_signatures) + sum(_void_count(p.get("signatures", [])) for p in plans)
    prepared_by = _names(
        [assessment.created_by, assessment.submitted_by],
        [full_name or email or label for full_name, email, label in editors],
    )
    return {
        "time_zone": settings.TIME_ZONE,
        "report": {
            "id": str(report.pk),
            "requested_by_name": report.requested_by.display_name if report.requested_by else "",
            "requested_by_role": Role(requester_role).label if requester_role in Role.values else "",
            "issued_at": issued_at,
            "rendered_at": issued_at,
            "valid_until": issued_at + VALID_FOR,
            "verification_url": verification_url,
        },
        "organisation": {
            "name": organisation.name,
            "company_number": organisation.company_number,
            "sector_label": organisation.get_sector_display(),
            "size_label": organisation.get_size_band_display(),
            "country_name": organisation.country.name,
        },
        "framework": {
            "title": framework.title,
            "version": framework.version,
            "code": framework.code,
            "content_hash": framework.content_hash,
        },
        "assessment": {
            "title": assessment.title,
            "created_by_name": assessment.created_by.display_name if assessment.created_by else "",
            "submitted_by_name": assessment.submitted_by.display_name if assessment.submitted_by else "",
            "submitted_at": assessment.submitted_at,
            "period_start": assessment.period_start,
            "period_end": assessment.period_end,
            "status_label": assessment.get_status_display(),
            "finalised_at": assessment.finalised_at,
            "content_hash": content_hash,
        },
        "commitment": None
        if commitment is None
        else {
            "signed_by": commitment.signature.typed_name,
            "job_title": commitment.signature.job_title,
            "signed_at": commitment.signed_at,
            "statement": commitment.statement,
            "extends_to_supply_chain": commitment.extends_to_supply_chain,
            "content_hash": commitment.signature.content_hash,
            "mfa_used": commitment.signature.mfa_used,
            # The same words as every signature trail in the report.
            "authentication": signed_text.authentication_label(commitment.signature),
        },
        "chart_svg": maturity_chart_svg(
            [Bar(f"{p['number']}. {p['title']}", p["average"]) for p in principles],  # type: ignore[arg-type]
            title=f"Maturity per principle: {assessment.title}",
            chart_id="report-chart",
        ),
        "principles": principles,
        "criteria": criteria,
        "signatures": assessment_signatures,
        "plans": plans,
        "other_surveys": other_surveys,
        "technology": technology,
        "coverage": coverage,
        "audit": {
            "ok": chain.ok,
            "events_checked": chain.events_checked,
            "broken_at": chain.broken_at,
            "reason": chain.reason,
            "head_hash": organisation.audit_head_hash,
        },
        "qr_svg": _qr_svg(verification_url),
        "maturity_scale": [
            {"level": m["level"], "label": m["label"], "descriptor": m.get("descriptor", "")}
            for m in framework.maturity_levels
        ],
        "summary": {
            "agreement": _agreement_summary(assessment_signatures),
            "exceptions": {
                "void_signatures": void_signatures,
                "expired_evidence": expired_evidence,
                "overdue_actions": overdue_actions,
                "open_change_requests": open_change_requests,
            },
            "coverage": _coverage_summary(coverage),
            "surveys": survey_results.summary(plans, other_surveys),
            "technology": technology_register.summary(technology),
        },
        "basis": {
            "prepared_by": prepared_by,
            "operator_name": settings.PORTAL_OPERATOR_NAME,
            "operator_contact": settings.PORTAL_OPERATOR_CONTACT,
        },
    }


def _void_count(signatures: list[dict[str, Any]]) -> int:
    return sum(1 for s in signatures if s.get("void"))


def _names(users: list[Any], others: list[str]) -> list[str]:
    """Distinct names, in order: the users first (None skipped), then the other names."""
    names: list[str] = []
    for name in [u.display_name for u in users if u is not None] + others:
        if name and name not in names:
            names.append(name)
    return names


SUMMARY_SIGNATURES = 6  # rows in the summary's agreement table; the Agreement section lists all


def _agreement_summary(signatures: list[dict[str, Any]]) -> dict[str, Any]:
    """Who signed for each side in a way that counts now, and how many reservations they made
    (management first, so a long list of representatives never hides it)."""
    counting = sorted((s for s in signatures if s["valid"]), key=lambda s: s["side"] != "management")
    return {
        "rows": counting[:SUMMARY_SIGNATURES],
        "more": max(0, len(counting) - SUMMARY_SIGNATURES),
        "management": any(s["side"] == "management" for s in counting),
        "workforce": any(s["side"] == "workforce" for s in counting),
        "reservations": sum(1 for s in counting if s["reservations"]),
    }


def _coverage_summary(coverage: list[dict[str, Any]]) -> dict[str, Any]:
    invited = sum(t["invited"] for c in coverage for t in c["tiers"])
    accepted = sum(t["accepted"] for c in coverage for t in c["tiers"])
    return {
        "campaigns": len(coverage),
        "invited": invited,
        "accepted": accepted,
        "percent": round(100 * accepted / invited) if invited else 0,
    }


def render_report(
    report: Any, *, fetcher: SafeURLFetcher | None = None, issued_at: datetime | None = None, chain: Any = None
) -> tuple[bytes, int, float]:
    """(pdf bytes, page count, seconds). `issued_at`: the moment printed as issued (see report_context)."""
    from django.utils.safestring import mark_safe
    from pypdf import PdfReader

    started = time.monotonic()
    context = report_context(report, issued_at=issued_at, chain=chain)
    context["qr_svg"] = mark_safe(context["qr_svg"])  # noqa: S308 - generated by segno from our own URL
    html = render_to_string("reports/attestation.html", context)
    pdf = render_pdf(html, fetcher=fetcher)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    return pdf, pages, time.monotonic() - started
