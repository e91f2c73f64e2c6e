"""Single-use links of getting started: account tokens (verify an email, reset a password) and
team invitations. Only the SHA-256 of each token is stored, as for sessions and API keys."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.tenancy import ROLE_COLUMN_TYPE, ROLE_VALUES, Role
from boka.models.types import UTCDateTime, new_id, utcnow


class TokenPurpose(str, enum.Enum):
    VERIFY_EMAIL = "verify_email"
    PASSWORD_RESET = "password_reset"
    EMAIL_CHANGE = "email_change"


class AccountToken(SQLModel, table=True):
    """A link mailed to an account's holder; good once, until ``expires_at``. Global, like the
    account it belongs to (no tenant)."""

    __tablename__ = "account_tokens"
    __table_args__ = (
        sa.CheckConstraint("purpose IN ('verify_email', 'password_reset', 'email_change')", name="purpose"),
        sa.Index("ix_account_tokens_user_id_purpose", "user_id", "purpose"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", nullable=False, ondelete="CASCADE")
    purpose: str = Field(sa_type=sa.String(24), nullable=False)
    token_hash: str = Field(sa_type=sa.String(64), nullable=False, unique=True)
    # The address the link was mailed to (verification proves this one, even if email changes).
    email: str = Field(sa_type=sa.String(254), nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # An email change: the session that asked, the one that survives the change (no foreign key:
    # sessions come and go, and a missing one simply survives nothing).
    session_id: uuid.UUID | None = Field(default=None)


class Invitation(SQLModel, table=True):
    """An invitation to join a tenant's team with a role, mailed as a single-use link."""

    __tablename__ = "invitations"
    __table_args__ = (
        sa.CheckConstraint(f"role IN ({ROLE_VALUES})", name="role"),
        sa.Index("ix_invitations_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    email: str = Field(sa_type=sa.String(254), nullable=False)
    role: Role = Field(sa_type=ROLE_COLUMN_TYPE, nullable=False)
    token_hash: str = Field(sa_type=sa.String(64), nullable=False, unique=True)
    invited_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    sent_count: int = Field(default=1, nullable=False)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accepted_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
