from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.database import UTCDateTime, db, enum_type, utcnow


class LegalForm(StrEnum):
    ASSOCIATION = "association"  # association loi 1901
    FOUNDATION = "foundation"
    LOCAL_AUTHORITY = "local_authority"  # collectivité territoriale, EPCI
    SCHOOL = "school"  # établissement scolaire
    PUBLIC_BODY = "public_body"  # établissement public
    COOPERATIVE = "cooperative"  # SCOP, SCIC
    COMPANY = "company"


class MembershipRole(StrEnum):
    OWNER = "owner"  # registered the organisation; manages members
    MEMBER = "member"


class Organisation(db.Model):
    """An applicant body. SIRET is checked (Luhn, La Poste exception) by organisations.identifiers;
    its bank details, required before any payment, by organisations.bank_details."""

    __tablename__ = "organisations"
    __table_args__ = (
        sa.CheckConstraint("length(siret) = 14", name="siret_has_14_digits"),
        sa.CheckConstraint(
            "rna IS NULL OR (length(rna) = 10 AND substr(rna, 1, 1) = 'W')", name="rna_format"
        ),
        sa.CheckConstraint("iban IS NULL OR length(iban) BETWEEN 15 AND 34", name="iban_length"),
        sa.CheckConstraint("bic IS NULL OR length(bic) IN (8, 11)", name="bic_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    legal_form: Mapped[LegalForm] = mapped_column(enum_type(LegalForm, "legal_form"))
    siret: Mapped[str] = mapped_column(sa.String(14), unique=True)
    rna: Mapped[str | None] = mapped_column(sa.String(10), unique=True)
    street: Mapped[str] = mapped_column(sa.String(200))
    postal_code: Mapped[str] = mapped_column(sa.String(10))
    city: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    # Where grants are paid: compact (no spaces), checked by organisations.bank_details, shown masked.
    iban: Mapped[str | None] = mapped_column(sa.String(34))
    bic: Mapped[str | None] = mapped_column(sa.String(11))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships = relationship("Membership", back_populates="organisation", cascade="all, delete-orphan")

    @property
    def siren(self) -> str:
        return self.siret[:9]

    def has_member(self, user) -> bool:
        return any(m.user_id == user.id for m in self.memberships)

    def __repr__(self) -> str:
        return f"<Organisation {self.siret} {self.name}>"


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("user_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[MembershipRole] = mapped_column(
        enum_type(MembershipRole, "membership_role"), default=MembershipRole.MEMBER
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User", back_populates="memberships")
    organisation = relationship("Organisation", back_populates="memberships")


class Invitation(db.Model):
    """An emailed invitation to join an organisation; the signed link is single-use (accepted_at)."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(sa.String(254))
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    organisation = relationship("Organisation")
    invited_by = relationship("User", foreign_keys=[invited_by_id])
