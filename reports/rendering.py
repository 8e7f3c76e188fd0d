"""Turning an assessment into an attestation report: the context, the HTML and the PDF.

The renderer fetches nothing outside the project's own static files and data: URIs.
"""

from __future__ import annotations

import io
import mimetypes
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_scopes import scope

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


def render_pdf(html: str, *, fetcher: SafeURLFetcher | None = None) -> bytes:
    """Archival PDF/A-3b, tagged for accessibility."""
    from weasyprint import HTML

    return HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher or SafeURLFetcher()).write_pdf(
        pdf_variant="pdf/a-3b", pdf_tags=True
    )


def _qr_svg(url: str) -> str:
    import segno

    return segno.make(url, error="m").svg_inline(scale=4, title="QR code of the verification address")


def report_context(report: Any) -> dict[str, Any]:
    """Everything the report shows, read from the organisation's records (escaped by the template)."""
    from assessments import selectors as assessment_selectors
    from assessments.charts import Bar, maturity_chart_svg
    from assessments.models import (
        ActionItem,
        Citation,
        Response,
    )
    from assessments.workflow import subject_hash
    from portal.audit import audit_verify_chain
    from principles.services import active_commitment
    from reports import signed_text
    from supplychain.models import Campaign
    from supplychain.selectors import campaign_coverage

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
                        "expired": e.is_expired(),
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
        chain = audit_verify_chain(organisation=organisation)
        content_hash = subject_hash(assessment)
        assessment_signatures = signed_text.signature_rows(assessment, current_hash=content_hash)
    verification_url = settings.SITE_URL + reverse("verify:report", kwargs={"report_id": report.pk})
    return {
        "report": {
            "id": str(report.pk),
            "requested_by_name": report.requested_by.display_name if report.requested_by else "",
            "rendered_at": report.claimed_at,
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
        "coverage": coverage,
        "audit": {
            "ok": chain.ok,
            "events_checked": chain.events_checked,
            "broken_at": chain.broken_at,
            "reason": chain.reason,
            "head_hash": organisation.audit_head_hash,
        },
        "qr_svg": _qr_svg(verification_url),
    }


def render_report(report: Any, *, fetcher: SafeURLFetcher | None = None) -> tuple[bytes, int, float]:
    """(pdf bytes, page count, seconds)."""
    from django.utils.safestring import mark_safe
    from pypdf import PdfReader

    started = time.monotonic()
    context = report_context(report)
    context["qr_svg"] = mark_safe(context["qr_svg"])  # noqa: S308 - generated by segno from our own URL
    html = render_to_string("reports/attestation.html", context)
    pdf = render_pdf(html, fetcher=fetcher)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    return pdf, pages, time.monotonic() - started
