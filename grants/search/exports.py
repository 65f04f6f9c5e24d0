"""The search's results as a file for a spreadsheet (managers): CSV for a French spreadsheet (through
the one CSV writer: semicolons, decimal commas, no formula) and XLSX, the leading columns of the call
exports (reference, applicant, SIRET, project) then the call, the state, the section and the amounts."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from grants.applications.models import Application, ApplicationState
from grants.local_time import to_local
from grants.spreadsheet_cells import csv_text, decimal_cell, text_cell


def state_labels() -> dict[ApplicationState, str]:
    return {
        ApplicationState.DRAFT: _("Brouillon"), ApplicationState.SUBMITTED: _("Déposé"),
        ApplicationState.CORRECTIONS_REQUESTED: _("Compléments demandés"),
        ApplicationState.UNDER_REVIEW: _("En instruction"), ApplicationState.INELIGIBLE: _("Irrecevable"),
        ApplicationState.DECIDED: _("Décidé"), ApplicationState.WITHDRAWN: _("Retiré"),
    }


def header() -> list[str]:
    return [_("Référence"), _("Porteur de projet"), _("SIRET"), _("Projet"), _("Appel"), _("État"),
            _("Section"), _("Montant demandé"), _("Coût total"), _("Déposé le")]


def values(application: Application) -> list:
    organisation = application.applicant.organisation
    return [
        application.reference or "", application.applicant.display_name,
        organisation.siret if organisation else "", application.title, application.call.title,
        state_labels()[application.state], application.section.value if application.section else "",
        application.amount_requested, application.total_expenses,
        to_local(application.submitted_at).date() if application.submitted_at else None,
    ]


def french_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return decimal_cell(value)
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return text_cell(value)


def results_csv(applications: list[Application]) -> str:
    rows = ([french_cell(v) for v in values(a)] for a in applications)
    return csv_text(header(), rows, delimiter=";", byte_order_mark=True)


def results_xlsx(applications: list[Application]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Dossiers")[:31]
    sheet.append(header())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for application in applications:
        sheet.append(values(application))
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the applicant typed
            elif isinstance(cell.value, Decimal | float):
                cell.number_format = '#,##0.00 "€"'
            elif isinstance(cell.value, date):
                cell.number_format = "dd/mm/yyyy"
    for index, title in enumerate(header(), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, len(title) + 4))
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
