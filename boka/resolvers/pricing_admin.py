"""Resolvers for price administration: pricing rules and discount codes. Thin: decode the
input → call ``boka.booking.pricing_admin`` → map rows to types."""

from __future__ import annotations

from strawberry import relay

from boka.booking import pricing_admin
from boka.resolvers.context import Info
from boka.schema.ids import row_id
from boka.schema.pagination import (
    After,
    Before,
    Connection,
    First,
    Last,
    connection_from_page,
    counted_in_read,
)
from boka.schema.pricing_admin import (
    CreateDiscountCodeInput,
    CreatePricingRuleInput,
    DeletePricingRuleInput,
    DeletePricingRulePayload,
    DiscountCodePayload,
    DiscountCodeType,
    PricingRulePayload,
    PricingRuleType,
    SetDiscountCodeActiveInput,
)
from boka.schema.transactions import read, write


async def pricing_rules(info: Info) -> list[PricingRuleType]:
    rules = await read(info, pricing_admin.list_pricing_rules)
    return [PricingRuleType.from_model(rule) for rule in rules]


async def discount_codes(
    info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None
) -> Connection[DiscountCodeType]:
    page = await read(
        info, lambda db, p: pricing_admin.list_discount_codes(
            db, p, first=first, after=after, last=last, before=before)
    )
    return connection_from_page(page, DiscountCodeType.from_model, counted_in_read(info))


async def create_pricing_rule(info: Info, input: CreatePricingRuleInput) -> PricingRulePayload:
    row, errors = await write(
        info,
        lambda db, p: pricing_admin.create_pricing_rule(
            db,
            p,
            name=input.name,
            kind=input.kind,
            amount=input.amount,
            weekdays=input.weekdays,
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            valid_from=input.valid_from,
            valid_until=input.valid_until,
            service_ids=[
                row_id(service_id, "Service", f"serviceIds.{index}")
                for index, service_id in enumerate(input.service_ids)
            ],
            priority=input.priority,
        ),
    )
    rule = PricingRuleType.from_model(row) if row else None
    return PricingRulePayload(pricing_rule=rule, errors=errors)


async def delete_pricing_rule(
    info: Info, input: DeletePricingRuleInput
) -> DeletePricingRulePayload:
    deleted, errors = await write(
        info,
        lambda db, p: pricing_admin.delete_pricing_rule(
            db, p, row_id(input.id, "PricingRule", "id")
        ),
    )
    deleted_id = relay.GlobalID("PricingRule", str(deleted)) if deleted else None
    return DeletePricingRulePayload(deleted_id=deleted_id, errors=errors)


async def create_discount_code(info: Info, input: CreateDiscountCodeInput) -> DiscountCodePayload:
    row, errors = await write(
        info,
        lambda db, p: pricing_admin.create_discount_code(
            db,
            p,
            code=input.code,
            kind=input.kind,
            value=input.value,
            valid_from=input.valid_from,
            valid_until=input.valid_until,
            max_uses=input.max_uses,
            once_per_customer=input.once_per_customer,
        ),
    )
    code = DiscountCodeType.from_model(row) if row else None
    return DiscountCodePayload(discount_code=code, errors=errors)


async def set_discount_code_active(
    info: Info, input: SetDiscountCodeActiveInput
) -> DiscountCodePayload:
    row, errors = await write(
        info,
        lambda db, p: pricing_admin.set_discount_code_active(
            db, p, row_id(input.id, "DiscountCode", "id"), active=input.active
        ),
    )
    code = DiscountCodeType.from_model(row) if row else None
    return DiscountCodePayload(discount_code=code, errors=errors)
