"""Prices shown before booking, time-based rules, and discount codes that cannot be overused."""

from __future__ import annotations

from datetime import time, timedelta

import sqlalchemy as sa

from boka.models.pricing import DiscountCode, PricingRule
from boka.models.tenancy import Role
from tests.booking.class_session_support import schedule
from tests.booking.support import BookingWorld, future_day, local
from tests.support import GraphQLClient, World

QUOTE = """query Q($input: QuoteInput!) { quote(input: $input) {
  quote { base { amount } lines { label amount { amount } } subtotal { amount } discount { amount } total { amount currency } }
  errors { field code } } }"""
CREATE = """mutation B($input: CreateBookingInput!) { createBooking(input: $input) {
  booking { price { amount } } errors { field code } } }"""


async def _salon(world: World):  # type: ignore[no-untyped-def]
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant, price_cents=10000)
    day = future_day(4)
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        db.add(PricingRule(tenant_id=tenant.id, name="Early bird", kind="percent", amount=-20,
                           weekdays=[day.weekday()], starts_at=time(9), ends_at=time(11)))
        db.add(DiscountCode(tenant_id=tenant.id, code="HELLO", kind="fixed", value=1500, once_per_customer=True))
        db.add(DiscountCode(tenant_id=tenant.id, code="ONCE", kind="percent", value=50, max_uses=1))
        db.add(DiscountCode(tenant_id=tenant.id, code="OLD", kind="percent", value=50,
                            valid_until=local(day, 0) - timedelta(days=30)))
    return tenant, staffed, day


async def test_quote_applies_rules_by_local_time_and_the_code(gql: GraphQLClient, world: World) -> None:
    _, staffed, day = await _salon(world)

    early = await gql(QUOTE, {"input": {"serviceId": staffed.service_id, "start": local(day, 9, 30).isoformat(),
                                        "discountCode": "hello"}}, tenant="salon")
    late = await gql(QUOTE, {"input": {"serviceId": staffed.service_id, "start": local(day, 11).isoformat()}},
                     tenant="salon")

    assert early.data["quote"]["quote"] == {
        "base": {"amount": 10000},
        "lines": [{"label": "Early bird", "amount": {"amount": -2000}}, {"label": "Code HELLO", "amount": {"amount": -1500}}],
        "subtotal": {"amount": 8000}, "discount": {"amount": 1500}, "total": {"amount": 6500, "currency": "EUR"},
    }
    assert late.data["quote"]["quote"]["total"]["amount"] == 10000


async def test_booking_freezes_the_quoted_price(gql: GraphQLClient, world: World) -> None:
    tenant, staffed, day = await _salon(world)
    carl = await world.person(tenant, Role.CUSTOMER)
    made = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(day, 10).isoformat(),
                                        "discountCode": "HELLO"}}, token=carl.token, tenant="salon")
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        await db.execute(sa.update(PricingRule).values(active=False))

    assert made.data["createBooking"]["booking"]["price"]["amount"] == 6500
    listed = await gql("{ bookings { edges { node { price { amount } } } } }", token=carl.token, tenant="salon")
    assert listed.data["bookings"]["edges"][0]["node"]["price"]["amount"] == 6500


async def test_codes_respect_once_per_customer_max_uses_and_validity(gql: GraphQLClient, world: World) -> None:
    tenant, staffed, day = await _salon(world)
    carl = await world.person(tenant, Role.CUSTOMER)
    dana = await world.person(tenant, Role.CUSTOMER)

    async def book(person, hour: int, code: str) -> list[dict]:  # type: ignore[no-untyped-def]
        made = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": local(day, hour).isoformat(),
                                            "discountCode": code}}, token=person.token, tenant="salon")
        return made.data["createBooking"]["errors"]

    assert await book(carl, 12, "HELLO") == []
    assert await book(carl, 13, "HELLO") == [{"field": "discountCode", "code": "DISCOUNT_ALREADY_USED"}]
    assert await book(dana, 14, "HELLO") == []
    assert await book(carl, 15, "ONCE") == []
    assert await book(dana, 16, "ONCE") == [{"field": "discountCode", "code": "DISCOUNT_EXHAUSTED"}]
    assert await book(dana, 16, "OLD") == [{"field": "discountCode", "code": "DISCOUNT_INVALID"}]
    assert await book(dana, 16, "NOPE") == [{"field": "discountCode", "code": "DISCOUNT_INVALID"}]
    async with world.runtime.database.transaction(all_tenants=True) as db:
        uses = dict((await db.execute(sa.select(DiscountCode.code, DiscountCode.uses))).all())
    assert uses == {"HELLO": 2, "ONCE": 1, "OLD": 0}
    # the refused bookings were not made: 16:00 is still free
    assert await book(dana, 16, "") == []


async def test_any_staff_quote_is_what_the_booking_then_charges(gql: GraphQLClient, world: World) -> None:
    from boka.models.catalog import StaffService

    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant, price_cents=5000)
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        await db.execute(sa.update(StaffService).values(price_cents=9000))  # a senior's own price
    carl = await world.person(tenant, Role.CUSTOMER)
    start = local(future_day(), 10).isoformat()

    quoted = await gql(QUOTE, {"input": {"serviceId": staffed.service_id, "start": start}}, tenant="salon")
    made = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start}}, token=carl.token, tenant="salon")

    assert quoted.data["quote"]["quote"]["total"]["amount"] == 9000
    assert made.data["createBooking"]["booking"]["price"]["amount"] == 9000


async def test_a_fixed_code_comes_off_a_class_booking_once(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("studio")
    staffed = await BookingWorld(world).staffed_service(tenant, name="Yoga", capacity=5, price_cents=2000)
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        db.add(DiscountCode(tenant_id=tenant.id, code="TENOFF", kind="fixed", value=1000))
    owner = await world.person(tenant, Role.OWNER)
    await schedule(gql, owner.token, "studio", staffed.service_id, staffed.staff_id(), local(future_day(), 10))
    request = {"serviceId": staffed.service_id, "start": local(future_day(), 10).isoformat(),
               "seats": 3, "discountCode": "TENOFF"}

    quoted = await gql(QUOTE, {"input": request}, tenant="studio")
    made = await gql(CREATE, {"input": {**request, "customer": {"email": "group@example.com"}}},
                     token=owner.token, tenant="studio")

    assert quoted.data["quote"]["quote"]["base"]["amount"] == 6000
    assert quoted.data["quote"]["quote"]["total"]["amount"] == 5000
    assert made.data["createBooking"]["booking"]["price"]["amount"] == 5000
