"""Every column of the database, classified: what kind of personal data it holds (if any), for which
processing (its purpose and legal basis, see ``PROCESSINGS``), kept how long, and how a person's rows
are found for their export. tests/privacy/test_inventory.py fails on a column of the metadata that is
not listed here, or listed here and gone: a new column states what it holds before it ships.

The record of processing activities (GDPR article 30, ``register.py``), the privacy notice and the
export are generated from this table, so they cannot forget a table the code uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Category(StrEnum):
    NONE = "none"  # not about a person (or only about a legal person)
    PERSON = "person"  # a user's id: links the row to a person
    IDENTITY = "identity"  # name, email
    CONTACT = "contact"  # postal address, phone
    FINANCIAL = "financial"  # bank details
    CONNECTION = "connection"  # addresses, sign-in times, device sessions
    CONTENT = "content"  # free text a person wrote or that is written about them
    FILE = "file"  # a file a person uploaded (its key, name, fingerprint)
    SECRET = "secret"  # a password's or a token's hash: never exported, never shown


CATEGORY_LABELS = {
    Category.PERSON: _l("identifiant de compte"),
    Category.IDENTITY: _l("identité (nom, adresse e-mail)"),
    Category.CONTACT: _l("coordonnées (adresse postale, téléphone)"),
    Category.FINANCIAL: _l("coordonnées bancaires"),
    Category.CONNECTION: _l("données de connexion (adresses IP, sessions, dates de connexion)"),
    Category.CONTENT: _l("textes saisis (description du projet, commentaires, motifs)"),
    Category.FILE: _l("pièces jointes déposées"),
    Category.SECRET: _l("empreintes de mots de passe et de jetons"),
}


class Export(StrEnum):
    """How the export finds a person's rows of a table."""

    BY_PERSON = "by_person"  # rows whose PERSON column (any of them) is the person
    BY_EMAIL = "by_email"  # rows addressed to the person's email (an invitation before the account)
    VIA_APPLICATION = "via_application"  # rows of an application the export includes
    VIA_AUDIT_EVENT = "via_audit_event"  # the address of an audit event the export includes
    NONE = "none"  # nothing about a natural person


@dataclass(frozen=True)
class Processing:
    """One processing activity of the record (article 30)."""

    name: object  # lazy string
    purpose: object
    basis: object
    subjects: object
    recipients: object


PUBLIC_TASK = _l("mission d'intérêt public (RGPD art. 6.1.e) : attribution des subventions de la collectivité")
LEGAL_OBLIGATION = _l("obligation légale (RGPD art. 6.1.c)")

PROCESSINGS = {
    "accounts": Processing(
        _l("Comptes et connexion"),
        _l("Permettre aux personnes de se connecter, de déposer et de suivre leurs dossiers."),
        PUBLIC_TASK,
        _l("Demandeurs (membres d'associations, particuliers), agents, évaluateurs"),
        _l("Administrateurs de la plateforme"),
    ),
    "applications": Processing(
        _l("Instruction des demandes de subvention"),
        _l("Recevoir, instruire et archiver les dossiers de demande et leurs pièces."),
        PUBLIC_TASK,
        _l("Demandeurs et personnes citées dans les dossiers"),
        _l("Chargés de mission, évaluateurs désignés, commission"),
    ),
    "reviews": Processing(
        _l("Évaluation des dossiers"),
        _l("Noter les dossiers selon les critères de l'appel et gérer les conflits d'intérêts."),
        PUBLIC_TASK,
        _l("Évaluateurs, demandeurs"),
        _l("Chargés de mission"),
    ),
    "awards": Processing(
        _l("Décisions, engagements et paiements"),
        _l("Décider des subventions, les engager et les payer ; publier les données essentielles (SCDL)."),
        _l("obligation légale (RGPD art. 6.1.c) : comptabilité publique (décret n° 2012-1246), "
           "transparence des subventions (loi n° 2000-321, art. 10)"),
        _l("Bénéficiaires, agents"),
        _l("Chargés de mission, service financier, comptable public"),
    ),
    "notifications": Processing(
        _l("Messages et rappels"),
        _l("Informer les personnes de l'avancement de leurs dossiers et de leurs tâches."),
        PUBLIC_TASK,
        _l("Toutes les personnes ayant un compte"),
        _l("Prestataire d'envoi des e-mails"),
    ),
    "security": Processing(
        _l("Journal d'audit et sécurité"),
        _l("Tracer les actions et les accès pour la sécurité et la preuve des décisions."),
        _l("obligation légale (RGPD art. 5.1.f et 32 : sécurité du traitement)"),
        _l("Toutes les personnes ayant un compte, visiteurs qui tentent de se connecter"),
        _l("Administrateurs de la plateforme"),
    ),
    "rights": Processing(
        _l("Exercice des droits"),
        _l("Répondre aux demandes d'accès, de portabilité et d'effacement."),
        _l("obligation légale (RGPD art. 12 à 22)"),
        _l("Personnes qui exercent leurs droits"),
        _l("Administrateurs, délégué à la protection des données"),
    ),
}


# How long each retention key keeps data, as the notice says it (the figures are in the settings).
ACCOUNT = "account"  # as long as the account is open; erased or pseudonymised at its closure
ARCHIVES = "archives"  # kept with the grant file it belongs to (awarded_applications, refused_applications)
SETTINGS = "settings"  # configuration, not personal
BUNDLE = "bundle"  # a copy made for the committee, deleted when its link expires (BUNDLE_LIFETIME_SECONDS)


@dataclass(frozen=True)
class Table:
    processing: str | None  # a key of PROCESSINGS; None for configuration tables
    retention: str  # a key of PRIVACY_RETENTION_DAYS, or ACCOUNT, ARCHIVES, SETTINGS
    export: Export
    columns: dict[str, Category] = field(default_factory=dict)

    def personal_columns(self) -> dict[str, Category]:
        return {name: kind for name, kind in self.columns.items() if kind != Category.NONE}

    def person_columns(self) -> list[str]:
        return [name for name, kind in self.columns.items() if kind == Category.PERSON]


N, P, ID, CT, FI, CX, TX, FL, SE = (Category.NONE, Category.PERSON, Category.IDENTITY, Category.CONTACT,
                                     Category.FINANCIAL, Category.CONNECTION, Category.CONTENT, Category.FILE,
                                     Category.SECRET)


def _none(*names: str) -> dict[str, Category]:
    return dict.fromkeys(names, N)


INVENTORY: dict[str, Table] = {
    # -- accounts ---------------------------------------------------------------------------------
    "users": Table("accounts", ACCOUNT, Export.BY_PERSON, {
        "id": P, "email": ID, "password_hash": SE, "full_name": ID, "locale": N, "active": N, "staff_role": N,
        "created_at": N, "last_login_at": CX, "email_confirmed_at": CX, "wants_digest": N, "wants_call_news": N,
        "unread_notifications": N}),
    "login_sessions": Table("accounts", "login_sessions", Export.BY_PERSON, {
        "id": N, "user_id": P, "token_hash": SE, "created_at": CX, "expires_at": CX}),
    "api_tokens": Table("accounts", "api_tokens", Export.BY_PERSON, {
        "id": N, "user_id": P, "name": N, "prefix": N, "token_hash": SE, "created_at": CX, "last_used_at": CX,
        "revoked_at": N}),
    # -- organisations and applicants -------------------------------------------------------------
    # An organisation is a legal person; its contact email and phone may name a person (kept as the
    # organisation's, not exported as a member's data).
    "organisations": Table("applications", ARCHIVES, Export.NONE, {
        **_none("id", "name", "legal_form", "siret", "rna", "street", "postal_code", "city", "created_at"),
        "email": CT, "phone": CT, "iban": FI, "bic": FI}),
    "memberships": Table("applications", ACCOUNT, Export.BY_PERSON, {
        "id": N, "user_id": P, "organisation_id": N, "role": N, "joined_at": N}),
    "invitations": Table("applications", ACCOUNT, Export.BY_EMAIL, {
        "id": N, "organisation_id": N, "email": ID, "invited_by_id": P, "created_at": N, "expires_at": N,
        "accepted_at": N, "accepted_by_id": P}),
    "applicants": Table("applications", ARCHIVES, Export.BY_PERSON, {
        "id": N, "kind": N, "organisation_id": N, "person_id": P, "address": CT, "iban": FI, "bic": FI}),
    # -- calls (configuration; the staff who decided are named in the audit log) ----------------------
    "programmes": Table(None, SETTINGS, Export.NONE, _none("id", "code", "name", "description", "created_at")),
    "programme_budgets": Table(None, SETTINGS, Export.NONE, _none(
        "id", "programme_id", "year", "section", "authorised", "carved", "direct_committed")),
    "programme_follows": Table("notifications", ACCOUNT, Export.BY_PERSON, {
        "id": N, "user_id": P, "programme_id": N, "created_at": N}),
    "calls": Table(None, SETTINGS, Export.NONE, _none(
        "id", "programme_id", "year", "title", "slug", "reference_prefix", "summary", "description",
        "eligibility_rules", "applicant_kinds", "eligible_legal_forms", "partner_regions", "opens_at",
        "closes_at", "state", "min_grant", "max_grant", "max_share_of_cost", "reminder_offsets_days",
        "blind_review", "show_review_comments", "asks_young_people_count", "disagreement_threshold",
        "created_at", "published_at", "advance_share", "convention_below_threshold", "search_text")),
    "call_envelopes": Table(None, SETTINGS, Export.NONE, _none("id", "call_id", "section", "amount", "committed", "paid")),
    "call_funders": Table(None, SETTINGS, Export.NONE, _none("id", "call_id", "name", "share")),
    "criteria": Table(None, SETTINGS, Export.NONE, _none(
        "id", "call_id", "position", "name", "guidance", "weight", "scale_max")),
    "required_documents": Table(None, SETTINGS, Export.NONE, _none(
        "id", "call_id", "position", "name", "required", "accepted_types")),
    "reference_counters": Table(None, SETTINGS, Export.NONE, _none("prefix", "year", "last_number")),
    # A direct grant names its beneficiary, who may be a person (SCDL publishes it).
    "direct_grants": Table("awards", ARCHIVES, Export.BY_PERSON, {
        **_none("id", "programme_budget_id", "organisation_id", "purpose", "amount", "paid", "decided_at"),
        "beneficiary_name": ID, "decided_by_id": P}),
    # -- applications -----------------------------------------------------------------------------
    "applications": Table("applications", ARCHIVES, Export.BY_PERSON, {
        **_none("id", "call_id", "applicant_id", "reference", "state", "version", "beneficiaries_count",
                "young_people_count", "partner_region", "starts_on", "ends_on", "section", "amount_requested",
                "total_expenses", "total_resources", "eligible", "created_at", "updated_at", "submitted_at",
                "decided_at", "withdrawn_at", "screened_at"),
        "created_by_id": P, "screened_by_id": P, "title": TX, "summary": TX, "objectives": TX,
        "target_public": TX, "places": TX, "eligibility_reason": TX}),
    "budget_lines": Table("applications", ARCHIVES, Export.VIA_APPLICATION, {
        **_none("id", "application_id", "kind", "account", "is_region_request", "amount", "position"),
        "label": TX, "funder": TX}),
    "attachments": Table("applications", ARCHIVES, Export.VIA_APPLICATION, {
        **_none("id", "application_id", "required_document_id", "content_type", "size_bytes", "uploaded_at"),
        "original_filename": FL, "storage_key": FL, "sha256": FL, "uploaded_by_id": P}),
    # The committee's ZIP of a call's attachments: copies of the applicants' files, for a few days.
    "attachment_bundles": Table("applications", BUNDLE, Export.BY_PERSON, {
        **_none("id", "call_id", "state", "files_total", "files_done", "files_missing", "created_at", "ready_at",
                "expires_at"),
        "requested_by_id": P, "bundle_storage_key": FL, "bundle_size_bytes": FL, "bundle_sha256": FL}),
    "correction_requests": Table("applications", ARCHIVES, Export.VIA_APPLICATION, {
        **_none("id", "application_id", "sections", "due_at", "created_at", "answered_at"),
        "requested_by_id": P, "message": TX}),
    # -- reviews ----------------------------------------------------------------------------------
    "conflicts_of_interest": Table("reviews", ARCHIVES, Export.BY_PERSON, {
        "id": N, "reviewer_id": P, "applicant_id": N, "reason": TX, "declared_at": N}),
    "review_assignments": Table("reviews", ARCHIVES, Export.BY_PERSON, {
        **_none("id", "application_id", "assigned_at", "due_on", "state", "transmitted"),
        "reviewer_id": P, "assigned_by_id": P, "recusal_reason": TX}),
    # A review is the reviewer's: exported with their assignment (not with the applicant's file).
    "reviews": Table("reviews", ARCHIVES, Export.NONE, {
        **_none("id", "assignment_id", "state", "opinion", "suggested_amount", "updated_at", "submitted_at", "score"),
        "comment": TX}),
    "criterion_scores": Table("reviews", ARCHIVES, Export.NONE, {
        **_none("id", "review_id", "criterion_id", "score"), "comment": TX}),
    # -- awards -----------------------------------------------------------------------------------
    "decisions": Table("awards", ARCHIVES, Export.VIA_APPLICATION, {
        **_none("id", "application_id", "outcome", "section", "amount", "paid", "decided_at", "cancelled_at",
                "committee_session_id", "convention_countersigned_at", "report_accepted_at", "balance_paid_at",
                "released", "recovery_due"),
        "reason": TX, "decided_by_id": P}),
    # A grant agreement: its PDF and signed scan name the beneficiary's signatory; kept with the file.
    "conventions": Table("awards", ARCHIVES, Export.BY_PERSON, {
        **_none("id", "decision_id", "version", "amount", "previous_amount", "advance", "generated_at",
                "signature_method", "signed_at", "countersigned_at"),
        "pdf_storage_key": FL, "pdf_sha256": FL, "signed_sha256": FL, "scan_storage_key": FL,
        "generated_by_id": P, "signed_by_id": P, "countersigned_by_id": P}),
    # The final report (compte rendu financier) of an award: kept with the grant file.
    "final_reports": Table("awards", ARCHIVES, Export.BY_PERSON, {
        **_none("id", "decision_id", "state", "version", "total_expenses", "total_resources", "created_at",
                "updated_at", "submitted_at", "accepted_at"),
        "activity_report": TX, "correction_reason": TX, "created_by_id": P, "reviewed_by_id": P}),
    "final_report_lines": Table("awards", ARCHIVES, Export.NONE, {
        **_none("id", "report_id", "position", "kind", "account", "label", "forecast", "actual"),
        **_none("explanation")}),  # about the project's spending, not a person
    "final_report_documents": Table("awards", ARCHIVES, Export.BY_PERSON, {
        **_none("id", "report_id", "content_type", "size_bytes", "uploaded_at"),
        "original_filename": FL, "storage_key": FL, "sha256": FL, "uploaded_by_id": P}),
    "committee_sessions": Table("awards", ARCHIVES, Export.BY_PERSON, {
        **_none("id", "call_id", "held_on", "confirmed_at"), "note": TX, "confirmed_by_id": P}),
    "envelope_movements": Table("awards", ARCHIVES, Export.BY_PERSON, {
        **_none("id", "envelope_id", "decision_id", "kind", "tranche", "amount", "effective_on", "created_at"),
        "reason": TX, "actor_id": P}),
    # A call's stored ranking (grants/reviews/ranking.py): figures derived from the reviews, recomputed
    # by the worker; no row names anyone (the reference is the dossier's, shown to staff only).
    "call_rankings": Table(None, SETTINGS, Export.NONE, _none(
        "call_id", "version", "ranked_version", "changed_at", "refreshed_at", "partner_regions")),
    "ranked_applications": Table(None, SETTINGS, Export.NONE, _none(
        "application_id", "call_id", "withdrawn", "state", "section", "partner_region", "reference", "amount",
        "done", "assigned", "mean_score", "normalised_mean", "spread", "suggested_count", "suggested_total",
        "fund", "fund_lower", "do_not_fund", *(f"{scope}{kind}_{sort}" for scope in ("", "section_")
                                                for kind in ("rank", "cumulative")
                                                for sort in ("score", "normalised", "spread", "amount", "reference")))),
    # Counters and sums the envelope dashboard reads (grants/awards/models.py): no row names anyone.
    "call_application_counts": Table(None, SETTINGS, Export.NONE, _none("call_id", "state", "applications")),
    "call_decision_figures": Table(None, SETTINGS, Export.NONE, _none(
        "call_id", "outcome", "section", "decisions", "released", "recovery_due")),
    "envelope_ledger_days": Table(None, SETTINGS, Export.NONE, _none(
        "envelope_id", "day", "committed", "decommitted", "paid", "recovered")),
    # -- notifications ----------------------------------------------------------------------------
    "notifications": Table("notifications", "notifications", Export.BY_PERSON, {
        **_none("id", "event", "dedup_key", "status", "attempts", "created_at", "sent_at", "claimed_at",
                "read_at", "link"),
        "recipient_email": ID, "recipient_id": P, "subject": TX, "body_text": TX, "body_html": TX,
        "last_error": TX}),
    # -- audit ------------------------------------------------------------------------------------
    "audit_events": Table("security", "audit_events", Export.BY_PERSON, {
        **_none("id", "occurred_at", "action", "subject_type", "subject_id", "from_state", "to_state"),
        "actor_id": P, "details": TX}),
    "audit_event_origins": Table("security", "audit_addresses", Export.VIA_AUDIT_EVENT, {
        "event_id": N, "ip_address": CX, "occurred_at": N}),
    "audit_purge_horizons": Table(None, SETTINGS, Export.NONE, _none("id", "purge_before")),
    # -- privacy ----------------------------------------------------------------------------------
    "data_exports": Table("rights", "data_exports", Export.BY_PERSON, {
        **_none("id", "status", "requested_at", "ready_at", "expires_at", "size_bytes"),
        "user_id": P, "requested_by_id": P, "archive_storage_key": FL}),
    "account_closures": Table("rights", ARCHIVES, Export.BY_PERSON, {
        **_none("id", "status", "reason", "requested_at", "completed_at"), "user_id": P}),
}


def unclassified_columns(metadata) -> list[str]:
    """``table.column`` of the metadata missing from the inventory (and inventory entries the metadata
    no longer has, prefixed with ``-``)."""
    problems = []
    for table in metadata.sorted_tables:
        entry = INVENTORY.get(table.name)
        listed = set(entry.columns) if entry else set()
        problems += [f"{table.name}.{column.name}" for column in table.columns if column.name not in listed]
        problems += [f"-{table.name}.{name}" for name in listed - {c.name for c in table.columns}]
    problems += [f"-{name}" for name in set(INVENTORY) - set(metadata.tables)]
    return sorted(problems)
