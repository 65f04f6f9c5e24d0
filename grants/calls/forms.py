"""Managers' forms for programmes and calls. Field checks here are for a friendly message; the rules
themselves live in grants.calls.services and the database."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.form import Form
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from grants.calls.models import SECTION_LABELS, ApplicantKinds, BudgetSection, FileKind
from grants.form_fields import (
    BoundedDecimalField,
    LocalDateTimeField,
    MoneyField,
    PercentField,
    WeightField,
    WholeNumberField,
    YearField,
)
from grants.organisations.models import LegalForm

LEGAL_FORM_LABELS = {
    LegalForm.ASSOCIATION: _l("Association loi 1901"),
    LegalForm.FOUNDATION: _l("Fondation"),
    LegalForm.LOCAL_AUTHORITY: _l("Collectivité territoriale, EPCI"),
    LegalForm.SCHOOL: _l("Établissement scolaire"),
    LegalForm.PUBLIC_BODY: _l("Établissement public"),
    LegalForm.COOPERATIVE: _l("Coopérative (SCOP, SCIC)"),
    LegalForm.COMPANY: _l("Entreprise"),
}
APPLICANT_KIND_LABELS = {
    ApplicantKinds.ORGANISATIONS: _l("Des organismes (associations, collectivités…)"),
    ApplicantKinds.INDIVIDUALS: _l("Des particuliers (par exemple des demandeurs d'emploi)"),
    ApplicantKinds.BOTH: _l("Les deux"),
}


class AdvancePercentField(BoundedDecimalField):
    """The advance's share of an award, in percent: 0 (all on the final report) to 100."""

    low, high = Decimal("0"), Decimal("100")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def parse_day_offsets(text: str) -> list[int]:
    """``"7, 1"`` → ``[7, 1]``: reminders so many days before the deadline, largest first."""
    days = set()
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= 90:
            raise ValueError(_l("Indiquez des nombres de jours entre 1 et 90, séparés par des virgules."))
        days.add(int(part))
    return sorted(days, reverse=True)


class AuthorisationForm(FlaskForm):
    year = YearField(_l("Exercice"), validators=[InputRequired()])
    section = SelectField(_l("Section"), choices=[SelectChoice(s.value, SECTION_LABELS[s]) for s in BudgetSection])
    authorised = MoneyField(_l("Autorisation (AP / AE)"), validators=[InputRequired()])


class DirectGrantForm(FlaskForm):
    year = YearField(_l("Exercice"), validators=[InputRequired()])
    section = SelectField(_l("Section"), choices=[SelectChoice(s.value, SECTION_LABELS[s]) for s in BudgetSection])
    beneficiary_name = StringField(_l("Bénéficiaire"), validators=[DataRequired(), Length(max=200)])
    beneficiary_siret = StringField(_l("SIRET du bénéficiaire (facultatif)"), validators=[Optional(), Length(max=20)])
    purpose = TextAreaField(_l("Objet"), validators=[DataRequired(), Length(max=2000)])
    amount = MoneyField(_l("Montant"), validators=[InputRequired()], allow_zero=False)


class CallForm(FlaskForm):
    title = StringField(_l("Titre"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        _l("Adresse de la page (slug)"),
        validators=[DataRequired(), Length(max=80),
                    Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$", message=_l("Minuscules, chiffres et tirets seulement."))],
    )
    reference_prefix = StringField(
        _l("Préfixe des références de dossier"),
        validators=[DataRequired(), Regexp(r"^[A-Z]{2,8}$", message=_l("De 2 à 8 lettres majuscules, par exemple SISA."))],
    )
    year = YearField(_l("Exercice budgétaire"), validators=[InputRequired()])
    summary = TextAreaField(_l("Résumé (une ou deux phrases)"), validators=[Length(max=400)])
    description = TextAreaField(_l("Description (Markdown)"), validators=[Optional(), Length(max=20000)])
    eligibility_rules = TextAreaField(_l("Règles d'éligibilité"), validators=[Optional(), Length(max=20000)])
    applicant_kinds = SelectField(_l("Qui peut déposer ?"), choices=[SelectChoice(k.value, v) for k, v in APPLICANT_KIND_LABELS.items()])
    eligible_legal_forms = MultiCheckboxField(
        _l("Formes juridiques admises (aucune cochée : toutes)"),
        choices=[SelectChoice(k.value, v) for k, v in LEGAL_FORM_LABELS.items()],
    )
    partner_regions = TextAreaField(_l("Régions partenaires (une par ligne)"), validators=[Optional(), Length(max=2000)])
    opens_at = LocalDateTimeField(_l("Ouverture (heure de Paris)"), validators=[InputRequired()])
    closes_at = LocalDateTimeField(_l("Clôture (heure de Paris)"), validators=[InputRequired()])
    min_grant = MoneyField(_l("Subvention minimum"), validators=[InputRequired()])
    max_grant = MoneyField(_l("Subvention maximum"), validators=[InputRequired()], allow_zero=False)
    max_share_percent = PercentField(_l("Part maximale du coût total du projet (%)"), validators=[InputRequired()])
    envelope_fonctionnement = MoneyField(_l("Enveloppe en fonctionnement"), validators=[Optional()])
    envelope_investissement = MoneyField(_l("Enveloppe en investissement"), validators=[Optional()])
    reminder_offsets = StringField(_l("Rappels aux porteurs de brouillons (jours avant la clôture)"), default="7, 1",
                                   validators=[Length(max=100)])
    blind_review = BooleanField(_l("Évaluation en aveugle (un évaluateur ne voit les notes des autres qu'après avoir rendu la sienne)"))
    show_review_comments = BooleanField(_l("Les porteurs de projet voient les commentaires des évaluateurs"))
    asks_young_people_count = BooleanField(_l("Demander le nombre de jeunes touchés par le projet"))
    convention_below_threshold = BooleanField(_l("Une convention pour toute subvention, même sous le seuil légal"))
    advance_percent = AdvancePercentField(_l("Avance versée à la signature de la convention (%)"), default=Decimal("30"),
                                          validators=[Optional()])

    def validate_reminder_offsets(self, field):
        try:
            field.parsed = parse_day_offsets(field.data or "")
        except ValueError as error:
            raise ValidationError(str(error)) from error

    def validate_closes_at(self, field):
        if self.opens_at.data and field.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("La clôture doit être postérieure à l'ouverture."))

    def validate_max_grant(self, field):
        if self.min_grant.data is not None and field.data is not None and field.data < self.min_grant.data:
            raise ValidationError(_l("Le maximum doit être au moins égal au minimum."))

    def call_settings(self) -> dict:
        """The form's data as keyword arguments for grants.calls.services."""
        return {
            "title": self.title.data.strip(),
            "slug": self.slug.data.strip(),
            "reference_prefix": self.reference_prefix.data.strip(),
            "year": self.year.data,
            "summary": (self.summary.data or "").strip(),
            "description": self.description.data or "",
            "eligibility_rules": self.eligibility_rules.data or "",
            "applicant_kinds": ApplicantKinds(self.applicant_kinds.data),
            "eligible_legal_forms": list(self.eligible_legal_forms.data or []),
            "partner_regions": [line.strip() for line in (self.partner_regions.data or "").splitlines() if line.strip()],
            "opens_at": self.opens_at.data,
            "closes_at": self.closes_at.data,
            "min_grant": self.min_grant.data,
            "max_grant": self.max_grant.data,
            "max_share_of_cost": (self.max_share_percent.data / 100).quantize(Decimal("0.0001")),
            "reminder_offsets_days": self.reminder_offsets.parsed,
            "blind_review": self.blind_review.data,
            "show_review_comments": self.show_review_comments.data,
            "asks_young_people_count": self.asks_young_people_count.data,
            "convention_below_threshold": self.convention_below_threshold.data,
            # Left empty: the call's present share (30 % for a new call).
            **({} if self.advance_percent.data is None else
               {"advance_share": (self.advance_percent.data / 100).quantize(Decimal("0.0001"))}),
        }

    def envelopes(self) -> dict[BudgetSection, Decimal]:
        return {
            BudgetSection.OPERATING: self.envelope_fonctionnement.data or Decimal("0.00"),
            BudgetSection.INVESTMENT: self.envelope_investissement.data or Decimal("0.00"),
        }

    def fill_from(self, call) -> None:
        """Prefill an edit form from a call (GET)."""
        for name in ("title", "slug", "reference_prefix", "year", "summary", "description", "eligibility_rules",
                     "opens_at", "closes_at", "min_grant", "max_grant", "blind_review", "show_review_comments",
                     "asks_young_people_count", "convention_below_threshold"):
            getattr(self, name).data = getattr(call, name)
        self.applicant_kinds.data = call.applicant_kinds.value
        self.eligible_legal_forms.data = list(call.eligible_legal_forms or [])
        self.partner_regions.data = "\n".join(call.partner_regions or [])
        self.max_share_percent.data = (call.max_share_of_cost * 100).quantize(Decimal("0.01"))
        self.advance_percent.data = (call.advance_share * 100).quantize(Decimal("0.01"))
        self.reminder_offsets.data = ", ".join(str(d) for d in call.reminder_offsets_days or [])
        for section in BudgetSection:
            envelope = call.envelope_for(section)
            getattr(self, f"envelope_{section.value}").data = envelope.amount if envelope else None


class ExtendDeadlineForm(FlaskForm):
    closes_at = LocalDateTimeField(_l("Nouvelle date limite (heure de Paris)"), validators=[InputRequired()])
    reason = TextAreaField(_l("Motif (communiqué aux porteurs de brouillons)"), validators=[DataRequired(), Length(max=1000)])


class CloneCallForm(FlaskForm):
    title = StringField(_l("Titre du nouvel appel"), validators=[DataRequired(), Length(max=200)])
    slug = CallForm.slug
    year = YearField(_l("Exercice budgétaire"), validators=[InputRequired()])
    opens_at = LocalDateTimeField(_l("Ouverture (heure de Paris)"), validators=[InputRequired()])
    closes_at = LocalDateTimeField(_l("Clôture (heure de Paris)"), validators=[InputRequired()])
    validate_closes_at = CallForm.validate_closes_at


class CriterionForm(FlaskForm):
    name = StringField(_l("Critère"), validators=[DataRequired(), Length(max=200)])
    guidance = TextAreaField(_l("Aide à la notation"), validators=[Optional(), Length(max=2000)])
    weight = WeightField(_l("Poids"), validators=[InputRequired()])
    scale_max = WholeNumberField(_l("Note maximale (échelle de 0 à …)"), default=5, low=1, high=100,
                                 validators=[InputRequired()])


class RequiredDocumentForm(FlaskForm):
    name = StringField(_l("Pièce demandée"), validators=[DataRequired(), Length(max=200)])
    required = BooleanField(_l("Obligatoire"), default=True)
    accepted_types = MultiCheckboxField(_l("Types de fichier acceptés"),
                                        choices=[SelectChoice(kind.value, kind.label) for kind in FileKind],
                                        default=["pdf"], validators=[DataRequired()])


class FunderRowForm(Form):
    name = StringField(_l("Financeur"), validators=[Optional(), Length(max=120)])
    share_percent = PercentField(_l("Part (%)"), validators=[Optional()])


class FundersForm(FlaskForm):
    rows = FieldList(FormField(FunderRowForm), min_entries=4, max_entries=8)

    def shares(self) -> dict[str, Decimal]:
        return {
            row.form.name.data.strip(): (row.form.share_percent.data / 100).quantize(Decimal("0.0001"))
            for row in self.rows
            if row.form.name.data and row.form.name.data.strip() and row.form.share_percent.data
        }
