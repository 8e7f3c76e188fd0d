from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.forms import CountrySelect, DateInput, PortalFormMixin
from portal.text import SingleLineValidator
from supplychain.models import Supplier


class SupplierForm(PortalFormMixin, forms.ModelForm):
    class Meta:
        model = Supplier
        fields = ["name", "contact_name", "contact_email", "company_number", "country"]
        widgets = {"country": CountrySelect}  # about 250 options: Django's template per option cost most of the page
        help_texts = {
            "contact_email": _("The person who can commit the supplier: the invitation goes to this address."),
            "company_number": _("Optional. Used to recognise the same company in later imports."),
        }
        error_messages = {
            "name": {"required": _("Enter the supplier's name")},
            "contact_email": {
                "required": _("Enter the contact's email address"),
                "invalid": _("Enter an email address in the correct format, like name@example.com"),
            },
        }


class ImportForm(PortalFormMixin, forms.Form):
    file = forms.FileField(
        label=_("CSV or Excel file"),
        help_text=_("Up to 10,000 suppliers, in the template's columns: a .csv file, or an .xlsx workbook."),
        error_messages={"required": _("Choose a CSV or Excel file to import")},
        widget=forms.ClearableFileInput(
            attrs={"accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        ),
    )


class CampaignForm(PortalFormMixin, forms.Form):
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        help_text=_("For your own reference, e.g. Supplier commitment 2026"),
        error_messages={"required": _("Enter a title")},
        validators=[SingleLineValidator(_("Title"))],
    )
    message = forms.CharField(
        label=_("Message to your suppliers"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Why you are asking, and what you hope they will do. It is in the email they receive."),
        error_messages={"required": _("Write a message to your suppliers")},
    )
    depth = forms.TypedChoiceField(
        label=_("How far down your supply chain?"),
        coerce=int,
        widget=forms.RadioSelect,
        choices=[
            (1, _("Tier 1 only: my direct suppliers")),
            (2, _("2 tiers: they pass it on once")),
            (3, _("3 tiers")),
            (4, _("4 tiers")),
            (5, _("5 tiers")),
        ],
        error_messages={"required": _("Choose how many tiers the request goes down")},
    )
    due_date = forms.DateField(
        label=_("Reply by"),
        widget=DateInput(),
        error_messages={"required": _("Enter the date you need replies by"), "invalid": _("Enter a real date")},
    )
    reminder_days = forms.CharField(
        label=_("Send reminders this many days after the invitation"),
        required=False,
        initial="3, 8, 15",
        help_text=_("Separate the days with commas. Suppliers who have replied get no reminders."),
    )
    reminders_muted = forms.BooleanField(label=_("Send no reminders"), required=False)
    everyone = forms.TypedChoiceField(
        label=_("Which suppliers?"),
        coerce=lambda v: v == "all",
        widget=forms.RadioSelect,
        choices=[("all", _("Every supplier in my register")), ("chosen", _("Only the suppliers I choose below"))],
        initial="all",
        error_messages={"required": _("Choose which suppliers to ask")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("due_date", timezone.localdate() + timedelta(days=30))

    def clean_reminder_days(self) -> list[int]:
        raw = self.cleaned_data.get("reminder_days", "")
        try:
            days = sorted({int(part) for part in str(raw).replace(";", ",").split(",") if part.strip()})
        except ValueError:
            raise forms.ValidationError(_("Enter whole numbers of days separated by commas, like 3, 8, 15")) from None
        if any(d < 1 or d > 60 for d in days):
            raise forms.ValidationError(_("Reminder days must be between 1 and 60"))
        return days

    def clean_due_date(self) -> Any:
        due = self.cleaned_data["due_date"]
        if due <= timezone.localdate():
            raise forms.ValidationError(_("The reply-by date must be in the future"))
        return due


class DeclineForm(PortalFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why are you declining?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The buyer sees this."),
        error_messages={"required": _("Say why you are declining, so the buyer understands")},
    )


class HeldAnswerForm(PortalFormMixin, forms.Form):
    """The buyer decides whether the organisation that answered through the link is the supplier it asked."""

    decision = forms.ChoiceField(
        label=_("Is this the supplier you asked?"),
        widget=forms.RadioSelect,
        choices=[
            ("confirm", _("Yes, confirm the answer: this organisation is the supplier I asked")),
            ("reject", _("No, reject the answer: the request keeps waiting for the supplier I asked")),
        ],
        error_messages={"required": _("Choose whether to confirm or reject the answer")},
    )
