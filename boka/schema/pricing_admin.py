"""GraphQL types for managing prices: pricing rules and discount codes (managers and owners)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

import strawberry
from strawberry import relay

from boka.booking.pricing import AdjustmentKind
from boka.booking.pricing_admin import visible_discount_codes, visible_pricing_rules
from boka.models.pricing import DiscountCode, PricingRule
from boka.schema.errors import UserError
from boka.schema.transactions import resolve_visible_nodes

AdjustmentKindEnum = strawberry.enum(
    AdjustmentKind,
    name="AdjustmentKind",
    description="PERCENT: whole percent of the price; FIXED: minor units of the currency.",
)


@strawberry.type(name="PricingRule", description="A time-based price adjustment.")
class PricingRuleType(relay.Node):
    id: relay.NodeID[str]
    name: str
    kind: AdjustmentKindEnum  # type: ignore[valid-type]
    amount: int = strawberry.field(
        description="Percent of the base price (negative: a discount) or signed minor units."
    )
    weekdays: list[int] = strawberry.field(description="0 is Monday; empty means every day.")
    starts_at: time | None = strawberry.field(description="Local start of the daily window.")
    ends_at: time | None = strawberry.field(description="Local end; before start wraps midnight.")
    valid_from: date | None
    valid_until: date | None
    service_ids: list[relay.GlobalID] = strawberry.field(
        description="The services it adjusts; empty means all of them."
    )
    priority: int
    active: bool
    created_at: datetime

    @classmethod
    def from_model(cls, rule: PricingRule) -> PricingRuleType:
        return cls(
            id=str(rule.id),
            name=rule.name,
            kind=AdjustmentKind(rule.kind),
            amount=rule.amount,
            weekdays=list(rule.weekdays),
            starts_at=rule.starts_at,
            ends_at=rule.ends_at,
            valid_from=rule.valid_from,
            valid_until=rule.valid_until,
            service_ids=[relay.GlobalID("Service", str(sid)) for sid in rule.service_ids],
            priority=rule.priority,
            active=rule.active,
            created_at=rule.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[PricingRuleType | None]:
        return await resolve_visible_nodes(info, node_ids, visible_pricing_rules, cls.from_model)


@strawberry.type(name="DiscountCode", description="A code customers enter for a discount.")
class DiscountCodeType(relay.Node):
    id: relay.NodeID[str]
    code: str
    kind: AdjustmentKindEnum  # type: ignore[valid-type]
    value: int = strawberry.field(description="Percent off (1-100) or minor units off.")
    valid_from: datetime | None
    valid_until: datetime | None
    max_uses: int | None
    uses: int
    once_per_customer: bool
    active: bool
    created_at: datetime

    @classmethod
    def from_model(cls, code: DiscountCode) -> DiscountCodeType:
        return cls(
            id=str(code.id),
            code=code.code,
            kind=AdjustmentKind(code.kind),
            value=code.value,
            valid_from=code.valid_from,
            valid_until=code.valid_until,
            max_uses=code.max_uses,
            uses=code.uses,
            once_per_customer=code.once_per_customer,
            active=code.active,
            created_at=code.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[DiscountCodeType | None]:
        return await resolve_visible_nodes(info, node_ids, visible_discount_codes, cls.from_model)


@strawberry.input
class CreatePricingRuleInput:
    name: str
    kind: AdjustmentKindEnum  # type: ignore[valid-type]
    amount: int = strawberry.field(description="PERCENT: -100 to 500; FIXED: signed minor units.")
    weekdays: list[int] = strawberry.field(default_factory=list)
    starts_at: time | None = None
    ends_at: time | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    service_ids: list[relay.GlobalID] = strawberry.field(default_factory=list)
    priority: int = 0


@strawberry.input
class DeletePricingRuleInput:
    id: relay.GlobalID


@strawberry.input
class CreateDiscountCodeInput:
    code: str = strawberry.field(description="3-64 of A-Z, 0-9, '-', '_'; case-insensitive.")
    kind: AdjustmentKindEnum  # type: ignore[valid-type]
    value: int
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    max_uses: int | None = None
    once_per_customer: bool = False


@strawberry.input
class SetDiscountCodeActiveInput:
    id: relay.GlobalID
    active: bool


@strawberry.type
class PricingRulePayload:
    pricing_rule: PricingRuleType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeletePricingRulePayload:
    deleted_id: relay.GlobalID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DiscountCodePayload:
    discount_code: DiscountCodeType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)

