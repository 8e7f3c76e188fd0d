"""The commitments list builds each row directly (cheaper than DRF's walk over its nested serializers):
the row must be exactly what the serializer's fields give, field for field and in their order, for an
active commitment (a reaffirmation due), a withdrawn one (who withdrew it, why), one that reaffirms
another, one whose signer's account is gone, and hostile text as it was stored."""

from __future__ import annotations

import pytest
from django_scopes import scope, scopes_disabled
from rest_framework import serializers

from portal.models import Signature
from portal.signing import SigningContext
from principles import services
from principles.api import CommitmentSerializer, _commitments
from principles.models import Commitment

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert('x')</script> & \"quoted\" — Zoë's"


def _sign(tenant, framework, job_title: str) -> Commitment:
    return services.commitment_sign(
        organisation=tenant.organisation,
        framework=framework,
        signer=tenant.owner,
        typed_name=HOSTILE,
        job_title=job_title,
        extends_to_supply_chain=True,
        context=SigningContext(ip_address="127.0.0.1", auth_methods=["password", "totp"]),
    )


def test_commitments_read_exactly_as_their_fields_say(tenant, framework) -> None:
    first = _sign(tenant, framework, "Managing Director & owner")
    services.commitment_withdraw(commitment=first, actor=tenant.owner, reason=HOSTILE)
    second = _sign(tenant, framework, "Director")
    with scopes_disabled():
        Commitment.objects.filter(pk=second.pk).update(reaffirms=first)
        Signature.objects.filter(pk=first.signature_id).update(signer=None)  # the signer's account deleted
    with scope(organisation=tenant.organisation):
        listed = list(_commitments(tenant.organisation).order_by("signed_at"))
    assert [(c.withdrawn_by_id is None, c.reaffirms_id is None, c.signature.signer_id is None) for c in listed] == [
        (False, True, True),
        (True, False, False),
    ]
    rows = []
    for commitment in listed:
        fast = CommitmentSerializer(commitment).data
        assert fast == serializers.ModelSerializer.to_representation(CommitmentSerializer(), commitment)
        assert list(fast) == list(CommitmentSerializer().fields)
        assert list(fast["signature"]) == list(CommitmentSerializer().fields["signature"].fields)
        assert list(fast["framework"]) == list(CommitmentSerializer().fields["framework"].fields)
        rows.append(fast)
    assert rows[0]["withdrawal_reason"] == HOSTILE and rows[0]["reaffirmation_due"] is None
    assert rows[1]["reaffirmation_due"] is not None and rows[1]["signature"]["typed_name"] == HOSTILE
    assert rows[0]["signature"]["signer_name"] == "" and rows[1]["signature"]["mfa_used"] is True
