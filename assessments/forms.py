from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assessments.models import ActionItem, ActionStatus, Assessment
from portal.forms import DateInput, PortalFormMixin
from portal.models import User
from portal.text import SingleLineValidator


class AssessmentForm(PortalFormMixin, forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The title goes into the review emails' subjects.
        self.fields["title"].validators.append(SingleLineValidator(_("Title")))

    class Meta:
        model = Assessment
        fields = ["title", "period_start", "period_end"]
        widgets = {"period_start": DateInput(), "period_end": DateInput()}
        help_texts = {
            "title": _("For example: Self-assessment 2026"),
            "period_start": _("The first day of the period this assessment covers"),
            "period_end": _("The last day of the period"),
        }
        error_messages = {
            "title": {"required": _("Enter a title for the assessment")},
            "period_start": {
                "required": _("Enter the start of the period"),
                "invalid": _("Enter a real date"),
            },
            "period_end": {"required": _("Enter the end of the period"), "invalid": _("Enter a real date")},
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("period_start"), cleaned.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", _("The end of the period must be on or after its start"))
        return cleaned


class EvidenceForm(PortalFormMixin, forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("PDF, PNG, JPEG, Word (DOCX), Excel (XLSX), CSV or plain text"),
        error_messages={
            "required": _("Choose a file to upload"),
            "empty": _("The selected file is empty. Choose a file that has something in it."),
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg,.docx,.xlsx,.csv,.txt"}),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=500,
        help_text=_("What the file shows, for example: Minutes of the joint consultation meeting, 4 March 2026"),
        error_messages={"required": _("Describe what the file shows")},
    )
    effective_date = forms.DateField(
        label=_("Effective date"),
        widget=DateInput(),
        help_text=_("The date the document applies from"),
        error_messages={
            "required": _("Enter the date the document applies from"),
            "invalid": _("Enter a real date"),
        },
    )
    expiry_date = forms.DateField(
        label=_("Expiry date (optional)"),
        widget=DateInput(),
        required=False,
        help_text=_("When the document stops being valid, for example a certificate's end date"),
        error_messages={"invalid": _("Enter a real date")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("effective_date", timezone.localdate())
        limit_mb = settings.EVIDENCE_MAX_BYTES / (1024 * 1024)
        self.fields["file"].help_text = _(
            "PDF, PNG, JPEG, Word (DOCX), Excel (XLSX), CSV or plain text, smaller than %(size)s MB"
        ) % {"size": f"{limit_mb:g}"}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("effective_date"), cleaned.get("expiry_date")
        if start and end and end < start:
            self.add_error("expiry_date", _("The expiry date must be on or after the effective date"))
        return cleaned


class ActionItemForm(PortalFormMixin, forms.ModelForm):
    class Meta:
        model = ActionItem
        fields = ["title", "owner", "due_date", "status"]
        widgets = {"due_date": DateInput(), "status": forms.RadioSelect}
        error_messages = {
            "title": {"required": _("Say what needs doing")},
            "due_date": {"required": _("Enter the date it is due"), "invalid": _("Enter a real date")},
        }

    def __init__(self, *args: Any, members: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The title goes into the subjects of the action's reminders and of its "assigned to you" email.
        self.fields["title"].validators.append(SingleLineValidator(_("Title")))
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        # `members`: who can act on it (selectors.owner_choices); an owner given before stays offered.
        allowed = {m.pk for m in members} | ({self.instance.owner_id} if self.instance.owner_id else set())
        owner.queryset = User.objects.filter(pk__in=allowed).order_by("full_name", "email")
        owner.error_messages["invalid_choice"] = _("Choose an owner from the organisation's members who can act on it")
        owner.empty_label = str(_("No owner yet"))
        owner.label_from_instance = lambda user: user.display_name  # type: ignore[method-assign,assignment]
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)
        status.choices = ActionStatus.choices
        if self.instance._state.adding:  # a new action starts "not started"
            del self.fields["status"]
