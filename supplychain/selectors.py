"""Reads for the supply chain. Cross-tenant reads are explicit: each filters by one end's organisation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from portal.models import EmailStatus, Organisation
from portal.text import single_line_problem
from supplychain.models import Campaign, InvitationState, Supplier, SupplierInvitation, SupplierLink

STATES = ("invited", "accepted", "declined", "pending", "expired")

# A campaign's invitations as (id, parent id, state, expires at, tier): see `campaign_rows`.
CampaignRows = list[tuple[Any, Any, str, Any, int]]


def register(organisation: Organisation, *, search: str = "", archived: bool = False) -> QuerySet[Supplier]:
    qs = Supplier.objects.filter(organisation=organisation, archived_at__isnull=not archived)
    if search:
        qs = qs.filter(
            Q(name__icontains=search) | Q(contact_email__icontains=search) | Q(company_number__icontains=search)
        )
    return qs.select_related("linked_organisation").order_by("name")


@dataclass
class TierCoverage:
    tier: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))

    def percent(self, state: str) -> int:
        invited = self.counts["invited"]
        return round(100 * self.counts[state] / invited) if invited else 0

    @property
    def rows(self) -> list[tuple[str, int, int]]:
        return [(s, self.counts[s], self.percent(s)) for s in STATES[1:]]


def _effective_state(state: str, expires_at: Any, now: Any) -> str:
    if state == InvitationState.PENDING and expires_at <= now:
        return "expired"
    if state == InvitationState.REVOKED:
        return "expired"
    return state


def state_filter(state: str, now: Any = None) -> Q:
    """The invitations whose state as shown (see `_effective_state`) is `state`."""
    now = now or timezone.now()
    if state == "pending":
        return Q(state=InvitationState.PENDING, expires_at__gt=now)
    if state == "expired":
        return Q(state__in=[InvitationState.EXPIRED, InvitationState.REVOKED]) | Q(
            state=InvitationState.PENDING, expires_at__lte=now
        )
    return Q(state=state)


def campaigns_of(organisation: Organisation) -> QuerySet[Campaign]:
    """The campaigns this organisation started."""
    return Campaign.objects.filter(organisation=organisation)


def campaign_for_viewer(campaign_id: Any, *, viewer: Organisation) -> Campaign:
    """The campaign's owner, or a supplier that accepted it, may see it (each its own part); else 404."""
    with scopes_disabled():
        campaign = get_object_or_404(Campaign.objects.select_related("organisation", "created_by"), pk=campaign_id)
    if (
        campaign.organisation_id != viewer.pk
        and not SupplierInvitation.objects.filter(
            campaign=campaign, supplier_organisation=viewer, state=InvitationState.ACCEPTED
        ).exists()
    ):
        raise Http404
    return campaign


def repeat_supplier_ids(campaign: Campaign) -> list[str]:
    """The suppliers a campaign asked itself (tier 1), still in its register: who a repeat asks again."""
    return [
        str(pk)
        for pk in SupplierInvitation.objects.filter(
            campaign=campaign, inviter_id=campaign.organisation_id, tier=1, supplier__archived_at__isnull=True
        )
        .order_by("supplier__name")
        .values_list("supplier_id", flat=True)
    ]


def repeat_draft(campaign: Campaign, *, today: date | None = None) -> dict[str, Any]:
    """A new campaign's answers, pre-filled from `campaign`: the same suppliers and settings, the same
    time to reply from today, and this year in the title where it named the campaign's year."""
    today = today or timezone.localdate()
    started = timezone.localdate(campaign.created_at)
    title = campaign.title
    if str(started.year) in title and started.year != today.year:
        title = title.replace(str(started.year), str(today.year))
    return {
        "title": title,
        "message": campaign.message,
        "depth": campaign.depth,
        "due_date": (today + timedelta(days=max(1, (campaign.due_date - started).days))).isoformat(),
        "reminder_days": list(campaign.reminder_days),
        "reminders_muted": campaign.reminders_muted,
        "invitation_ttl_days": campaign.invitation_ttl_days,
        "supplier_ids": repeat_supplier_ids(campaign),
        "repeats": str(campaign.pk),
    }


def earlier_answers(invitation: SupplierInvitation, organisation_ids: list[Any]) -> dict[Any, SupplierInvitation]:
    """For a request in a campaign that repeats another: which of these organisations (the person's
    own) accepted the same inviter's request in the campaign it repeats, by organisation id."""
    previous = invitation.campaign.repeats_id
    if previous is None or not organisation_ids:
        return {}
    with scopes_disabled():  # the earlier request is the inviter's and the supplier's: read for the supplier
        answers = SupplierInvitation.objects.filter(
            campaign_id=previous,
            inviter_id=invitation.inviter_id,
            supplier_organisation_id__in=organisation_ids,
            state=InvitationState.ACCEPTED,
        ).order_by("responded_at")
        return {answer.supplier_organisation_id: answer for answer in answers}


def invitations_sent(organisation: Organisation) -> QuerySet[SupplierInvitation]:
    """The invitations this organisation sent: as the campaign's buyer, or passing a request on."""
    return SupplierInvitation.objects.filter(inviter=organisation)


@scopes_disabled()  # the whole campaign, every inviter's invitations: shown only as counts beyond the viewer's own
def campaign_coverage(campaign: Campaign, *, rows: CampaignRows | None = None) -> list[TierCoverage]:
    """Invited, accepted, declined, pending and expired per tier: one query, or none from `rows` (the
    campaign's rows as `campaign_rows` reads them, which the campaign page also counts its tree from)."""
    now = timezone.now()
    tiers = {t: TierCoverage(t) for t in range(1, campaign.depth + 1)}
    if rows is not None:
        for _id, _parent, state, expires_at, tier_number in rows:
            tier = tiers.setdefault(tier_number, TierCoverage(tier_number))
            tier.counts["invited"] += 1
            tier.counts[_effective_state(state, expires_at, now)] += 1
        return [tiers[t] for t in sorted(tiers)]
    grouped = (
        SupplierInvitation.objects.filter(campaign=campaign)
        .values("tier", "state", "expires_at")
        .annotate(n=Count("id"))
    )
    for row in grouped:
        tier = tiers.setdefault(row["tier"], TierCoverage(row["tier"]))
        tier.counts["invited"] += row["n"]
        tier.counts[_effective_state(row["state"], row["expires_at"], now)] += row["n"]
    return [tiers[t] for t in sorted(tiers)]


@dataclass
class TreeNode:
    invitation: SupplierInvitation
    state: str
    summary: dict[str, Any] | None = None  # the supplier's summary maturity, only where it consents
    below: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))  # deeper tiers, as counts only
    children: list[TreeNode] = field(default_factory=list)
    email_problem: str = ""  # why the email failed, for the buyer (see `email_problem`)


def email_problem(invitation: SupplierInvitation, *, inviter: Organisation) -> str:
    """Why an invitation's email failed, in words the inviter can act on; "" unless it failed.

    A name in the subject that cannot go in an email header fails for good (no retry mends it): the
    inviter is told which name to correct before sending the request again."""
    if invitation.email_status != EmailStatus.FAILED:
        return ""
    if single_line_problem(invitation.supplier.name, label="Name"):
        return _(
            "The email cannot be sent: the supplier's name in your register has a line break or a hidden "
            "control character. Correct the name, then send the request again."
        )
    if single_line_problem(inviter.name, label="Name"):
        return _(
            "The email cannot be sent: your organisation's name has a line break or a hidden control "
            "character. Correct it, then send the request again."
        )
    return _("The email to %(email)s did not go. Send the request again to try again.") % {"email": invitation.email}


# What the campaign page's rows and its CSV export read of the viewer's own invitations (not the
# related rows' other columns: fewer columns to compile, fetch and load).
_TREE_FIELDS = (
    *("id", "campaign_id", "inviter_id", "parent_id", "tier", "email", "state", "expires_at", "responded_at"),
    *("decline_reason", "held_at", "held_answer", "email_status"),
    *("supplier__id", "supplier__name", "supplier__contact_email", "supplier__company_number"),
    *("supplier_organisation__id", "supplier_organisation__name"),
    *("responded_by__id", "responded_by__full_name", "responded_by__email"),
    *("held_organisation__id", "held_organisation__name", "held_by__id", "held_by__full_name", "held_by__email"),
)


@scopes_disabled()  # the whole campaign, every inviter's invitations: shown only as counts beyond the viewer's own
def campaign_tree(campaign: Campaign, *, viewer: Organisation, rows: CampaignRows | None = None) -> list[TreeNode]:
    """The viewer's own invitations in the campaign, named; everything further down only as counts.

    Two queries: the whole campaign as bare rows (`campaign_rows`, unless given), and the viewer's own
    invitations with what their rows show, each with whether its supplier shares its maturity with
    the viewer (`own_invitations`). Reading every invitation of the campaign with its five related
    rows cost most of the campaign page on large campaigns."""
    own = own_invitations(campaign, viewer=viewer)
    shared = {inv.supplier_organisation_id for inv in own if inv.shares_maturity}  # type: ignore[attr-defined]
    return _tree_nodes(campaign_rows(campaign) if rows is None else rows, own, viewer=viewer, shared=shared)


_OWN_RELATED = ("supplier", "supplier_organisation", "responded_by", "held_organisation", "held_by")


def _own_columns() -> list[tuple[str, type[models.Model], str | None, list[models.Field]]]:
    """What `own_invitations` reads (`_TREE_FIELDS`): per table, its alias, model, the invitation's
    foreign key it hangs from (None: the invitation itself) and its columns in the model's order."""
    from portal.models import User

    parts: list[tuple[str, type[models.Model], str | None, tuple[str, ...]]] = [
        # The invitation's columns, and the keys of the rows it hangs from (as select_related loads them).
        ("x", SupplierInvitation, None, (*_TREE_FIELDS[:13], *(f"{name}_id" for name in _OWN_RELATED))),
        ("s", Supplier, "supplier", ("id", "name", "contact_email", "company_number")),
        ("so", Organisation, "supplier_organisation", ("id", "name")),
        ("rb", User, "responded_by", ("id", "full_name", "email")),
        ("ho", Organisation, "held_organisation", ("id", "name")),
        ("hb", User, "held_by", ("id", "full_name", "email")),
    ]
    return [
        (alias, model, relation, [f for f in model._meta.concrete_fields if f.attname in names])
        for alias, model, relation, names in parts
    ]


def own_invitations(campaign: Campaign, *, viewer: Organisation) -> list[SupplierInvitation]:
    """The viewer's own invitations in the campaign, by tier and supplier name, with the columns the
    campaign page's rows and its CSV show (the rest deferred) and their supplier, answering
    organisation, who answered and any held answer's organisation and person, each with
    `shares_maturity`: whether its supplier shares its maturity with the viewer.

    Hand-written SQL: the same query the ORM made from select_related, only() and an Exists
    annotation, whose compiling cost more than running it (a quarter of the campaign page). It runs
    on the request's connection, so row-level security applies as to any query, and names the
    viewer. Values go through each field's database converters, as the ORM's do (uuids and times on
    SQLite); tests/supplychain/test_campaign_coverage.py compares it with the ORM's query."""
    from django.db import connection

    from portal.dashboard import db_value

    parts = _own_columns()
    columns = [(alias, column) for alias, _model, _relation, fields in parts for column in fields]
    cols = [column.get_col(alias) for alias, column in columns]  # a key's column as its target's, as the ORM's
    converters = [
        (i, connection.ops.get_db_converters(col) + col.get_db_converters(connection)) for i, col in enumerate(cols)
    ]
    converters = [(i, found) for i, found in converters if found]
    table = {alias: model._meta.db_table for alias, model, _relation, _fields in parts}
    link = SupplierLink._meta.db_table
    sql = (
        f"SELECT {', '.join(f'{alias}.{column.column}' for alias, column in columns)},"  # noqa: S608 - names from the models
        f" EXISTS (SELECT 1 FROM {link} l WHERE l.buyer_id = %s AND l.share_maturity"
        " AND l.supplier_organisation_id = x.supplier_organisation_id)"
        f" FROM {table['x']} x JOIN {table['s']} s ON s.id = x.supplier_id"
        f" LEFT JOIN {table['so']} so ON so.id = x.supplier_organisation_id"
        f" LEFT JOIN {table['rb']} rb ON rb.id = x.responded_by_id"
        f" LEFT JOIN {table['ho']} ho ON ho.id = x.held_organisation_id"
        f" LEFT JOIN {table['hb']} hb ON hb.id = x.held_by_id"
        " WHERE x.campaign_id = %s AND x.inviter_id = %s ORDER BY x.tier ASC, s.name ASC"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [db_value(viewer.pk), db_value(campaign.pk), db_value(viewer.pk)])
        fetched = cursor.fetchall()
    db = connection.alias
    invitations = []
    for raw in fetched:
        values = list(raw[:-1])
        for i, found in converters:
            for convert in found:
                values[i] = convert(values[i], cols[i], connection)
        start = 0
        invitation: Any = None
        for _alias, model, relation, fields in parts:
            chunk = values[start : start + len(fields)]
            start += len(fields)
            if relation is None:
                invitation = model.from_db(db, [f.attname for f in fields], chunk)
                continue
            related = model.from_db(db, [f.attname for f in fields], chunk) if chunk[0] is not None else None
            cast(models.ForeignKey, SupplierInvitation._meta.get_field(relation)).set_cached_value(invitation, related)
        invitation.shares_maturity = bool(raw[-1])
        invitations.append(invitation)
    return invitations


@scopes_disabled()  # the whole campaign, every inviter's invitations: shown only as counts beyond the viewer's own
def campaign_tree_nodes(
    campaign: Campaign, *, viewer: Organisation, invitations: list[SupplierInvitation]
) -> list[TreeNode]:
    """`campaign_tree` for some of the viewer's own invitations (a page of them), in their order."""
    if any(inv.inviter_id != viewer.pk or inv.campaign_id != campaign.pk for inv in invitations):
        raise ValueError("Only the viewer's own invitations in this campaign are shown by name.")
    # Only which suppliers share their maturity: their ids, not the rows with their organisations.
    links = SupplierLink.objects.filter(buyer=viewer, share_maturity=True)
    shared = set(links.values_list("supplier_organisation_id", flat=True))
    return _tree_nodes(campaign_rows(campaign), invitations, viewer=viewer, shared=shared)


@scopes_disabled()  # the whole campaign, every inviter's invitations: shown only as counts beyond the viewer's own
def campaign_rows(campaign: Campaign) -> CampaignRows:
    """Every invitation of the campaign as (id, parent id, state, expires at, tier), in no order: what
    counting the tree below each invitation, and the coverage per tier, need (one query for both)."""
    return list(
        SupplierInvitation.objects.filter(campaign=campaign)
        .order_by()
        .values_list("id", "parent_id", "state", "expires_at", "tier")
    )


def _tree_nodes(
    rows: CampaignRows, own: Sequence[SupplierInvitation], *, viewer: Organisation, shared: set[Any]
) -> list[TreeNode]:
    now = timezone.now()
    children: dict[Any, list[tuple[Any, Any, str, Any, int]]] = defaultdict(list)
    for row in rows:
        children[row[1]].append(row)

    def count_below(pk: Any, into: dict[str, int], seen: set) -> None:
        for child_pk, _parent, state, expires_at, _tier in children.get(pk, []):
            if child_pk in seen:
                continue
            seen.add(child_pk)
            into["invited"] += 1
            into[_effective_state(state, expires_at, now)] += 1
            count_below(child_pk, into, seen)

    nodes = []
    for inv in own:
        node = TreeNode(inv, _effective_state(inv.state, inv.expires_at, now))
        node.email_problem = email_problem(inv, inviter=viewer)
        count_below(inv.pk, node.below, {inv.pk})
        nodes.append(node)
    summaries = summaries_for(
        [
            n.invitation.supplier_organisation_id
            for n in nodes
            if n.state == "accepted" and n.invitation.supplier_organisation_id in shared
        ]
    )
    for node in nodes:
        if node.state == "accepted":
            node.summary = summaries.get(node.invitation.supplier_organisation_id)
    return nodes


def summaries_for(organisation_ids: list[Any]) -> dict[Any, dict[str, Any]]:
    """Summary maturity (per principle, of the latest final self-assessment) of several suppliers that
    consented to share it, in two queries however many there are. Cross-tenant on purpose."""
    if not organisation_ids:
        return {}
    from django.db.models import Avg
    from django_scopes import scopes_disabled

    from assessments.models import Assessment, AssessmentStatus, Response

    with scopes_disabled():
        latest: dict[Any, Any] = {}
        for assessment in (
            Assessment.objects.filter(organisation_id__in=organisation_ids, status=AssessmentStatus.FINAL)
            .order_by("organisation_id", "-finalised_at")
            .only("id", "organisation_id", "title")
        ):
            latest.setdefault(assessment.organisation_id, assessment)
        rows = (
            Response.objects.filter(assessment__in=[a.pk for a in latest.values()])
            .values("assessment_id", "criterion__principle__number", "criterion__principle__title")
            .annotate(avg=Avg("maturity"))
            .order_by("assessment_id", "criterion__principle__number")
        )
        by_assessment: dict[Any, list[tuple[str, Any]]] = {}
        for row in rows:
            value = round(row["avg"], 1) if row["avg"] is not None else None
            by_assessment.setdefault(row["assessment_id"], []).append((row["criterion__principle__title"], value))
    return {
        org_id: {
            "assessment": latest[org_id].title if org_id in latest else None,
            "principles": by_assessment.get(latest[org_id].pk, []) if org_id in latest else [],
        }
        for org_id in organisation_ids
    }


def requests_received(organisation: Organisation) -> list[SupplierInvitation]:
    """Requests this organisation answered as a supplier, with the buyer and campaign."""
    return list(
        SupplierInvitation.objects.filter(supplier_organisation=organisation)
        .select_related("campaign", "campaign__organisation", "inviter")
        .annotate(forwarded=Count("children"))
        .order_by("-responded_at")
    )


def requests_addressed(organisation: Organisation, *, user: Any) -> QuerySet[SupplierInvitation]:
    """Requests this organisation answered, and the unanswered ones (waiting or expired) addressed to
    it: to the organisation itself (the buyer's register knows it), or to `user`'s own email address,
    as the emailed link is. Never the organisation's own campaigns or its own requests."""
    addressed = Q(target_key=f"org:{organisation.pk}")
    if getattr(user, "email", ""):
        addressed |= Q(email__iexact=user.email)
    unanswered = Q(state__in=[InvitationState.PENDING, InvitationState.EXPIRED], supplier_organisation__isnull=True)
    return (
        SupplierInvitation.objects.filter(Q(supplier_organisation=organisation) | (unanswered & addressed))
        .exclude(inviter=organisation)
        .exclude(campaign__organisation=organisation)
        .select_related("campaign", "campaign__organisation", "inviter")
        .annotate(forwarded=Count("children"))
    )


def buyer_links_queryset(organisation: Organisation) -> QuerySet[SupplierLink]:
    """The buyers this organisation answered as a supplier, and what each may see."""
    return SupplierLink.objects.filter(supplier_organisation=organisation).select_related("buyer")


def buyer_links(organisation: Organisation) -> list[SupplierLink]:
    return list(buyer_links_queryset(organisation).order_by("buyer__name"))


# --- "Your work" (portal.dashboard.register_awaiting) -------------------------------------------


def waiting_request_queries(context: Any) -> list[Any]:
    """Buyers' requests still open for an answer, addressed to an organisation the person owns or
    manages, or sent to the person's own address (whether or not they belong to an organisation yet).
    Not the ones an answer from someone else is held on, nor a request to the organisation from itself."""
    from portal.dashboard import NULL_TEXT, NULL_UUID, WorkQuery, db_value, kind_sql, sql_in
    from supplychain.services import ANSWERING_ROLES

    answering = context.organisation_ids(ANSWERING_ROLES)
    addressed: list[str] = []
    params: list[Any] = []
    if answering:
        keys, key_params = sql_in([f"org:{organisation_id}" for organisation_id in answering])
        addressed.append(f"x.target_key IN {keys}")
        params += key_params
    email = (getattr(context.user, "email", "") or "").strip()
    if email:
        addressed.append("UPPER(x.email) = UPPER(%s)")
        params.append(email)
    if not addressed:
        return []
    sql = (
        f"SELECT {kind_sql('supplier_requests')}, {NULL_UUID}, x.id, c.title, c.due_date, x.expires_at,"  # noqa: S608 - constants
        f" x.target_key, o.name, x.nonce, {NULL_TEXT}, {NULL_TEXT}, {NULL_TEXT}"
        " FROM supplychain_supplierinvitation x JOIN supplychain_campaign c ON c.id = x.campaign_id"
        " JOIN portal_organisation o ON o.id = x.inviter_id"
        f" WHERE ({' OR '.join(addressed)}) AND x.state = %s AND x.expires_at > %s AND x.held_at IS NULL"
    )
    params += [InvitationState.PENDING.value, db_value(context.now)]
    if answering:
        orgs, org_params = sql_in(answering)
        sql += f" AND NOT (x.inviter_id IN {orgs}) AND NOT (c.organisation_id IN {orgs})"
        params += org_params + org_params
    return [WorkQuery(sql, params)]


def waiting_request_item(row: Any, context: Any) -> Any:
    from django.urls import reverse
    from django.utils.formats import date_format

    from portal.dashboard import WorkItem
    from supplychain.services import ANSWERING_ROLES, invitation_token

    key = (row.s1 or "").removeprefix("org:")
    organisation = next(
        (
            m.organisation
            for m in context.memberships
            if m.is_active(context.now) and m.role in ANSWERING_ROLES and str(m.organisation_id) == key
        ),
        None,
    )
    # The token names the request and its nonce, as in the emailed link.
    invitation = SupplierInvitation(id=row.id, nonce=row.s3)
    return WorkItem(
        kind="supplier_request",
        organisation=organisation,
        title=row.title or "",
        action=_("Answer %(buyer)s's request") % {"buyer": row.s2},
        # The same page as the emailed link: the person is who the request was sent to.
        url=reverse("supplier_invitation", kwargs={"token": invitation_token(invitation)}),
        due=row.due,
        detail=_("%(buyer)s asks you to commit to the Made Smarter principles. The request expires on %(date)s.")
        % {"buyer": row.s2, "date": date_format(timezone.localtime(row.at), "j F Y")},
    )
