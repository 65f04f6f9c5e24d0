from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.database import UTCDateTime, db, enum_type, utcnow


class StaffRole(StrEnum):
    REVIEWER = "reviewer"
    MANAGER = "manager"  # chargé(e) de mission: runs calls, screens, awards
    ADMIN = "admin"


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    """A person who signs in: an association member, an individual applicant, or staff."""

    __tablename__ = "users"
    __table_args__ = (
        # Emails are compared case-insensitively: they are stored lower-cased, and the database checks it.
        sa.CheckConstraint("email = lower(email)", name="email_lower_case"),
        sa.CheckConstraint("locale IN ('fr', 'en')", name="known_locale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    full_name: Mapped[str] = mapped_column(sa.String(200))
    locale: Mapped[str] = mapped_column(sa.String(5), default="fr", server_default="fr")
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    staff_role: Mapped[StaffRole | None] = mapped_column(enum_type(StaffRole, "staff_role"))
    # Part of the login cookie: rotating it (password change or reset) signs out every device.
    session_token: Mapped[str] = mapped_column(sa.String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What a user may opt out of; receipts, decisions and reminders are always sent.
    wants_digest: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    wants_call_news: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    memberships = relationship("Membership", back_populates="user", cascade="all, delete-orphan")
    # Set when the person applies in their own name (grants.organisations.models.Applicant).
    individual_applicant = relationship("Applicant", back_populates="person", uselist=False)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_staff(self) -> bool:
        return self.staff_role is not None

    @property
    def is_manager(self) -> bool:
        return self.staff_role in (StaffRole.MANAGER, StaffRole.ADMIN)

    @property
    def is_reviewer(self) -> bool:
        return self.staff_role == StaffRole.REVIEWER

    @property
    def is_admin(self) -> bool:
        return self.staff_role == StaffRole.ADMIN

    def __repr__(self) -> str:
        return f"<User {self.email}>"
