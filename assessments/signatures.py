"""Checking every signature against the content it signed: `manage.py verify_signatures`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django_scopes import scope

from assessments.models import Assessment, Citation, Evidence, Plan, PlanCitation, Survey, TechnologyAgreement
from assessments.surveys import survey_hash
from assessments.technology import agreement_hash
from assessments.workflow import subject_hash
from portal.models import Organisation, Signature
from portal.signing import snapshot_hash
from portal.storage import file_sha256


@dataclass(frozen=True)
class VoidSignature:
    signature: Signature
    reason: str


def _file_sha256(evidence: Evidence) -> str | None:
    """The file's hash as stored now, read through its storage (the local folder or the bucket)."""
    try:
        return file_sha256(evidence.file.name or "", evidence.file.storage)
    except (OSError, ValueError):
        return None


def _changed_files(organisation: Organisation, subject_type: str, subject_id: object) -> list[str]:
    if subject_type in ("survey", "agreement"):
        return []  # a survey or an agreement cites no file
    if subject_type == "plan":
        evidence = Evidence.objects.filter(pk__in=PlanCitation.objects.filter(plan_id=subject_id).values("evidence_id"))
    else:
        evidence = Evidence.objects.filter(
            pk__in=Citation.objects.filter(response__assessment_id=subject_id).values("evidence_id")
        )
    return [e.original_name for e in evidence if _file_sha256(e) != e.sha256]


def void_signatures(organisation: Organisation) -> Iterator[VoidSignature]:
    """Signatures whose content changed since signing, with why. Re-reads cited files from storage."""
    with scope(organisation=organisation):
        signatures = list(Signature.objects.filter(organisation=organisation).order_by("signed_at"))
        current: dict[tuple[str, str], str | None] = {}
        for signature in signatures:
            if snapshot_hash(signature.snapshot) != signature.content_hash:
                yield VoidSignature(signature, "the stored snapshot was altered after signing")
                continue
            if signature.subject_type not in ("assessment", "plan", "survey", "agreement"):
                continue
            key = (signature.subject_type, str(signature.subject_id))
            if key not in current and signature.subject_type == "agreement":
                # An agreement's signatures bind its words (assessments.technology.agreement_snapshot).
                agreement = TechnologyAgreement.objects.filter(pk=signature.subject_id).first()
                current[key] = agreement_hash(agreement) if agreement else None
            if key not in current and signature.subject_type == "survey":
                # A survey's approvals bind its words (assessments.surveys.survey_snapshot).
                survey = Survey.objects.filter(pk=signature.subject_id).first()
                current[key] = survey_hash(survey) if survey else None
            if key not in current:
                subject: Assessment | Plan | None
                if signature.subject_type == "plan":
                    subject = Plan.objects.select_related("organisation").filter(pk=signature.subject_id).first()
                else:
                    subject = (
                        Assessment.objects.select_related("organisation", "framework")
                        .filter(pk=signature.subject_id)
                        .first()
                    )
                current[key] = subject_hash(subject) if subject else None
            if current[key] is None:
                yield VoidSignature(signature, f"the signed {signature.subject_type} no longer exists")
            elif current[key] != signature.content_hash:
                yield VoidSignature(signature, f"the {signature.subject_type} changed after it was signed")
            else:
                changed = _changed_files(organisation, signature.subject_type, signature.subject_id)
                if changed:
                    yield VoidSignature(signature, "cited evidence files changed in storage: " + ", ".join(changed))
