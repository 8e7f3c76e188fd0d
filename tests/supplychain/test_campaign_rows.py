"""The campaign page's supplier rows are written in Python (supplychain/templatetags/campaign_tree.py):
the same HTML as the row template they replace, byte for byte, for every state a row can show."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.template import engines
from django.test import RequestFactory
from django.utils import timezone

from portal.models import Organisation, User
from supplychain.models import Campaign, Supplier, SupplierInvitation
from supplychain.selectors import TreeNode

# The row template as templates/supplychain/campaign_detail.html drew it before the rows were built in
# Python, kept beside this test to compare with.
OLD_ROWS = (Path(__file__).parent / "campaign_rows_before.html").read_text()
NEW_ROWS = "{% load campaign_tree %}{% campaign_tree_rows tree campaign can_edit %}"


def _invitation(**fields) -> SupplierInvitation:
    now = timezone.now()
    supplier = Supplier(name=fields.pop("supplier_name", "Severn <Plastics> & Co"))
    values = {
        "id": uuid.uuid4(),
        "tier": 1,
        "email": "sam&co@severn.example",
        "state": "pending",
        "expires_at": now + timedelta(days=5, hours=1),
        "email_status": "sent",
        **fields,
    }
    invitation = SupplierInvitation(**values)
    invitation.supplier = supplier
    return invitation


def _trees() -> list[TreeNode]:
    now = timezone.now()
    org = Organisation(name='Wolds "Electrical" <Ltd>', slug="wolds")
    person = User(email="wendy@wolds.example", full_name="Wendy <Ross>")
    anonymous = User(email="nobody@wolds.example", full_name="")
    below = {"invited": 7, "accepted": 3, "declined": 1, "pending": 2, "expired": 1}
    answered = {"responded_at": now - timedelta(days=3)}
    return [
        TreeNode(_invitation(), "pending"),
        TreeNode(_invitation(email_status="pending"), "pending"),
        TreeNode(_invitation(email_status="failed"), "pending", email_problem="The email to <x> did not go."),
        TreeNode(_invitation(state="pending", expires_at=now - timedelta(days=2)), "expired"),
        TreeNode(_invitation(state="expired", email_status="failed", tier=2), "expired", email_problem="No."),
        TreeNode(_invitation(state="revoked", email_status="pending"), "expired"),
        TreeNode(
            _invitation(state="accepted", supplier_organisation=org, responded_by=person, **answered),
            "accepted",
            below=below,
        ),
        TreeNode(_invitation(state="accepted", responded_by=anonymous, tier=2, **answered), "accepted"),
        TreeNode(
            _invitation(state="accepted", supplier_organisation=org, **answered),
            "accepted",
            summary={
                "assessment": "Self-assessment <2026>",
                "principles": [
                    ("People & skills", Decimal("2.5")),
                    ("Data", None),
                    ("Safety", Decimal("0.0")),
                    ("Leadership", 3),
                ],
            },
        ),
        TreeNode(_invitation(state="accepted", **answered), "accepted", summary={"assessment": None, "principles": []}),
        TreeNode(_invitation(state="declined", decline_reason='Too <busy> & "sorry"', **answered), "declined"),
        TreeNode(_invitation(state="declined", **answered), "declined", below={**below, "invited": 0}),
        TreeNode(_invitation(held_at=now, held_answer="accept", held_organisation=org, held_by=person), "pending"),
        TreeNode(_invitation(held_at=now, held_answer="decline", held_by=person), "pending"),
        TreeNode(_invitation(held_at=now, held_answer="decline"), "expired"),
        TreeNode(
            _invitation(state="accepted", held_at=now, held_answer="accept", held_organisation=org, **answered),
            "accepted",
        ),
    ]


def test_the_rows_are_the_old_templates_byte_for_byte() -> None:
    engine = engines["django"]
    request = RequestFactory().get("/")
    tree = _trees()
    for can_edit in (True, False):
        for depth in (1, 2):
            for token in ("a-token-<&>", "9f8e7d"):
                context = {
                    "tree": tree,
                    "campaign": Campaign(depth=depth),
                    "can_edit": can_edit,
                    "current_organisation": Organisation(name="Acme", slug="acme-x1"),
                    "csrf_token": token,
                }
                old = engine.from_string(OLD_ROWS).render(context, request)
                new = engine.from_string(NEW_ROWS).render(context, request)
                assert new == old, (can_edit, depth, token)
                assert new.count("<tr>") == len(tree)
                for words in ("Answer to check", "Reason: “Too &lt;busy&gt;", "Below: 7 invited", "2.5; Data –"):
                    assert words in new
                assert ("Resend" in new) is can_edit
