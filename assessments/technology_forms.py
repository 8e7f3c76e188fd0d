"""Forms for the technology register and the new technology agreement. They check what a browser can get
wrong (a date, a number); the rules are assessments/technology.py's, reported at the field they name."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from assessments.models import AgreementClause, SystemStatus, TechnologySystem, WorkerDecision
from assessments.technology import CLAUSE_LIBRARY, COMMITTEE, NOTICE, ClauseInput
from portal.forms import DateInput, PortalFormMixin
from portal.text import SingleLineValidator

_DATE_ERRORS = {"invalid": _("Enter a real date, like 3 December 2026")}
_YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class SystemForm(PortalFormMixin, forms.Form):
    name = forms.CharField(
        label=_("Name of the system"),
        max_length=200,
        validators=[SingleLineValidator(_("Name"))],
        help_text=_("What people at work call it, for example “Line 3 productivity dashboard”."),
        error_messages={"required": _("Enter the system's name")},
    )
    supplier_name = forms.CharField(
        label=_("Supplier (optional)"),
        max_length=200,
        required=False,
        validators=[SingleLineValidator(_("Supplier"))],
        help_text=_("The company that provides it, or leave empty if it was built in-house."),
    )
    purpose = forms.CharField(
        label=_("What it is for (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    sites = forms.CharField(label=_("Sites affected (optional)"), max_length=300, required=False)
    teams = forms.CharField(label=_("Teams affected (optional)"), max_length=300, required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=SystemStatus.choices,
        initial=SystemStatus.PLANNED,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose planned, piloting, live or retired")},
    )
    go_live_on = forms.DateField(
        label=_("Go-live date (optional)"),
        required=False,
        widget=DateInput,
        help_text=_(
            "The day it is, or will be, used for real. Under a new technology agreement, notice is due before it."
        ),
        error_messages=_DATE_ERRORS,
    )
    worker_data = forms.CharField(
        label=_("Data it collects about workers (optional)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example badge-in times, location, keystrokes, output per person. Leave empty if none."),
    )
    monitors_people = forms.TypedChoiceField(
        label=_("Does it monitor people?"),
        choices=_YES_NO,
        coerce=lambda value: value == "yes",
        initial="no",
        widget=forms.RadioSelect,
        help_text=_("Where they are, what they do or how fast they work, whether or not anyone looks."),
        error_messages={"required": _("Say whether it monitors people")},
    )
    decisions = forms.MultipleChoiceField(
        label=_("Decisions about people it makes or supports (optional)"),
        choices=WorkerDecision.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick each one, even if a person takes the final decision."),
        error_messages={"invalid_choice": _("Choose from: allocation of work, performance, discipline, hiring")},
    )

    @classmethod
    def initial_from(cls, system: TechnologySystem) -> dict[str, Any]:
        initial: dict[str, Any] = {name: getattr(system, name) for name in cls.base_fields}
        initial["monitors_people"] = "yes" if system.monitors_people else "no"
        return initial

    def values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class NoticeForm(PortalFormMixin, forms.Form):
    notice_given_on = forms.DateField(
        label=_("Date notice was given to the representatives (optional)"),
        required=False,
        widget=DateInput,
        help_text=_("The day the representatives received written notice of the system. Leave empty if not yet."),
        error_messages=_DATE_ERRORS,
    )
    committee_met_on = forms.DateField(
        label=_("Date the joint technology committee met on it (optional)"),
        required=False,
        widget=DateInput,
        help_text=_("Once the meeting has been held."),
        error_messages=_DATE_ERRORS,
    )


class LinksForm(PortalFormMixin, forms.Form):
    plans = forms.MultipleChoiceField(label=_("Plans"), required=False, widget=forms.CheckboxSelectMultiple, choices=[])
    criteria = forms.MultipleChoiceField(
        label=_("Self-assessment criteria"), required=False, widget=forms.CheckboxSelectMultiple, choices=[]
    )
    evidence = forms.MultipleChoiceField(
        label=_("Evidence"), required=False, widget=forms.CheckboxSelectMultiple, choices=[]
    )

    def __init__(
        self,
        *args: Any,
        plans: list[tuple[str, str]],
        criteria: list[tuple[str, str]],
        evidence: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        for name, choices in (("plans", plans), ("criteria", criteria), ("evidence", evidence)):
            field = self.fields[name]
            assert isinstance(field, forms.MultipleChoiceField)
            field.choices = choices
        # A list with nothing to choose from is not shown: the page says where to add some.
        for name, choices in (("plans", plans), ("criteria", criteria), ("evidence", evidence)):
            if not choices:
                del self.fields[name]


class AgreementCreateForm(PortalFormMixin, forms.Form):
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        validators=[SingleLineValidator(_("Title"))],
        initial=_("New technology agreement"),
        error_messages={"required": _("Enter a title for the agreement")},
    )
    clauses = forms.MultipleChoiceField(
        label=_("Clauses to start from"),
        choices=[(c.key, c.title) for c in CLAUSE_LIBRARY],
        initial=[c.key for c in CLAUSE_LIBRARY],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Each clause can be adapted afterwards, and clauses of your own added."),
        error_messages={"required": _("Choose at least one clause to start from")},
    )

    def __init__(self, *args: Any, copying: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if copying:  # a new version starts from the clauses of the agreement in force
            del self.fields["clauses"]


_CLAUSE_NUMBER = re.compile(r"\d+")


class AgreementForm(PortalFormMixin, forms.Form):
    """The draft's title and each of its clauses in order (heading, wording, days for the two clauses that
    set a clock, and "remove"), plus one empty row to add a clause of the parties' own. Rows are numbered
    from 1 as `clause_<n>_<field>`, as the service names its errors."""

    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        validators=[SingleLineValidator(_("Title"))],
        error_messages={"required": _("Enter a title for the agreement")},
    )

    def __init__(self, *args: Any, clauses: list[AgreementClause], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows: list[dict[str, Any]] = []
        for n, clause in enumerate([*clauses, None], start=1):
            prefix = f"clause_{n}"
            key = clause.key if clause is not None else ""
            new = clause is None
            self.fields[f"{prefix}_title"] = forms.CharField(
                label=_("Heading") if not new else _("Heading of the new clause"),
                max_length=200,
                required=False,
                initial=clause.title if clause is not None else "",
                validators=[SingleLineValidator(_("Heading"))],
            )
            self.fields[f"{prefix}_text"] = forms.CharField(
                label=_("Wording"),
                required=False,
                max_length=10000,
                initial=clause.text if clause is not None else "",
                widget=forms.Textarea(attrs={"rows": 5}),
                help_text=_("“{days}” stands for the number of days below: keep it where the number goes.")
                if key in (NOTICE, COMMITTEE)
                else "",
            )
            if key in (NOTICE, COMMITTEE):
                self.fields[f"{prefix}_days"] = forms.IntegerField(
                    label=_("Number of days"),
                    required=False,
                    initial=clause.days if clause is not None else None,
                    widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "input--width-4"}),
                    help_text=_("Notice before introduction: how many days before go-live.")
                    if key == NOTICE
                    else _("How many days after notice the committee meets, at the latest."),
                    error_messages={"invalid": _("Enter the number of days as a whole number, like 90")},
                )
            if not new:
                self.fields[f"{prefix}_remove"] = forms.BooleanField(label=_("Remove this clause"), required=False)
            self.rows.append({"n": n, "key": key, "new": new, "clause": clause})

    def clause_rows(self) -> list[dict[str, Any]]:
        """Each row with its bound fields, for the template."""
        result = []
        for row in self.rows:
            prefix = f"clause_{row['n']}"
            result.append(
                {
                    **row,
                    "title": self[f"{prefix}_title"],
                    "text": self[f"{prefix}_text"],
                    "days": self[f"{prefix}_days"] if f"{prefix}_days" in self.fields else None,
                    "remove": self[f"{prefix}_remove"] if f"{prefix}_remove" in self.fields else None,
                }
            )
        return result

    def clause_inputs(self) -> tuple[list[ClauseInput], list[int]]:
        """The clauses to keep, in order, and for each the row number it came from (the service numbers
        the clauses it is given; removed rows and an empty new row are not given)."""
        data = self.cleaned_data
        inputs: list[ClauseInput] = []
        rows: list[int] = []
        for row in self.rows:
            prefix = f"clause_{row['n']}"
            if data.get(f"{prefix}_remove"):
                continue
            title, text = data.get(f"{prefix}_title") or "", data.get(f"{prefix}_text") or ""
            if row["new"] and not title.strip() and not text.strip():
                continue
            inputs.append(ClauseInput(title=title, text=text, key=row["key"], days=data.get(f"{prefix}_days")))
            rows.append(row["n"])
        return inputs, rows

    def apply_service_errors(self, error: ValidationError, rows: list[int]) -> None:
        """The service's errors at the rows they are about: its clause numbers count only the clauses it was
        given, so they are mapped back to the rows on the page (and the number in the message with them)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, errors in error.error_dict.items():
            match = re.fullmatch(r"clause_(\d+)_(title|text|days)", name)
            if match is None:
                self.add_error(name if name in self.fields else None, errors)
                continue
            given = int(match.group(1))
            row = rows[given - 1] if given <= len(rows) else given
            field = f"clause_{row}_{match.group(2)}"
            messages = [
                _CLAUSE_NUMBER.sub(str(row), message, count=1) if row != given else message
                for e in errors
                for message in e.messages
            ]
            self.add_error(field if field in self.fields else None, messages)


class AgreementSignForm(PortalFormMixin, forms.Form):
    typed_name = forms.CharField(
        label=_("Your full name"),
        max_length=150,
        validators=[SingleLineValidator(_("Your name"))],
        help_text=_("Typing your name is your signature."),
        error_messages={"required": _("Type your full name to sign")},
    )
    job_title = forms.CharField(
        label=_("Job title or position (optional)"),
        max_length=150,
        required=False,
        validators=[SingleLineValidator(_("Job title"))],
    )
