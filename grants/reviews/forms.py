"""Forms of the instruction pages. They parse and give friendly messages; the rules themselves
(conflicts, scales, locks) are kept by grants.reviews.services and grants.reviews.scoring."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from grants.form_fields import DayField, MoneyField, WholeNumberField, record_id
from grants.reviews.models import Opinion
from grants.reviews.scoring import ReviewInput

OPINION_LABELS = {
    Opinion.FUND: _l("Financer au montant demandé"),
    Opinion.FUND_LOWER: _l("Financer un montant inférieur"),
    Opinion.DO_NOT_FUND: _l("Ne pas financer"),
}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ScreeningForm(FlaskForm):
    decision = RadioField(
        _l("Recevabilité"),
        choices=[SelectChoice("eligible", _l("Recevable : le dossier part en instruction")),
                 SelectChoice("ineligible", _l("Irrecevable : le dossier est clos"))],
        validators=[InputRequired(_l("Choisissez recevable ou irrecevable."))],
    )
    reason = TextAreaField(_l("Motif d'irrecevabilité"), validators=[Optional(), Length(max=4000)])


class ManualAssignmentForm(FlaskForm):
    applications = MultiCheckboxField(_l("Dossiers"), coerce=record_id, validate_choice=False)
    reviewers = MultiCheckboxField(_l("Évaluateurs"), coerce=record_id, validate_choice=False)
    due_on = DayField(_l("À rendre le"), validators=[InputRequired(_l("Indiquez une date d'échéance."))])


class AutoAssignmentForm(FlaskForm):
    per_application = WholeNumberField(_l("Évaluateurs par dossier"), low=1, high=10,
                                       validators=[InputRequired(_l("Indiquez un nombre."))])
    due_on = DayField(_l("À rendre le"), validators=[InputRequired(_l("Indiquez une date d'échéance."))])


class RecusalForm(FlaskForm):
    reason = TextAreaField(_l("Motif du déport"), validators=[InputRequired(_l("Indiquez le motif.")),
                                                               Length(max=2000)])


class SubmissionForm(FlaskForm):
    """The confirmation of a transmission: which saved draft the reviewer read (see scoring.draft_version)."""

    version = HiddenField(validators=[Length(max=64)])


class ConflictForm(FlaskForm):
    applicant = SelectField(_l("Porteur de projet"), coerce=record_id, validate_choice=False,
                            validators=[InputRequired(_l("Choisissez un porteur."))])
    reason = TextAreaField(_l("Nature du lien"), validators=[InputRequired(_l("Précisez la nature du lien.")),
                                                             Length(max=2000)])


class ReviewForm(FlaskForm):
    """The fixed part of the scoring form; :func:`review_form_class` adds one mark and one comment
    field per criterion of the call (``score_<id>``, ``note_<id>``)."""

    opinion = RadioField(_l("Votre avis"), choices=[SelectChoice(o.value, label) for o, label in OPINION_LABELS.items()],
                         validators=[Optional()], validate_choice=False)
    suggested_amount = MoneyField(_l("Montant proposé"), allow_zero=False, validators=[Optional()])
    comment = TextAreaField(_l("Commentaire général"), validators=[Optional(), Length(max=8000)])

    criteria: list = []

    def score_field(self, criterion):
        return self[f"score_{criterion.id}"]

    def note_field(self, criterion):
        return self[f"note_{criterion.id}"]

    def entry(self) -> ReviewInput:
        """What was typed, for the service to check: marks as raw text, so that its own parsing and its
        own messages apply to a forged form as to the page's."""
        return ReviewInput(
            marks={c.id: self.score_field(c).data for c in self.criteria},
            mark_comments={c.id: self.note_field(c).data or "" for c in self.criteria},
            opinion=self.opinion.data or None,
            suggested_amount=self.suggested_amount.data,
            comment=self.comment.data or "",
        )


def review_form_class(criteria) -> type[ReviewForm]:
    fields = {"criteria": list(criteria)}
    for criterion in criteria:
        fields[f"score_{criterion.id}"] = StringField(
            _l("Note de « %(name)s » (sur %(max)s)", name=criterion.name, max=criterion.scale_max),
            validators=[Optional(), Length(max=20)],
            render_kw={"inputmode": "decimal", "autocomplete": "off", "class": "input score-input"},
        )
        fields[f"note_{criterion.id}"] = TextAreaField(
            _l("Commentaire sur « %(name)s »", name=criterion.name), validators=[Optional(), Length(max=4000)],
            render_kw={"rows": 2},
        )
    return type("CallReviewForm", (ReviewForm,), fields)


def fill_from_review(form: ReviewForm, review) -> None:
    """Put a saved review back into the form (GET)."""
    if review is None:
        return
    marks = {s.criterion_id: s for s in review.scores}
    for criterion in form.criteria:
        score = marks.get(criterion.id)
        if score is not None:
            form.score_field(criterion).data = format_mark(score.score)
            form.note_field(criterion).data = score.comment
    form.opinion.data = review.opinion.value if review.opinion else None
    form.suggested_amount.data = review.suggested_amount
    form.comment.data = review.comment


def format_mark(value) -> str:
    """``Decimal("3.50")`` → ``3,5``; ``Decimal("4.00")`` → ``4``."""
    text = f"{value.normalize():f}"
    return text.replace(".", ",")
