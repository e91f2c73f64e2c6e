"""Outgoing webhooks: tenants' endpoints, one delivery per (endpoint, event), one row per try."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import PortableJSON, UTCDateTime, new_id, utcnow


class DeliveryStatus(str, enum.Enum):
    PENDING = "pending"  # queued or waiting for its next retry
    SUCCEEDED = "succeeded"
    DEAD = "dead"  # retries ran out; owners can list and replay it


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (sa.Index("ix_webhook_endpoints_tenant_id_created_at_id", "tenant_id", "created_at", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    url: str = Field(sa_type=sa.String(2000), nullable=False)
    # Event types delivered here ("booking.created", …; "*" for all).
    event_types: list[str] = Field(default_factory=list, sa_type=PortableJSON, nullable=False)
    # The HMAC key. Stored as is: Boka must sign with it (unlike a password, it cannot be hashed).
    # Sealed with the SecretBox (Fernet): Boka needs the secret itself to sign, so it cannot
    # be hashed. Endpoints made before sealing hold it plain (whsec_…) until rotated.
    secret: str = Field(sa_type=sa.Text, nullable=False)
    description: str = Field(default="", sa_type=sa.String(500), nullable=False)
    active: bool = Field(default=True, nullable=False)
    consecutive_dead: int = Field(default=0, nullable=False)
    disabled_reason: str | None = Field(default=None, sa_type=sa.String(500))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "event_id"),
        sa.Index("ix_webhook_deliveries_endpoint_id_created_at_id", "endpoint_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    endpoint_id: uuid.UUID = Field(foreign_key="webhook_endpoints.id", nullable=False, ondelete="CASCADE")
    event_id: uuid.UUID = Field(foreign_key="events.id", nullable=False, ondelete="CASCADE")
    event_type: str = Field(sa_type=sa.String(64), nullable=False)
    status: str = Field(default=DeliveryStatus.PENDING.value, sa_type=sa.String(16), nullable=False)
    attempts: int = Field(default=0, nullable=False)
    # Attempts of the current round (a replay starts a new one).
    round_attempts: int = Field(default=0, nullable=False)
    last_status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None, sa_type=sa.String(500))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempts"
    __table_args__ = (sa.Index("ix_webhook_attempts_delivery_id_attempted_at", "delivery_id", "attempted_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", nullable=False, ondelete="CASCADE")
    delivery_id: uuid.UUID = Field(foreign_key="webhook_deliveries.id", nullable=False, ondelete="CASCADE")
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    status_code: int | None = Field(default=None)
    latency_ms: int = Field(nullable=False)
    error: str | None = Field(default=None, sa_type=sa.String(500))
    succeeded: bool = Field(nullable=False)
