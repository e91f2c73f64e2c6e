"""Reading the waitlist's offers across requests and tenants: by id for the API (within the
principal's view), and the open, overdue and waiting work for the jobs that re-arm and sweep."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.waitlist import visible_entries
from boka.identity.principal import Principal
from boka.models.waitlist import OfferStatus, WaitlistEntry, WaitlistOffer, WaitlistStatus


async def offers_by_ids(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, WaitlistOffer]:
    if not ids:
        return {}
    rows = await db.execute(
        sa.select(WaitlistOffer)
        .join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id)
        .where(WaitlistOffer.id.in_(ids), visible_entries(principal))
    )
    return {offer.id: offer for offer in rows.scalars()}


async def open_offers(db: AsyncSession, *, limit: int = 10_000) -> list[tuple[uuid.UUID, uuid.UUID, datetime]]:
    """(tenant id, offer id, expiry) of every open offer, each of which has an expiry job
    (re-armed from here when the job store lost them)."""
    rows = await db.execute(
        sa.select(WaitlistOffer.tenant_id, WaitlistOffer.id, WaitlistOffer.expires_at)
        .where(WaitlistOffer.status == OfferStatus.OPEN.value)
        .order_by(WaitlistOffer.expires_at)
        .limit(limit)
    )
    return [(tenant_id, offer_id, expires_at) for tenant_id, offer_id, expires_at in rows.all()]


async def waiting_lines(db: AsyncSession, *, limit: int = 1000) -> list[tuple[uuid.UUID, list[uuid.UUID]]]:
    """(tenant id, service ids) of every line with someone waiting, for the catch-up pass."""
    rows = await db.execute(
        sa.select(WaitlistEntry.tenant_id, WaitlistEntry.service_id)
        .where(WaitlistEntry.status == WaitlistStatus.WAITING.value)
        .distinct()
        .limit(limit)
    )
    lines: dict[uuid.UUID, list[uuid.UUID]] = {}
    for tenant_id, service_id in rows.all():
        lines.setdefault(tenant_id, []).append(service_id)
    return list(lines.items())


async def overdue_offers(db: AsyncSession, *, now: datetime, limit: int = 500) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant id, offer id) of open offers past their expiry, oldest first."""
    rows = await db.execute(
        sa.select(WaitlistOffer.tenant_id, WaitlistOffer.id)
        .where(WaitlistOffer.status == OfferStatus.OPEN.value, WaitlistOffer.expires_at <= now)
        .order_by(WaitlistOffer.expires_at)
        .limit(limit)
    )
    return [(tenant_id, offer_id) for tenant_id, offer_id in rows.all()]
