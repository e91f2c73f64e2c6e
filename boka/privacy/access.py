"""Who may export or erase a customer's data (issue 15 item 6).

Owners ("User Manage: All tenant") and superadmins reach every customer of the tenant. The
seed's matrix gives managers "Tenant users": they list and edit customers, but the export
carries the authentication trail (owner-only, like ``authenticationLogs``) and erasure cannot
be undone, so both are the owner's call. Everyone signed in (customers, and staff or managers
who are also customers) reaches only the customer record linked to their own account. API
keys never: no scope is about people's personal data.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.access import visible_customers_clause
from boka.errors import Forbidden, NotFound
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.bookings import Customer


def reaches_every_customer(principal: Principal) -> bool:
    scope = principal.scope(Action.USER_MANAGE)
    return principal.api_key is None and scope is not None and scope >= Scope.TENANT


async def customer_in_reach(
    db: AsyncSession, principal: Principal, customer_id: uuid.UUID | None, *, for_update: bool = False
) -> Customer:
    """The customer whose data the principal may export or erase: ``customer_id``, or with
    None the principal's own record in the request's tenant. One's own record needs no grant
    (a customer who booked here need not be a member); anyone else's needs "User Manage: All
    tenant"."""
    if principal.api_key is not None:
        raise Forbidden("API keys cannot read or erase people's personal data.")
    tenant = principal.require_tenant()
    user = principal.require_user()
    statement = sa.select(Customer).where(Customer.tenant_id == tenant.id)
    if customer_id is None:
        statement = statement.where(Customer.user_id == user.id)
    else:
        statement = statement.where(Customer.id == customer_id)
    if for_update:
        statement = statement.with_for_update()
    customer = (await db.execute(statement)).scalars().first()
    if customer is None:
        raise NotFound("No such customer.")
    if customer.user_id == user.id or reaches_every_customer(principal):
        return customer
    if await _visible(db, principal, customer.id):
        # they see this customer anyway: saying "not yours" confirms nothing new
        principal.authorize(Action.USER_MANAGE, Scope.TENANT)  # says why (e.g. MFA_REQUIRED)
        raise Forbidden("Only the business's owners export or erase another customer's data.")
    raise NotFound("No such customer.")


async def _visible(db: AsyncSession, principal: Principal, customer_id: uuid.UUID) -> bool:
    statement = sa.select(Customer.id).where(Customer.id == customer_id, visible_customers_clause(principal))
    return (await db.execute(statement)).first() is not None


async def own_customer_record(db: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Customer | None:
    statement = sa.select(Customer).where(Customer.tenant_id == tenant_id, Customer.user_id == user_id)
    return (await db.execute(statement)).scalars().first()
