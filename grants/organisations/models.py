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
    """An applicant body. SIRET is checked (Luhn, La Poste exception) by organisations.identifiers."""

    __tablename__ = "organisations"
    __table_args__ = (
        sa.CheckConstraint("length(siret) = 14", name="siret_has_14_digits"),
        sa.CheckConstraint(
            "rna IS NULL OR (length(rna) = 10 AND substr(rna, 1, 1) = 'W')", name="rna_format"
        ),
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


class ApplicantKind(StrEnum):
    ORGANISATION = "organisation"
    INDIVIDUAL = "individual"  # a person, e.g. a job seeker applying to the FRADEP


class Applicant(db.Model):
    """Who applies: an organisation or a person. Applications point here, so one application code
    serves both; exactly one of ``organisation_id`` / ``person_id`` is set, matching ``kind``."""

    __tablename__ = "applicants"
    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'organisation' AND organisation_id IS NOT NULL AND person_id IS NULL)"
            " OR (kind = 'individual' AND person_id IS NOT NULL AND organisation_id IS NULL)",
            name="one_party_matching_kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ApplicantKind] = mapped_column(enum_type(ApplicantKind, "applicant_kind"))
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), unique=True
    )
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    # A person's postal address; an organisation's is on the organisation.
    address: Mapped[str | None] = mapped_column(sa.String(300))

    organisation = relationship("Organisation")
    person = relationship("User", back_populates="individual_applicant")

    @property
    def display_name(self) -> str:
        return self.organisation.name if self.organisation else self.person.full_name

    def acting_users(self) -> list:
        """The users who may act for this applicant: the organisation's members, or the person."""
        if self.organisation is not None:
            return [m.user for m in self.organisation.memberships]
        return [self.person]

    def is_represented_by(self, user) -> bool:
        if self.kind == ApplicantKind.INDIVIDUAL:
            return self.person_id == user.id
        return any(m.user_id == user.id for m in self.organisation.memberships)
