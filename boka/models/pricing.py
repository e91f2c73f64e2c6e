"""Pricing rules and discount codes a tenant defines."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import PortableJSON, UTCDateTime, new_id, utcnow


class PricingRule(SQLModel, table=True):
    """A time-based adjustment: percent (negative = discount) or fixed minor units."""

    __tablename__ = "pricing_rules"
    __table_args__ = (sa.CheckConstraint("kind IN ('percent', 'fixed')", name="kind"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(
        foreign_key="tenants.id", nullable=False, ondelete="CASCADE", index=True
    )
    name: str = Field(sa_type=sa.String(200), nullable=False)
    kind: str = Field(sa_type=sa.String(16), nullable=False)
    amount: int = Field(nullable=False)
    weekdays: list[int] = Field(default_factory=list, sa_type=PortableJSON, nullable=False)
    starts_at: time | None = Field(default=None)
    ends_at: time | None = Field(default=None)
    valid_from: date | None = Field(default=None)
    valid_until: date | None = Field(default=None)
    service_ids: list[str] = Field(default_factory=list, sa_type=PortableJSON, nullable=False)
    priority: int = Field(default=0, nullable=False)
    active: bool = Field(default=True, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class DiscountCode(SQLModel, table=True):
    __tablename__ = "discount_codes"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code"),
        sa.CheckConstraint("kind IN ('percent', 'fixed')", name="kind"),
        sa.CheckConstraint("max_uses IS NULL OR uses <= max_uses", name="uses_within_max"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    code: str = Field(sa_type=sa.String(64), nullable=False)  # stored upper-case
    kind: str = Field(sa_type=sa.String(16), nullable=False)
    value: int = Field(nullable=False)
    valid_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    max_uses: int | None = Field(default=None)
    uses: int = Field(default=0, nullable=False)
    once_per_customer: bool = Field(default=False, nullable=False)
    active: bool = Field(default=True, nullable=False)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=PortableJSON, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class DiscountRedemption(SQLModel, table=True):
    __tablename__ = "discount_redemptions"
    __table_args__ = (
        sa.Index("ix_discount_redemptions_code_customer", "discount_code_id", "customer_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    discount_code_id: uuid.UUID = Field(
        foreign_key="discount_codes.id", nullable=False, ondelete="CASCADE"
    )
    customer_id: uuid.UUID = Field(foreign_key="customers.id", nullable=False, ondelete="CASCADE")
    booking_id: uuid.UUID = Field(foreign_key="bookings.id", nullable=False, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
