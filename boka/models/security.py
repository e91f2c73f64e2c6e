"""The security tables of the seed: MFA, lockout, API keys and their usage, the audit log, and
each tenant's security policy. No logic here; boka/identity/ owns the rules."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import PortableJSON, UTCDateTime, new_id, utcnow


class MultiFactorAuth(SQLModel, table=True):
    """A user's TOTP factor. Pending until a first code verifies it (``is_enabled``)."""

    __tablename__ = "multi_factor_auth"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(
        foreign_key="users.id", nullable=False, ondelete="CASCADE", unique=True
    )
    method: str = Field(default="totp", sa_type=sa.String(16), nullable=False)
    # Fernet token of the base32 secret (keys from BOKA_ENCRYPTION_KEYS or the secret key).
    secret_encrypted: str = Field(sa_type=sa.Text, nullable=False)
    is_enabled: bool = Field(default=False, nullable=False)
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The newest 30-second step a code was accepted for: a code is good once, never again.
    last_used_step: int | None = Field(default=None, sa_type=sa.BigInteger)
    failure_count: int = Field(default=0, nullable=False)
    blocked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class MfaBackupCode(SQLModel, table=True):
    """One single-use backup code, stored as a SHA-256 digest only."""

    __tablename__ = "mfa_backup_codes"
    __table_args__ = (sa.UniqueConstraint("user_id", "code_hash"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", nullable=False, ondelete="CASCADE")
    code_hash: str = Field(sa_type=sa.String(64), nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class MfaChallenge(SQLModel, table=True):
    """The half-finished sign-in between a right password and a right code."""

    __tablename__ = "mfa_challenges"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    token_hash: str = Field(sa_type=sa.String(64), nullable=False, unique=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", nullable=False, ondelete="CASCADE", index=True)
    tenant_id: uuid.UUID | None = Field(default=None, foreign_key="tenants.id", ondelete="CASCADE")
    ip_address: str | None = Field(default=None, sa_type=sa.String(45))
    user_agent: str | None = Field(default=None, sa_type=sa.String(512))
    device_fingerprint: str | None = Field(default=None, sa_type=sa.String(64))
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class AccountLockout(SQLModel, table=True):
    """Failed sign-ins of one account, and the lock they earned."""

    __tablename__ = "account_lockout"

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    failed_attempts: int = Field(default=0, nullable=False)
    # How many times the account has been locked since its last good sign-in: each lock is
    # twice as long as the one before.
    lockout_count: int = Field(default=0, nullable=False)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SecuritySettings(SQLModel, table=True):
    """A tenant's security policy, set by its owners."""

    __tablename__ = "security_settings"

    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True, ondelete="CASCADE")
    require_mfa_for_staff: bool = Field(default=False, nullable=False)
    # CIDR blocks staff, managers and owners must come from; empty means anywhere.
    staff_ip_allowlist: list[str] = Field(default_factory=list, sa_type=PortableJSON, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ApiKey(SQLModel, table=True):
    """An integrator's key: acts in one tenant, within its scopes. Only a digest is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (sa.Index("ix_api_keys_tenant_id_created_at", "tenant_id", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    created_by_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="SET NULL"
    )
    name: str = Field(sa_type=sa.String(100), nullable=False)
    # The key's first characters, shown in listings so people can tell their keys apart.
    prefix: str = Field(sa_type=sa.String(16), nullable=False)
    key_hash: str = Field(sa_type=sa.String(64), nullable=False, unique=True)
    scopes: list[str] = Field(default_factory=list, sa_type=PortableJSON, nullable=False)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ApiKeyUsage(SQLModel, table=True):
    """One GraphQL operation made with an API key."""

    __tablename__ = "api_key_usage"
    __table_args__ = (sa.Index("ix_api_key_usage_api_key_id_created_at", "api_key_id", "created_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    api_key_id: uuid.UUID = Field(foreign_key="api_keys.id", nullable=False, ondelete="CASCADE")
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    operation: str | None = Field(default=None, sa_type=sa.String(100))
    success: bool = Field(nullable=False)
    ip_address: str | None = Field(default=None, sa_type=sa.String(45))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class AuthenticationLog(SQLModel, table=True):
    """The audit trail of authentication: sign-ins, failures, MFA, lockouts, revocations,
    key creation, permission denials and suspicious activity."""

    __tablename__ = "user_authentication_logs"
    __table_args__ = (
        sa.Index("ix_user_authentication_logs_tenant_id_created_at", "tenant_id", "created_at", "id"),
        sa.Index("ix_user_authentication_logs_user_id_created_at", "user_id", "created_at"),
        sa.Index("ix_user_authentication_logs_ip_address_created_at", "ip_address", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    tenant_id: uuid.UUID | None = Field(default=None, foreign_key="tenants.id", ondelete="CASCADE")
    api_key_id: uuid.UUID | None = Field(default=None, foreign_key="api_keys.id", ondelete="SET NULL")
    event_type: str = Field(sa_type=sa.String(40), nullable=False)
    success: bool = Field(nullable=False)
    suspicious: bool = Field(default=False, nullable=False)
    failure_reason: str | None = Field(default=None, sa_type=sa.String(200))
    ip_address: str | None = Field(default=None, sa_type=sa.String(45))
    user_agent: str | None = Field(default=None, sa_type=sa.String(512))
    details: dict[str, Any] = Field(
        default_factory=dict, sa_type=PortableJSON, nullable=False,
        sa_column_kwargs={"name": "metadata"},
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
