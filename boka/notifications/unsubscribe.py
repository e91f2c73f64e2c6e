"""Opting out through the signed link in every message (no sign-in needed)."""

from __future__ import annotations

import sqlalchemy as sa

from boka.config import Settings
from boka.db import Database
from boka.models.bookings import Customer
from boka.notifications.preferences import customer_id_from_unsubscribe_token, opt_out


async def unsubscribe(database: Database, settings: Settings, token: str) -> Customer | None:
    """Turn every channel off for the customer the token names; None if the token is invalid."""
    customer_id = customer_id_from_unsubscribe_token(settings.secret_key, token)
    if customer_id is None:
        return None
    async with database.transaction(all_tenants=True) as db:
        tenant_id = (
            await db.execute(sa.select(Customer.tenant_id).where(Customer.id == customer_id))
        ).scalar_one_or_none()
    if tenant_id is None:
        return None
    async with database.transaction(tenant_id, write=True) as db:
        customer = await db.get(Customer, customer_id, with_for_update=True)
        if customer is None:
            return None
        opt_out(customer)
        return customer
