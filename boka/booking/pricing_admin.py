"""Managing what prices are made of: time-based pricing rules and discount codes.

Only those who manage the catalogue (managers, owners) read or write these: the rules and the
codes are the tenant's business, not its visitors'. Pricing a booking with them is the job of
``boka.booking.pricing`` (pure) and ``boka.booking.quotes``; the checks here keep every stored
row one that those accept.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.catalog import (
    delete_in_tenant,
    get_in_tenant,
    manages_catalog,
    require_catalog_manager,
    rows_in_tenant,
)
from boka.booking.pricing import AdjustmentKind
from boka.errors import NotFound, UserErrorCode, UserInputError
from boka.identity.principal import Principal
from boka.models.catalog import Service
from boka.models.pricing import DiscountCode, PricingRule
from boka.pagination import Page, keyset_page
from boka.validation import (
    MAX_PRICE,
    check_day,
    check_instant,
    check_range,
    check_wall_clock,
    clean_text,
    invalid,
)

PERCENT_RULE_RANGE = (-100, 500)
MAX_RULE_SERVICES = 200
_DISCOUNT_CODE = re.compile(r"[A-Z0-9_-]{3,64}")


# --- pricing rules ---


async def create_pricing_rule(
    db: AsyncSession,
    principal: Principal,
    *,
    name: str,
    kind: AdjustmentKind,
    amount: int,
    weekdays: Sequence[int] = (),
    starts_at: time | None = None,
    ends_at: time | None = None,
    valid_from: date | None = None,
    valid_until: date | None = None,
    service_ids: Sequence[uuid.UUID] = (),
    priority: int = 0,
) -> PricingRule:
    """A percent (of the base price; negative is a discount) or fixed (signed minor units)
    adjustment, limited to weekdays, a local time window, validity dates and services."""
    tenant = require_catalog_manager(principal)
    kind = AdjustmentKind(kind)
    if kind is AdjustmentKind.PERCENT:
        check_range(amount, "amount", *PERCENT_RULE_RANGE)
    else:
        check_range(amount, "amount", -MAX_PRICE, MAX_PRICE)
    for index, weekday in enumerate(weekdays):
        if not 0 <= weekday <= 6:
            raise invalid("Use 0 (Monday) to 6 (Sunday).", f"weekdays.{index}")
    for bound, field in ((starts_at, "startsAt"), (ends_at, "endsAt")):
        if bound is not None:
            check_wall_clock(bound, field)
    if starts_at is not None and starts_at == ends_at:
        raise invalid("The window must not start and end at the same time.", "endsAt")
    for bound, field in ((valid_from, "validFrom"), (valid_until, "validUntil")):
        if bound is not None:
            check_day(bound, field)
    if valid_from is not None and valid_until is not None and valid_from > valid_until:
        raise invalid("The rule must not end before it begins.", "validUntil")
    wanted = list(dict.fromkeys(service_ids))
    if len(wanted) > MAX_RULE_SERVICES:
        raise invalid(f"Name at most {MAX_RULE_SERVICES} services.", "serviceIds")
    if len(await rows_in_tenant(db, Service, wanted, tenant_id=tenant.id)) != len(wanted):
        raise NotFound("No service with this ID in this tenant.")
    rule = PricingRule(
        tenant_id=tenant.id,
        name=clean_text(name, "name", max_length=200),
        kind=kind.value,
        amount=amount,
        weekdays=sorted(set(weekdays)),
        starts_at=starts_at,
        ends_at=ends_at,
        valid_from=valid_from,
        valid_until=valid_until,
        service_ids=[str(service_id) for service_id in wanted],
        priority=priority,
    )
    db.add(rule)
    await db.flush()
    return rule


async def delete_pricing_rule(
    db: AsyncSession, principal: Principal, rule_id: uuid.UUID
) -> uuid.UUID:
    return await delete_in_tenant(db, principal, PricingRule, rule_id, label="pricing rule")


async def list_pricing_rules(db: AsyncSession, principal: Principal) -> list[PricingRule]:
    """Every rule of the tenant, in the order they apply: priority, then age."""
    tenant = require_catalog_manager(principal)
    statement = (
        sa.select(PricingRule)
        .where(PricingRule.tenant_id == tenant.id)
        .order_by(PricingRule.priority, PricingRule.created_at, PricingRule.id)
    )
    return list((await db.execute(statement)).scalars())


async def visible_pricing_rules(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, PricingRule]:
    """Of ``ids``, the tenant's rules if the principal manages the catalogue; else none."""
    tenant = principal.require_tenant()
    if not manages_catalog(principal):
        return {}
    return await rows_in_tenant(db, PricingRule, ids, tenant_id=tenant.id)


# --- discount codes ---


def normalize_code(code: str) -> str:
    """Codes are case-insensitive: stored and compared upper-case."""
    return code.strip().upper()


async def create_discount_code(
    db: AsyncSession,
    principal: Principal,
    *,
    code: str,
    kind: AdjustmentKind,
    value: int,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    max_uses: int | None = None,
    once_per_customer: bool = False,
) -> DiscountCode:
    tenant = require_catalog_manager(principal)
    code = normalize_code(code)
    if _DISCOUNT_CODE.fullmatch(code) is None:
        raise invalid("Use 3 to 64 letters, digits, '-' or '_'.", "code")
    kind = AdjustmentKind(kind)
    if kind is AdjustmentKind.PERCENT:
        check_range(value, "value", 1, 100)
    else:
        check_range(value, "value", 1, MAX_PRICE)
    if valid_from is not None:
        valid_from = check_instant(valid_from, "validFrom")
    if valid_until is not None:
        valid_until = check_instant(valid_until, "validUntil")
    if valid_from is not None and valid_until is not None and not valid_from < valid_until:
        raise invalid("The code must end after it begins.", "validUntil")
    if max_uses is not None:
        check_range(max_uses, "maxUses", 1, None)
    duplicate = UserInputError(
        UserErrorCode.DUPLICATE, "This tenant already has a discount code like this.", "code"
    )
    taken = await db.execute(
        sa.select(DiscountCode.id).where(
            DiscountCode.tenant_id == tenant.id, DiscountCode.code == code
        )
    )
    if taken.first() is not None:
        raise duplicate
    discount_code = DiscountCode(
        tenant_id=tenant.id,
        code=code,
        kind=kind.value,
        value=value,
        valid_from=valid_from,
        valid_until=valid_until,
        max_uses=max_uses,
        once_per_customer=once_per_customer,
    )
    try:
        async with db.begin_nested():
            db.add(discount_code)
            await db.flush()
    except IntegrityError as exc:  # a concurrent request took the code first
        raise duplicate from exc
    return discount_code


async def set_discount_code_active(
    db: AsyncSession, principal: Principal, code_id: uuid.UUID, *, active: bool
) -> DiscountCode:
    tenant = require_catalog_manager(principal)
    discount_code = await get_in_tenant(
        db, DiscountCode, code_id, tenant_id=tenant.id, label="discount code"
    )
    discount_code.active = active
    await db.flush()
    return discount_code


async def list_discount_codes(
    db: AsyncSession, principal: Principal, *,
    first: int | None, after: str | None, last: int | None = None, before: str | None = None,
) -> Page[DiscountCode]:
    tenant = require_catalog_manager(principal)
    statement = sa.select(DiscountCode).where(DiscountCode.tenant_id == tenant.id)
    return await keyset_page(
        db,
        statement,
        sort_column=DiscountCode.created_at,
        id_column=DiscountCode.id,
        first=first,
        after=after, last=last, before=before,
    )


async def visible_discount_codes(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, DiscountCode]:
    """Of ``ids``, the tenant's codes if the principal manages the catalogue; else none."""
    tenant = principal.require_tenant()
    if not manages_catalog(principal):
        return {}
    return await rows_in_tenant(db, DiscountCode, ids, tenant_id=tenant.id)
