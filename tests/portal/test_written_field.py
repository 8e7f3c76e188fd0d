"""The portal's field template's last branch (label, hint, errors, widget) is written in Python
(portal.forms._written_field): byte for byte what templates/forms/field.html draws, for every field
of the portal's forms, empty and in error, and for hostile labels, hints and errors."""

from __future__ import annotations

import pytest
from django import forms
from django.forms.renderers import TemplatesSetting
from django.utils.safestring import mark_safe

from portal.activity import verb_choices
from portal.forms import (
    AccountDeleteForm,
    ApiTokenForm,
    AuditFilterForm,
    InvitationForm,
    OrganisationForm,
    PortalFormRenderer,
    ProfileForm,
    RoleForm,
    SignupDetailsForm,
)
from portal.models import User
from supplychain.forms import CampaignForm, DeclineForm, HeldAnswerForm, ImportForm, SupplierForm


class Hostile(forms.Form):
    name = forms.CharField(
        label='Name <script>alert("x")</script> & co',
        help_text="A <em>hint</em> &amp; more",  # written as it is, as the template's |safe does
        max_length=3,
    )
    number = forms.IntegerField(label="", min_value=10, max_value=5)  # two errors at once
    safe_label = forms.CharField(label=mark_safe("<abbr>VAT</abbr> number"), required=False)
    notes = forms.CharField(widget=forms.Textarea, required=False, label="Notes")

    def clean_name(self) -> str:
        raise forms.ValidationError(['First <b>"bad"</b> & wrong', "Second"])


def _allauth_forms(data: dict[str, str] | None) -> list[forms.BaseForm]:
    """The sign-in library's forms go through the same renderer (their labels in the portal's words)."""
    from allauth.account.forms import LoginForm, ResetPasswordForm, SignupForm

    return [LoginForm(data, request=None), SignupForm(data), ResetPasswordForm(data)]


def _forms() -> list[forms.BaseForm]:
    user = User(email="ann@example.com", full_name="Ann")
    user.set_password("secret-password-1")
    made: list[forms.BaseForm] = []
    for data in (None, {}, {"name": "Acme <b>&", "number": "1", "email": "not an email", "due_date": "x"}):
        made += [
            SupplierForm(data),
            OrganisationForm(data),
            CampaignForm(data),
            DeclineForm(data),
            HeldAnswerForm(data),
            ImportForm(data, {}),
            InvitationForm(data),
            RoleForm(data),
            ProfileForm(data),
            SignupDetailsForm(data),
            AuditFilterForm(data, verbs=verb_choices()),
            ApiTokenForm(data, access_choices=[("a", "Acme, owner"), ("b", "Beta <x>, member")]),
            AccountDeleteForm(data, user=user),
            Hostile(data),
            Hostile(data, auto_id=False),
            Hostile(data, prefix="p<x>"),
            *_allauth_forms(data),
        ]
    return made


@pytest.mark.parametrize("form", _forms(), ids=lambda f: f"{type(f).__name__}-{'bound' if f.is_bound else 'unbound'}")
def test_every_field_is_drawn_as_the_template_draws_it(form) -> None:
    form.is_valid()
    renderer = form.renderer
    assert isinstance(renderer, PortalFormRenderer)
    written = 0
    for field in form:
        ours = field.as_field_group()
        template = TemplatesSetting.render(renderer, renderer.field_template_name, {"field": field})
        assert ours == template, field.name
        written += not field.use_fieldset and getattr(field.field.widget, "input_type", None) != "checkbox"
    assert written or isinstance(form, (HeldAnswerForm, RoleForm))  # those have only radios


def test_the_hostile_form_escapes_what_it_must() -> None:
    form = Hostile({"name": "x", "number": "7"})
    form.is_valid()
    html = str(form["name"].as_field_group())
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in html
    assert "A <em>hint</em> &amp; more" in html
    assert "First &lt;b&gt;&quot;bad&quot;&lt;/b&gt; &amp; wrong<br>" in html
    assert "<abbr>VAT</abbr> number" in str(form["safe_label"].as_field_group())
    assert html.startswith('<div class="form-group form-group--error">')


def test_the_input_templates_written_in_python_are_still_djangos_include() -> None:
    """Each template portal.forms writes in Python is still what Django ships: an input, or its textarea."""
    from pathlib import Path

    import django

    from portal.forms import _INPUT_TEMPLATES, _TEXTAREA_TEMPLATE

    root = Path(django.__file__).parent / "forms" / "templates"
    for name in _INPUT_TEMPLATES:
        assert (root / name).read_text().strip() == '{% include "django/forms/widgets/input.html" %}', name
    assert (root / "django/forms/widgets/input.html").read_text().strip() == (
        '<input type="{{ widget.type }}" name="{{ widget.name }}"{% if widget.value != None %} '
        'value="{{ widget.value|stringformat:\'s\' }}"{% endif %}{% include "django/forms/widgets/attrs.html" %}>'
    )
    assert (root / _TEXTAREA_TEMPLATE).read_text().strip() == (
        '<textarea name="{{ widget.name }}"{% include "django/forms/widgets/attrs.html" %}>\n'
        "{% if widget.value %}{{ widget.value }}{% endif %}</textarea>"
    )


@pytest.mark.parametrize("form", _forms(), ids=lambda f: f"{type(f).__name__}-{'bound' if f.is_bound else 'unbound'}")
def test_every_widget_is_drawn_as_djangos_template_draws_it(form) -> None:
    from portal.forms import _INPUT_TEMPLATES, _TEXTAREA_TEMPLATE

    form.is_valid()
    renderer = form.renderer
    for field in form:
        widget = field.field.widget
        if widget.template_name not in _INPUT_TEMPLATES | {_TEXTAREA_TEMPLATE}:
            continue
        attrs = field.build_widget_attrs({"id": field.auto_id} if field.auto_id else {})
        context = widget.get_context(field.html_name, field.value(), attrs)
        ours = widget.render(field.html_name, field.value(), attrs, renderer)
        assert ours == TemplatesSetting.render(renderer, widget.template_name, context), field.name


def test_hostile_values_are_escaped_in_inputs_and_textareas() -> None:
    form = Hostile({"name": '"><script>x</script>&', "notes": "</textarea><b>&amp;", "number": "<1>"})
    html = str(form)
    assert 'value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;&amp;"' in html
    assert ">\n&lt;/textarea&gt;&lt;b&gt;&amp;amp;</textarea>" in html
    assert "<script>" not in html
