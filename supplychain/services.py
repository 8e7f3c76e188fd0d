"""Supplier registers, campaigns and the cascade. Every write records its audit event.

Cross-tenant work is explicit here: a supplier invitation belongs to the campaign's organisation,
is sent by an inviter organisation (the campaign's owner at tier 1, a supplier below) and answered
by the supplier's organisation; each of them gets its own audit event.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from portal.audit import audit_record
from portal.header import addressee
from portal.links import link_target, link_token
from portal.models import Membership, Organisation, User
from portal.roles import role_can
from portal.services import InvitationLinkError
from portal.signing import SigningContext
from portal.text import require_single_line
from portal.versions import bump
from supplychain.csv_io import ImportPreview, match_key, parse_supplier_file
from supplychain.models import (
    Campaign,
    CampaignEdge,
    HeldAnswer,
    InvitationState,
    Supplier,
    SupplierImport,
    SupplierInvitation,
    SupplierLink,
)

_SALT = "supplychain.invitation"
BATCH_SIZE = 200
DEFAULT_REMINDER_DAYS = [3, 8, 15]
DEFAULT_INVITATION_TTL_DAYS = 30
MAX_INVITATION_TTL_DAYS = 90


# --- Register -------------------------------------------------------------------------------


def supplier_save(
    *,
    organisation: Organisation,
    actor: User,
    supplier: Supplier | None = None,
    name: str,
    contact_name: str,
    contact_email: str,
    company_number: str = "",
    country: str = "GB",
) -> Supplier:
    """Add a supplier, or change one; the register never holds the same company twice."""
    # As the CSV import refuses them: the name reaches email subjects, and must show as what it is.
    require_single_line(name=(name, _("Name")), contact_name=(contact_name, _("Contact name")))
    contact_email = contact_email.strip().lower()
    company_number = company_number.strip().upper().replace(" ", "")
    key = match_key(name=name, email=contact_email, company_number=company_number)
    with scope(organisation=organisation), transaction.atomic():
        clash = Supplier.objects.filter(organisation=organisation, match_key=key)
        if supplier is not None:
            clash = clash.exclude(pk=supplier.pk)
        if clash.exists():
            field = "company_number" if company_number else "name"
            raise ValidationError({field: _("%(name)s is already in your register") % {"name": clash[0].name}})
        before = None
        if supplier is None:
            supplier = Supplier(organisation=organisation, created_by=actor)
        else:
            before = {"name": supplier.name, "contact_email": supplier.contact_email}
        supplier.name, supplier.contact_name, supplier.contact_email = name.strip(), contact_name.strip(), contact_email
        supplier.company_number, supplier.country, supplier.match_key = company_number, country, key
        supplier.save()
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="supplier.changed" if before else "supplier.added",
            target=supplier,
            target_label=supplier.name,
            before=before,
            after={"name": supplier.name, "contact_email": contact_email, "company_number": company_number},
        )
    return supplier


def supplier_archive(*, supplier: Supplier, actor: User, archived: bool = True) -> Supplier:
    with scope(organisation=supplier.organisation), transaction.atomic():
        supplier.archived_at = timezone.now() if archived else None
        supplier.save(update_fields=["archived_at"])
        audit_record(
            organisation=supplier.organisation,
            actor=actor,
            verb="supplier.archived" if archived else "supplier.restored",
            target=supplier,
            target_label=supplier.name,
        )
    return supplier


def import_preview(
    *, organisation: Organisation, actor: User, data: bytes, file_name: str
) -> tuple[SupplierImport | None, ImportPreview]:
    """Check a CSV file or an Excel workbook (.xlsx) without saving suppliers; valid rows wait in a
    SupplierImport for confirmation."""
    with scope(organisation=organisation):
        existing = set(Supplier.objects.filter(organisation=organisation).values_list("match_key", flat=True))
        preview = parse_supplier_file(data=data, file_name=file_name, existing_keys=existing)
        if not preview.ok:
            return None, preview
        pending = SupplierImport.objects.create(
            organisation=organisation,
            file_name=file_name[:200],
            created_by=actor,
            total_rows=preview.total_rows,
            rows=[
                {
                    "line": r.line,
                    "name": r.name,
                    "contact_name": r.contact_name,
                    "contact_email": r.contact_email,
                    "company_number": r.company_number,
                    "country": r.country,
                    "match_key": r.match_key,
                }
                for r in preview.valid
            ],
            errors=[{"line": e.line, "reason": e.reason} for e in preview.errors],
            skipped=[{"line": e.line, "reason": e.reason} for e in preview.skipped],
        )
    return pending, preview


def import_confirm(*, pending: SupplierImport, actor: User) -> int:
    """Save the previewed rows in bulk. Rows that meanwhile got into the register are skipped."""
    organisation = pending.organisation
    with scope(organisation=organisation), transaction.atomic():
        locked = SupplierImport.objects.select_for_update().get(pk=pending.pk)
        if locked.imported_at is not None:
            raise ValidationError(_("This file has already been imported."))
        existing = set(Supplier.objects.filter(organisation=organisation).values_list("match_key", flat=True))
        new = [
            Supplier(
                organisation=organisation,
                name=r["name"],
                contact_name=r["contact_name"],
                contact_email=r["contact_email"],
                company_number=r["company_number"],
                country=r["country"],
                match_key=r["match_key"],
                created_by=actor,
            )
            for r in locked.rows
            if r["match_key"] not in existing
        ]
        Supplier.objects.bulk_create(new, batch_size=1000)
        locked.imported_count, locked.imported_at = len(new), timezone.now()
        locked.save(update_fields=["imported_count", "imported_at"])
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="supplier.imported",
            target=locked,
            target_label=locked.file_name,
            after={"imported": len(new), "rejected": len(locked.errors), "already_there": len(locked.skipped)},
        )
    return len(new)


# --- Campaigns and invitations ----------------------------------------------------------------


def invitation_token(invitation: SupplierInvitation) -> str:
    return link_token(obj=invitation, salt=_SALT)


def invitation_from_token(token: str) -> SupplierInvitation:
    """The request a link points at (crossing tenants on purpose), or why it cannot be used."""
    with scopes_disabled():  # the link is the authority: whoever holds it may see this one request
        invitation = link_target(
            token=token,
            salt=_SALT,
            queryset=SupplierInvitation.objects.select_related(
                "campaign", "campaign__organisation", "inviter", "supplier"
            ),
        )
    if not isinstance(invitation, SupplierInvitation):
        raise InvitationLinkError("invalid")
    invitation_check_open(invitation)
    return invitation


def invitation_check_open(invitation: SupplierInvitation) -> None:
    """Raise InvitationLinkError unless the request can still be answered (not used, revoked or expired)."""
    if invitation.state in (InvitationState.ACCEPTED, InvitationState.DECLINED):
        raise InvitationLinkError("used", invitation)
    if invitation.state == InvitationState.REVOKED:
        raise InvitationLinkError("revoked", invitation)
    if invitation.state == InvitationState.EXPIRED or invitation.expires_at <= timezone.now():
        raise InvitationLinkError("expired", invitation)


ANSWERING_ROLES = ("owner", "manager")


def may_answer(*, invitation: SupplierInvitation, organisation_id: Any, role: str) -> bool:
    """Whether someone with `role` in an organisation may answer the request for it: owners and
    managers, never for the campaign's own organisation or the one that sent the request."""
    return role in ANSWERING_ROLES and organisation_id not in (
        invitation.campaign.organisation_id,
        invitation.inviter_id,
    )


def _accept_action(committed: object) -> str:
    return "edit_content" if committed else "sign_commitment"


def accept_action(organisation: Organisation) -> str:
    """The role action accepting needs: signing the commitment, or (already committed) confirming it."""
    from principles.services import active_commitment

    return _accept_action(active_commitment(organisation))


def bump_addressed(*invitations: SupplierInvitation) -> None:
    """Requests appeared or changed: the header ("Your work") of whoever they are addressed to, the
    managers of the target organisation and the holder of the address (portal.header), at commit."""
    orgs = [i.target_key.removeprefix("org:") for i in invitations if i.target_key.startswith("org:")]
    bump(organisations=orgs, people=[addressee(i.email) for i in invitations if i.email])


def _target_keys(supplier: Supplier) -> list[str]:
    keys = [f"email:{supplier.contact_email.lower()}"]
    if supplier.linked_organisation_id:
        keys.insert(0, f"org:{supplier.linked_organisation_id}")
    return keys


def _invite(
    *,
    campaign: Campaign,
    inviter: Organisation,
    suppliers: Iterable[Supplier],
    tier: int,
    parent: SupplierInvitation | None,
) -> list[SupplierInvitation]:
    """One step of the cascade. Deliberately cross-tenant: whoever forwards, the campaign has one
    invitation per supplier, so the step must see the invitations every inviter of the campaign has
    made (row-level security would otherwise hide the other inviters' rows)."""
    with scopes_disabled():
        return _invite_across_the_campaign(
            campaign=campaign, inviter=inviter, suppliers=suppliers, tier=tier, parent=parent
        )


def _invite_across_the_campaign(
    *,
    campaign: Campaign,
    inviter: Organisation,
    suppliers: Iterable[Supplier],
    tier: int,
    parent: SupplierInvitation | None,
) -> list[SupplierInvitation]:
    """Create the invitation rows for one step of the cascade (idempotent, cycle-safe).

    A fixed number of queries whatever the number of suppliers: two find who is already invited,
    one inserts the new invitations, one reads back which of them this step won (a concurrent step
    of the same campaign may have invited the same organisation meanwhile: then it is "already
    invited", as the unique constraint decides), one inserts the edges (an edge already there is kept).
    """
    suppliers = list(suppliers)
    now = timezone.now()
    own = (campaign.organisation_id, inviter.pk)
    keys_of = {s.pk: _target_keys(s) for s in suppliers if s.linked_organisation_id not in own}
    wanted_keys = {key for keys in keys_of.values() for key in keys}
    wanted_orgs = {s.linked_organisation_id for s in suppliers if s.pk in keys_of and s.linked_organisation_id}
    by_key: dict[str, SupplierInvitation] = {}
    by_org: dict[Any, SupplierInvitation] = {}
    if keys_of:
        # Two queries, each on its own index: as one (an OR) it reads the whole campaign every time.
        found = list(SupplierInvitation.objects.filter(campaign=campaign, target_key__in=wanted_keys))
        if wanted_orgs:
            found += SupplierInvitation.objects.filter(campaign=campaign, supplier_organisation_id__in=wanted_orgs)
        for invitation in sorted(found, key=lambda i: (i.tier, i.created_at)):  # the earliest first
            by_key.setdefault(invitation.target_key, invitation)
            if invitation.supplier_organisation_id:
                by_org.setdefault(invitation.supplier_organisation_id, invitation)

    new: list[SupplierInvitation] = []
    steps: list[tuple[Supplier, SupplierInvitation | None, str]] = []
    for supplier in suppliers:
        if supplier.pk not in keys_of:
            note = (
                "the campaign's own organisation"
                if supplier.linked_organisation_id == campaign.organisation_id
                else "the inviter itself"
            )
            steps.append((supplier, None, note))
            continue
        keys = keys_of[supplier.pk]
        matches = [by_key[k] for k in keys if k in by_key]
        if supplier.linked_organisation_id in by_org:
            matches.append(by_org[supplier.linked_organisation_id])
        if matches:  # the earliest, as the invitations' ordering has it
            steps.append((supplier, min(matches, key=lambda i: (i.tier, i.created_at)), "already invited"))
            continue
        invitation = SupplierInvitation(
            campaign=campaign,
            inviter=inviter,
            supplier=supplier,
            parent=parent,
            tier=tier,
            target_key=keys[0],
            email=supplier.contact_email,
            nonce=secrets.token_hex(16),
            expires_at=now + timedelta(days=campaign.invitation_ttl_days),
            email_queued_at=now,
            created_at=now,
        )
        new.append(invitation)
        by_key[invitation.target_key] = invitation  # a second register row for the same target finds it
        steps.append((supplier, invitation, ""))

    lost: dict[Any, Any] = {}  # our row's id -> the row a concurrent step of the campaign got in first
    if new:
        SupplierInvitation.objects.bulk_create(new, ignore_conflicts=True)
        mine = SupplierInvitation.objects.filter(campaign=campaign, target_key__in=[i.target_key for i in new])
        stored = dict(mine.values_list("target_key", "id"))
        lost = {i.pk: stored[i.target_key] for i in new if stored[i.target_key] != i.pk}
        bump_addressed(*(i for i in new if i.pk not in lost))
    edges = []
    for supplier, chosen, note in steps:
        invitation_id = chosen.pk if chosen is not None else None
        if invitation_id in lost:
            invitation_id, note = lost[invitation_id], "already invited"
        edges.append(
            CampaignEdge(
                campaign=campaign,
                from_organisation=inviter,
                supplier=supplier,
                invitation_id=invitation_id,
                tier=tier,
                note=note,
                created_at=now,
            )
        )
    CampaignEdge.objects.bulk_create(edges, ignore_conflicts=True)  # an edge already there stays as it was
    return [i for i in new if i.pk not in lost]


def _publish(invitations: list[SupplierInvitation]) -> None:
    from supplychain.tasks import send_supplier_invitations

    ids = [str(i.pk) for i in invitations]
    for start in range(0, len(ids), BATCH_SIZE):
        send_supplier_invitations.publish(invitation_ids=ids[start : start + BATCH_SIZE])


def campaign_start(
    *,
    organisation: Organisation,
    actor: User,
    title: str,
    message: str,
    depth: int,
    due_date: date,
    supplier_ids: list[Any] | None,
    reminder_days: list[int] | None = None,
    reminders_muted: bool = False,
    invitation_ttl_days: int = DEFAULT_INVITATION_TTL_DAYS,
    repeats: Campaign | None = None,
) -> Campaign:
    """Start a campaign: invitation rows for the chosen tier-1 suppliers, sent by workers after commit.
    With `repeats`, it repeats an earlier campaign of the organisation (see `selectors.repeat_draft`)."""
    if repeats is not None and repeats.organisation_id != organisation.pk:
        raise ValidationError(_("Only a campaign your organisation started can be repeated."))
    if not 1 <= depth <= 5:
        raise ValidationError({"depth": _("Choose a depth from 1 to 5 tiers")})
    if not 1 <= invitation_ttl_days <= MAX_INVITATION_TTL_DAYS:
        raise ValidationError(
            {"invitation_ttl_days": _("Links must stay open for 1 to %(n)s days") % {"n": MAX_INVITATION_TTL_DAYS}}
        )
    if due_date <= timezone.localdate():
        raise ValidationError({"due_date": _("The reply-by date must be in the future")})
    require_single_line(title=(title, _("Title")))  # it names the campaign in emails and reports
    days = sorted(set(reminder_days if reminder_days is not None else DEFAULT_REMINDER_DAYS))
    if any(d < 1 or d > 60 for d in days):
        raise ValidationError({"reminder_days": _("Reminder days must be between 1 and 60")})
    with scope(organisation=organisation), transaction.atomic():
        register = Supplier.objects.filter(organisation=organisation, archived_at__isnull=True)
        if supplier_ids is not None:
            register = register.filter(pk__in=supplier_ids)
        suppliers = list(register.order_by("name"))
        if not suppliers:
            raise ValidationError({"suppliers": _("Choose at least one supplier from your register")})
        campaign = Campaign.objects.create(
            organisation=organisation,
            title=title.strip(),
            message=message.strip(),
            depth=depth,
            due_date=due_date,
            reminder_days=days,
            reminders_muted=reminders_muted,
            invitation_ttl_days=invitation_ttl_days,
            created_by=actor,
            repeats=repeats,
        )
        created = _invite(campaign=campaign, inviter=organisation, suppliers=suppliers, tier=1, parent=None)
        after: dict[str, Any] = {
            "depth": depth,
            "tier_1_invited": len(created),
            "due_date": due_date,
            "reminder_days": days,
            "reminders_muted": reminders_muted,
            "invitation_ttl_days": invitation_ttl_days,
        }
        if repeats is not None:
            after.update(repeats=str(repeats.pk), repeats_title=repeats.title)
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="campaign.repeated" if repeats is not None else "campaign.started",
            target=campaign,
            target_label=campaign.title,
            after=after,
        )
        _publish(created)
    return campaign


def _require_member(organisation: Organisation, user: User, action: str) -> Membership:
    with scope(organisation=organisation):
        membership = Membership.objects.filter(organisation=organisation, user=user).first()
    if membership is None or not membership.is_active() or not role_can(membership.role, action):
        raise ValidationError(
            _("You need to be an owner or manager of %(org)s to do this.") % {"org": organisation.name}
        )
    return membership


def holds_invited_address(invitation: SupplierInvitation, user: User) -> bool:
    """Whether `user` signs in with the address the request was sent to."""
    return bool(user.email) and user.email.strip().lower() == invitation.email.strip().lower()


def invited_organisation_ids(invitation: SupplierInvitation) -> set[Any]:
    """The organisations the request is already known to be for: the one it was addressed to, and the
    one the buyer's register row is linked to. Reads the buyer's row across tenants on purpose."""
    ids: set[Any] = set()
    if invitation.target_key.startswith("org:"):
        ids.add(uuid.UUID(invitation.target_key.removeprefix("org:")))
    with scopes_disabled():
        linked = Supplier.objects.filter(pk=invitation.supplier_id).values_list("linked_organisation_id", flat=True)
        ids.update(i for i in linked if i is not None)
    return ids


def answer_is_bound(*, invitation: SupplierInvitation, user: User, organisation: Organisation | None) -> bool:
    """Whether an answer by `user` for `organisation` is the invited party's own: `user` holds the
    address the request was sent to, or `organisation` is the one the buyer's register row is linked to
    (or the request was addressed to), as invitations to join an organisation are bound to their
    address. Anyone else holding the link only proposes an answer, for the buyer to confirm."""
    if holds_invited_address(invitation, user):
        return True
    return organisation is not None and organisation.pk in invited_organisation_ids(invitation)


def invitation_accept(
    *,
    invitation: SupplierInvitation,
    user: User,
    organisation: Organisation,
    typed_name: str = "",
    job_title: str = "",
    context: SigningContext,
) -> SupplierInvitation:
    """The supplier accepts: it signs the commitment, or, already committed, confirms it (answer once).

    From someone who is not the invited party (see `answer_is_bound`) the answer is held for the
    buyer to confirm (`held_answer_confirm`): the commitment is signed, but the request, the buyer's
    register and its coverage do not change until then."""
    from principles.framework import ensure_framework
    from principles.services import active_commitment, commitment_sign

    if organisation.pk in (invitation.campaign.organisation_id, invitation.inviter_id):
        raise ValidationError(_("An organisation cannot accept its own request."))
    committed = active_commitment(organisation)
    _require_member(organisation, user, _accept_action(committed))
    bound = answer_is_bound(invitation=invitation, user=user, organisation=organisation)
    # Cross-tenant on purpose: the request is the buyer's until this answer makes it the supplier's too.
    with scopes_disabled(), transaction.atomic():
        locked = SupplierInvitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.state != InvitationState.PENDING or locked.expires_at <= timezone.now():
            raise InvitationLinkError("used" if locked.state != InvitationState.PENDING else "expired", locked)
        if not bound:
            _refuse_second_held_answer(locked)
        if committed is None:
            committed = commitment_sign(
                organisation=organisation,
                framework=ensure_framework(),
                signer=user,
                typed_name=typed_name,
                job_title=job_title,
                extends_to_supply_chain=True,
                context=context,
            )
        if bound:
            _apply_accept(locked, organisation=organisation, user=user, answered_at=timezone.now())
            _tell_inviter_of_answer(locked, user=user, organisation=organisation)
        else:
            _hold_answer(locked, answer=HeldAnswer.ACCEPT, user=user, organisation=organisation, reason="")
    _take_answer(invitation, locked)
    return invitation


def _apply_accept(
    locked: SupplierInvitation, *, organisation: Organisation, user: User | None, answered_at: Any
) -> None:
    """The accepted request takes effect: the register row is linked, the buyer sees the supplier."""
    from principles.services import active_commitment

    superseded = locked.held_organisation.name if locked.held_organisation_id and locked.held_organisation else ""
    locked.state, locked.responded_at, locked.responded_by = InvitationState.ACCEPTED, answered_at, user
    locked.supplier_organisation = organisation
    _clear_held(locked)
    locked.save(update_fields=["state", "responded_at", "responded_by", "supplier_organisation", *_HELD_FIELDS])
    bump_addressed(locked)
    Supplier.objects.filter(pk=locked.supplier_id).update(linked_organisation=organisation)
    SupplierLink.objects.get_or_create(buyer=locked.inviter, supplier_organisation=organisation)
    committed = active_commitment(organisation)
    details = {
        "campaign": locked.campaign.title,
        "tier": locked.tier,
        "buyer": locked.inviter.name,
        "supplier": organisation.name,
        "answered_by": user.email if user else "",
        "commitment_signed_at": committed.signed_at if committed else None,
    }
    if superseded:
        details["held_answer_superseded"] = superseded
    for at, label in ((organisation, locked.inviter.name), (locked.inviter, organisation.name)):
        audit_record(
            organisation=at,
            actor=user,
            verb="supplier_request.accepted",
            target=locked,
            target_label=label,
            after=details,
        )


def invitation_decline(
    *, invitation: SupplierInvitation, user: User, organisation: Organisation | None, reason: str
) -> SupplierInvitation:
    """The supplier declines, saying why; from someone not the invited party, held for the buyer."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why you are declining, so the buyer understands")})
    bound = answer_is_bound(invitation=invitation, user=user, organisation=organisation)
    if not bound and organisation is None:
        raise ValidationError(_("Choose the organisation you are answering for"))
    with scopes_disabled(), transaction.atomic():  # the buyer's request, answered by another organisation
        locked = SupplierInvitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.state != InvitationState.PENDING:
            raise InvitationLinkError("used", locked)
        if bound:
            _apply_decline(
                locked, organisation=organisation, user=user, reason=reason.strip(), answered_at=timezone.now()
            )
            _tell_inviter_of_answer(locked, user=user, organisation=organisation)
        else:
            assert organisation is not None
            _refuse_second_held_answer(locked)
            _hold_answer(locked, answer=HeldAnswer.DECLINE, user=user, organisation=organisation, reason=reason.strip())
    _take_answer(invitation, locked)
    return invitation


def _apply_decline(
    locked: SupplierInvitation, *, organisation: Organisation | None, user: User | None, reason: str, answered_at: Any
) -> None:
    locked.state, locked.responded_at, locked.responded_by = InvitationState.DECLINED, answered_at, user
    locked.decline_reason, locked.supplier_organisation = reason, organisation
    _clear_held(locked)
    locked.save(
        update_fields=[
            "state",
            "responded_at",
            "responded_by",
            "decline_reason",
            "supplier_organisation",
            *_HELD_FIELDS,
        ]
    )
    bump_addressed(locked)
    audit_record(
        organisation=locked.inviter,
        actor=user,
        verb="supplier_request.declined",
        target=locked,
        target_label=locked.supplier.name,
        after={
            "reason": locked.decline_reason,
            "tier": locked.tier,
            "supplier": organisation.name if organisation else "",
            "answered_by": user.email if user else "",
        },
    )


# --- Answers held for the buyer to confirm ---------------------------------------------------------

_HELD_FIELDS = ["held_answer", "held_organisation", "held_by", "held_at", "held_reason"]


def _clear_held(locked: SupplierInvitation) -> None:
    locked.held_answer, locked.held_organisation, locked.held_by, locked.held_at, locked.held_reason = (
        "",
        None,
        None,
        None,
        "",
    )


def _refuse_second_held_answer(locked: SupplierInvitation) -> None:
    if locked.held_at is not None:
        raise ValidationError(
            _("Another organisation has already answered this request. The buyer is checking that answer.")
        )


def _held_details(locked: SupplierInvitation) -> dict[str, Any]:
    return {
        "answer": locked.held_answer,
        "organisation": locked.held_organisation.name if locked.held_organisation else "",
        "answered_by": locked.held_by.email if locked.held_by else "",
        "invited_address": locked.email,
        "campaign": locked.campaign.title,
        "tier": locked.tier,
    }


def _hold_answer(
    locked: SupplierInvitation, *, answer: str, user: User, organisation: Organisation, reason: str
) -> None:
    """Keep the answer aside, tell the buyer, change nothing else (state, register, coverage)."""
    locked.held_answer, locked.held_organisation, locked.held_by = answer, organisation, user
    locked.held_at, locked.held_reason = timezone.now(), reason
    locked.save(update_fields=_HELD_FIELDS)
    bump_addressed(locked)
    details = _held_details(locked)
    for at, label in ((locked.inviter, organisation.name), (organisation, locked.inviter.name)):
        audit_record(
            organisation=at,
            actor=user,
            verb="supplier_request.answer_held",
            target=locked,
            target_label=label,
            after=details,
        )
    _tell_inviter_of_held_answer(locked)


def _inviter_deciders(inviter: Organisation) -> list[User]:
    """The inviter's people who may act on its requests' answers (owners and managers)."""
    with scope(organisation=inviter):
        return [
            m.user
            for m in Membership.objects.filter(organisation=inviter).select_related("user")
            if m.is_active() and role_can(m.role, "edit_content")
        ]


def _tell_inviter_of_held_answer(locked: SupplierInvitation) -> None:
    """Tell the inviter's owners and managers (those who may confirm it): confirm or reject."""
    from django.conf import settings
    from django.urls import reverse

    from portal.notifications import Email, notify

    inviter = locked.inviter
    path = reverse("supplychain:held_answer", kwargs={"org_slug": inviter.slug, "invitation_id": locked.pk})
    assert locked.held_organisation is not None and locked.held_at is not None
    held_by = locked.held_by.display_name if locked.held_by else ""
    accepted = locked.held_answer == HeldAnswer.ACCEPT
    values = {
        "who": held_by,
        "org": locked.held_organisation.name,
        "supplier": locked.supplier.name,
        "campaign": locked.campaign.title,
    }
    text = (
        _("%(who)s accepted your request “%(campaign)s” to %(supplier)s for %(org)s: confirm or reject the answer")
        if accepted
        else _("%(who)s declined your request “%(campaign)s” to %(supplier)s for %(org)s: confirm or reject the answer")
    ) % values
    notify(
        kind="supplier_answer_to_confirm",
        recipients=_inviter_deciders(inviter),
        organisation=inviter,
        actor=locked.held_by,
        text=text,
        url=path,
        key=f"supplier-answer-held:{locked.pk}:{locked.held_at.isoformat()}",
        target=locked,
        email=Email(
            subject=_("%(org)s answered your request to %(supplier)s: confirm or reject it")
            % {"org": locked.held_organisation.name, "supplier": locked.supplier.name},
            template="supplier_answer_held",
            context={
                "answering_organisation": locked.held_organisation.name,
                "answered_by": held_by,
                "answered_by_email": locked.held_by.email if locked.held_by else "",
                "accepted": accepted,
                "supplier": locked.supplier.name,
                "invited_address": locked.email,
                "campaign": locked.campaign.title,
                "url": settings.SITE_URL + path,
            },
        ),
    )


def _tell_inviter_of_answer(
    locked: SupplierInvitation, *, user: User | None, organisation: Organisation | None
) -> None:
    """A supplier's answer counts: the inviter's owners and managers hear of it (in their digest by default)."""
    from django.urls import reverse

    from portal.notifications import notify

    inviter = locked.inviter
    values = {
        "who": user.display_name if user else _("Someone"),
        "org": organisation.name if organisation else locked.supplier.name,
        "campaign": locked.campaign.title,
    }
    if locked.state == InvitationState.ACCEPTED:
        text = _("%(who)s accepted your request “%(campaign)s” for %(org)s, which is committed to the principles")
    else:
        text = _("%(who)s declined your request “%(campaign)s” for %(org)s: “%(reason)s”")
        values["reason"] = locked.decline_reason[:200]
    notify(
        kind="supplier_request_answered",
        recipients=_inviter_deciders(inviter),
        organisation=inviter,
        actor=user,
        text=text % values,
        url=reverse("supplychain:campaign", kwargs={"org_slug": inviter.slug, "campaign_id": locked.campaign_id}),
        key=f"supplier-answered:{locked.pk}",
        target=locked,
    )
    from portal.webhooks import emit

    emit(
        inviter,
        "supplier_request.answered",
        {
            "id": str(locked.pk),
            "title": locked.campaign.title,
            "supplier": locked.supplier.name,
            "answer": str(locked.state),
            "url": reverse(
                "supplychain:campaign", kwargs={"org_slug": inviter.slug, "campaign_id": locked.campaign_id}
            ),
        },
        event_id=f"supplier_request.answered:{locked.pk}",
    )


def supplier_request_received_notify(invitation: SupplierInvitation) -> None:
    """Put a buyer's request in the notifications of whoever answers it: the owners and managers of the
    organisation it is addressed to, or the registered person holding the address it was sent to. In the
    portal only: the invitation email is the request's own email. Once per request and person."""
    from django.urls import reverse

    from portal.notifications import notify

    with scopes_disabled():
        organisation: Organisation | None = None
        organisation_id = None
        if invitation.target_key.startswith("org:"):
            organisation_id = uuid.UUID(invitation.target_key.removeprefix("org:"))
        elif invitation.supplier.linked_organisation_id:
            organisation_id = invitation.supplier.linked_organisation_id
        if organisation_id is not None:
            organisation = Organisation.objects.filter(pk=organisation_id).first()
        if organisation is not None:
            recipients = [
                m.user
                for m in Membership.objects.filter(organisation=organisation, role__in=ANSWERING_ROLES).select_related(
                    "user"
                )
                if m.is_active()
            ]
        else:
            recipients = list(User.objects.filter(email__iexact=invitation.email.strip(), deleted_at__isnull=True))
        notify(
            kind="supplier_request_received",
            recipients=recipients,
            organisation=organisation,
            actor=None,
            text=_("%(buyer)s asks %(supplier)s to commit to the Made Smarter principles (“%(campaign)s”), by %(due)s")
            % {
                "buyer": invitation.inviter.name,
                "supplier": organisation.name if organisation else invitation.supplier.name,
                "campaign": invitation.campaign.title,
                "due": date_format(invitation.campaign.due_date, "j F Y"),
            },
            url=reverse("your_work"),
            key=f"supplier-request:{invitation.pk}",
            target=invitation,
        )


def held_answer_confirm(*, invitation: SupplierInvitation, actor: User) -> SupplierInvitation:
    """The inviter confirms that the organisation that answered is the supplier it asked: the held
    answer takes effect as if the invited party had given it (at the time it was given)."""
    _require_member(invitation.inviter, actor, "edit_content")
    with scopes_disabled(), transaction.atomic():  # the answering organisation is another tenant
        locked = _locked_with_held_answer(invitation)
        organisation = locked.held_organisation
        assert organisation is not None
        details = _held_details(locked)
        answer, user, answered_at, reason = locked.held_answer, locked.held_by, locked.held_at, locked.held_reason
        if answer == HeldAnswer.ACCEPT:
            _apply_accept(locked, organisation=organisation, user=user, answered_at=answered_at)
        else:
            _apply_decline(locked, organisation=organisation, user=user, reason=reason, answered_at=answered_at)
        for at, label in ((locked.inviter, organisation.name), (organisation, locked.inviter.name)):
            audit_record(
                organisation=at,
                actor=actor,
                verb="supplier_request.answer_confirmed",
                target=locked,
                target_label=label,
                after=details,
            )
    invitation.refresh_from_db()
    return invitation


def held_answer_reject(*, invitation: SupplierInvitation, actor: User) -> SupplierInvitation:
    """The inviter says the organisation that answered is not the supplier it asked: the answer is
    dropped, and the request waits for the invited supplier as before."""
    _require_member(invitation.inviter, actor, "edit_content")
    with scopes_disabled(), transaction.atomic():
        locked = _locked_with_held_answer(invitation)
        organisation = locked.held_organisation
        details = _held_details(locked)
        _clear_held(locked)
        locked.save(update_fields=_HELD_FIELDS)
        bump_addressed(locked)
        for at in (locked.inviter, organisation):
            if at is None:
                continue
            audit_record(
                organisation=at,
                actor=actor,
                verb="supplier_request.answer_rejected",
                target=locked,
                target_label=details["organisation"] if at == locked.inviter else locked.inviter.name,
                after=details,
            )
    invitation.refresh_from_db()
    return invitation


def _locked_with_held_answer(invitation: SupplierInvitation) -> SupplierInvitation:
    locked = (
        SupplierInvitation.objects.select_for_update(of=("self",))
        .select_related("held_organisation", "held_by", "inviter", "campaign", "supplier")
        .get(pk=invitation.pk)
    )
    if locked.held_at is None or locked.held_organisation is None:
        raise ValidationError(_("There is no answer waiting for your confirmation on this request."))
    if locked.state not in (InvitationState.PENDING, InvitationState.EXPIRED):
        raise ValidationError(_("This request has already been answered, revoked or withdrawn."))
    return locked


def _take_answer(invitation: SupplierInvitation, answered: SupplierInvitation) -> None:
    """Copy the answer onto the caller's object, keeping the campaign, buyer and supplier it already
    loaded (the caller may not be able to read them again: they are the buyer's rows)."""
    for name in (
        "state",
        "responded_at",
        "responded_by_id",
        "supplier_organisation_id",
        "decline_reason",
        "held_answer",
        "held_organisation_id",
        "held_by_id",
        "held_at",
        "held_reason",
    ):
        setattr(invitation, name, getattr(answered, name))


def invitation_forward(
    *, invitation: SupplierInvitation, actor: User, supplier_ids: list[Any]
) -> list[SupplierInvitation]:
    """An accepting supplier passes the request on to its own suppliers, one tier down."""
    organisation = invitation.supplier_organisation
    if invitation.state != InvitationState.ACCEPTED or organisation is None:
        raise ValidationError(_("Only an accepted request can be passed on."))
    if invitation.tier >= invitation.campaign.depth:
        raise ValidationError(_("This request goes no deeper than tier %(n)s.") % {"n": invitation.campaign.depth})
    _require_member(organisation, actor, "edit_content")
    with scope(organisation=organisation), transaction.atomic():
        suppliers = list(
            Supplier.objects.filter(organisation=organisation, archived_at__isnull=True, pk__in=supplier_ids)
        )
        if not suppliers:
            raise ValidationError({"suppliers": _("Choose at least one supplier from your register")})
        created = _invite(
            campaign=invitation.campaign,
            inviter=organisation,
            suppliers=suppliers,
            tier=invitation.tier + 1,
            parent=invitation,
        )
        audit_record(
            organisation=organisation,
            actor=actor,
            verb="supplier_request.forwarded",
            target=invitation,
            target_label=invitation.campaign.title,
            after={"tier": invitation.tier + 1, "invited": len(created), "chosen": len(suppliers)},
        )
        _publish(created)
    return created


def invitation_resend(*, invitation: SupplierInvitation, actor: User) -> SupplierInvitation:
    """A fresh link (the old one stops working), a new expiry, the email queued again."""
    _require_member(invitation.inviter, actor, "edit_content")
    if invitation.state not in (InvitationState.PENDING, InvitationState.EXPIRED):
        raise ValidationError(_("Only a request waiting for a reply, or an expired one, can be sent again."))
    with transaction.atomic():
        bump_addressed(invitation)  # the old address, if the register has a new one
        # The register may have a corrected address since: the new link goes there.
        SupplierInvitation.objects.filter(pk=invitation.pk).update(
            email=invitation.supplier.contact_email,
            nonce=secrets.token_hex(16),
            state=InvitationState.PENDING,
            expires_at=timezone.now() + timedelta(days=invitation.campaign.invitation_ttl_days),
            email_status="pending",
            email_queued_at=timezone.now(),
            email_claimed_at=None,
        )
        invitation.refresh_from_db()
        bump_addressed(invitation)
        audit_record(
            organisation=invitation.inviter,
            actor=actor,
            verb="supplier_request.resent",
            target=invitation,
            target_label=invitation.supplier.name,
        )
        _publish([invitation])
    return invitation


def invitation_revoke(*, invitation: SupplierInvitation, actor: User) -> SupplierInvitation:
    _require_member(invitation.inviter, actor, "edit_content")
    with transaction.atomic():
        updated = SupplierInvitation.objects.filter(pk=invitation.pk, state=InvitationState.PENDING).update(
            state=InvitationState.REVOKED
        )
        if not updated:
            raise ValidationError(_("Only a request waiting for a reply can be revoked."))
        bump_addressed(invitation)
        audit_record(
            organisation=invitation.inviter,
            actor=actor,
            verb="supplier_request.revoked",
            target=invitation,
            target_label=invitation.supplier.name,
        )
    with scope(organisation=invitation.inviter):  # callers outside a request (tasks, commands) have no scope
        invitation.refresh_from_db()
    return invitation


def link_set_sharing(*, link: SupplierLink, actor: User, share: bool) -> SupplierLink:
    """The supplier decides, per buyer, whether the buyer sees its summary maturity. Revocable."""
    _require_member(link.supplier_organisation, actor, "edit_content")
    with transaction.atomic():
        link.share_maturity, link.updated_at = share, timezone.now()
        link.save(update_fields=["share_maturity", "updated_at"])
        audit_record(
            organisation=link.supplier_organisation,
            actor=actor,
            verb="supplier_link.sharing_changed",
            target=link,
            target_label=link.buyer.name,
            after={"share_maturity": share},
        )
    return link
