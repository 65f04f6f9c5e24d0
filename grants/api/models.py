from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.database import UTCDateTime, db, utcnow


class ApiToken(db.Model):
    """A bearer token for the JSON API. Only the SHA-256 of the secret is stored: the secret is shown
    once, when the token is created. ``prefix`` (the secret's first characters) lets staff tell their
    tokens apart in the interface."""

    __tablename__ = "api_tokens"
    __table_args__ = (sa.UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    prefix: Mapped[str] = mapped_column(sa.String(12))
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
