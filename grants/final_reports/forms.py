"""Forms of the final report: the association's report, the manager's review and the grant's closure.
Checks here only give a friendly message early; the rules live in the services and the database."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import FieldList, FormField, TextAreaField
from wtforms.form import Form
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from grants.final_reports.services import EXPLANATION_MAX, TEXT_MAX
from grants.form_fields import DayField, MoneyField

REASON_LENGTH = Length(max=2000)
MAX_LINES = 60  # a Cerfa budget has fewer lines than this


class ReportLineForm(Form):
    """One line of the report (no CSRF of its own: the outer form has it)."""

    actual = MoneyField(_l("Montant réalisé"), validators=[Optional()])
    explanation = TextAreaField(_l("Explication de l'écart"), validators=[Optional(), Length(max=EXPLANATION_MAX)])


class ReportForm(FlaskForm):
    activity_report = TextAreaField(_l("Compte rendu d'activité"), validators=[Optional(), Length(max=TEXT_MAX)])
    lines = FieldList(FormField(ReportLineForm), min_entries=0, max_entries=MAX_LINES)


class SubmitReportForm(FlaskForm):
    """Depositing the saved report: a button, the report's content is what was saved."""


class AcceptReportForm(FlaskForm):
    """Accepting the report: a button."""


class ReportCorrectionsForm(FlaskForm):
    reason = TextAreaField(_l("Compléments demandés"), validators=[DataRequired(), REASON_LENGTH])


class ReductionForm(FlaskForm):
    amount = MoneyField(_l("Montant de la subvention après réduction"), validators=[InputRequired()])
    reason = TextAreaField(_l("Motif de la réduction"), validators=[DataRequired(), REASON_LENGTH])


class OverpaymentForm(FlaskForm):
    amount = MoneyField(_l("Montant recouvré"), validators=[InputRequired()], allow_zero=False)
    recovered_on = DayField(_l("Date du titre de recette"), validators=[InputRequired()])
    reason = TextAreaField(_l("Référence du titre de recette"), validators=[DataRequired(), REASON_LENGTH])


class DocumentForm(FlaskForm):
    file = FileField(_l("Document à joindre"))


class RemoveDocumentForm(FlaskForm):
    """Removing a document: a button."""
