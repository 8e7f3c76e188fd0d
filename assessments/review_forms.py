from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from assessments.models import ConsultationOutcome, EqiaOutcome, Plan, PlanKind
from portal.forms import DateInput, PortalFormMixin
from portal.models import SignatureDecision
from portal.text import SingleLineValidator


class CommentForm(PortalFormMixin, forms.Form):
    body = forms.CharField(
        label=_("Comment"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write your comment")},
    )


class ChangeRequestForm(PortalFormMixin, forms.Form):
    reasons = forms.CharField(
        label=_("What needs to change, and why?"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Management sees this word for word and answers it before sending the item back to you."),
        error_messages={"required": _("Say what needs to change, and why")},
    )


class AnswerForm(PortalFormMixin, forms.Form):
    answer = forms.CharField(
        label=_("Your answer"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Say what you changed, or why you did not. The representative who asked is emailed."),
        error_messages={"required": _("Write your answer")},
    )


class SignForm(PortalFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label=_("What is your decision?"),
        choices=SignatureDecision.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose whether to sign, sign with reservations or decline")},
    )
    reservations = forms.CharField(
        label=_("Your reservations"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Needed if you sign with reservations. They are recorded word for word and carried into reports."),
    )
    reasons = forms.CharField(
        label=_("Your reasons for declining"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Needed if you decline. The item goes back to management with these reasons."),
    )
    typed_name = forms.CharField(
        label=_("Your full name"),
        max_length=150,
        help_text=_("Typing your name is your signature."),
        error_messages={"required": _("Type your full name to sign")},
    )
    job_title = forms.CharField(label=_("Job title or position"), max_length=150, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        decision = self.fields["decision"]
        assert isinstance(decision, forms.ChoiceField)
        decision.hints = {  # type: ignore[attr-defined]
            SignatureDecision.SIGN: _("You agree with it as it stands."),
            SignatureDecision.SIGN_WITH_RESERVATIONS: _("You agree, and record concerns that stay with it."),
            SignatureDecision.DECLINE: _("You do not agree: it goes back for changes."),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("decision") == SignatureDecision.SIGN_WITH_RESERVATIONS
            and not cleaned.get("reservations", "").strip()
        ):
            self.add_error("reservations", _("Write down your reservations: they are recorded word for word"))
        if cleaned.get("decision") == SignatureDecision.DECLINE and not cleaned.get("reasons", "").strip():
            self.add_error("reasons", _("Give your reasons for declining"))
        return cleaned


class PlanCreateForm(PortalFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("What kind of plan is it?"),
        # A DPIA is started from its system in the technology register.
        choices=[(value, label) for value, label in PlanKind.choices if value != PlanKind.DPIA],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the kind of plan")},
    )
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        help_text=_("For example: Vision inspection cells, line 3"),
        error_messages={"required": _("Enter a title for the plan")},
        validators=[SingleLineValidator(_("Title"))],  # it goes into the review emails' subjects
    )


def section_form(fields: list[str]) -> type[forms.ModelForm]:
    """A form for one plan section's fields."""
    widgets: dict[str, Any] = {}
    for name in fields:
        model_field = Plan._meta.get_field(name)
        if name == "shared_on":
            widgets[name] = DateInput()
        elif name == "consultation_outcome":
            widgets[name] = forms.RadioSelect
        elif model_field.get_internal_type() == "TextField":
            widgets[name] = forms.Textarea(attrs={"rows": 4})
    meta = type("Meta", (), {"model": Plan, "fields": fields, "widgets": widgets})
    form_class = type("PlanSectionForm", (PortalFormMixin, forms.ModelForm), {"Meta": meta})

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        forms.ModelForm.__init__(self, *args, **kwargs)
        if "consultation_outcome" in self.fields:
            outcome = self.fields["consultation_outcome"]
            outcome.choices = [("", _("Not decided yet")), *ConsultationOutcome.choices]
            outcome.hints = {ConsultationOutcome.NOT_AGREED: _("The plan cannot be agreed while this is the outcome.")}

    form_class.__init__ = init  # type: ignore[attr-defined,misc]
    return form_class


class MeetingForm(PortalFormMixin, forms.Form):
    held_on = forms.DateField(
        label=_("Date of the meeting"),
        widget=DateInput(),
        error_messages={"required": _("Enter the date of the meeting"), "invalid": _("Enter a real date")},
    )
    participants = forms.CharField(
        label=_("Who took part"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Names and roles, including the representatives"),
        error_messages={"required": _("Say who took part")},
    )
    notes = forms.CharField(
        label=_("What was discussed (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )


class ReviewDateForm(PortalFormMixin, forms.Form):
    review_due = forms.DateField(
        label=_("Review date"),
        widget=DateInput(),
        help_text=_("By default a plan is reviewed 12 months after it became final. Choose a date within 3 years."),
        error_messages={"required": _("Enter the review date"), "invalid": _("Enter a real date")},
    )


EQIA_OUTCOME_HINTS = {
    EqiaOutcome.NO_MAJOR_CHANGE: _("No potential for discrimination or adverse impact was found."),
    EqiaOutcome.ADJUST: _("Remove barriers or better promote equality: each mitigation becomes an action."),
    EqiaOutcome.CONTINUE: _("Adverse impact remains but is justified: you must explain why."),
    EqiaOutcome.STOP: _("The plan shows unlawful discrimination or cannot be justified: it cannot be agreed."),
}
