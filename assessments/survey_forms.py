"""Forms for workforce surveys: the draft (questions), approval, codes, invitations and the code box."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from assessments.models import MIN_SURVEY_THRESHOLD, QuestionKind
from assessments.surveys import GROUPINGS, MAX_CODES, MAX_INVITATIONS, QUESTION_BANK, QuestionsInput
from portal.forms import PortalFormMixin
from portal.text import SingleLineValidator

OWN_QUESTIONS = 2
OWN_KINDS = [(QuestionKind.LIKERT, QuestionKind.LIKERT.label), (QuestionKind.YES_NO, QuestionKind.YES_NO.label)]


class SurveyForm(PortalFormMixin, forms.Form):
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        validators=[SingleLineValidator(_("Title"))],
        help_text=_("People see it at the top of the survey, for example “The new scanners: your views”."),
        error_messages={"required": _("Give the survey a title")},
    )
    introduction = forms.CharField(
        label=_("Introduction (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A sentence or two on what the survey is about and how the results will be used."),
    )
    bank_keys = forms.MultipleChoiceField(
        label=_("Questions from the question bank"),
        required=False,
        choices=[(q.key, q.text) for q in QUESTION_BANK],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Each is mapped to a principle. Choose four or five: a short survey gets more answers."),
    )
    own_0_text = forms.CharField(label=_("Your own question (optional)"), max_length=300, required=False)
    own_0_kind = forms.ChoiceField(
        label=_("Answered by"), choices=OWN_KINDS, initial=QuestionKind.LIKERT, widget=forms.RadioSelect, required=False
    )
    own_1_text = forms.CharField(label=_("Another question of your own (optional)"), max_length=300, required=False)
    own_1_kind = forms.ChoiceField(
        label=_("Answered by"), choices=OWN_KINDS, initial=QuestionKind.LIKERT, widget=forms.RadioSelect, required=False
    )
    comment_question = forms.CharField(
        label=_("A question answered in writing (optional)"),
        max_length=300,
        required=False,
        help_text=_(
            "For example “Is there anything else you want management to know?”. Written answers are shown only "
            "when the survey has enough responses, in an order that says nothing of who wrote them."
        ),
    )
    group_site = forms.CharField(
        label=GROUPINGS["site"],
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional. One answer per line, for example each site's name. Leave empty to not ask."),
    )
    group_shift = forms.CharField(
        label=GROUPINGS["shift"],
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional. One answer per line, for example Days, Nights, Weekends."),
    )
    group_department = forms.CharField(
        label=GROUPINGS["department"],
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional. One answer per line. Results are shown for a group only when it is large enough."),
    )
    threshold = forms.IntegerField(
        label=_("Fewest responses before any result is shown"),
        max_value=1000,  # the lower bound is the service's rule (assessments.surveys), reported with the rest
        initial=MIN_SURVEY_THRESHOLD,
        help_text=_("At least 5. The same rule applies to every group."),
        error_messages={
            "required": _("Say how many responses a result needs (at least 5)"),
            "max_value": _("Enter a number of responses up to %(limit_value)s"),
            "invalid": _("Enter a whole number, like 5"),
        },
    )

    def __init__(self, *args: Any, about_choices: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if about_choices:
            about = forms.ChoiceField(
                label=_("What is the survey about?"),
                choices=about_choices,
                required=False,
                help_text=_(
                    "A survey about a plan that closes while the plan is under review becomes part of the plan's "
                    "consultation record, which both sides sign."
                ),
            )
            self.fields = {"about": about, **self.fields}

    def questions_input(self) -> QuestionsInput:
        data = self.cleaned_data
        return QuestionsInput(
            title=data["title"],
            introduction=data.get("introduction", ""),
            threshold=data["threshold"],
            bank_keys=list(data.get("bank_keys") or []),
            own_questions=[
                (data.get(f"own_{i}_kind") or QuestionKind.LIKERT, data.get(f"own_{i}_text", ""))
                for i in range(OWN_QUESTIONS)
            ],
            comment_question=data.get("comment_question", ""),
            groupings={key: (data.get(f"group_{key}") or "").splitlines() for key in GROUPINGS},
        )

    @classmethod
    def initial_from(cls, data: QuestionsInput) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "title": data.title,
            "introduction": data.introduction,
            "threshold": data.threshold,
            "bank_keys": data.bank_keys,
            "comment_question": data.comment_question,
        }
        for i, (kind, text) in enumerate(data.own_questions[:OWN_QUESTIONS]):
            initial[f"own_{i}_kind"], initial[f"own_{i}_text"] = kind, text
        for key, options in data.groupings.items():
            initial[f"group_{key}"] = "\n".join(options)
        return initial


class ApproveForm(PortalFormMixin, forms.Form):
    typed_name = forms.CharField(
        label=_("Type your full name to approve"),
        max_length=150,
        validators=[SingleLineValidator(_("Your name"))],
        error_messages={"required": _("Type your full name to approve")},
    )


class CodesForm(PortalFormMixin, forms.Form):
    count = forms.IntegerField(
        label=_("How many codes?"),
        min_value=1,
        max_value=MAX_CODES,
        initial=20,
        help_text=_("One for each person who will answer on paper or a shared device, up to %(n)d at a time.")
        % {"n": MAX_CODES},
        error_messages={
            "required": _("Say how many codes to print"),
            "min_value": _("Print at least 1 code"),
            "max_value": _("Print at most %(limit_value)s codes at a time"),
            "invalid": _("Enter a whole number, like 20"),
        },
    )


class InviteForm(PortalFormMixin, forms.Form):
    addresses = forms.CharField(
        label=_("Email addresses"),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text=_(
            "One per line, or separated by commas, up to %(n)d at a time. Each person gets their own single-use "
            "link. The addresses are used to send the emails and are not kept."
        )
        % {"n": MAX_INVITATIONS},
        error_messages={"required": _("Enter at least one email address")},
    )


class CodeForm(PortalFormMixin, forms.Form):
    code = forms.CharField(
        label=_("Your code"),
        max_length=40,
        help_text=_("10 letters and numbers, like 7K3QP-M2XWD. It is on your printed slip or in your email."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
        error_messages={"required": _("Enter your code")},
    )
