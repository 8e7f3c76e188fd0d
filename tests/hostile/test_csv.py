"""Hostile supplier CSV imports, through the web page and the API: each is refused with a message
naming the file, row or cell at fault, and nothing reaches the register; formulas are kept as text
and neutralised in every CSV export."""

from __future__ import annotations

import csv
import html
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scopes_disabled

from supplychain.models import Supplier, SupplierImport
from tests.api.conftest import make_token, token_client
from tests.conftest import client_for
from tests.hostile.corpus import CSVS, FORMULAS, HEADER, HostileCsv

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int]:
    with scopes_disabled():
        return Supplier.objects.count(), SupplierImport.objects.count()


def test_the_corpus_covers_every_category() -> None:
    assert len(CSVS) >= 14
    assert {c.id for c in CSVS} >= {"multi-mb-cell", "nul-bytes", "invalid-utf8", "utf16-bom", "headerless"}


@pytest.mark.parametrize("case", CSVS, ids=[c.id for c in CSVS])
def test_api_refuses_a_hostile_csv_naming_the_cell_and_keeps_nothing(case: HostileCsv, tenant) -> None:
    before = counts()
    client = token_client(make_token(tenant.manager, tenant.organisation))
    upload = SimpleUploadedFile("suppliers.csv", case.data(), content_type="text/csv")

    response = client.post(
        f"/api/v1/organisations/{tenant.organisation.slug}/suppliers/import/", {"file": upload}, format="multipart"
    )

    assert response.status_code == 400, response.content[:500]
    body = response.json()
    fields = body["fields"]
    if case.file_error:
        assert list(fields) == ["file"] and case.file_error in fields["file"]
    else:
        assert case.row_errors is not None
        for key, message in case.row_errors.items():
            assert fields[key] == [message]
        assert "Nothing was imported" in body["message"]
    assert counts() == before  # not even the preview is kept


@pytest.mark.parametrize("case", CSVS, ids=[c.id for c in CSVS])
def test_web_refuses_a_hostile_csv_naming_the_cell_and_adds_no_supplier(case: HostileCsv, tenant) -> None:
    before = counts()
    client = client_for(tenant.manager)
    upload = SimpleUploadedFile("suppliers.csv", case.data(), content_type="text/csv")

    response = client.post(f"/o/{tenant.organisation.slug}/supply-chain/suppliers/import/", {"file": upload})

    if case.file_error:
        assert response.status_code == 200
        assert case.file_error in [str(e) for e in response.context["form"].errors["file"]]
        assert html.escape(case.file_error) in response.content.decode()
        assert counts() == before
        return
    # Row problems are listed on the preview, by line; nothing is added to the register until confirmed,
    # and then only the good rows.
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert case.row_errors is not None
    for key, message in case.row_errors.items():
        assert html.escape(message) in page, message
        assert f">{key.split('.')[1]}<" in page
    assert counts()[0] == before[0]


def test_formulas_are_stored_as_text_and_neutralised_in_the_export(framework) -> None:
    from tests.supplychain.test_cascade import Company, start

    buyer = Company("Alpha")
    rows = [
        f'"{formula.replace(chr(34), chr(34) * 2)}",,f{n}@formula.example,,GB' for n, formula in enumerate(FORMULAS)
    ]
    rows += ['"\t=TAB()",,tab@formula.example,,GB', '"\r=CR()",,cr@formula.example,,GB']
    rows += ["Plain Ltd,,=cmd@formula.example,,GB"]
    client = client_for(buyer.owner)
    upload = SimpleUploadedFile("suppliers.csv", (HEADER + "\n".join(rows) + "\n").encode(), content_type="text/csv")
    response = client.post(f"/o/{buyer.org.slug}/supply-chain/suppliers/import/", {"file": upload})
    assert response.status_code == 302
    client.post(response["Location"])

    with scopes_disabled():
        stored = dict(Supplier.objects.filter(organisation=buyer.org).values_list("contact_email", "name"))
    # Stored as the text that was typed (trimmed), never evaluated or altered.
    assert [stored[f"f{n}@formula.example"] for n in range(len(FORMULAS))] == FORMULAS
    assert stored["tab@formula.example"] == "=TAB()" and stored["cr@formula.example"] == "=CR()"
    assert stored["=cmd@formula.example"] == "Plain Ltd"

    campaign = start(buyer)
    export = client.get(f"/o/{buyer.org.slug}/supply-chain/campaigns/{campaign.pk}/coverage.csv")
    table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    header, body = table[0], table[1:]
    assert len(body) == len(rows)
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    exported = {row[header.index("supplier")] for row in body}
    assert {"'" + formula for formula in FORMULAS} <= exported
    assert "'=cmd@formula.example" in {row[header.index("contact_email")] for row in body}


@pytest.mark.parametrize("channel", ["web", "api"])
def test_an_oversize_csv_is_refused_without_reading_it_all_into_memory(channel, tenant, monkeypatch) -> None:
    from supplychain import services
    from supplychain.csv_io import MAX_BYTES

    read: list[int] = []
    preview = services.import_preview

    def spy(**kwargs):
        read.append(len(kwargs["data"]))
        return preview(**kwargs)

    monkeypatch.setattr(services, "import_preview", spy)
    upload = SimpleUploadedFile("suppliers.csv", (HEADER + "C,,c@c.example,,GB\n" * 900_000).encode())
    assert upload.size > 3 * MAX_BYTES
    if channel == "web":
        response = client_for(tenant.manager).post(
            f"/o/{tenant.organisation.slug}/supply-chain/suppliers/import/", {"file": upload}
        )
        errors = [str(e) for e in response.context["form"].errors["file"]]
    else:
        client = token_client(make_token(tenant.manager, tenant.organisation))
        response = client.post(
            f"/api/v1/organisations/{tenant.organisation.slug}/suppliers/import/", {"file": upload}, format="multipart"
        )
        errors = response.json()["fields"]["file"]
    assert errors == ["The file is larger than 5 MB. Split it into smaller files and upload them one at a time."]
    assert read == [MAX_BYTES + 1]
    assert counts() == (0, 0)
