"""Business operations on applications (dossiers): starting one, saving its sections as a draft,
submitting it, withdrawing it, and the managers' requests for corrections.

Invariants kept here (with the database):
- one active application (not withdrawn) per applicant and per call: the applicant's row is locked by
  an UPDATE before the check, so two clicks on « Déposer un dossier » make one draft;
- a section is written only while :func:`editable_sections` says so (a draft while the call accepts
  submissions; after a request for corrections, the reopened sections until its deadline);
- two members saving the same draft never overwrite each other: the version they edited must be the
  current one (and ``Application.version`` refuses the race between read and write);
- references are unique by construction: every call sharing a prefix and a year draws from one
  counter, advanced by one INSERT … ON CONFLICT DO UPDATE … RETURNING in the same transaction as the
  application's move to submitted, which is itself guarded by the version: a double click makes one
  submission and one reference, and a refused submission gives its number back;
- totals are recomputed from the budget lines on every save, never taken from the browser.

Services flush; the view commits once (or rolls back on a DomainError).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import url_for
from flask_babel import format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from grants.applications.models import (
    YOUNG_PEOPLE_MAX,
    Application,
    ApplicationState,
    BudgetLine,
    BudgetLineKind,
    CorrectionRequest,
    ReferenceCounter,
)
from grants.audit.services import record_event, record_transition
from grants.audit.services import timeline as audit_timeline
from grants.calls.models import ApplicantKinds, BudgetSection, Call, CallState
from grants.database import constraint_violated, db, utcnow
from grants.errors import ConstraintViolated, DomainError
from grants.formatting import local_datetime, money
from grants.organisations.models import Applicant, ApplicantKind
from grants.outbox.services import queue_email

ZERO = Decimal("0.00")

SECTIONS = ("identification", "projet", "budget", "pieces")
SECTION_LABELS = {
    "identification": _l("Identification"),
    "projet": _l("Le projet"),
    "budget": _l("Budget prévisionnel"),
    "pieces": _l("Pièces jointes"),
}
SECTION_ENDPOINTS = {
    "identification": "applications.identification",
    "projet": "applications.project",
    "budget": "applications.budget",
    "pieces": "applications.attachments",
}
# Until a decision the association may take its dossier back.
WITHDRAWABLE = (
    ApplicationState.DRAFT,
    ApplicationState.SUBMITTED,
    ApplicationState.CORRECTIONS_REQUESTED,
    ApplicationState.UNDER_REVIEW,
)

# The Cerfa 12156 plan: expense accounts, resource accounts, in-kind contributions.
EXPENSE_ACCOUNTS = {
    "60": _l("60 – Achats"),
    "61": _l("61 – Services extérieurs"),
    "62": _l("62 – Autres services extérieurs"),
    "63": _l("63 – Impôts et taxes"),
    "64": _l("64 – Charges de personnel"),
    "65": _l("65 – Autres charges de gestion courante"),
    "66": _l("66 – Charges financières"),
    "67": _l("67 – Charges exceptionnelles"),
    "68": _l("68 – Dotations"),
}
RESOURCE_ACCOUNTS = {
    "70": _l("70 – Ventes, prestations de services"),
    "74": _l("74 – Subventions d'exploitation (un financeur par ligne)"),
    "75": _l("75 – Autres produits (cotisations, dons, fonds propres)"),
    "76": _l("76 – Produits financiers"),
    "77": _l("77 – Produits exceptionnels"),
    "78": _l("78 – Reprises"),
    "79": _l("79 – Transferts de charges"),
}
IN_KIND_USE_ACCOUNTS = {"86": _l("86 – Emplois des contributions volontaires en nature")}
IN_KIND_CONTRIBUTION_ACCOUNTS = {"87": _l("87 – Contributions volontaires en nature")}
ACCOUNTS = {
    BudgetLineKind.EXPENSE: EXPENSE_ACCOUNTS,
    BudgetLineKind.RESOURCE: RESOURCE_ACCOUNTS,
    BudgetLineKind.IN_KIND_USE: IN_KIND_USE_ACCOUNTS,
    BudgetLineKind.IN_KIND_CONTRIBUTION: IN_KIND_CONTRIBUTION_ACCOUNTS,
}
REGION_FUNDER = "Région"


class AlreadyApplied(DomainError):
    """The applicant already has an application on this call."""

    def __init__(self, application: Application):
        super().__init__(_("Vous avez déjà un dossier sur cet appel : reprenez-le."))
        self.application = application


class EditConflict(DomainError):
    """Someone else saved the dossier since this form was opened."""

    def __init__(self):
        super().__init__(_(
            "Quelqu'un d'autre a enregistré ce dossier pendant que vous le modifiiez. Rien n'a été écrasé : "
            "vos saisies sont conservées ci-dessous, à côté des valeurs enregistrées entre-temps. "
            "Vérifiez, puis enregistrez à nouveau."
        ))


class SectionClosed(DomainError):
    """The section is not open to the applicant (submitted, closed call, correction deadline passed)."""


class SubmissionIncomplete(DomainError):
    def __init__(self, problems: list[Problem]):
        super().__init__(_("Le dossier est incomplet : complétez les points listés avant de le déposer."))
        self.problems = problems


class AlreadySubmitted(DomainError):
    """A second click on « Déposer » after the first one went through."""


# --- Reading ----------------------------------------------------------------------------------


def open_correction(application: Application) -> CorrectionRequest | None:
    """The latest request for corrections not answered yet."""
    return db.session.scalar(
        sa.select(CorrectionRequest)
        .where(CorrectionRequest.application_id == application.id, CorrectionRequest.answered_at.is_(None))
        .order_by(CorrectionRequest.created_at.desc(), CorrectionRequest.id.desc())
        .limit(1)
    )


def open_correction_in(corrections: list[CorrectionRequest]) -> CorrectionRequest | None:
    """:func:`open_correction` read from the dossier's requests already loaded (:func:`corrections_of`,
    oldest first): the latest one not answered yet."""
    return next((c for c in reversed(corrections) if c.answered_at is None), None)


def corrections_of(application: Application) -> list[CorrectionRequest]:
    return db.session.scalars(
        sa.select(CorrectionRequest).where(CorrectionRequest.application_id == application.id)
        .order_by(CorrectionRequest.created_at, CorrectionRequest.id)
    ).all()


def editable_sections(application: Application, now: datetime | None = None) -> set[str]:
    """The sections the applicant may change now: all of a draft while the call accepts submissions;
    after a request for corrections, the sections it reopened until its deadline; none otherwise."""
    now = now or utcnow()
    if application.state == ApplicationState.DRAFT:
        return set(SECTIONS) if application.call.accepts_submissions_at(now) else set()
    if application.state == ApplicationState.CORRECTIONS_REQUESTED:
        correction = open_correction(application)
        if correction is not None and now < correction.due_at:
            return {section for section in correction.sections or [] if section in SECTIONS}
    return set()


def submission_deadline(application: Application) -> datetime | None:
    """Until when the applicant may (re)submit: the call's closing, or the correction's deadline."""
    if application.state == ApplicationState.DRAFT:
        return application.call.closes_at
    if application.state == ApplicationState.CORRECTIONS_REQUESTED:
        correction = open_correction(application)
        return correction.due_at if correction else None
    return None


def lines_of(application: Application, kind: BudgetLineKind) -> list[BudgetLine]:
    return [line for line in application.budget_lines if line.kind == kind and not line.is_region_request]


def region_request_line(application: Application) -> BudgetLine | None:
    return next((line for line in application.budget_lines if line.is_region_request), None)


def in_kind_total(application: Application, kind: BudgetLineKind) -> Decimal:
    return sum((line.amount for line in application.budget_lines if line.kind == kind), ZERO)


@dataclass(frozen=True)
class Problem:
    """Something missing or wrong that stops a submission, and the section where to fix it."""

    section: str
    message: str
    field: str | None = None

    @property
    def section_label(self) -> str:
        return str(SECTION_LABELS.get(self.section, self.section))

    @property
    def link(self) -> str:
        url = url_for(SECTION_ENDPOINTS[self.section], application_id=self._application_id)
        return f"{url}#{self.field}" if self.field else url

    _application_id: int = 0


def _problem(application: Application, section: str, message: str, field: str | None = None) -> Problem:
    return Problem(section=section, message=message, field=field, _application_id=application.id)


def identification_problems(application: Application) -> list[Problem]:
    applicant = application.applicant
    if applicant.kind == ApplicantKind.INDIVIDUAL:
        if not (applicant.address or "").strip():
            return [_problem(application, "identification", _("Indiquez votre adresse postale."), "address")]
        return []
    organisation = applicant.organisation
    missing = []
    if not (organisation.street or "").strip() or not (organisation.city or "").strip():
        missing.append(_problem(application, "identification",
                                _("L'adresse du siège manque au profil de l'organisme.")))
    return missing


def project_problems(application: Application) -> list[Problem]:
    call = application.call
    required = (
        ("title", _("Donnez un titre au projet.")),
        ("summary", _("Résumez le projet.")),
        ("objectives", _("Décrivez les objectifs du projet.")),
        ("target_public", _("Décrivez le public visé.")),
        ("places", _("Indiquez les lieux de réalisation.")),
    )
    problems = [_problem(application, "projet", message, name)
                for name, message in required if not (getattr(application, name) or "").strip()]
    if application.beneficiaries_count is None:
        problems.append(_problem(application, "projet", _("Indiquez le nombre de bénéficiaires."), "beneficiaries_count"))
    if call.asks_young_people_count and application.young_people_count is None:
        problems.append(_problem(application, "projet", _("Indiquez le nombre de jeunes touchés par le projet."),
                                 "young_people_count"))
    if call.partner_regions and application.partner_region not in call.partner_regions:
        problems.append(_problem(application, "projet", _("Choisissez la région partenaire du projet."), "partner_region"))
    if application.starts_on is None:
        problems.append(_problem(application, "projet", _("Indiquez la date de début du projet."), "starts_on"))
    if application.ends_on is None:
        problems.append(_problem(application, "projet", _("Indiquez la date de fin du projet."), "ends_on"))
    return problems


def budget_problems(application: Application) -> list[Problem]:
    """The budget's rules: a section among the call's envelopes, expenses, the amount asked within
    the call's range and share of the total cost, and expenses = resources (Cerfa 12156)."""
    call = application.call
    problems = []
    sections = {envelope.section for envelope in call.envelopes}
    if application.section is None:
        problems.append(_problem(application, "budget",
                                 _("Choisissez la section budgétaire (fonctionnement ou investissement)."), "section"))
    elif sections and application.section not in sections:
        problems.append(_problem(application, "budget",
                                 _("Cet appel ne finance pas de projets en %(section)s.", section=application.section.value),
                                 "section"))
    if not lines_of(application, BudgetLineKind.EXPENSE):
        problems.append(_problem(application, "budget", _("Détaillez les dépenses du projet."), "expenses"))
    asked = application.amount_requested
    if asked is None:
        problems.append(_problem(application, "budget", _("Indiquez le montant demandé à la Région."), "amount_requested"))
    else:
        problems += [_problem(application, "budget", message, "amount_requested")
                     for message in amount_limits_problems(call, asked, application.total_expenses)]
    if application.total_expenses != application.total_resources:
        problems.append(_problem(application, "budget", _(
            "Le budget n'est pas équilibré : %(expenses)s de dépenses pour %(resources)s de ressources.",
            expenses=money(application.total_expenses), resources=money(application.total_resources)), "totals"))
    return problems


def amount_limits_problems(call: Call, asked: Decimal, total_cost: Decimal) -> list[str]:
    problems = []
    if asked < call.min_grant:
        problems.append(_("Le montant demandé est inférieur au minimum de l'appel (%(min)s).", min=money(call.min_grant)))
    if asked > call.max_grant:
        problems.append(_("Le montant demandé dépasse le maximum de l'appel (%(max)s).", max=money(call.max_grant)))
    ceiling = (total_cost * call.max_share_of_cost).quantize(Decimal("0.01"))
    if total_cost > 0 and asked > ceiling:
        problems.append(_(
            "Le montant demandé dépasse %(share)s du coût total du projet, soit %(ceiling)s.",
            share=format_percent(call.max_share_of_cost), ceiling=money(ceiling)))
    return problems


def document_problems(application: Application) -> list[Problem]:
    provided = {attachment.required_document_id for attachment in application.attachments}
    return [
        _problem(application, "pieces", _("Pièce manquante : %(name)s.", name=document.name))
        for document in application.call.required_documents
        if document.required and document.id not in provided
    ]


def submission_problems(application: Application, now: datetime | None = None) -> list[Problem]:
    """Everything that stops the submission, section by section, each with a link to fix it."""
    return (identification_problems(application) + project_problems(application)
            + budget_problems(application) + document_problems(application))


def section_complete(application: Application, section: str) -> bool:
    checks = {
        "identification": identification_problems,
        "projet": project_problems,
        "budget": budget_problems,
        "pieces": document_problems,
    }
    return not checks[section](application)


def timeline(application: Application):
    return audit_timeline("application", application.id)


# --- Starting an application ---------------------------------------------------------------------


def refusal_reason(call: Call, applicant: Applicant) -> str | None:
    """Why the call does not take this applicant, or None when it does."""
    if applicant.kind == ApplicantKind.INDIVIDUAL:
        if call.applicant_kinds == ApplicantKinds.ORGANISATIONS:
            return _("Cet appel est réservé aux organisations : une personne ne peut pas y répondre à titre individuel.")
        return None
    if call.applicant_kinds == ApplicantKinds.INDIVIDUALS:
        return _("Cet appel est réservé aux personnes qui candidatent à titre individuel, pas aux organisations.")
    legal_form = applicant.organisation.legal_form
    legal_form = getattr(legal_form, "value", legal_form)
    if call.eligible_legal_forms and legal_form not in call.eligible_legal_forms:
        return _("La forme juridique de %(name)s n'est pas admise par cet appel (voir « Qui peut candidater ? »).",
                 name=applicant.display_name)
    return None


def active_application(call: Call, applicant: Applicant) -> Application | None:
    return db.session.scalar(
        sa.select(Application).where(
            Application.call_id == call.id,
            Application.applicant_id == applicant.id,
            Application.state != ApplicationState.WITHDRAWN,
        ).order_by(Application.id).limit(1)
    )


def start_application(call: Call, applicant: Applicant, *, actor, now: datetime | None = None) -> Application:
    """A new draft for ``applicant`` on ``call``: the call accepts submissions, takes this kind of
    applicant, and the applicant has no other active application on it."""
    now = now or utcnow()
    if not applicant.is_represented_by(actor):
        raise DomainError(_("Vous ne représentez pas ce porteur de projet."))
    if not call.accepts_submissions_at(now):
        raise DomainError(_("Cet appel n'accepte pas de dossier en ce moment."))
    reason = refusal_reason(call, applicant)
    if reason:
        raise DomainError(reason)
    # Lock the applicant's row (PostgreSQL holds it until commit; SQLite has one writer at a time),
    # then look: two clicks cannot both find no application and create two drafts.
    db.session.execute(sa.update(Applicant).where(Applicant.id == applicant.id).values(kind=Applicant.kind))
    existing = active_application(call, applicant)
    if existing is not None:
        raise AlreadyApplied(existing)
    application = Application(call=call, applicant=applicant, created_by_id=actor.id,
                              state=ApplicationState.DRAFT, created_at=now, updated_at=now)
    if len(call.envelopes) == 1:
        application.section = call.envelopes[0].section
    db.session.add(application)
    db.session.flush()
    record_transition("application.created", application, None, ApplicationState.DRAFT, actor=actor)
    return application


# --- Saving sections -----------------------------------------------------------------------------


def _ensure_editable(application: Application, section: str, expected_version: int | None, now: datetime) -> None:
    if section not in editable_sections(application, now):
        if application.state == ApplicationState.DRAFT:
            raise SectionClosed(_("L'appel n'accepte plus de dépôt : le brouillon ne peut plus être modifié."))
        if application.state == ApplicationState.CORRECTIONS_REQUESTED:
            raise SectionClosed(_("Cette partie n'est pas rouverte par la demande de compléments, "
                                  "ou son délai est passé."))
        raise SectionClosed(_("Le dossier est déposé : il ne se modifie plus."))
    if expected_version is not None and expected_version != application.version:
        raise EditConflict()


def save_identification(application: Application, *, address: str, actor, expected_version: int | None,
                        now: datetime | None = None) -> Application:
    """An individual applicant's postal address (an organisation's identity is its profile)."""
    now = now or utcnow()
    _ensure_editable(application, "identification", expected_version, now)
    applicant = application.applicant
    if applicant.kind != ApplicantKind.INDIVIDUAL:
        raise DomainError(_("L'identité d'un organisme se modifie sur son profil."))
    applicant.address = address.strip()[:300]
    application.updated_at = now  # bumps the version too: the next editor sees the change
    record_event("application.identification_saved", actor=actor, subject=application)
    db.session.flush()
    return application


PROJECT_FIELDS = ("title", "summary", "objectives", "target_public", "beneficiaries_count", "young_people_count",
                  "places", "partner_region", "starts_on", "ends_on")


def save_project(application: Application, values: dict, *, actor, expected_version: int | None,
                 now: datetime | None = None) -> Application:
    """Write the given project fields (the valid ones of a draft form: the others are left as saved).
    A partner region is one of the call's; the end is not before the start; the young people
    reached are counted only where the call asks (between 0 and YOUNG_PEOPLE_MAX, also a check
    constraint)."""
    now = now or utcnow()
    _ensure_editable(application, "projet", expected_version, now)
    unknown = set(values) - set(PROJECT_FIELDS)
    if unknown:
        raise ValueError(f"not project fields: {unknown}")
    if values.get("partner_region") and values["partner_region"] not in (application.call.partner_regions or []):
        raise DomainError(_("Choisissez une des régions partenaires de l'appel."), field="partner_region")
    if "young_people_count" in values:
        count = values["young_people_count"]
        if not application.call.asks_young_people_count:
            raise DomainError(_("Cet appel ne demande pas le nombre de jeunes touchés."), field="young_people_count")
        if count is not None and not 0 <= count <= YOUNG_PEOPLE_MAX:
            raise DomainError(_("Un nombre entre 0 et 1 000 000."), field="young_people_count")
    starts_on: date | None = values.get("starts_on", application.starts_on)
    ends_on: date | None = values.get("ends_on", application.ends_on)
    if starts_on and ends_on and ends_on < starts_on:
        raise DomainError(_("La fin du projet ne peut pas précéder son début."), field="ends_on")
    for name, value in values.items():
        if isinstance(value, str):
            value = value.strip()
        if name == "partner_region":
            value = value or None
        setattr(application, name, value)
    application.updated_at = now
    record_event("application.project_saved", actor=actor, subject=application)
    db.session.flush()
    return application


@dataclass
class LineInput:
    """One budget line as typed (already parsed: amount is a Decimal)."""

    kind: BudgetLineKind
    account: str
    label: str
    amount: Decimal
    funder: str | None = None


def save_budget(application: Application, *, section: BudgetSection | None, amount_requested: Decimal | None,
                lines: list[LineInput], actor, expected_version: int | None,
                now: datetime | None = None, keep_section: bool = False,
                keep_amount_requested: bool = False) -> Application:
    """Replace the budget lines and recompute the totals: expenses = the expense lines; resources =
    the resource lines plus the amount asked of the Region (its own line, account 74). A draft may be
    unbalanced or past the call's limits: :func:`budget_problems` says so, submission refuses it."""
    now = now or utcnow()
    _ensure_editable(application, "budget", expected_version, now)
    for line in lines:
        if line.amount < 0:
            raise DomainError(_("Un montant ne peut pas être négatif."), field="lines")
        if line.account not in ACCOUNTS[line.kind]:
            raise DomainError(_("Compte inconnu du plan du Cerfa : %(account)s.", account=line.account), field="lines")
    if amount_requested is not None and amount_requested <= 0:
        raise DomainError(_("Le montant demandé doit être positif."), field="amount_requested")
    if not keep_section:
        application.section = section
    if not keep_amount_requested:
        application.amount_requested = amount_requested
    new_lines = [
        BudgetLine(kind=line.kind, account=line.account, label=line.label.strip()[:200] or str(ACCOUNTS[line.kind][line.account]),
                   funder=(line.funder or "").strip()[:120] or None, amount=line.amount)
        for line in lines
    ]
    if application.amount_requested is not None:
        new_lines.insert(len([x for x in lines if x.kind == BudgetLineKind.EXPENSE]), BudgetLine(
            kind=BudgetLineKind.RESOURCE, account="74", label=_("Subvention demandée à la Région"),
            funder=REGION_FUNDER, is_region_request=True, amount=application.amount_requested))
    application.budget_lines.clear()
    db.session.flush()
    for position, line in enumerate(new_lines):
        line.position = position
        application.budget_lines.append(line)
    recompute_totals(application)
    application.updated_at = now
    record_event("application.budget_saved", actor=actor, subject=application,
                 expenses=application.total_expenses, resources=application.total_resources)
    db.session.flush()
    return application


def recompute_totals(application: Application) -> None:
    application.total_expenses = sum(
        (line.amount for line in application.budget_lines if line.kind == BudgetLineKind.EXPENSE), ZERO)
    application.total_resources = sum(
        (line.amount for line in application.budget_lines if line.kind == BudgetLineKind.RESOURCE), ZERO)


# --- Submission, withdrawal, corrections --------------------------------------------------------


# The one statement that advances a counter exists on both databases, under one name per dialect.
_UPSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def draw_reference_number(prefix: str, year: int) -> int:
    """The next number of the (prefix, year) sequence, by one INSERT … ON CONFLICT DO UPDATE …
    RETURNING: the first draw creates the counter at 1, each later one adds 1. Two transactions never
    get the same number (on PostgreSQL the second waits on the counter's row until the first ends),
    and the draw belongs to the caller's transaction: a rollback gives the number back.

    The rule this keeps: the numbers of a (prefix, year) are 1, 2, 3… without a gap across all the
    calls that share it, since only a committed submission keeps its number and a reference is never
    taken back (a withdrawn dossier keeps its own). A call's own list skips the numbers its siblings
    took: SISA-2026-0001 and 0003 on the call, 0002 on its clone."""
    upsert = _UPSERT[db.session.get_bind().dialect.name](ReferenceCounter)
    return db.session.execute(
        upsert.values(prefix=prefix, year=year, last_number=1)
        .on_conflict_do_update(index_elements=[ReferenceCounter.prefix, ReferenceCounter.year],
                               set_={"last_number": ReferenceCounter.last_number + 1})
        .returning(ReferenceCounter.last_number)
    ).scalar_one()


def next_reference(call: Call, now: datetime) -> str:
    """The dossier's reference, ``PREFIX-YEAR-NNNN``, from the call's (prefix, year) sequence (see
    :func:`draw_reference_number`). A closed call gives no number: its row is read with a shared
    lock, so a manager closing it meanwhile waits for this submission, or this one sees it closed."""
    still_open = db.session.scalar(
        sa.select(Call.id)
        .where(Call.id == call.id, Call.state == CallState.OPEN, Call.opens_at <= now, Call.closes_at > now)
        .with_for_update(read=True)
    )
    if still_open is None:
        raise DomainError(_("L'appel est clos : la date limite de dépôt est passée."))
    number = draw_reference_number(call.reference_prefix, call.year)
    return f"{call.reference_prefix}-{call.year}-{number:04d}"


class SubmissionRefused(ConstraintViolated):
    """The database refused the submission (a constraint); nothing of it is kept, the draft is intact."""


def submit(application: Application, *, actor, expected_version: int | None = None,
           now: datetime | None = None) -> Application:
    """Submit a draft before the call's closing (to the second), or resubmit after corrections before
    the correction's deadline; every section must be complete. Gives the reference on the first
    submission and queues a receipt to everyone acting for the applicant."""
    now = now or utcnow()
    if application.state not in (ApplicationState.DRAFT, ApplicationState.CORRECTIONS_REQUESTED):
        raise AlreadySubmitted(_("Ce dossier est déjà déposé."))
    if expected_version is not None and expected_version != application.version:
        raise EditConflict()
    correction = None
    if application.state == ApplicationState.DRAFT:
        if not application.call.accepts_submissions_at(now):
            raise DomainError(_("La date limite de dépôt est passée (%(deadline)s, heure de Paris) : le dossier "
                                "ne peut plus être déposé.",
                                deadline=local_datetime(application.call.closes_at, "day_at_time")))
    else:
        correction = open_correction(application)
        if correction is None or now >= correction.due_at:
            raise DomainError(_("Le délai de la demande de compléments est passé : le dossier ne peut plus être redéposé."))
    problems = submission_problems(application, now)
    if problems:
        raise SubmissionIncomplete(problems)
    before = application.state
    # Built before the flush: once a flush fails, PostgreSQL loads nothing (the user's language
    # included) until the view has rolled back.
    refused = _("Le dépôt n'a pas pu être enregistré : la base de données l'a refusé. Votre brouillon est "
                "intact et aucun numéro n'a été attribué ; réessayez, et si cela se reproduit, prévenez le "
                "service instructeur.")
    try:
        if correction is None:
            application.reference = next_reference(application.call, now)
            application.submitted_at = now
            action = "application.submitted"
        else:
            correction.answered_at = now
            action = "application.resubmitted"
        application.move_to(ApplicationState.SUBMITTED)
        application.updated_at = now
        # The version check of this flush is what turns a concurrent double click into one submission.
        db.session.flush()
    except IntegrityError as error:
        raise SubmissionRefused(constraint_violated(error), refused) from error
    record_transition(action, application, before, ApplicationState.SUBMITTED, actor=actor,
                      reference=application.reference)
    round_number = len(corrections_of(application))
    for user in application.applicant.acting_users():
        queue_email("application_submitted", user, dedup_key=f"application_submitted:{application.id}:{round_number}:{user.id}",
                    application=application, user=user, resubmitted=correction is not None)
    db.session.flush()
    return application


def withdraw(application: Application, *, actor, reason: str = "", now: datetime | None = None) -> Application:
    """The applicant takes the dossier back, at any time before a decision."""
    now = now or utcnow()
    if application.state not in WITHDRAWABLE:
        raise DomainError(_("Ce dossier ne peut plus être retiré."))
    before = application.state
    application.move_to(ApplicationState.WITHDRAWN)
    application.withdrawn_at = now
    application.updated_at = now
    db.session.flush()
    record_transition("application.withdrawn", application, before, ApplicationState.WITHDRAWN, actor=actor,
                      reason=reason.strip()[:1000])
    for user in application.applicant.acting_users():
        queue_email("application_withdrawn", user, dedup_key=f"application_withdrawn:{application.id}:{user.id}",
                    application=application, user=user, actor=actor)
    db.session.flush()
    return application


def request_corrections(application: Application, *, actor, message: str, due_at: datetime, sections: list[str],
                        now: datetime | None = None) -> CorrectionRequest:
    """A manager's demande de compléments on a submitted dossier: reopens the named sections until
    ``due_at`` (even past the call's closing) and tells the applicant."""
    now = now or utcnow()
    if application.state != ApplicationState.SUBMITTED:
        raise DomainError(_("Seul un dossier déposé, pas encore en instruction, peut faire l'objet d'une demande de compléments."))
    if not message.strip():
        raise DomainError(_("Dites ce qu'il faut compléter."), field="message")
    chosen = [section for section in SECTIONS if section in set(sections)]
    if not chosen:
        raise DomainError(_("Choisissez au moins une partie du dossier à rouvrir."), field="sections")
    if due_at <= now:
        raise DomainError(_("Le délai doit être dans le futur."), field="due_at")
    correction = CorrectionRequest(application=application, requested_by_id=actor.id, message=message.strip(),
                                   sections=chosen, due_at=due_at, created_at=now)
    db.session.add(correction)
    before = application.state
    application.move_to(ApplicationState.CORRECTIONS_REQUESTED)
    db.session.flush()
    record_transition("application.corrections_requested", application, before,
                      ApplicationState.CORRECTIONS_REQUESTED, actor=actor, sections=",".join(chosen),
                      due_at=due_at.isoformat())
    for user in application.applicant.acting_users():
        queue_email("corrections_requested", user, dedup_key=f"corrections_requested:{correction.id}:{user.id}",
                    application=application, correction=correction, user=user,
                    section_labels=[str(SECTION_LABELS[s]) for s in chosen])
    db.session.flush()
    return correction


# --- Lists ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MyApplicationRow:
    application: Application
    deadline: datetime | None
    editable: bool


def applications_of(applicants: list[Applicant], now: datetime | None = None) -> list[MyApplicationRow]:
    """The applications of the given applicants, most recently changed first, with the deadline that
    matters to each (the call's closing for a draft, the correction's for a reopened dossier)."""
    now = now or utcnow()
    ids = [applicant.id for applicant in applicants]
    if not ids:
        return []
    applications = db.session.scalars(
        sa.select(Application).where(Application.applicant_id.in_(ids))
        .options(sa.orm.selectinload(Application.call), sa.orm.selectinload(Application.applicant))
        .order_by(Application.updated_at.desc(), Application.id.desc())
    ).all()
    return [MyApplicationRow(application=a, deadline=submission_deadline(a), editable=bool(editable_sections(a, now)))
            for a in applications]


SUBMITTED_STATES = tuple(s for s in ApplicationState if s not in (ApplicationState.DRAFT,))


MANAGER_PAGE_SIZE = 50


def _managed(call_id: int, state: ApplicationState | None) -> tuple:
    conditions = (Application.call_id == call_id, Application.state != ApplicationState.DRAFT)
    return conditions if state is None else (*conditions, Application.state == state)


def call_applications(call: Call, state: ApplicationState | None = None, *, page: int = 1,
                      per_page: int | None = None) -> Pagination:
    """One page of a call's applications as managers see them: everything but drafts (or one state), in
    order of arrival. A count and a page with its applicants: the same statements for 10 or 10,000."""
    query = (
        sa.select(Application)
        .where(*_managed(call.id, state))
        .options(sa.orm.selectinload(Application.applicant).selectinload(Applicant.organisation),
                 sa.orm.selectinload(Application.applicant).selectinload(Applicant.person))
        .order_by(Application.submitted_at.is_(None), Application.submitted_at, Application.id)
    )
    return db.paginate(query, page=page, per_page=per_page or MANAGER_PAGE_SIZE, error_out=False)


def next_in_call(application: Application, state: ApplicationState | None = None) -> int | None:
    """The id of the dossier after ``application`` in its call's list (order of arrival; in ``state`` when
    the manager filtered the list by it), or None at the end. One statement."""
    if application.submitted_at is None:
        return None
    return db.session.scalar(
        sa.select(Application.id)
        .where(*_managed(application.call_id, state), sa.or_(
            Application.submitted_at > application.submitted_at,
            sa.and_(Application.submitted_at == application.submitted_at, Application.id > application.id)))
        .order_by(Application.submitted_at, Application.id)
        .limit(1)
    )
