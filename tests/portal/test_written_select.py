"""WrittenSelect (portal/forms.py) writes a select's HTML in Python: the same as Django's select
templates, byte for byte, for the fields that use it (the supplier's and the organisation's
country, the audit trail's actions), unbound, bound, chosen and in error."""

from __future__ import annotations

import pytest
from django import forms

from portal.activity import verb_choices
from portal.forms import AuditFilterForm, OrganisationForm, WrittenSelect
from supplychain.forms import SupplierForm


def _as_django_draws_it(field: forms.BoundField) -> str:
    widget = forms.Select(attrs=field.field.widget.attrs, choices=field.field.widget.choices)
    return field.as_widget(widget=widget)


@pytest.mark.parametrize("form_class", [SupplierForm, OrganisationForm])
def test_the_country_select_is_djangos_byte_for_byte(form_class) -> None:
    for data in (None, {"country": "FR"}, {"country": "XX"}, {"country": ""}):
        form = form_class(data)
        form.is_valid()
        field = form["country"]
        assert isinstance(field.field.widget, WrittenSelect)
        str(field.as_field_group())  # the portal's field template decorates the widget (classes, ARIA)
        written = str(field)
        assert written == _as_django_draws_it(field), data
        assert written.count("<option") > 200
    assert '<option value="FR" selected>France</option>' in str(form_class({"country": "FR"})["country"])
    assert '<option value="GB" selected>United Kingdom</option>' in str(form_class()["country"])


def test_the_audit_trails_action_select_is_djangos_byte_for_byte() -> None:
    verb = verb_choices()[0][1][0][0]
    for data in (None, {"verb": verb}, {"verb": "no.such.verb", "q": "x"}, {"verb": ""}):
        form = AuditFilterForm(data, verbs=verb_choices())
        form.is_valid()
        field = form["verb"]
        str(field.as_field_group())
        written = str(field)
        assert written == _as_django_draws_it(field), data
        assert "<optgroup label=" in written
    assert f'<option value="{verb}" selected>' in str(AuditFilterForm({"verb": verb}, verbs=verb_choices())["verb"])
