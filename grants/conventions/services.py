"""Conventions: generating an award's agreement (and its avenants) as a PDF, the online signature by
the beneficiary's legal representative, a signed scan instead, the manager's countersignature.

- The PDF is rendered by WeasyPrint from ``templates/conventions/document.html`` (the same body is shown
  on screen) and stored under a generated key; its SHA-256 is recorded with the row. Signing and
  countersigning re-read the stored file and refuse when its hash differs (a file changed after
  generation, or after signature, is shown as such and never signed).
- The legal representative of an organisation is taken to be its earliest owner (the member who
  registered it, or the first one made responsible); of an individual beneficiary, the person.
- Each step is one conditional UPDATE (``… WHERE signed_at IS NULL``): two signatures at once, or a
  countersignature racing a new version, leave one winner and a clear refusal.
- Countersigning stores the instant on the decision (``convention_countersigned_at``), which
  grants.awards reads to refuse any payment before it.
Services flush; the view commits once. Notifications are outbox rows of the same transaction."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from grants import pdf
from grants.accounts.models import User
from grants.applications.file_types import PDF, UnrecognisedFile, detect_file_type
from grants.audit.services import record_event
from grants.awards.models import Decision, Outcome
from grants.awards.services import convention_required
from grants.conventions.models import Convention, SignatureMethod
from grants.database import db, utcnow
from grants.errors import DomainError
from grants.organisations.models import Membership, MembershipRole
from grants.outbox.services import queue_email
from grants.storage import StorageUnavailable, attachment_storage

CENT = Decimal("0.01")
SCAN_MAX_BYTES_SETTING = "MAX_UPLOAD_BYTES"


class ConventionRefused(DomainError):
    """A step of the convention cannot be taken in its present state."""


# --- Reading ----------------------------------------------------------------------------------


def legal_representative(applicant) -> User | None:
    """Who signs for the beneficiary: the person, or the organisation's earliest owner."""
    if applicant.organisation is None:
        return applicant.person
    return db.session.scalar(
        db.select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == applicant.organisation_id, Membership.role == MembershipRole.OWNER)
        .order_by(Membership.joined_at, Membership.id).limit(1)
    )


def versions_of(decision: Decision | None) -> list[Convention]:
    """Every version of the award's convention, oldest first (the convention, then its avenants)."""
    if decision is None:
        return []
    return db.session.scalars(db.select(Convention).where(Convention.decision_id == decision.id)
                              .order_by(Convention.version)).all()


def current_of(decision: Decision | None) -> Convention | None:
    versions = versions_of(decision)
    return versions[-1] if versions else None


def current_by_decision(decision_ids: list[int]) -> dict[int, Convention]:
    """The latest version of each of these awards' conventions, by decision id: one statement, even
    for none (a page's query count does not depend on what it lists)."""
    current: dict[int, Convention] = {}
    for convention in db.session.scalars(db.select(Convention).where(Convention.decision_id.in_(decision_ids))
                                         .order_by(Convention.decision_id, Convention.version)):
        current[convention.decision_id] = convention  # ordered by version: the last one stays
    return current


def is_award(decision: Decision | None) -> bool:
    return decision is not None and decision.outcome == Outcome.AWARDED and decision.cancelled_at is None


def needs_new_version(decision: Decision) -> bool:
    """A convention is to be generated: none yet, or the award's amount changed since the last one."""
    if not is_award(decision) or not convention_required(decision):
        return False
    current = current_of(decision)
    return current is None or current.amount != decision.amount


def stored_sha256(key: str) -> str | None:
    """The SHA-256 of the stored file, or None when it is missing."""
    digest = hashlib.sha256()
    try:
        with attachment_storage().open(key) as stream:
            for chunk in iter(lambda: stream.read(64 * 1024), b""):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def pdf_intact(convention: Convention) -> bool | None:
    """The stored PDF is the one generated (its hash is the recorded one); None while the store is out
    of reach."""
    try:
        return stored_sha256(convention.pdf_storage_key) == convention.pdf_sha256
    except StorageUnavailable:
        return None


def _checked_pdf_sha256(convention: Convention) -> str | None:
    try:
        return stored_sha256(convention.pdf_storage_key)
    except StorageUnavailable:
        raise _storage_unavailable() from None


def _storage_unavailable(field: str | None = None) -> ConventionRefused:
    return ConventionRefused(_("Le stockage des fichiers est momentanément indisponible : réessayez dans "
                               "quelques minutes."), field=field)


def open_pdf(convention: Convention):
    return attachment_storage().open(convention.pdf_storage_key)


def open_scan(convention: Convention):
    return attachment_storage().open(convention.scan_storage_key)


@dataclass(frozen=True)
class ConventionTerms:
    """What the document states, read from the award at generation (or from a stored version)."""

    decision: Decision
    version: int
    amount: Decimal
    previous_amount: Decimal | None
    advance: Decimal
    advance_share: Decimal
    representative: User | None
    grantor_name: str
    grantor_siret: str
    generated_at: datetime

    @property
    def application(self):
        return self.decision.application

    @property
    def applicant(self):
        return self.decision.application.applicant

    @property
    def call(self):
        return self.decision.application.call

    @property
    def balance(self) -> Decimal:
        return self.amount - self.advance

    @property
    def is_amendment(self) -> bool:
        return self.previous_amount is not None


def terms_of(convention: Convention) -> ConventionTerms:
    decision = convention.decision
    amount = convention.amount
    share = (convention.advance / amount).quantize(Decimal("0.0001")) if amount else Decimal(0)
    return ConventionTerms(decision=decision, version=convention.version, amount=amount,
                           previous_amount=convention.previous_amount, advance=convention.advance,
                           advance_share=share, representative=legal_representative(decision.application.applicant),
                           grantor_name=current_app.config["GRANTOR_NAME"] or "",
                           grantor_siret=current_app.config["GRANTOR_SIRET"] or "",
                           generated_at=convention.generated_at)


def render_pdf(terms: ConventionTerms) -> bytes:
    """The convention as a PDF (WeasyPrint, from the HTML template shared with the screen)."""
    return pdf.render_pdf("conventions/pdf.html", terms=terms)


# --- Generating -------------------------------------------------------------------------------


def _store(stream, sha256: str, *, field: str | None) -> str:
    """Store a PDF (its hash checked by the store); a store out of reach is a refusal, nothing written."""
    try:
        return attachment_storage().save(stream, content_type="application/pdf", sha256=sha256)
    except StorageUnavailable:
        raise _storage_unavailable(field) from None


def _applicant_users(decision: Decision) -> list[User]:
    return [user for user in decision.application.applicant.acting_users() if user.active]


def generate(decision: Decision, *, actor) -> Convention:
    """Generate the award's convention, or an avenant when the amount changed since the last version:
    the PDF rendered and stored, its hash recorded, the legal representative told it awaits signature."""
    if not is_award(decision):
        raise ConventionRefused(_("Seule une subvention accordée et non annulée reçoit une convention."))
    if not convention_required(decision):
        raise ConventionRefused(_("Cette subvention est sous le seuil de la convention et l'appel n'en demande pas."))
    current = current_of(decision)
    if current is not None and current.amount == decision.amount:
        raise ConventionRefused(_("La convention en vigueur porte déjà sur le montant accordé."))
    signed_before = [v for v in versions_of(decision) if v.countersigned]
    previous_amount = signed_before[-1].amount if signed_before else None
    call = decision.application.call
    advance = (decision.amount * call.advance_share).quantize(CENT, rounding=ROUND_DOWN)
    representative = legal_representative(decision.application.applicant)
    if representative is None:
        raise ConventionRefused(_("L'organisme n'a pas de responsable pour signer la convention."))
    now = utcnow()
    version = current.version + 1 if current else 1
    terms = ConventionTerms(decision=decision, version=version, amount=decision.amount,
                            previous_amount=previous_amount, advance=advance, advance_share=call.advance_share,
                            representative=representative, grantor_name=current_app.config["GRANTOR_NAME"] or "",
                            grantor_siret=current_app.config["GRANTOR_SIRET"] or "", generated_at=now)
    pdf = render_pdf(terms)
    key = _store(io.BytesIO(pdf), hashlib.sha256(pdf).hexdigest(), field=None)
    convention = Convention(decision_id=decision.id, version=version, amount=decision.amount,
                            previous_amount=previous_amount, advance=advance, pdf_storage_key=key,
                            pdf_sha256=hashlib.sha256(pdf).hexdigest(), generated_by_id=actor.id, generated_at=now)
    lost = _("Une autre version de la convention vient d'être générée : rechargez la page.")
    try:
        with db.session.begin_nested():
            db.session.add(convention)
    except IntegrityError:
        attachment_storage().delete(key)
        raise ConventionRefused(lost) from None
    record_event("convention.generated", actor=actor, subject=decision, version=version, amount=decision.amount,
                 sha256=convention.pdf_sha256)
    if representative.active:
        queue_email("convention_ready", representative, application=decision.application, convention=convention,
                    user=representative)
    db.session.flush()
    return convention


# --- Signing ----------------------------------------------------------------------------------


def _ensure_current(convention: Convention) -> None:
    if not is_award(convention.decision):
        raise ConventionRefused(_("Cette subvention a été annulée."))
    current = current_of(convention.decision)
    if current is None or current.id != convention.id:
        raise ConventionRefused(_("Une version plus récente de la convention existe : c'est elle qui se signe."))


def _signed_update(convention: Convention, **values) -> bool:
    done = db.session.execute(
        sa.update(Convention).where(Convention.id == convention.id, Convention.signed_at.is_(None))
        .values(**values).execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(convention)
    return bool(done)


def _tampered() -> ConventionRefused:
    return ConventionRefused(_("Le PDF enregistré ne correspond plus à son empreinte SHA-256 : il a été modifié "
                               "après sa génération. Il ne peut pas être signé ; une nouvelle version est à générer."))


def sign(convention: Convention, *, user, consent: bool, seen_sha256: str) -> Convention:
    """The legal representative signs online: authenticated (``user``), explicit consent, the hash of
    the PDF they were shown; the hash, the instant and the signer are recorded and audited."""
    _ensure_current(convention)
    representative = legal_representative(convention.decision.application.applicant)
    if representative is None or representative.id != user.id:
        raise ConventionRefused(_("Seul le représentant légal de l'organisme (%(name)s) peut signer la convention.",
                                  name=representative.full_name if representative else "—"))
    if not consent:
        raise ConventionRefused(_("Cochez la case pour donner votre consentement à la signature."), field="consent")
    if convention.signed:
        raise ConventionRefused(_("Cette convention est déjà signée."))
    actual = _checked_pdf_sha256(convention)
    if actual != convention.pdf_sha256:
        raise _tampered()
    if seen_sha256 != convention.pdf_sha256:
        raise ConventionRefused(_("Le document affiché n'est plus celui à signer : rechargez la page."))
    now = utcnow()
    if not _signed_update(convention, signed_at=now, signed_by_id=user.id, signature_method=SignatureMethod.ONLINE,
                          signed_sha256=actual):
        raise ConventionRefused(_("Cette convention est déjà signée."))
    record_event("convention.signed", actor=user, subject=convention.decision, version=convention.version,
                 sha256=actual)
    _tell_manager(convention)
    db.session.flush()
    return convention


def _tell_manager(convention: Convention) -> None:
    manager = convention.decision.decided_by
    if manager is not None and manager.active:
        queue_email("convention_signed", manager, application=convention.decision.application,
                    convention=convention, user=manager)


def upload_scan(convention: Convention, *, stream, actor) -> Convention:
    """A manager records the paper copy signed by hand (a PDF scan) in place of the online signature."""
    _ensure_current(convention)
    if convention.signed:
        raise ConventionRefused(_("Cette convention est déjà signée."), field="scan")
    try:
        kind = detect_file_type(stream)
    except UnrecognisedFile:
        kind = None
    if kind is not PDF:
        raise ConventionRefused(_("Le scan signé doit être un fichier PDF."), field="scan")
    size = stream.seek(0, 2)
    stream.seek(0)
    if size > current_app.config[SCAN_MAX_BYTES_SETTING]:
        raise ConventionRefused(_("Le fichier est trop volumineux."), field="scan")
    digest = hashlib.sha256(stream.read()).hexdigest()
    stream.seek(0)
    key = _store(stream, digest, field="scan")
    if not _signed_update(convention, signed_at=utcnow(), signed_by_id=actor.id, signature_method=SignatureMethod.SCAN,
                          signed_sha256=digest, scan_storage_key=key):
        attachment_storage().delete(key)
        raise ConventionRefused(_("Cette convention est déjà signée."), field="scan")
    record_event("convention.scan_uploaded", actor=actor, subject=convention.decision, version=convention.version,
                 sha256=digest)
    db.session.flush()
    return convention


def countersign(convention: Convention, *, actor) -> Convention:
    """The manager countersigns a signed version: the advance becomes payable (the decision records
    the instant of the first countersignature), the beneficiary is told."""
    _ensure_current(convention)
    if not convention.signed:
        raise ConventionRefused(_("La convention doit être signée par le bénéficiaire avant la contresignature."))
    if convention.signature_method == SignatureMethod.ONLINE and _checked_pdf_sha256(convention) != convention.pdf_sha256:
        raise _tampered()
    now = utcnow()
    done = db.session.execute(
        sa.update(Convention).where(Convention.id == convention.id, Convention.signed_at.is_not(None),
                                    Convention.countersigned_at.is_(None))
        .values(countersigned_at=now, countersigned_by_id=actor.id).execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        raise ConventionRefused(_("Cette convention est déjà contresignée."))
    db.session.execute(
        sa.update(Decision).where(Decision.id == convention.decision_id, Decision.convention_countersigned_at.is_(None))
        .values(convention_countersigned_at=now).execution_options(synchronize_session=False)
    )
    db.session.refresh(convention)
    db.session.refresh(convention.decision)
    record_event("convention.countersigned", actor=actor, subject=convention.decision, version=convention.version)
    for user in _applicant_users(convention.decision):
        queue_email("convention_countersigned", user, application=convention.decision.application,
                    convention=convention, user=user)
    db.session.flush()
    return convention
