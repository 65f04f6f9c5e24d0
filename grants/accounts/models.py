from __future__ import annotations

import hashlib
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


def login_token_hash(token: str) -> str:
    """What the database keeps of a login token: a stolen table row opens no session."""
    return hashlib.sha256(token.encode()).hexdigest()


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the owner of the address proved it by opening the link emailed at sign-up; None until then,
    # and such an account cannot sign in. Accounts made another way (staff from the command line, an
    # invitation accepted from its email) are confirmed as they are created.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What a user may opt out of; receipts, decisions and reminders are always sent.
    wants_digest: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    wants_call_news: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # The bell's count: this user's unread notifications, read with the user on every page instead of
    # counted. Database triggers on notifications keep it (migration b7d2e5a91c46), in the same
    # transaction as whatever inserts, reads or deletes one; ``flask notifications recount`` checks it.
    unread_notifications: Mapped[int] = mapped_column(default=0, server_default="0")

    memberships = relationship("Membership", back_populates="user", cascade="all, delete-orphan")
    login_sessions = relationship("LoginSession", back_populates="user", cascade="all, delete-orphan", passive_deletes=True)
    # Set when the person applies in their own name (grants.organisations.models.Applicant).
    individual_applicant = relationship("Applicant", back_populates="person", uselist=False)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    # The token of the device this request signed in with (set at sign-in and by the user loader):
    # the session and remember-me cookies carry it, so signing out can end exactly this session.
    login_token = None  # str | None, never stored: the database keeps only its hash

    def get_id(self) -> str:
        return f"{self.id}:{self.login_token}"

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


class LoginSession(db.Model):
    """One signed-in device. The session and remember-me cookies carry its token; the row is what makes
    them valid, so deleting it (signing out, "everywhere", a password or role change) ends every copy
    of those cookies at once, wherever they were copied to."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A session lives no longer than the remember-me cookie could; expired rows are purged at sign-in.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user = relationship("User", back_populates="login_sessions")
