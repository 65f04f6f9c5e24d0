"""Managers' forms for decisions, amendments, payments and committee sessions. Checks here only give a
friendly message early; the rules live in grants.awards.services and the database."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    SelectField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.form import Form
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from grants.awards.models import PaymentTranche
from grants.calls.models import SECTION_LABELS, BudgetSection
from grants.form_fields import DayField, MoneyField, RecordIdField

TRANCHE_LABELS = {
    PaymentTranche.ADVANCE: _l("Avance (à la signature)"),
    PaymentTranche.INSTALMENT: _l("Acompte"),
    PaymentTranche.BALANCE: _l("Solde (sur le compte rendu final)"),
}
REASON_LENGTH = Length(max=2000)


def section_choices(sections=BudgetSection):
    return [SelectChoice(section.value, SECTION_LABELS[section]) for section in sections]


class AwardForm(FlaskForm):
    amount = MoneyField(_l("Montant accordé"), validators=[InputRequired()], allow_zero=False)
    section = SelectField(_l("Section budgétaire"), choices=section_choices(), validators=[InputRequired()])
    reason = TextAreaField(_l("Observations (facultatif)"), validators=[Optional(), REASON_LENGTH])
    # Asked while the reviews are not all in (awards.services._check_reviews_in); audited.
    before_reviews_reason = TextAreaField(_l("Motif pour décider avant les évaluations"),
                                          validators=[Optional(), REASON_LENGTH])


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Motif du refus"), validators=[DataRequired(), REASON_LENGTH])


class WaitlistForm(FlaskForm):
    reason = TextAreaField(_l("Motif (facultatif)"), validators=[Optional(), REASON_LENGTH])


class AmendForm(FlaskForm):
    amount = MoneyField(_l("Nouveau montant accordé"), validators=[InputRequired()], allow_zero=False)
    reason = TextAreaField(_l("Motif de la modification"), validators=[DataRequired(), REASON_LENGTH])


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Motif de l'annulation"), validators=[DataRequired(), REASON_LENGTH])
    recover_paid = BooleanField(_l("Émettre un titre de recette pour tout ce qui a été versé"))
    recovered_on = DayField(_l("Date du titre de recette"), validators=[Optional()])


class PaymentForm(FlaskForm):
    amount = MoneyField(_l("Montant du versement"), validators=[InputRequired()], allow_zero=False)
    tranche = SelectField(_l("Tranche"), choices=[SelectChoice(t.value, label) for t, label in TRANCHE_LABELS.items()],
                          validators=[InputRequired()])
    paid_on = DayField(_l("Date du mandatement"), validators=[InputRequired()])
    reason = TextAreaField(_l("Observations (facultatif)"), validators=[Optional(), REASON_LENGTH])


class RecoveryForm(FlaskForm):
    amount = MoneyField(_l("Montant à recouvrer"), validators=[InputRequired()], allow_zero=False)
    recovered_on = DayField(_l("Date du titre de recette"), validators=[InputRequired()])
    reason = TextAreaField(_l("Motif"), validators=[DataRequired(), REASON_LENGTH])


COMMITTEE_CHOICES = [
    SelectChoice("award", _l("Accorder")),
    SelectChoice("waitlist", _l("Liste d'attente")),
    SelectChoice("reject", _l("Refuser")),
    SelectChoice("skip", _l("Ne pas décider")),
]


class CommitteeLineForm(Form):
    """One application of the committee's table (no CSRF of its own: the outer form has it)."""

    application_id = RecordIdField()
    choice = SelectField(_l("Décision"), choices=COMMITTEE_CHOICES, default="skip")
    amount = MoneyField(_l("Montant"), validators=[Optional()], allow_zero=False)
    reason = TextAreaField(_l("Motif"), validators=[Optional(), REASON_LENGTH])


class CommitteeForm(FlaskForm):
    section = SelectField(_l("Section budgétaire"), choices=section_choices(), validators=[InputRequired()])
    held_on = DayField(_l("Date de la commission"), validators=[InputRequired()])
    note = TextAreaField(_l("Observations de la commission (facultatif)"), validators=[Optional(), REASON_LENGTH])
    lines = FieldList(FormField(CommitteeLineForm), min_entries=0)
