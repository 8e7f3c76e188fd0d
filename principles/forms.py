from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import PortalFormMixin


class CommitmentForm(PortalFormMixin, forms.Form):
    typed_name = forms.CharField(
        label=_("Your full name"),
        max_length=150,
        help_text=_("Typing your name is your signature."),
        error_messages={"required": _("Type your full name to sign")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    job_title = forms.CharField(
        label=_("Job title"),
        max_length=150,
        error_messages={"required": _("Enter your job title")},
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )
    extends_to_supply_chain = forms.BooleanField(
        label=_("We will extend these principles to our supply chain"),
        required=False,
        help_text=_("You can then invite your suppliers to commit too."),
    )


class ReaffirmForm(PortalFormMixin, forms.Form):
    """Reaffirming is one page: the statement is shown above, and typing your name signs it."""

    typed_name = CommitmentForm.base_fields["typed_name"]
    job_title = CommitmentForm.base_fields["job_title"]


class WithdrawForm(PortalFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why is the commitment being withdrawn?"),
        max_length=4000,
        help_text=_("This is recorded in the audit trail and shown with the commitment."),
        error_messages={"required": _("Say why the commitment is being withdrawn")},
        widget=forms.Textarea(attrs={"rows": 4}),
    )
