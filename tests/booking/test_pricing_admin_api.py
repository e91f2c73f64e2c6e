"""Price administration over the API: pricing rules and discount codes are checked before
anything is written, codes are unique per tenant whatever their case, and another tenant's
codes are out of reach."""

from __future__ import annotations

import pytest

from boka.models.pricing import DiscountCode, PricingRule
from boka.models.tenancy import Role
from tests.booking.catalog_support import (
    CREATE_CODE,
    CREATE_RULE,
    count,
    open_salon,
    payload,
    user_errors,
)
from tests.support import GraphQLClient, World

DELETE_RULE = """mutation D($input: DeletePricingRuleInput!) {
  deletePricingRule(input: $input) { deletedId errors { code } } }"""
SET_CODE_ACTIVE = """mutation A($input: SetDiscountCodeActiveInput!) {
  setDiscountCodeActive(input: $input) { discountCode { code active } errors { code } } }"""
FIXED_RULE = {"name": "Late fee", "kind": "FIXED", "amount": 500}


@pytest.mark.parametrize(
    ("input", "field"),
    [
        ({"name": "x", "kind": "PERCENT", "amount": 501}, "amount"),
        ({"name": "x", "kind": "PERCENT", "amount": -101}, "amount"),
        ({**FIXED_RULE, "weekdays": [1, 7]}, "weekdays.1"),
        ({**FIXED_RULE, "startsAt": "10:00:00", "endsAt": "10:00:00"}, "endsAt"),
        ({**FIXED_RULE, "validFrom": "2030-02-01", "validUntil": "2030-01-01"}, "validUntil"),
        ({**FIXED_RULE, "name": " "}, "name"),
    ],
)
async def test_an_invalid_pricing_rule_writes_nothing(
    gql: GraphQLClient, world: World, input: dict[str, object], field: str
) -> None:
    salon = await open_salon(world)

    result = payload(await salon.manage(gql, CREATE_RULE, input), "createPricingRule")

    assert result["pricingRule"] is None
    assert user_errors(result) == [(field, "INVALID_INPUT")]
    assert await count(world, PricingRule) == 0


async def test_a_pricing_rule_window_may_wrap_midnight_and_be_deleted(
    gql: GraphQLClient, world: World
) -> None:
    salon = await open_salon(world)
    night = {**FIXED_RULE, "startsAt": "22:00:00", "endsAt": "06:00:00", "priority": -1}
    rule = payload(await salon.manage(gql, CREATE_RULE, night), "createPricingRule")["pricingRule"]

    deleted = await salon.manage(gql, DELETE_RULE, {"id": rule["id"]})

    assert rule["startsAt"] == "22:00:00" and rule["priority"] == -1
    assert deleted.data["deletePricingRule"] == {"deletedId": rule["id"], "errors": []}
    assert await count(world, PricingRule) == 0


@pytest.mark.parametrize(
    ("input", "field"),
    [
        ({"code": "AB", "kind": "PERCENT", "value": 10}, "code"),
        ({"code": "NO SPACES", "kind": "PERCENT", "value": 10}, "code"),
        ({"code": "X" * 65, "kind": "PERCENT", "value": 10}, "code"),
        ({"code": "HALF", "kind": "PERCENT", "value": 101}, "value"),
        ({"code": "NOTHING", "kind": "PERCENT", "value": 0}, "value"),
        ({"code": "FREEBIE", "kind": "FIXED", "value": 0}, "value"),
        ({"code": "ONCE", "kind": "FIXED", "value": 500, "maxUses": 0}, "maxUses"),
        (
            {"code": "LATE", "kind": "FIXED", "value": 500,
             "validFrom": "2030-02-01T00:00:00Z", "validUntil": "2030-01-01T00:00:00Z"},
            "validUntil",
        ),
    ],
)
async def test_an_invalid_discount_code_writes_nothing(
    gql: GraphQLClient, world: World, input: dict[str, object], field: str
) -> None:
    salon = await open_salon(world)

    result = payload(await salon.manage(gql, CREATE_CODE, input), "createDiscountCode")

    assert result["discountCode"] is None
    assert user_errors(result) == [(field, "INVALID_INPUT")]
    assert await count(world, DiscountCode) == 0


async def test_a_discount_code_is_unique_per_tenant_whatever_its_case(
    gql: GraphQLClient, world: World
) -> None:
    salon = await open_salon(world)
    rival = await world.person(await world.tenant("barber"), Role.OWNER)
    as_rival = {"token": rival.token, "tenant": "barber"}
    summer = {"code": "summer10", "kind": "PERCENT", "value": 10}

    first = payload(await salon.manage(gql, CREATE_CODE, summer), "createDiscountCode")
    again = payload(
        await salon.manage(gql, CREATE_CODE, {**summer, "code": "SUMMER10"}), "createDiscountCode"
    )
    elsewhere = await gql(CREATE_CODE, {"input": {**summer, "code": "Summer10"}}, **as_rival)
    code_id = first["discountCode"]["id"]
    paused = await salon.manage(gql, SET_CODE_ACTIVE, {"id": code_id, "active": False})
    from_rival = await gql(SET_CODE_ACTIVE, {"input": {"id": code_id, "active": True}}, **as_rival)

    assert first["discountCode"]["code"] == "SUMMER10"
    assert again == {"discountCode": None, "errors": [{"field": "code", "code": "DUPLICATE"}]}
    assert elsewhere.data["createDiscountCode"]["discountCode"]["code"] == "SUMMER10"
    assert paused.data["setDiscountCodeActive"]["discountCode"] == {
        "code": "SUMMER10", "active": False,
    }
    assert from_rival.error_codes == ["NOT_FOUND"]
    assert await count(world, DiscountCode) == 2
