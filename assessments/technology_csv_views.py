"""The technology register's CSV pages: import (all or nothing, every refused row named by line and
column) and export. The rules are in assessments/technology_csv.py, shared with the API."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from assessments import technology_csv
from portal.forms import PortalFormMixin
from portal.tenancy import TenantRequest, require
from portal.xlsx import record_auditor_download, xlsx_response


class RegisterImportForm(PortalFormMixin, forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy("Up to 2,000 systems, in the columns below."),
        error_messages={"required": gettext_lazy("Choose a CSV file to import")},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


def _register_url(org_slug: str) -> str:
    return reverse("assessments:technology", kwargs={"org_slug": org_slug})


@require_http_methods(["GET", "POST"])
def technology_import(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "edit_content")
    form = RegisterImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = technology_csv.import_register(
            organisation=request.organisation,
            actor=request.user,
            data=upload.read(technology_csv.MAX_BYTES + 1),  # enough to know it is too big
        )
        for problem in result.file_errors:
            form.add_error("file", problem)
        if result.ok:
            messages.success(
                request,
                _("The file has been imported: %(created)s added, %(updated)s updated, %(unchanged)s unchanged.")
                % {"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
            )
            return redirect(_register_url(org_slug))
    return render(
        request,
        "technology/import.html",
        {
            "form": form,
            "result": result,
            "columns": technology_csv.COLUMNS,
            "register_url": _register_url(org_slug),
        },
    )


@require_GET
def technology_export(request: TenantRequest, org_slug: str) -> HttpResponse:
    require(request, "view_dashboard")
    response = HttpResponse(technology_csv.export_csv(request.organisation), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="technology-register.csv"'
    record_auditor_download(request, "technology-register.csv")
    return response


@require_GET
def technology_export_xlsx(request: TenantRequest, org_slug: str) -> HttpResponse:
    """The CSV export's rows as an Excel workbook (dates as dates)."""
    require(request, "view_dashboard")
    response = xlsx_response(technology_csv.export_xlsx(request.organisation), filename="technology-register.xlsx")
    record_auditor_download(request, "technology-register.xlsx")
    return response
