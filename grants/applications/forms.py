"""The applicant's forms, one per section of the dossier, and the manager's request for corrections.

Every field of a draft is optional: a draft is saved at any time, and what submission needs is said by
grants.applications.services.submission_problems. Field checks here (lengths, amounts, dates) only keep
unreadable values out of the database; a field that fails them is left as saved and shown again as typed.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.form import Form
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from grants.applications.models import BudgetLineKind
from grants.applications.services import (
    ACCOUNTS,
    PROJECT_FIELDS,
    SECTION_LABELS,
    SECTIONS,
    LineInput,
)
from grants.calls.forms import MultiCheckboxField
from grants.calls.models import BudgetSection
from grants.form_fields import LocalDateTimeField, MoneyField, strip

SECTION_NAMES = {BudgetSection.OPERATING: _l("Fonctionnement"), BudgetSection.INVESTMENT: _l("Investissement")}
MAX_LINES = 40


class IdentificationForm(FlaskForm):
    address = TextAreaField(_l("Adresse postale"), filters=[strip], validators=[Length(max=300)])


class ProjectForm(FlaskForm):
    title = StringField(_l("Titre du projet"), filters=[strip], validators=[Length(max=200)])
    summary = TextAreaField(_l("Résumé"), filters=[strip], validators=[Length(max=4000)])
    objectives = TextAreaField(_l("Objectifs"), filters=[strip], validators=[Length(max=8000)])
    target_public = TextAreaField(_l("Public visé"), filters=[strip], validators=[Length(max=4000)])
    beneficiaries_count = IntegerField(
        _l("Nombre de bénéficiaires"),
        validators=[Optional(), NumberRange(min=0, max=10_000_000, message=_l("Un nombre entre 0 et 10 000 000."))],
    )
    places = StringField(_l("Lieux de réalisation"), filters=[strip], validators=[Length(max=300)])
    partner_region = SelectField(_l("Région partenaire"), choices=[], validate_choice=False)
    starts_on = DateField(_l("Début du projet"), validators=[Optional()])
    ends_on = DateField(_l("Fin du projet"), validators=[Optional()])

    def __init__(self, *args, call=None, **kwargs):
        super().__init__(*args, **kwargs)
        regions = list(call.partner_regions or []) if call is not None else []
        self.partner_region.choices = [("", _l("Choisissez une région"))] + [(r, r) for r in regions]
        self.has_partner_regions = bool(regions)

    def validate_partner_region(self, field):
        if field.data and field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Choisissez une des régions partenaires de l'appel."))

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("La fin du projet ne peut pas précéder son début."))

    def valid_values(self) -> dict:
        """The fields that passed their checks, to be saved; the others keep their saved value."""
        values = {}
        for name in PROJECT_FIELDS:
            if not self.has_partner_regions and name == "partner_region":
                continue
            field = self[name]
            if field.errors:
                continue
            values[name] = field.data if field.data != "" or name != "partner_region" else None
        return values

    def fill_from(self, application) -> None:
        for name in PROJECT_FIELDS:
            value = getattr(application, name)
            self[name].data = value if value is not None or name != "partner_region" else ""


def account_choices(kind: BudgetLineKind):
    return [(code, label) for code, label in ACCOUNTS[kind].items()]


class LineForm(Form):
    """One line of the budget: an account of the Cerfa plan, a label, an amount."""

    account = SelectField(_l("Compte"), choices=[], validate_choice=False)
    label = StringField(_l("Libellé"), filters=[strip], validators=[Length(max=200)])
    funder = StringField(_l("Financeur"), filters=[strip], validators=[Length(max=120)])
    amount = MoneyField(_l("Montant"))

    def is_blank(self) -> bool:
        return not (self.label.data or "").strip() and not (self.funder.data or "").strip() and not (
            self.amount.raw_data and self.amount.raw_data[0].strip())


class BudgetForm(FlaskForm):
    section = SelectField(_l("Section budgétaire"), choices=[], validate_choice=False)
    amount_requested = MoneyField(_l("Montant demandé à la Région"), allow_zero=False)
    expenses = FieldList(FormField(LineForm), _l("Dépenses"), min_entries=0, max_entries=MAX_LINES)
    resources = FieldList(FormField(LineForm), _l("Ressources"), min_entries=0, max_entries=MAX_LINES)
    in_kind_uses = FieldList(FormField(LineForm), _l("Emplois en nature"), min_entries=0, max_entries=MAX_LINES)
    in_kind_contributions = FieldList(FormField(LineForm), _l("Contributions en nature"), min_entries=0,
                                      max_entries=MAX_LINES)

    LISTS = {
        "expenses": BudgetLineKind.EXPENSE,
        "resources": BudgetLineKind.RESOURCE,
        "in_kind_uses": BudgetLineKind.IN_KIND_USE,
        "in_kind_contributions": BudgetLineKind.IN_KIND_CONTRIBUTION,
    }

    def __init__(self, *args, call=None, blank_rows: int = 2, **kwargs):
        super().__init__(*args, **kwargs)
        sections = [envelope.section for envelope in call.envelopes] if call is not None else list(BudgetSection)
        self.section.choices = [("", _l("Choisissez"))] + [(s.value, SECTION_NAMES[s]) for s in sections]
        for name, kind in self.LISTS.items():
            rows = self[name]
            missing = blank_rows - sum(1 for row in rows if row.form.is_blank())
            for _ in range(max(0, missing)):
                if len(rows) < MAX_LINES:
                    rows.append_entry()
            for row in rows:
                row.form.account.choices = account_choices(kind)

    def validate_section(self, field):
        if field.data and field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Cet appel ne finance pas cette section."))

    def lines(self) -> tuple[list[LineInput], bool]:
        """The valid, non-blank lines as typed, and whether some line had to be left out."""
        lines, dropped = [], False
        for name, kind in self.LISTS.items():
            for row in self[name]:
                line = row.form
                if line.is_blank():
                    continue
                account_ok = line.account.data in ACCOUNTS[kind]
                if line.amount.data is None and not line.amount.errors:
                    line.amount.errors = [*line.amount.errors, str(_l("Indiquez le montant de la ligne."))]
                if not account_ok:
                    line.account.errors = [*line.account.errors, str(_l("Choisissez un compte."))]
                if line.errors or line.amount.errors or line.account.errors:
                    dropped = True
                    continue
                lines.append(LineInput(kind=kind, account=line.account.data, label=line.label.data or "",
                                       amount=line.amount.data, funder=line.funder.data or None))
        return lines, dropped

    def fill_from(self, application, lines_by_kind: dict, blank_rows: int = 2) -> None:
        self.section.data = application.section.value if application.section else ""
        self.amount_requested.data = application.amount_requested
        for name, kind in self.LISTS.items():
            rows = self[name]
            while len(rows):
                rows.pop_entry()
            for line in lines_by_kind.get(kind, []):
                rows.append_entry({"account": line.account, "label": line.label, "funder": line.funder or "",
                                   "amount": line.amount})
            for _ in range(blank_rows):
                rows.append_entry()
            for row in rows:
                row.form.account.choices = account_choices(kind)


class CorrectionRequestForm(FlaskForm):
    message = TextAreaField(_l("Ce qu'il faut compléter (communiqué au porteur de projet)"), filters=[strip],
                            validators=[DataRequired(), Length(max=4000)])
    due_at = LocalDateTimeField(_l("Délai de réponse (heure de Paris)"), validators=[DataRequired()])
    sections = MultiCheckboxField(_l("Parties du dossier à rouvrir"), choices=[],
                                  validators=[DataRequired(message=_l("Choisissez au moins une partie."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sections.choices = [(key, SECTION_LABELS[key]) for key in SECTIONS]


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Motif (facultatif)"), filters=[strip], validators=[Length(max=1000)])
