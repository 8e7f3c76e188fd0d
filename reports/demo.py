"""Demo data: last year's self-assessment, agreed with the workforce, and a report issued from it.

The first report a newcomer sees should read like a real manufacturer's: evidence cited on most
criteria (one file already expired by the time the report is issued), each narrative saying what its
maturity level means, and a year of work behind it (the assessment started early in the period, answered
over months, submitted near the end, signed days apart).

Everything goes through the real services, so the audit chain, the content hashes and the signatures are
made exactly as they are for a user. Those services stamp rows with the moment they run; afterwards the
demo moves the *domain* timestamps (when the assessment was started, each answer last changed, each file
uploaded, the assessment submitted and finalised, each signature given) back to last year. None of these
is covered by a hash: a signature binds the snapshot of the content (`workflow.assessment_snapshot`:
titles, levels, narratives, file names, hashes and dates), and an audit event hashes its own `created_at`,
which is left alone. So the audit trail keeps saying truthfully when the rows were written (when the demo
was loaded), the chain still verifies, and every signature still counts. `principles.demo` backdates the
commitment's signing date the same way.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django_scopes import scope

from assessments import services as assessment_services
from assessments import workflow
from assessments.models import Assessment, Evidence, Response
from portal.models import Notification, Organisation, Signature, User
from portal.signing import SigningContext
from portal.versions import bump
from principles.framework import ensure_framework

# How each level's narrative opens: the words of the framework's scale (principles/data), as a works
# manager would write them. The tests check every narrative opens with its level's words.
NARRATIVE_OPENINGS = {
    0: "Not started:",
    1: "Planned:",
    2: "In place for some areas:",
    3: "In place across the site and reviewed each year:",
    4: "Embedded and improving:",
}
_NAMES = {"Unite"}
_NARRATIVE_ENDINGS = {
    0: "There is no agreed plan for this yet.",
    1: "It has an owner and a date but is not yet in practice.",
    2: "It is not yet consistent across the site, and the records are incomplete.",
    3: "",
    4: "Reviewed with the workforce representatives, and changed after each review.",
}


def narrative(level: int, detail: str) -> str:
    """The narrative of a criterion answered at `level`: the level's opening, then the criterion's own facts
    (lower-cased after the colon unless they start with a name: "Unite", "MES", "JCC")."""
    first = detail.split(" ", 1)[0]
    if not (len(first) > 1 and first.isupper()) and first not in _NAMES:
        detail = detail[0].lower() + detail[1:]
    return " ".join(part for part in (NARRATIVE_OPENINGS[level], detail, _NARRATIVE_ENDINGS[level]) if part)


@dataclass(frozen=True)
class DemoFile:
    """A document in the evidence library: valid `valid_days` from its effective date (None: no expiry).
    `lapsed`: it has expired by the time the report is issued; `renewal_due`: it expires soon after."""

    name: str
    description: str
    effective: tuple[int, int]  # (month, day) in the assessed year
    lines: tuple[str, ...]
    valid_days: int | None = None
    lapsed: bool = False
    renewal_due: bool = False


# The organisation's evidence library for the year (file names use {year}). Several criteria cite the
# same document, as they would: the JCC minutes, the MES plan, the training matrix.
FILES: dict[str, DemoFile] = {
    "cyber": DemoFile(
        "Cyber Essentials certificate {year}.pdf",
        "Cyber Essentials certificate for the office and shop-floor networks (valid 12 months)",
        (1, 28),
        ("Certificate of assurance: Cyber Essentials", "Scope: whole organisation", "Valid for 12 months"),
        valid_days=365,
        lapsed=True,
    ),
    "forum": DemoFile(
        "Joint technology forum terms of reference.pdf",
        "Terms of reference of the joint technology forum, agreed with Unite",
        (1, 16),
        ("Joint technology forum", "Terms of reference", "Two Unite and two management members; meets quarterly"),
    ),
    "risk": DemoFile(
        "Risk assessment 5-axis cell and MES terminals.pdf",
        "Risk assessment for the 5-axis machining centre and the MES terminals, with the safety representative",
        (2, 20),
        ("Risk assessment", "5-axis machining centre; MES terminals", "Reviewed with the Unite safety representative"),
        valid_days=2 * 365,
    ),
    "dpia": DemoFile(
        "DPIA shop-floor data system.pdf",
        "Data protection impact assessment for the MES (shop-floor data system)",
        (3, 18),
        ("Data protection impact assessment", "System: MES terminals on the machining lines"),
    ),
    "jcc_q1": DemoFile(
        "JCC minutes Q1 {year}.pdf",
        "Minutes of the joint consultation committee, January to March: the MES roll-out presented",
        (3, 27),
        ("Joint consultation committee", "Minutes, January to March", "Item 3: MES roll-out plan presented"),
    ),
    "privacy": DemoFile(
        "Employee privacy notice v2.pdf",
        "Employee privacy notice, updated for the MES terminals",
        (4, 1),
        ("Employee privacy notice", "Version 2", "What the MES terminals record, why, and who can see it"),
    ),
    "eqia": DemoFile(
        "EqIA MES roll-out.pdf",
        "Equality impact assessment of the MES roll-out",
        (4, 3),
        ("Equality impact assessment", "MES roll-out", "Shift patterns, training access, job design"),
    ),
    "mes_plan": DemoFile(
        "MES roll-out plan v3 (countersigned).pdf",
        "Digitalisation plan for the MES roll-out, countersigned by the Unite representatives",
        (4, 10),
        ("Digitalisation plan: MES roll-out", "Version 3", "Countersigned by the workforce representatives"),
    ),
    "skills": DemoFile(
        "Skills plan {year}-{next_year}.pdf",
        "Organisational skills plan for the machining cell",
        (5, 12),
        ("Skills plan", "Machining cell", "Skills gap analysis and training budget"),
    ),
    "training": DemoFile(
        "Training matrix {year}.pdf",
        "Training matrix for operators and setters: risk, MES and machining centre courses",
        (6, 30),
        ("Training matrix", "Operators and setters, by shift", "MES, machining centre and risk training"),
        renewal_due=True,
    ),
    "survey": DemoFile(
        "Staff survey {year} results.pdf",
        "Results of the staff survey on workload, skills and the new systems",
        (7, 21),
        ("Staff survey results", "Response rate 71%", "Workload, pace of work, skills needs"),
    ),
    "jobs": DemoFile(
        "Revised job descriptions, machining.pdf",
        "Revised job descriptions and grades for the setter-operator roles",
        (8, 14),
        ("Job descriptions", "Setter-operator, machining", "Regraded after job evaluation"),
    ),
    "jcc_q3": DemoFile(
        "JCC minutes Q3 {year}.pdf",
        "Minutes of the joint consultation committee, July to September",
        (9, 25),
        ("Joint consultation committee", "Minutes, July to September", "Item 2: data-use code of conduct"),
    ),
    "hs_minutes": DemoFile(
        "Health and safety committee minutes {year}.pdf",
        "Health and safety committee minutes, including the post-introduction review of the machining centre",
        (10, 15),
        ("Health and safety committee", "Minutes", "Post-introduction review: new guarding on the loading station"),
    ),
    "reinvest": DemoFile(
        "Reinvestment report to the workforce {year}.pdf",
        "What the MES savings paid for, as reported to the joint consultation committee",
        (10, 30),
        ("Reinvestment report", "Two apprenticeships funded from the MES savings"),
    ),
    "ideas": DemoFile(
        "Ideas scheme log {year}.pdf",
        "Log of ideas put forward by employees, with the answers given",
        (11, 7),
        ("Ideas scheme log", "Ideas received, decision, answer given"),
    ),
}

# Each criterion: maturity level, what is true of it at Acme, and the files cited. Strong on partnership
# and safety, weaker on data and equality; levels 0 and some 1 cite nothing.
ANSWERS: dict[str, tuple[int, str, tuple[str, ...]]] = {
    "1.1": (
        3,
        "The MES roll-out and the 5-axis machining centre were both presented to the joint consultation "
        "committee before the purchase orders were raised.",
        ("jcc_q1", "mes_plan"),
    ),
    "1.2": (
        2,
        "Unite representatives were consulted on the MES roll-out and their written response is minuted; "
        "smaller software changes in the drawing office went ahead without a consultation record.",
        ("jcc_q1",),
    ),
    "1.3": (
        2,
        "The MES roll-out plan was countersigned by the representatives with conditions; the machining centre "
        "was agreed at a meeting but never signed.",
        ("mes_plan",),
    ),
    "1.4": (
        0,
        "Concerns about new equipment are raised with supervisors or at the JCC; they are not logged or "
        "answered in writing.",
        (),
    ),
    "1.5": (
        3,
        "The joint technology forum (two Unite and two management members) met in January, April, July and "
        "October under terms of reference agreed in January.",
        ("forum", "jcc_q3"),
    ),
    "1.6": (
        2,
        "The MES plan records that no operator's pay or grade changes; the machining centre plan has no "
        "section on terms and conditions.",
        ("mes_plan", "jobs"),
    ),
    "2.1": (
        3,
        "Dated risk assessments were signed off before go-live for the machining centre and the MES terminals, "
        "with the operators who use them consulted.",
        ("risk", "hs_minutes"),
    ),
    "2.2": (
        1,
        "An energy baseline for the machine shop is in the MES plan, with the facilities manager as owner.",
        ("mes_plan",),
    ),
    "2.3": (
        4,
        "Every operator on the machining centre completed risk training before first use; refreshers run every "
        "six months, and the course was rewritten after the April near-miss review.",
        ("training", "hs_minutes"),
    ),
    "2.4": (
        4,
        "The Unite safety representative took part in both risk assessments and in the review three months "
        "after go-live, which led to new guarding on the loading station.",
        ("risk", "hs_minutes"),
    ),
    "2.5": (
        3,
        "A register of safety and energy improvement ideas is reviewed at every health and safety committee; "
        "two were carried out this year.",
        ("hs_minutes",),
    ),
    "2.6": (
        1,
        "A section on suppliers' safety and environmental effects will be added to the plan template.",
        (),
    ),
    "3.1": (
        2,
        "The skills plan covers the machining cell; assembly and the drawing office are not yet included.",
        ("skills",),
    ),
    "3.2": (
        2,
        "About 60% of employees have a current personal development plan that covers digital skills; the "
        "night shift lags behind.",
        ("training",),
    ),
    "3.3": (
        3,
        "The June skills survey and the union learning representative's proposals shaped the skills plan; its "
        "appendix lists what changed as a result.",
        ("survey", "skills"),
    ),
    "3.4": (
        2,
        "Day-shift operators were trained in paid hours; night-shift training relied on overtime, which the "
        "representatives have raised.",
        ("training",),
    ),
    "3.5": (
        3,
        "The MES retraining plan was drafted with the representatives over two forum meetings and countersigned "
        "by them.",
        ("training", "mes_plan"),
    ),
    "3.6": (
        3,
        "Two apprenticeships are funded through the levy, and two team leaders took a publicly funded "
        "digital leadership course.",
        ("skills",),
    ),
    "4.1": (
        2,
        "The staff survey asked about workload after the MES roll-out; the results were shared with the JCC but "
        "no actions have been agreed.",
        ("survey",),
    ),
    "4.2": (
        3,
        "The privacy notice was updated for the MES terminals and briefed on every shift; the DPIA lists what "
        "each terminal records.",
        ("privacy", "dpia"),
    ),
    "4.3": (
        1,
        "The JCC agreed in September to draft a code of conduct on data use with the technology forum; the HR "
        "manager owns it.",
        ("jcc_q3",),
    ),
    "4.4": (
        0,
        "With no code of conduct yet, data shared with suppliers and customers is covered only by contracts.",
        (),
    ),
    "4.5": (
        3,
        "Access to the MES and HR systems is reviewed every quarter, security incidents are logged, and the "
        "site holds Cyber Essentials.",
        ("cyber",),
    ),
    "4.6": (
        2,
        "A DPIA was done for the MES; the record of processing has not been brought up to date for older systems.",
        ("dpia", "privacy"),
    ),
    "5.1": (
        2,
        "The MES plan says its savings will fund two apprenticeships; the machining centre's business case is "
        "silent on reinvestment.",
        ("mes_plan", "reinvest"),
    ),
    "5.2": (
        2,
        "A first report on what the MES savings paid for went to the JCC in October; headcount changes are not "
        "yet tracked.",
        ("reinvest", "jcc_q3"),
    ),
    "5.3": (
        3,
        "Each plan lists the jobs affected; the two inspection roles that changed were filled by redeployment, "
        "with no redundancies.",
        ("mes_plan", "jobs"),
    ),
    "5.4": (
        2,
        "Setter-operator roles were redesigned and regraded after the machining centre; roles changed by the "
        "MES have not been reviewed.",
        ("jobs", "survey"),
    ),
    "5.5": (
        3,
        "The ideas scheme is open to all three shifts, and every idea gets a written answer within a month.",
        ("ideas",),
    ),
    "5.6": (
        2,
        "People whose ideas are taken forward join the project team; recognition is informal.",
        ("ideas",),
    ),
    "6.1": (
        2,
        "The MES plan had an equality impact assessment before it was agreed; the machining centre did not.",
        ("eqia",),
    ),
    "6.2": (
        2,
        "The MES equality impact assessment covers shift patterns and part-time staff; carers' needs were not "
        "looked at.",
        ("eqia",),
    ),
    "6.3": (
        1,
        "Job evaluation of changed roles is to be checked against the gender pay gap from next year.",
        (),
    ),
    "6.4": (
        2,
        "The equality impact assessment looks at access to training; take-up is not yet monitored by group.",
        ("eqia", "training"),
    ),
    "6.5": (
        1,
        "The mitigations found in the equality impact assessment are to be given owners and dates in the action log.",
        ("eqia",),
    ),
    "6.6": (
        0,
        "Technology has not yet been looked at as a way to open jobs to more people.",
        (),
    ),
}

# When each principle was worked through (month, day, hour): answers are made over the year, never before
# the files they cite were uploaded.
_SESSIONS = {1: (4, 22, 10), 2: (5, 20, 14), 3: (7, 8, 9), 4: (8, 27, 11), 5: (10, 8, 13), 6: (11, 12, 10)}
_CREATED = (2, 3, 9, 20)
_SUBMITTED = (12, 1, 10, 15)
_REP_SIGNED = (12, 9, 15, 40)
_OWNER_SIGNED = (12, 12, 9, 30)
RESERVATIONS = "Retraining for night-shift staff must be scheduled in paid hours."


def text_pdf(title: str, lines: tuple[str, ...]) -> bytes:
    """A one-page PDF with its title and a few lines of text (Helvetica, not embedded), built in code:
    a real document a reader opens, made in microseconds rather than by rendering HTML."""

    def literal(text: str) -> bytes:
        return b"(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1") + b")"

    content = b"BT /F1 18 Tf 56 770 Td " + literal(title) + b" Tj /F1 11 Tf 0 -30 Td 16 TL"
    for line in lines:
        content += b" " + literal(line) + b" Tj T*"
    content += b" ET"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R>>",
        b"<</Length %d>>\nstream\n%s\nendstream" % (len(content), content),
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>",
        b"<</Title" + literal(title) + b"/Producer(Acme Precision Engineering)>>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R/Info 6 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _expiry(file: DemoFile, effective: date, today: date) -> date | None:
    """The file's expiry date. The lapsed 12-month certificate from last January has expired by the time
    the report is issued, whenever the demo is loaded (at the latest nine days before); the file due for
    renewal expires six weeks after."""
    if file.renewal_due:
        return today + timedelta(days=45)
    if file.valid_days is None:
        return None
    expiry = effective + timedelta(days=file.valid_days)
    return min(expiry, today - timedelta(days=9)) if file.lapsed else expiry


def demo_report(organisation: Organisation, users: dict[str, User]) -> None:
    manager, rep, owner = users["manager@acme.example"], users["rep@acme.example"], users["owner@acme.example"]
    today = timezone.localdate()
    year = today.year - 1
    with scope(organisation=organisation):
        if Assessment.objects.filter(organisation=organisation, title=f"Self-assessment {year}").exists():
            return
    zone = ZoneInfo(settings.TIME_ZONE)

    def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
        return datetime(year, month, day, hour, minute, tzinfo=zone)

    # The evidence library, uploaded through the real service, each a few days after its effective date.
    evidence: dict[str, Evidence] = {}
    uploaded: dict[str, datetime] = {}
    for number, (key, file) in enumerate(FILES.items()):
        name = file.name.format(year=year, next_year=str(year + 1)[-2:])
        effective = date(year, *file.effective)
        evidence[key] = assessment_services.evidence_upload(
            organisation=organisation,
            actor=manager,
            file=io.BytesIO(text_pdf(name.removesuffix(".pdf"), (f"Effective {effective:%d %B %Y}", *file.lines))),
            name=name,
            description=file.description,
            effective_date=effective,
            expiry_date=_expiry(file, effective, today),
        )
        uploaded[key] = at(file.effective[0], file.effective[1], 11 + number % 5, 7 * number % 60) + timedelta(
            days=1 + number % 3
        )

    assessment = assessment_services.assessment_create(
        organisation=organisation,
        actor=manager,
        framework=ensure_framework(),
        title=f"Self-assessment {year}",
        period_start=date(year, 1, 1),
        period_end=date(year, 12, 31),
    )
    with scope(organisation=organisation):
        responses = list(
            Response.objects.filter(assessment=assessment)
            .select_related("criterion", "criterion__principle", "assessment")
            .order_by("criterion__principle__number", "criterion__position")
        )
    answered: dict[Any, datetime] = {}
    for position, response in enumerate(responses):
        level, detail, cited = ANSWERS[response.criterion.code]
        assessment_services.response_save(
            response=response,
            actor=manager,
            maturity=level,
            narrative=narrative(level, detail),
            evidence_ids=[evidence[key].pk for key in cited],
        )
        # Answered in its principle's session, or once the last file it cites was uploaded.
        session = at(*_SESSIONS[response.criterion.principle.number]) + timedelta(minutes=9 * (position % 6))
        answered[response.pk] = max([session, *(uploaded[key] + timedelta(days=2) for key in cited)])
    assessment_services.assessment_submit(assessment=assessment, actor=manager)

    context = SigningContext(user_agent="demo data")
    rep_signature = workflow.subject_sign(
        subject=assessment,
        signer=rep,
        decision="sign_with_reservations",
        typed_name="Rachel Reid",
        job_title="Unite workplace representative",
        reservations=RESERVATIONS,
        expected_hash=workflow.subject_hash(assessment),
        context=context,
    )
    owner_signature = workflow.subject_sign(
        subject=assessment,
        signer=owner,
        decision="sign",
        typed_name="Olivia Owen",
        job_title="Managing Director",
        expected_hash=workflow.subject_hash(assessment),
        context=context,
    )
    _backdate(
        organisation,
        assessment,
        evidence=[(evidence[key], moment) for key, moment in uploaded.items()],
        answered=answered,
        signatures=[(rep_signature, at(*_REP_SIGNED)), (owner_signature, at(*_OWNER_SIGNED))],
        created=at(*_CREATED),
        submitted=at(*_SUBMITTED),
    )

    from reports.services import report_request

    with scope(organisation=organisation):
        final = Assessment.objects.select_related("framework").get(pk=assessment.pk)
    report_request(organisation=organisation, actor=owner, assessment=final)


def _backdate(
    organisation: Organisation,
    assessment: Assessment,
    *,
    evidence: list[tuple[Evidence, datetime]],
    answered: dict[Any, datetime],
    signatures: list[tuple[Signature, datetime]],
    created: datetime,
    submitted: datetime,
) -> None:
    """Move the year's moments back to when the demo says they happened. Only fields no hash covers: the
    signed snapshot holds no timestamp, and audit events (whose `created_at` is hashed) are not touched."""
    finalised = max(moment for _s, moment in signatures)
    assert created < min(answered.values()) and max(answered.values()) < submitted < finalised < timezone.now()
    with scope(organisation=organisation):
        for item, moment in evidence:
            Evidence.objects.filter(pk=item.pk).update(uploaded_at=moment)
        for pk, moment in answered.items():
            Response.objects.filter(pk=pk).update(updated_at=moment)
        for signature, moment in signatures:
            assert moment >= submitted  # still this review round's signatures, so they count
            Signature.objects.filter(pk=signature.pk).update(signed_at=moment)
        Assessment.objects.filter(pk=assessment.pk).update(
            created_at=created, submitted_at=submitted, finalised_at=finalised
        )
        bump(organisations=[organisation])  # update() is not audited: the dashboard shows when it was final
        # Last year's messages about it were sent, and read, when each step happened: not waiting in today's inbox.
        sent_by = {assessment.submitted_by_id: submitted, **{s.signer_id: moment for s, moment in signatures}}
        for note in Notification.objects.filter(organisation=organisation, target_id=str(assessment.pk)):
            moment = sent_by.get(note.actor_id, finalised)
            Notification.objects.filter(pk=note.pk).update(created_at=moment, read_at=moment + timedelta(hours=3))
