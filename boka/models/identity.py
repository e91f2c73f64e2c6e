"""Users and their sign-in sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import UTCDateTime, new_id, utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # Stored lower-cased by the identity layer, so uniqueness is case-insensitive.
    email: str = Field(sa_type=sa.String(254), nullable=False, unique=True)
    password_hash: str | None = Field(default=None, sa_type=sa.String(255))
    full_name: str = Field(default="", sa_type=sa.String(200), nullable=False)
    is_superadmin: bool = Field(default=False, nullable=False)
    is_active: bool = Field(default=True, nullable=False)
    # When the holder proved they receive mail at ``email`` (a verification link).
    email_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class UserSession(SQLModel, table=True):
    """A signed-in device. Only the SHA-256 of the token is stored, never the token."""

    __tablename__ = "user_sessions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    token_hash: str = Field(sa_type=sa.String(64), nullable=False, unique=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", nullable=False, ondelete="CASCADE", index=True)
    tenant_id: uuid.UUID | None = Field(default=None, foreign_key="tenants.id", ondelete="CASCADE")
    ip_address: str | None = Field(default=None, sa_type=sa.String(45))
    user_agent: str | None = Field(default=None, sa_type=sa.String(512))
    # SHA-256 of what identifies the device (user agent, language, the client's device id).
    device_fingerprint: str | None = Field(default=None, sa_type=sa.String(64))
    is_active: bool = Field(default=True, nullable=False)
    # When the holder proved a second factor in this session (sign-in with MFA, or enabling it).
    mfa_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
