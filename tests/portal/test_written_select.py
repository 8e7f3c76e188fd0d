"""WrittenSelect (portal/forms.py) writes a select's HTML in Python: the same as Django's select
templates, byte for byte, for the fields that use it (the supplier's and the organisation's
country, the audit trail's actions), unbound, bound, chosen and in error."""

from __future__ import annotations

import pytest
from django import forms

from portal.activity import verb_choices
from portal.forms import _COUNTRY_OPTIONS, AuditFilterForm, CountrySelect, OrganisationForm, WrittenSelect
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


def _country_forms() -> list[type[forms.Form]]:
    """A required country field (the supplier's and the organisation's) and one that may be left
    blank (django_countries puts its blank choice first)."""
    from django_countries.fields import CountryField

    class Optional(forms.Form):
        country = CountryField(blank=True).formfield(widget=CountrySelect)

    return [SupplierForm, OrganisationForm, Optional]


def test_the_country_select_writes_what_written_select_writes_for_every_country() -> None:
    """CountrySelect reuses its options, nothing chosen, and marks the chosen one: for every value
    (each country, none, blank, unknown, hostile text), required or not, the same HTML as
    WrittenSelect's (itself Django's, above), whichever was drawn first."""
    from django_countries import countries

    values = [None, "", "XX", '"><script>alert(1)</script>', "gb", *(code for code, _name in countries)]
    for form_class in _country_forms():
        for first in (values, list(reversed(values))):  # the cached list filled either way round
            _COUNTRY_OPTIONS.clear()
            for value in first:
                field = form_class({"country": value} if value is not None else None)["country"]
                widget = field.field.widget
                assert type(widget) is CountrySelect
                attrs = {"id": "id_country", "class": "select", "aria-invalid": "true"}
                written = widget.render("country", value, attrs)
                plain = WrittenSelect.render(widget, "country", value, attrs)
                assert written == plain, (form_class.__name__, value)
                if value and value.upper() == value and value in dict(countries):
                    assert f'<option value="{value}" selected>' in written
    assert "&lt;script&gt;" not in str(SupplierForm({"country": "<script>"})["country"])  # not an option, not echoed


def test_the_country_options_are_kept_by_language_and_blank_choice() -> None:
    from django.utils import translation

    _COUNTRY_OPTIONS.clear()
    optional = _country_forms()[2]
    str(SupplierForm()["country"])
    str(optional()["country"])
    assert set(_COUNTRY_OPTIONS) == {(translation.get_language(), True), (translation.get_language(), False)}
    assert _COUNTRY_OPTIONS[(translation.get_language(), False)].startswith('\n  <option value="">')
    assert not _COUNTRY_OPTIONS[(translation.get_language(), True)].startswith('\n  <option value="">')
    with translation.override("fr"):  # another language: its own list (its names translated)
        french = str(SupplierForm({"country": "DE"})["country"])
        plain = WrittenSelect.render(SupplierForm()["country"].field.widget, "country", "DE", {"id": "id_country"})
    assert ("fr", True) in _COUNTRY_OPTIONS
    assert french == plain
    assert '<option value="DE" selected>Germany</option>' in str(SupplierForm({"country": "DE"})["country"])
