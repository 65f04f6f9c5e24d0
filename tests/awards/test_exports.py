"""Exports: the call's decisions as CSV and XLSX, and the SCDL « subventions » open-data file."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import time_machine

from grants.awards import closure, exports, services
from grants.database import db
from grants.models import DirectGrant, PaymentTranche
from tests.awards.conftest import OPERATING, under_review
from tests.factories import (
    IndividualApplicantFactory,
    OrganisationFactory,
    ProgrammeBudgetFactory,
    SubmittedApplicationFactory,
    member_of,
    with_submitted_review,
)

# The standard's columns, in order (schema.data.gouv.fr, scdl/subventions 2.1.0).
SCDL_HEADER = [
    "nomAttribuant", "idAttribuant", "dateConvention", "referenceDecision", "nomBeneficiaire", "idBeneficiaire",
    "rnaBeneficiaire", "objet", "montant", "nature", "conditionsVersement", "datesPeriodeVersement", "idRAE",
    "notificationUE", "pourcentageSubvention", "dispositifAide",
]
ISO_DATE = r"\d{4}-\d{2}-\d{2}"


def decided(call, manager):
    """An award (paid in two tranches), a rejection, and an award to a private person."""
    award = under_review(call, Decimal("6000.00"), title="=HYPERLINK(\"http://evil\")", total_expenses=Decimal("20000.00"))
    decision = services.award_grant(award, amount="4500.50", section=OPERATING, actor=manager)
    # Decided in May, paid in June and November (the ledger's dates lie between the award and today).
    decision.decided_at = datetime(2026, 5, 20, 8, 0, tzinfo=UTC)
    with time_machine.travel("2026-11-20 10:00:00+01:00", tick=False):
        services.record_payment(decision, amount="2000", tranche=PaymentTranche.ADVANCE, actor=manager,
                                paid_on=date(2026, 6, 1))
        closure.mark_report_accepted(decision)
        services.record_payment(decision, amount="2500.50", tranche=PaymentTranche.BALANCE, actor=manager,
                                paid_on=date(2026, 11, 15))
    services.reject_application(under_review(call), reason="Hors champ", actor=manager)
    person = with_submitted_review(
        SubmittedApplicationFactory(call=call, applicant=IndividualApplicantFactory(), state="under_review"))
    services.award_grant(person, amount="1000", section=OPERATING, actor=manager)
    db.session.commit()
    return award


@time_machine.travel("2026-05-20 10:00:00+02:00", tick=False)
def test_scdl_header_and_formats_follow_the_standard(call, manager, login_as):
    award = decided(call, manager)
    response = login_as(manager).get("/gestion/exports/scdl-subventions-2026.csv")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"  # once
    assert "scdl-subventions-2026.csv" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert not text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == SCDL_HEADER
    assert len(rows) == 2  # the award to an organisation only: not the refusal, not the private person
    row = dict(zip(SCDL_HEADER, rows[1], strict=True))
    organisation = award.applicant.organisation
    assert re.fullmatch(r"\d{14}", row["idAttribuant"]) and row["nomAttribuant"]
    assert row["dateConvention"] == "2026-05-20" and re.fullmatch(ISO_DATE, row["dateConvention"])
    assert row["idBeneficiaire"] == organisation.siret and re.fullmatch(r"\d{14}", row["idBeneficiaire"])
    assert row["rnaBeneficiaire"] == "" or re.fullmatch(r"W\d{9}", row["rnaBeneficiaire"])
    assert row["nomBeneficiaire"] == organisation.name and row["referenceDecision"] == award.reference
    assert row["montant"] == "4500.50"
    assert row["nature"] == "aide en numéraire" and row["conditionsVersement"] == "échelonné"
    assert row["datesPeriodeVersement"] == "2026-06-01/2026-11-15"
    assert row["notificationUE"] == "non" and row["idRAE"] == ""
    # The beneficiary's share of the grant (one beneficiary: all of it), not the grant's share of the
    # project's cost (4 500,50 of a 20 000 project); the scheme is an identifier, not the call's title.
    assert row["pourcentageSubvention"] == "1.00"
    assert len(row["objet"]) <= 256 and row["dispositifAide"] == f"{call.reference_prefix}-{call.year}"
    assert award.reference.startswith(row["dispositifAide"] + "-")
    # Another year has none of them.
    assert exports.scdl_csv(2025).splitlines() == [",".join(SCDL_HEADER)]


def test_rna_with_a_letter_is_left_out_and_the_object_is_the_title(call, manager):
    application = under_review(call, Decimal("100.00"), title="x" * 200)
    application.applicant.organisation.rna = "W59A000001"
    services.award_grant(application, amount="100", section=OPERATING, actor=manager)
    db.session.commit()
    (row,) = exports.scdl_rows(date.today().year)
    assert row["rnaBeneficiaire"] == "" and row["objet"] == "x" * 200 and row["idBeneficiaire"]


def test_decisions_csv_is_for_a_french_spreadsheet_and_never_runs_formulas(call, manager, login_as):
    decided(call, manager)
    response = login_as(manager).get(f"/gestion/appels/{call.id}/decisions.csv")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:5] == ["Référence", "Porteur de projet", "SIRET", "Projet", "Décision"]
    assert len(rows) == 4
    awarded = next(r for r in rows if r[4] == "Accordée" and r[2])
    assert awarded[3].startswith("'=")
    assert awarded[7] == "4500,50" and awarded[8] == "4500,50" and awarded[9] == "0,00"
    assert any(r[4] == "Refusée" and r[10] == "Hors champ" for r in rows)


def test_decisions_xlsx_has_numbers_dates_and_no_formula(call, manager, login_as):
    decided(call, manager)
    response = login_as(manager).get(f"/gestion/appels/{call.id}/decisions.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    assert sheet["A1"].value == "Référence" and sheet.max_row == 4
    values = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    awarded = next(v for v in values if v[3] and v[3].startswith("=HYPERLINK"))
    cell = next(c for row in sheet.iter_rows(min_row=2) for c in row if c.value == awarded[3])
    assert cell.data_type == "s"  # stored as text, not as a formula
    assert awarded[7] == 4500.5


def test_exports_are_for_managers_only(call, client, login_as):
    for path in (f"/gestion/appels/{call.id}/decisions.csv", f"/gestion/appels/{call.id}/decisions.xlsx",
                 "/gestion/exports/scdl-subventions-2026.csv"):
        assert client.get(path).status_code == 302
    login_as(member_of())
    assert client.get("/gestion/exports/scdl-subventions-2026.csv").status_code == 403
    assert client.get(f"/gestion/appels/{call.id}/decisions.csv").status_code == 403


@time_machine.travel("2026-05-20 10:00:00+02:00", tick=False)
def test_the_scdl_file_never_publishes_a_formula(call, manager):
    """An association named like a spreadsheet formula is published as text, not as a formula that
    the public's spreadsheet would run (the same writer as the internal exports)."""
    hostile = ["=HYPERLINK(\"http://evil.example\",\"x\")", "@SUM(1+1)*cmd|' /C calc'!A0", "+33 1 00", "-2+3"]
    for name in hostile:
        application = under_review(call, Decimal("500.00"), title=name)
        application.applicant.organisation.name = name
        services.award_grant(application, amount="500", section=OPERATING, actor=manager)
    db.session.commit()
    rows = list(csv.DictReader(io.StringIO(exports.scdl_csv(2026))))
    published = {row["nomBeneficiaire"] for row in rows} | {row["objet"] for row in rows}
    assert published == {"'" + name for name in hostile}
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())


@time_machine.travel("2026-03-10 11:00:00+01:00", tick=False)
def test_scdl_includes_a_direct_grant_to_a_legal_entity_not_to_a_person(client, manager, login_as):
    """A 150 000 € direct grant to a registered organisation, recorded on the programme page with its
    SIRET, is published (mandatory above 23 000 €); one to a person (no SIRET) is not."""
    budget = ProgrammeBudgetFactory(year=2026, authorised=Decimal("1000000.00"))
    organisation = OrganisationFactory(name="Maison de l'Europe de Lille", siret="73282932000074", rna="W595012345")
    login_as(manager)
    url = f"/gestion/programmes/{budget.programme_id}/subventions-directes?annee=2026"
    assert client.post(url, data={
        "subvention-year": "2026", "subvention-section": "fonctionnement", "subvention-amount": "150 000",
        "subvention-beneficiary_name": "Maison de l'Europe", "subvention-beneficiary_siret": "732 829 320 00074",
        "subvention-purpose": "Centre d'information Europe Direct 2026"}).status_code == 302
    assert client.post(url, data={
        "subvention-year": "2026", "subvention-section": "fonctionnement", "subvention-amount": "30 000",
        "subvention-beneficiary_name": "Camille Lefebvre", "subvention-purpose": "Bourse de création"}).status_code == 302

    rows = list(csv.reader(io.StringIO(client.get("/gestion/exports/scdl-subventions-2026.csv").get_data(as_text=True))))
    assert rows[0] == SCDL_HEADER and len(rows) == 2
    row = dict(zip(SCDL_HEADER, rows[1], strict=True))
    assert row["nomBeneficiaire"] == organisation.name and row["idBeneficiaire"] == "73282932000074"
    assert row["rnaBeneficiaire"] == "W595012345" and row["montant"] == "150000.00"
    assert row["dateConvention"] == "2026-03-10" and row["datesPeriodeVersement"] == "2026-03-10"
    assert row["objet"] == "Centre d'information Europe Direct 2026"
    assert row["dispositifAide"] == budget.programme.code and row["conditionsVersement"] == "unique"
    assert row["nature"] == "aide en numéraire" and row["pourcentageSubvention"] == "1.00"
    assert "Camille" not in "\n".join(",".join(r) for r in rows)
    assert exports.scdl_rows(2025) == []


def test_a_direct_grant_names_a_registered_siret_or_is_refused(client, manager, login_as):
    budget = ProgrammeBudgetFactory(year=2026)
    login_as(manager)
    response = client.post(f"/gestion/programmes/{budget.programme_id}/subventions-directes?annee=2026", data={
        "subvention-year": "2026", "subvention-section": "fonctionnement", "subvention-amount": "150 000",
        "subvention-beneficiary_name": "Inconnue", "subvention-beneficiary_siret": "73282932000074",
        "subvention-purpose": "Accord"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    error = body[body.index('id="subvention-beneficiary_siret-error"'):]
    assert "Aucun organisme n" in error[:error.index("</p>")]
    assert db.session.scalar(db.select(db.func.count(DirectGrant.id))) == 0


def test_the_dossier_exports_carry_the_young_people_count_where_the_call_asks(call, manager, login_as):
    call.asks_young_people_count = True
    application = under_review(call, young_people_count=240)
    services.award_grant(application, amount="1000", section=OPERATING, actor=manager)
    db.session.commit()
    client = login_as(manager)
    text = client.get(f"/gestion/appels/{call.id}/decisions.csv").get_data(as_text=True).lstrip("\ufeff")
    header, row = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert dict(zip(header, row, strict=True))["Jeunes touchés"] == "240"
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"/gestion/appels/{call.id}/decisions.xlsx").get_data())).active
    column = [c.value for c in sheet[1]].index("Jeunes touchés")
    assert sheet.cell(row=2, column=column + 1).value == 240
    assert sheet.cell(row=2, column=column + 1).number_format == "#,##0"

    call.asks_young_people_count = False
    db.session.commit()
    text = client.get(f"/gestion/appels/{call.id}/decisions.csv").get_data(as_text=True)
    assert "Jeunes touchés" not in text
