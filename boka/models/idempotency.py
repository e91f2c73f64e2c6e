"""Idempotency keys: the first response to a mutation sent with an ``Idempotency-Key`` header,
kept so that a retry gets it back instead of running the mutation again (boka/idempotency.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from boka.models.types import UTCDateTime, utcnow


class IdempotencyKey(SQLModel, table=True):
    """One (tenant, principal, key). ``id`` is the SHA-256 of the three, so a key sent without
    a tenant (account-level mutations) is unique too (a NULL in a unique constraint is not).

    While the first request runs, the row is ``in_progress`` until ``locked_until``; then it is
    ``completed`` with the response's status and body, kept until ``expires_at``."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        sa.CheckConstraint("status IN ('in_progress', 'completed')", name="status"),
        sa.Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    id: str = Field(sa_type=sa.String(64), primary_key=True)
    tenant_id: uuid.UUID | None = Field(default=None, foreign_key="tenants.id", ondelete="CASCADE")
    principal: str = Field(sa_type=sa.String(80), nullable=False)
    fingerprint: str = Field(sa_type=sa.String(64), nullable=False)
    status: str = Field(sa_type=sa.String(16), nullable=False)
    response_status: int | None = Field(default=None)
    response_body: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    locked_until: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
