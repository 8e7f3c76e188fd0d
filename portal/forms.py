"""Forms for the portal app, and the renderer that gives every form the portal's markup."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import lru_cache
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.forms.renderers import TemplatesSetting
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.choices import BaseChoiceIterator
from django.utils.html import conditional_escape, escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation, Sector, SizeBand, User
from portal.roles import ROLE_DESCRIPTIONS, Role
from portal.text import SingleLineValidator

_WIDGET_CLASSES: dict[type, str] = {
    forms.Textarea: "textarea",
    forms.Select: "select",
    forms.SelectMultiple: "select",
    forms.RadioSelect: "radios__input",
    forms.CheckboxInput: "checkboxes__input",
    forms.CheckboxSelectMultiple: "checkboxes__input",
}


def _decorate_widget(field: forms.BoundField) -> None:
    """Classes and ARIA wiring on a field's widget, whichever app's form it belongs to."""
    widget = field.field.widget
    css = next((_WIDGET_CLASSES[k] for k in type(widget).__mro__ if k in _WIDGET_CLASSES), "input")
    classes = set(widget.attrs.get("class", "").split())
    classes.add(css)
    if field.errors:
        classes.add("input--error")
        widget.attrs["aria-invalid"] = "true"
        described = [f"{field.auto_id}_error"]
        if field.help_text:
            described.insert(0, f"{field.auto_id}_helptext")
        widget.attrs["aria-describedby"] = " ".join(described)
    widget.attrs["class"] = " ".join(sorted(classes))


# The sign-in library's labels in the portal's words and sentence case. Keyed by the library's (English)
# label, so a label the library renames simply keeps its own wording.
_LIBRARY_LABELS = {
    "Email": _("Email address"),
    "E-mail": _("Email address"),
    "Remember Me": _("Remember me"),
    "Password (again)": _("Confirm password"),
    "Current Password": _("Current password"),
    "New Password": _("New password"),
    "New Password (again)": _("Confirm new password"),
    "Authenticator code": _("Code"),
}


def _portal_words(field: forms.BoundField) -> None:
    """Labels in the portal's words, and no placeholders: a label or hint says what to type, and a
    placeholder vanishes as soon as someone types."""
    label = _LIBRARY_LABELS.get(str(field.label))
    if label is not None:
        field.label = label
    field.field.widget.attrs.pop("placeholder", None)


class PortalFormRenderer(TemplatesSetting):
    """Every form (the portal's and allauth's) renders through templates/forms/: labels, hints,
    errors tied to their fields, and the error summary in the page layout."""

    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        if template_name == self.field_template_name and "field" in context:
            field = context["field"]
            _portal_words(field)
            _decorate_widget(field)
            if not field.use_fieldset and getattr(field.field.widget, "input_type", None) != "checkbox":
                return _written_field(field)
        elif template_name in _INPUT_TEMPLATES and "widget" in context:
            return _written_input(context["widget"])
        elif template_name == _TEXTAREA_TEMPLATE and "widget" in context:
            widget = context["widget"]
            value = conditional_escape(widget["value"]) if widget["value"] else ""
            name = conditional_escape(widget["name"])
            return f'<textarea name="{name}"{_template_attrs(widget["attrs"])}>\n{value}</textarea>'
        return super().render(template_name, context, request=request)


# Django's input widgets whose templates are only `{% include "django/forms/widgets/input.html" %}`
# (tests/portal/test_written_field.py checks they still are), and its textarea: written in Python,
# the same HTML, at a tenth of the templates' cost.
_INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html" for name in ("text", "email", "number", "password", "url", "date", "hidden")
)
_TEXTAREA_TEMPLATE = "django/forms/widgets/textarea.html"


def _written_input(widget: dict[str, Any]) -> str:
    """django/forms/widgets/input.html with its attrs.html, in Python."""
    value = widget["value"]
    # `|stringformat:'s'` keeps a safe string safe; anything else is written as text and escaped.
    text = conditional_escape(value) if isinstance(value, str) else escape(str(value))
    written = "" if value is None else f' value="{text}"'
    return (
        f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
        f"{written}{_template_attrs(widget['attrs'])}>"
    )


def _written_field(field: forms.BoundField) -> str:
    """templates/forms/field.html's last branch (a label, a hint, the errors, the widget: every field
    but radios, checkboxes and fieldsets), written in Python, byte for byte the template's
    (tests/portal/test_written_field.py draws every form's fields both ways). The template cost about
    a millisecond a field, most of a form page's own time; the other branches stay in the template."""
    errors = field.errors
    auto_id = conditional_escape(field.auto_id)
    help_text = field.help_text
    error_label = conditional_escape(gettext("Error:"))
    return "".join(
        (
            f'<div class="form-group{" form-group--error" if errors else ""}">\n\n  <label class="label" for="',
            conditional_escape(field.id_for_label),
            f'">{conditional_escape(field.label)}</label>\n  ',
            f'<div class="hint" id="{auto_id}_helptext">{help_text}</div>' if help_text else "",
            "\n  ",
            (
                f'<p class="error-message" id="{auto_id}_error">'
                + "<br>".join(
                    f'<span class="visually-hidden">{error_label}</span> {conditional_escape(cast(str, error))}'
                    for error in errors
                )
                + "</p>"
            )
            if errors
            else "",
            f"\n  {conditional_escape(cast(Any, field))}\n\n</div>",  # its __html__: the widget
        )
    )


def _template_attrs(attrs: dict[str, Any]) -> str:
    """Attributes as django/forms/widgets/attrs.html writes them: in order, True as a bare name, False
    left out, every other value as text, escaped."""
    return "".join(
        f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


class WrittenSelect(forms.Select):
    """A select whose HTML is written in Python: the same as Django's select templates, byte for byte
    (tests compare them), with the same rules as `ChoiceWidget.optgroups` for option groups and what is
    selected. Django renders each option through its own template (two includes per option) and
    builds a dictionary per option first, which cost more than the rest of a form page: the country
    list (about 250 options), the audit trail's actions."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        return self._written(name, attrs, self.options_html(self.format_value(value)))

    def _written(self, name: str, attrs: dict[str, Any] | None, options: str) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            final["multiple"] = True
        return mark_safe(  # noqa: S308 - the name and attributes escaped here, the options in options_html
            f'<select name="{conditional_escape(name)}"{_template_attrs(final)}>{options}\n</select>'
        )

    def options_html(self, chosen: list[str]) -> str:
        """The options (and option groups), escaped, those whose values are in `chosen` selected."""
        has_selected = False
        parts = []
        for option_value, option_label in self.choices:
            if isinstance(option_label, (list, tuple)):
                group_name, options = option_value, option_label
            else:
                group_name, options = None, [("" if option_value is None else option_value, option_label)]
            if group_name:
                parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            for subvalue, sublabel in options:
                selected = (not has_selected or self.allow_multiple_selected) and str(subvalue) in chosen
                has_selected |= selected
                parts.append(
                    f'\n  <option value="{escape(str(subvalue))}"{" selected" if selected else ""}>'
                    f"{conditional_escape(sublabel)}</option>\n"
                )
            if group_name:
                parts.append("\n  </optgroup>")
        return "".join(parts)


# The country list's options, nothing selected, by language and whether a blank choice leads them.
_COUNTRY_OPTIONS: dict[tuple[str | None, bool], str] = {}


class CountrySelect(WrittenSelect):
    """The country list (django_countries' ~250 countries, names in the active language), the same in
    every form: its options written by WrittenSelect once a process per language and reused, the
    chosen one marked selected. Reading the list (the names translated and sorted) and writing its
    options were still most of the supplier page's own time. The same HTML as WrittenSelect's, so as
    Django's (tests/portal/test_written_select.py). For CountryField choices only: the cache knows
    nothing of other choices (a field that is not required has django_countries' blank choice first,
    so that is part of the key)."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        chosen = self.format_value(value)
        if self.allow_multiple_selected or len(chosen) != 1:
            return super().render(name, value, attrs, renderer)
        # WrittenSelect selects the first option of that value: its tag as written, first found.
        tag = f'<option value="{escape(chosen[0])}">'
        return self._written(name, attrs, self._options().replace(tag, tag[:-1] + " selected>", 1))

    def _options(self) -> str:
        key = (get_language(), self.is_required)
        options = _COUNTRY_OPTIONS.get(key)
        if options is None:
            options = _COUNTRY_OPTIONS[key] = self.options_html([])
        return options

    def use_required_attribute(self, initial: Any) -> bool:
        """Select's rule (`required` only when the first option is blank) from the written options,
        not by reading the whole list again."""
        if self.allow_multiple_selected or not forms.Widget.use_required_attribute(self, initial):
            return super().use_required_attribute(initial)
        return self._options().startswith('\n  <option value="">')


class DateInput(forms.DateInput):
    """A native date picker. Browsers only accept yyyy-mm-dd as its value, whatever the locale."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None, format: str | None = None) -> None:
        super().__init__(attrs=attrs, format=format or "%Y-%m-%d")


def apply_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: at the field it names, else at the top."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


class PortalFormMixin:
    """Marker for the portal's own forms (the renderer does the styling)."""


def role_choices_with_hints() -> list[tuple[str, Any]]:
    return [(role.value, role.label) for role in Role]


_REQUIRED_MESSAGES = {
    "login": _("Enter your email address"),
    "email": _("Enter your email address"),
    "password": _("Enter your password"),
    "password1": _("Enter a password"),
    "password2": _("Enter the same password again"),
    "full_name": _("Enter your full name"),
}
_INVALID_EMAIL = _("Enter an email address in the correct format, like name@example.com")


def specific_messages(form: forms.Form) -> None:
    """Say what to do ("Enter your email address"), not just "This field is required"."""
    for name, field in form.fields.items():
        if name in _REQUIRED_MESSAGES:
            field.error_messages["required"] = _REQUIRED_MESSAGES[name]
        if isinstance(field, forms.EmailField):
            field.error_messages["invalid"] = _INVALID_EMAIL


class SignupDetailsForm(PortalFormMixin, forms.Form):
    """Extra fields on allauth's sign-up form (allauth builds its form on top of this class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        specific_messages(self)

    full_name = forms.CharField(
        label=_("Full name"),
        max_length=150,
        help_text=_("As you would sign it: it appears on signatures and in the audit trail."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        validators=[SingleLineValidator(_("Full name"))],
    )

    def signup(self, request: Any, user: User) -> None:
        user.full_name = self.cleaned_data["full_name"].strip()
        user.save(update_fields=["full_name"])


class OrganisationForm(PortalFormMixin, forms.ModelForm):
    # Size is required (every organisation has one, and reports print it): radios offer only real
    # sizes, never Django's "---------" blank choice, and nothing is chosen until the person chooses.
    size_band = forms.ChoiceField(
        label=_("How many people do you employ?"),
        choices=SizeBand.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Select how many people you employ")},
    )
    sector = forms.ChoiceField(
        label=_("Sector"),
        choices=[("", _("Select your sector")), *Sector.choices],
        error_messages={"required": _("Select your sector")},
    )

    class Meta:
        model = Organisation
        fields = ["name", "company_number", "sector", "size_band", "country"]
        help_texts = {
            "name": _("The name your workforce and suppliers know you by."),
            "company_number": _("Optional. Your Companies House number, for example 01234567."),
        }
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "organization"}),
            "country": CountrySelect,  # about 250 options: Django's template per option cost most of the page
        }
        error_messages = {
            "name": {"required": _("Enter your organisation's name")},
            "country": {"required": _("Select your country")},
        }

    def clean_name(self) -> str:
        SingleLineValidator(_("Name"))(self.cleaned_data["name"])  # it appears in email subjects
        return str(self.cleaned_data["name"])

    def clean_company_number(self) -> str:
        value = self.cleaned_data["company_number"].strip().upper().replace(" ", "")
        if value and not (6 <= len(value) <= 10 and value.isalnum()):
            raise forms.ValidationError(
                _("Enter a company number of 6 to 10 letters and digits, like 01234567 or SC123456")
            )
        return value


class RoleChoiceField(forms.ChoiceField):
    widget = forms.RadioSelect

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=role_choices_with_hints(), **kwargs)
        self.hints = {role.value: ROLE_DESCRIPTIONS[role] for role in Role}


class InvitationForm(PortalFormMixin, forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        help_text=_("We will email them a link to join. It works once and expires."),
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={
            "required": _("Enter the email address of the person to invite"),
            "invalid": _INVALID_EMAIL,
        },
    )
    role = RoleChoiceField(label=_("Role"), error_messages={"required": _("Select the role they will have")})
    access_until = forms.DateField(
        label=_("Auditor access until"),
        required=False,
        help_text=_("Needed for auditors: their access ends at the end of this day without anyone acting."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a real date")},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        until = cleaned.get("access_until")
        if cleaned.get("role") == Role.AUDITOR:
            if until is None:
                self.add_error("access_until", _("Enter the date the auditor's access ends"))
            elif until <= timezone.localdate():
                self.add_error("access_until", _("The access end date must be in the future"))
        elif until is not None:
            cleaned["access_until"] = None  # only auditors' access expires
        return cleaned


class RoleForm(PortalFormMixin, forms.Form):
    role = RoleChoiceField(label=_("Role"), error_messages={"required": _("Select a role")})


class ProfileForm(PortalFormMixin, forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name"]
        help_texts = {"full_name": _("Shown on signatures, comments and in the audit trail.")}

    def clean_full_name(self) -> str:
        SingleLineValidator(_("Full name"))(self.cleaned_data["full_name"])  # it appears in email subjects
        return str(self.cleaned_data["full_name"])


# The audit trail's empty filter form, rendered, by language and the actions it lists (AuditFilterForm.render).
_EMPTY_AUDIT_FILTERS: dict[tuple[str | None, str], SafeString] = {}


class AuditFilterForm(PortalFormMixin, forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200, help_text=_("Person, target or action"))
    verb = forms.ChoiceField(label=_("Action"), required=False, widget=WrittenSelect)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args: Any, verbs: list[tuple[str, list[tuple[str, str]]]], **kwargs: Any) -> None:
        """`verbs`: the actions grouped for the list (portal.activity.verb_choices)."""
        super().__init__(*args, **kwargs)
        self._verbs = verbs
        verb_field = cast(forms.ChoiceField, self.fields["verb"])
        verb_field.choices = [("", _("All actions")), *verbs]

    def render(self, template_name: str | None = None, context: Any = None, renderer: Any = None) -> SafeString:
        """The empty form (every visit to the audit trail that filters nothing) is the same HTML for
        the same language and actions: written through the field templates once per process, then
        reused. A filled-in form is written each time (its values and errors)."""
        if self.is_bound or template_name is not None or context is not None or renderer is not None:
            return super().render(template_name, context, renderer)
        key = (get_language(), repr(self._verbs))
        html = _EMPTY_AUDIT_FILTERS.get(key)
        if html is None:
            html = _EMPTY_AUDIT_FILTERS[key] = super().render()
        return html

    # Django binds `__str__` and `__html__` (what `{{ form }}` calls) to its own `render`: point them here.
    def __str__(self) -> SafeString:
        return self.render()

    def __html__(self) -> SafeString:
        return self.render()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("date_from") and cleaned.get("date_to") and cleaned["date_from"] > cleaned["date_to"]:
            self.add_error("date_to", _("The end date must be the same as or after the start date"))
        return cleaned


EXPIRY_CHOICES = [
    ("30", _("30 days")),
    ("90", _("90 days")),
    ("365", _("1 year")),
    ("never", _("No expiry")),
]


class ApiTokenForm(PortalFormMixin, forms.Form):
    """A new personal API token: what it is for, where it works and with which role, how long."""

    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("What will use it, so you can tell your tokens apart, for example ‘SAP supplier sync’."),
        error_messages={"required": _("Enter a name for the token")},
    )
    access = forms.ChoiceField(
        label=_("Organisation and role"),
        help_text=_("A token works in one organisation, with your role there or a narrower one."),
        error_messages={"required": _("Choose where the token works and with which role")},
    )
    expiry = forms.ChoiceField(
        label=_("Expires after"),
        choices=EXPIRY_CHOICES,
        initial="90",
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose when the token expires")},
    )

    def __init__(self, *args: Any, access_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["access"]).choices = access_choices
        if len(access_choices) == 1:
            self.fields["access"].initial = access_choices[0][0]

    def expires_at(self) -> Any:
        value = self.cleaned_data["expiry"]
        return None if value == "never" else timezone.now() + timedelta(days=int(value))


class AccountDeleteForm(PortalFormMixin, forms.Form):
    """The person proves it is them before their account goes: their password (or, with no password,
    their email address)."""

    confirmation = forms.CharField(max_length=254, strip=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        field = self.fields["confirmation"]
        field.error_messages["required"] = (
            _("Enter your password") if user.has_usable_password() else _("Enter your email address")
        )
        if user.has_usable_password():
            field.label = _("Your password")
            field.help_text = _("Type your password again to confirm it is you.")
            field.widget = forms.PasswordInput(attrs={"autocomplete": "current-password"})
        else:
            field.label = _("Your email address")
            field.help_text = _("Type the email address you sign in with to confirm.")
            field.widget = forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"})

    def clean_confirmation(self) -> str:
        from portal.privacy import account_confirmation_matches

        typed = self.cleaned_data.get("confirmation", "")
        if not account_confirmation_matches(self.user, typed):
            raise ValidationError(
                _("The password is not right")
                if self.user.has_usable_password()
                else _("That is not your email address")
            )
        return typed


@lru_cache(maxsize=1)
def _time_zone_choices() -> list[tuple[str, str]]:
    from portal.notifications import time_zones

    return [(z, z.replace("_", " ")) for z in sorted(time_zones())]


@lru_cache(maxsize=4)
def _options_html(choices: tuple[tuple[str, str], ...]) -> str:
    return format_html_join("", '<option value="{}">{}</option>', choices)


class FixedChoices(BaseChoiceIterator):
    """Choices that are the same for the life of the process (the time zones), read from `load` (a
    cached function returning (value, label) strings) as they are: Django normalises a callable's
    choices item by item on every pass (the field's validation, the widget's required check, its
    render), hundreds of calls each for the time zones."""

    def __init__(self, load: Callable[[], list[tuple[str, str]]]) -> None:
        self.load = load

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.load())

    def options_html(self) -> str:
        return _fixed_options_html(self.load)


@lru_cache(maxsize=4)
def _fixed_options_html(load: Callable[[], list[tuple[str, str]]]) -> str:
    return format_html_join("", '<option value="{}">{}</option>', load())


class ManyOptionsSelect(forms.Select):
    """A select with hundreds of options (the time zones), written once as HTML and reused: Django
    renders each option through its own template, which cost more than the rest of the page together."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        final = {**self.build_attrs(self.attrs, attrs), "name": name}
        choices = self.choices
        options = (
            choices.options_html()
            if isinstance(choices, FixedChoices)
            else _options_html(tuple((str(k), str(v)) for k, v in choices))
        )
        if value not in (None, ""):
            chosen = format_html('<option value="{}">', value)
            options = options.replace(chosen, chosen[:-1] + " selected>", 1)
        return format_html("<select{}>{}</select>", flatatt(final), mark_safe(options))  # noqa: S308 - built by format_html


class NotificationPreferencesForm(PortalFormMixin, forms.Form):
    """For every kind of notification that can be emailed, how the person hears of it; and their time
    zone, where the daily summary goes out at 08:00."""

    def __init__(self, *args: Any, current: dict[str, str], time_zone: str, **kwargs: Any) -> None:

        from portal.models import Delivery
        from portal.notifications import KINDS

        super().__init__(*args, **kwargs)
        labels = {
            "immediate": _("Straight away"),
            "digest": _("In a daily summary"),
            "off": _("Off (only in the portal)"),
        }
        for key, kind in KINDS.items():
            if not kind.emailed:
                continue
            self.fields[f"kind_{key}"] = forms.ChoiceField(
                label=kind.label,
                choices=[(value, labels[value]) for value in Delivery.values],
                widget=forms.RadioSelect,
                initial=current.get(key, kind.default),
                error_messages={
                    "required": _("Choose how you hear of this: straight away, in a daily summary, or off"),
                    "invalid_choice": _("Choose how you hear of this: straight away, in a daily summary, or off"),
                },
            )
        self.fields["time_zone"] = forms.ChoiceField(
            label=_("Your time zone"),
            help_text=_("The daily summary is sent at 08:00 in this time zone."),
            choices=FixedChoices(_time_zone_choices),  # read once a process, not copied for every form
            widget=ManyOptionsSelect,
            initial=time_zone,
            error_messages={
                "required": _("Choose your time zone"),
                "invalid_choice": _("Choose a time zone from the list, for example Europe/London"),
            },
        )

    def choices(self) -> dict[str, str]:
        return {
            name.removeprefix("kind_"): value for name, value in self.cleaned_data.items() if name.startswith("kind_")
        }
