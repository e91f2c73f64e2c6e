"""Tenants and who belongs to them, with which role."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import PortableJSON, UTCDateTime, new_id, utcnow


class Role(str, enum.Enum):
    """A member's role inside one tenant (superadmin is system-wide, on the user)."""

    CUSTOMER = "customer"
    STAFF = "staff"
    MANAGER = "manager"
    OWNER = "owner"


ROLE_VALUES = ", ".join(f"'{role.value}'" for role in Role)
# Stored as plain text (no native enum type to migrate), loaded back as a Role.
ROLE_COLUMN_TYPE = sa.Enum(
    Role, native_enum=False, create_constraint=False, length=16,
    values_callable=lambda roles: [role.value for role in roles],
)


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_type=sa.String(200), nullable=False)
    slug: str = Field(sa_type=sa.String(63), nullable=False, unique=True)
    domain: str | None = Field(default=None, sa_type=sa.String(253), unique=True)
    time_zone: str = Field(default="UTC", sa_type=sa.String(64), nullable=False)
    currency: str = Field(default="EUR", sa_type=sa.String(3), nullable=False)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # Set while a superadmin has suspended the tenant (boka/business/platform.py): its requests
    # are refused (TENANT_SUSPENDED), its booking page is closed and its jobs are parked.
    suspended_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    suspension_reason: str | None = Field(default=None, sa_type=sa.String(500), nullable=True)

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None


class ParkedJob(SQLModel, table=True):
    """A job of a suspended tenant, held until the tenant is reactivated (then enqueued again).
    ``function`` is the job function's import path, ``args`` its positional arguments."""

    __tablename__ = "parked_jobs"
    __table_args__ = (sa.Index("ix_parked_jobs_tenant_id_created_at", "tenant_id", "created_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    function: str = Field(sa_type=sa.String(200), nullable=False)
    args: list[Any] = Field(default_factory=list, sa_type=PortableJSON, nullable=False)
    queue: str = Field(sa_type=sa.String(32), nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class TenantUser(SQLModel, table=True):
    """Membership: a user's role in a tenant. One row per (tenant, user)."""

    __tablename__ = "tenant_users"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "user_id"),
        sa.CheckConstraint(f"role IN ({ROLE_VALUES})", name="role"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="users.id", nullable=False, ondelete="CASCADE", index=True)
    role: Role = Field(sa_type=ROLE_COLUMN_TYPE, nullable=False)
    permissions: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
