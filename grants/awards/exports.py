"""Exports of decisions: a call's decisions for the finance department (CSV for a French spreadsheet,
XLSX), and the open-data file of awarded grants in the SCDL « subventions » format (schema 2.1.0),
which the law asks public funders to publish (décret 2017-779)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from grants.applications.models import Application
from grants.awards.models import Decision, EnvelopeMovement, MovementKind, Outcome
from grants.calls.models import Call, DirectGrant, ProgrammeBudget
from grants.database import db
from grants.local_time import from_local, to_local
from grants.organisations.models import Applicant, Organisation
from grants.spreadsheet_cells import csv_text, decimal_cell, text_cell

# The standard's columns, in its order (https://schema.data.gouv.fr/scdl/subventions/).
SCDL_COLUMNS = (
    "nomAttribuant", "idAttribuant", "dateConvention", "referenceDecision", "nomBeneficiaire", "idBeneficiaire",
    "rnaBeneficiaire", "objet", "montant", "nature", "conditionsVersement", "datesPeriodeVersement", "idRAE",
    "notificationUE", "pourcentageSubvention", "dispositifAide",
)
SCDL_OBJECT_MAX = 256
RNA = re.compile(r"^W\d{9}$")
SIRET = re.compile(r"^\d{14}$")
# The grantor published in the SCDL file; a deployment sets its own in the configuration.
# Spreadsheets run cells starting with these as formulas: an applicant's title must stay text.


def _labels():
    return {
        Outcome.AWARDED: _("Accordée"),
        Outcome.REJECTED: _("Refusée"),
        Outcome.WAITLISTED: _("Liste d'attente"),
    }


@dataclass(frozen=True)
class DecisionLine:
    decision: Decision
    application: Application

    @property
    def applicant(self) -> Applicant:
        return self.application.applicant


def decision_lines(call_id: int) -> list[DecisionLine]:
    """A call's decisions with their applications, applicants and deciders: one query."""
    rows = db.session.execute(
        db.select(Decision, Application)
        .join(Application, Decision.application_id == Application.id)
        .where(Application.call_id == call_id)
        .options(sa.orm.joinedload(Application.applicant).joinedload(Applicant.organisation),
                 sa.orm.joinedload(Application.applicant).joinedload(Applicant.person),
                 sa.orm.joinedload(Decision.decided_by), sa.orm.joinedload(Decision.committee_session))
        .order_by(Application.reference, Decision.id)
    ).unique().all()
    return [DecisionLine(decision, application) for decision, application in rows]


def decision_header(call: Call) -> list[str]:
    """The columns; the young people reached where the call asks for them."""
    return [_("Référence"), _("Porteur de projet"), _("SIRET"), _("Projet"),
            *([_("Jeunes touchés")] if call.asks_young_people_count else []), _("Décision"), _("Section"),
            _("Montant demandé"), _("Montant accordé"), _("Versé"), _("Reste à verser"), _("Motif"),
            _("Décidée le"), _("Par"), _("Commission du"), _("Annulée le")]


def decision_values(line: DecisionLine, call: Call) -> list:
    """One decision as typed values (Decimal amounts, dates): each format writes them its own way."""
    decision, application = line.decision, line.application
    organisation = line.applicant.organisation
    awarded = decision.outcome == Outcome.AWARDED
    return [
        application.reference or "",
        line.applicant.display_name,
        organisation.siret if organisation else "",
        application.title,
        *([application.young_people_count] if call.asks_young_people_count else []),
        _labels()[decision.outcome] + (" — " + _("annulée") if decision.cancelled_at else ""),
        decision.section.value if decision.section else "",
        application.amount_requested,
        decision.amount if awarded else None,
        decision.paid if awarded else None,
        decision.amount - decision.paid if awarded else None,
        decision.reason or "",
        to_local(decision.decided_at).date(),
        decision.decided_by.full_name,
        decision.committee_session.held_on if decision.committee_session else None,
        to_local(decision.cancelled_at).date() if decision.cancelled_at else None,
    ]


def _french_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return decimal_cell(value)
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return text_cell(value)


def decisions_csv(call: Call) -> str:
    """The call's decisions for a French spreadsheet: semicolons, decimal commas, a BOM so that
    Excel reads UTF-8, text that can never run as a formula."""
    rows = ([_french_cell(v) for v in decision_values(line, call)] for line in decision_lines(call.id))
    return csv_text(decision_header(call), rows, delimiter=";", byte_order_mark=True)


def decisions_xlsx(call: Call) -> bytes:
    """The call's decisions as a workbook: amounts as numbers in euros, dates as dates."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Décisions")[:31]
    sheet.append(decision_header(call))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for line in decision_lines(call.id):
        sheet.append([None if v is None else v for v in decision_values(line, call)])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the applicant typed
            elif isinstance(cell.value, int):  # a count (young people reached), not money
                cell.number_format = "#,##0"
            elif isinstance(cell.value, Decimal | float):
                cell.number_format = '#,##0.00 "€"'
            elif isinstance(cell.value, date | datetime):
                cell.number_format = "dd/mm/yyyy"
    for index, title in enumerate(decision_header(call), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, len(title) + 4))
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- SCDL « subventions » ------------------------------------------------------------------------


def _scdl_amount(amount: Decimal) -> str:
    return f"{amount:.2f}"


# The beneficiary's share of the grant (SCDL ``pourcentageSubvention``, 0.01–1 with two decimals):
# every grant here has one beneficiary, so all of it is theirs. It is not the grant's share of the
# project's cost, which the standard does not ask for.
SINGLE_BENEFICIARY_SHARE = "1.00"


def _call_scheme(call: Call) -> str:
    """The call as an aid scheme identifier (``dispositifAide``): its reference prefix and year, the
    stem of every reference of its dossiers (``SISA-2026`` for ``SISA-2026-0042``)."""
    return f"{call.reference_prefix}-{call.year}"


def _payment_period(payments: list[date], application: Application, decided_on: date) -> str:
    if payments:
        first, last = min(payments), max(payments)
        return first.isoformat() if first == last else f"{first.isoformat()}/{last.isoformat()}"
    if application.starts_on and application.ends_on:
        return f"{application.starts_on.isoformat()}/{application.ends_on.isoformat()}"
    return decided_on.isoformat()


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    """The instants where ``year`` starts and ends in Paris."""
    return (from_local(datetime.combine(date(year, 1, 1), time())),
            from_local(datetime.combine(date(year + 1, 1, 1), time())))


def _beneficiary_columns(organisation: Organisation) -> dict[str, str]:
    return {
        "nomBeneficiaire": organisation.name,
        "idBeneficiaire": organisation.siret if SIRET.match(organisation.siret or "") else "",
        "rnaBeneficiaire": organisation.rna if RNA.match(organisation.rna or "") else "",
    }


def scdl_rows(year: int) -> list[dict[str, str]]:
    """One row per grant decided in ``year`` (Paris dates) to a legal entity and not cancelled: the
    awards on calls, then the direct grants, each by date. Grants to private persons are left out:
    the obligation concerns legal entities, and publishing a person's name would breach their
    privacy. A direct grant is a legal entity's when it names a registered organisation (SIRET)."""
    start, end = _year_bounds(year)
    grantor = {"nomAttribuant": current_app.config["GRANTOR_NAME"], "idAttribuant": current_app.config["GRANTOR_SIRET"]}
    return ([{**grantor, **row} for row in _call_award_rows(start, end)]
            + [{**grantor, **row} for row in _direct_grant_rows(start, end)])


def _call_award_rows(start: datetime, end: datetime) -> list[dict[str, str]]:
    rows = db.session.execute(
        db.select(Decision, Application, Call)
        .join(Application, Decision.application_id == Application.id)
        .join(Call, Application.call_id == Call.id)
        .join(Applicant, Application.applicant_id == Applicant.id)
        .where(Decision.outcome == Outcome.AWARDED, Decision.cancelled_at.is_(None), Decision.amount > 0,
               Decision.decided_at >= start, Decision.decided_at < end, Applicant.organisation_id.is_not(None))
        .options(sa.orm.joinedload(Application.applicant).joinedload(Applicant.organisation))
        .order_by(Decision.decided_at, Decision.id)
    ).unique().all()
    payments: dict[int, list[date]] = {}
    if rows:
        for decision_id, paid_on in db.session.execute(
            db.select(EnvelopeMovement.decision_id, EnvelopeMovement.effective_on).where(
                EnvelopeMovement.decision_id.in_([d.id for d, _a, _c in rows]),
                EnvelopeMovement.kind == MovementKind.PAYMENT)
        ):
            payments.setdefault(decision_id, []).append(paid_on)
    published = []
    for decision, application, call in rows:
        decided_on = to_local(decision.decided_at).date()
        paid_on = payments.get(decision.id, [])
        published.append({
            # The convention's date (its countersignature) where there is one, else the decision's.
            "dateConvention": (to_local(decision.convention_countersigned_at).date()
                               if decision.convention_countersigned_at else decided_on).isoformat(),
            "referenceDecision": application.reference or "",
            **_beneficiary_columns(application.applicant.organisation),
            "objet": (application.title or call.title)[:SCDL_OBJECT_MAX],
            "montant": _scdl_amount(decision.amount),
            "nature": "aide en numéraire",
            "conditionsVersement": "unique" if len(paid_on) == 1 and decision.paid == decision.amount else "échelonné",
            "datesPeriodeVersement": _payment_period(paid_on, application, decided_on),
            "idRAE": "",
            "notificationUE": "non",
            "pourcentageSubvention": SINGLE_BENEFICIARY_SHARE,
            "dispositifAide": _call_scheme(call),
        })
    return published


def _direct_grant_rows(start: datetime, end: datetime) -> list[dict[str, str]]:
    """Direct grants record neither payment tranches nor a project cost: each is published as one
    payment on its decision date, funding the whole of its object."""
    grants = db.session.scalars(
        db.select(DirectGrant)
        .where(DirectGrant.organisation_id.is_not(None), DirectGrant.decided_at >= start, DirectGrant.decided_at < end)
        .options(sa.orm.joinedload(DirectGrant.organisation),
                 sa.orm.joinedload(DirectGrant.programme_budget).joinedload(ProgrammeBudget.programme))
        .order_by(DirectGrant.decided_at, DirectGrant.id)
    ).all()
    published = []
    for grant in grants:
        decided_on = to_local(grant.decided_at).date()
        published.append({
            "dateConvention": decided_on.isoformat(),
            "referenceDecision": "",
            **_beneficiary_columns(grant.organisation),
            "objet": grant.purpose[:SCDL_OBJECT_MAX],
            "montant": _scdl_amount(grant.amount),
            "nature": "aide en numéraire",
            "conditionsVersement": "unique",
            "datesPeriodeVersement": decided_on.isoformat(),
            "idRAE": "",
            "notificationUE": "non",
            "pourcentageSubvention": SINGLE_BENEFICIARY_SHARE,
            "dispositifAide": grant.programme_budget.programme.code,
        })
    return published


def scdl_csv(year: int) -> str:
    """The SCDL file: UTF-8, commas, the standard's header, missing values as empty strings; a name
    that a spreadsheet would run as a formula is published as text."""
    rows = ([row.get(column, "") for column in SCDL_COLUMNS] for row in scdl_rows(year))
    return csv_text(SCDL_COLUMNS, rows)
