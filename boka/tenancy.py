"""Tenants: creating them and finding the one a request is for."""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.errors import UserErrorCode, UserInputError
from boka.models.tenancy import Tenant
from boka.validation import check_currency, check_time_zone

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


async def find_tenant_by_domain(db: AsyncSession, domain: str) -> Tenant | None:
    return (
        await db.execute(sa.select(Tenant).where(Tenant.domain == domain.lower()))
    ).scalar_one_or_none()


async def find_tenant(db: AsyncSession, hint: str) -> Tenant | None:
    """The tenant whose slug, domain or id is ``hint``."""
    conditions = [Tenant.slug == hint, Tenant.domain == hint]
    try:
        conditions.append(Tenant.id == uuid.UUID(hint))
    except ValueError:
        pass
    return (await db.execute(sa.select(Tenant).where(sa.or_(*conditions)).limit(1))).scalar_one_or_none()


async def create_tenant(
    db: AsyncSession,
    *,
    name: str,
    slug: str,
    domain: str | None = None,
    time_zone: str = "UTC",
    currency: str = "EUR",
) -> Tenant:
    slug = slug.strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise UserInputError(
            UserErrorCode.INVALID_INPUT,
            "Use 1-63 lower-case letters, digits and inner hyphens.",
            "slug",
        )
    if not name.strip() or len(name) > 200:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "Give a name of 1-200 characters.", "name")
    check_time_zone(time_zone, "timeZone")
    check_currency(currency, "currency")
    if await find_tenant(db, slug) is not None:
        raise UserInputError(UserErrorCode.SLUG_TAKEN, f"'{slug}' is taken.", "slug")
    tenant = Tenant(
        name=name.strip(),
        slug=slug,
        domain=domain.strip().lower() if domain else None,
        time_zone=time_zone,
        currency=currency,
    )
    db.add(tenant)
    await db.flush()
    return tenant
