"""Class bookings are priced by their session's time like appointments: a booking moved into
another session, and a session the business moves, are quoted again at the new time; a late
move of one's own booking follows the service's policy (refused, or the fee)."""

from __future__ import annotations

from datetime import time

import sqlalchemy as sa

from boka.models.bookings import BookingHistory
from boka.models.pricing import PricingRule
from boka.models.tenancy import Role
from tests.booking.class_session_support import UPDATE_SESSION, book, schedule
from tests.booking.support import ZONE, BookingWorld, future_day, local
from tests.support import GraphQLClient, World

RESCHEDULE = """mutation($input: RescheduleBookingInput!) { rescheduleBooking(input: $input) {
  booking { id classSession { id } } previousPrice { amount } price { amount } fee { amount }
  refund { amount } balanceDue { amount } topUp { id } errors { code } } }"""
MOVE_SESSION = """mutation($input: UpdateClassSessionInput!) { updateClassSession(input: $input) {
  classSession { id startTime }
  movedBookings { booking { id } previousPrice { amount } price { amount } refund { amount }
                  balanceDue { amount } topUp { id } }
  errors { field code } } }"""


async def _yoga(world: World, day, **fields: object):  # type: ignore[no-untyped-def]
    """Yoga at 15.00 a seat, 20 % dearer from 15:00 on ``day``."""
    tenant = await world.tenant("studio", time_zone=ZONE)
    staffed = await BookingWorld(world).staffed_service(
        tenant, name="Yoga", capacity=8, price_cents=1500, **fields
    )
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        db.add(PricingRule(tenant_id=tenant.id, name="Evening", kind="percent", amount=20,
                           weekdays=[day.weekday()], starts_at=time(15), ends_at=time(17)))
    owner = await world.person(tenant, Role.OWNER)
    return tenant, staffed, owner


def _money(payload: dict) -> tuple[int, ...]:
    return tuple(payload[key]["amount"] for key in ("previousPrice", "price", "refund", "balanceDue"))


async def test_a_booking_moved_into_another_session_is_quoted_at_the_new_time(
    gql: GraphQLClient, world: World
) -> None:
    day = future_day(3)
    _tenant, yoga, owner = await _yoga(world, day)
    morning = await schedule(gql, owner.token, "studio", yoga.service_id, yoga.staff_id(), local(day, 9))
    evening = await schedule(gql, owner.token, "studio", yoga.service_id, yoga.staff_id(), local(day, 15))
    made = await book(gql, owner.token, "studio", yoga.service_id, local(day, 9), "m@example.com", seats=2)
    booking_id = made["booking"]["id"]

    dearer = await gql(RESCHEDULE, {"input": {"id": booking_id, "start": local(day, 15).isoformat()}},
                       token=owner.token, tenant="studio")
    back = await gql(RESCHEDULE, {"input": {"id": booking_id, "start": local(day, 9).isoformat()}},
                     token=owner.token, tenant="studio")

    body = dearer.data["rescheduleBooking"]
    assert body["errors"] == [] and body["booking"]["classSession"] == {"id": evening["id"]}
    # two seats: 30.00, 20 % more in the evening; paid on site, so all of it is still due
    assert _money(body) == (3000, 3600, 0, 3600) and body["fee"] == {"amount": 0}
    assert body["topUp"] is None
    assert back.data["rescheduleBooking"]["booking"]["classSession"] == {"id": morning["id"]}
    assert _money(back.data["rescheduleBooking"]) == (3600, 3000, 0, 3000)
    async with world.runtime.database.transaction(all_tenants=True) as db:
        details = (await db.execute(
            sa.select(BookingHistory.details).where(BookingHistory.action == "rescheduled")
            .order_by(BookingHistory.created_at)
        )).scalars().all()
    assert [(d["from"]["price_cents"], d["to"]["price_cents"], d["late"]) for d in details] == [
        (3000, 3600, False), (3600, 3000, False)]


async def test_a_late_move_into_another_session_follows_the_policy(
    gql: GraphQLClient, world: World
) -> None:
    day = future_day(1)
    tenant, yoga, owner = await _yoga(world, day, free_cancel_hours=72, late_cancel_refund_percent=50)
    await schedule(gql, owner.token, "studio", yoga.service_id, yoga.staff_id(), local(day, 9))
    await schedule(gql, owner.token, "studio", yoga.service_id, yoga.staff_id(), local(day, 15))
    customer = await world.person(tenant, Role.CUSTOMER, email="c@example.com")
    made = await book(gql, customer.token, "studio", yoga.service_id, local(day, 9), "c@example.com")
    booking_id = made["booking"]["id"]
    move = {"input": {"id": booking_id, "start": local(day, 15).isoformat()}}

    refused = await gql(RESCHEDULE, move, token=customer.token, tenant="studio")
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        await db.execute(sa.text("UPDATE services SET late_reschedule = 'fee'"))
    for_a_fee = await gql(RESCHEDULE, move, token=customer.token, tenant="studio")

    assert refused.data["rescheduleBooking"]["errors"] == [{"code": "RESCHEDULE_NOT_ALLOWED"}]
    body = for_a_fee.data["rescheduleBooking"]
    assert body["errors"] == []
    # 18.00 at the new time, plus what a late cancellation keeps of 15.00 (50 %): 7.50
    assert body["fee"] == {"amount": 750}
    assert _money(body) == (1500, 1800 + 750, 0, 2550)


async def test_a_session_the_business_moves_is_quoted_again_but_never_dearer(
    gql: GraphQLClient, world: World
) -> None:
    day = future_day(3)
    _tenant, yoga, owner = await _yoga(world, day)
    session = await schedule(gql, owner.token, "studio", yoga.service_id, yoga.staff_id(), local(day, 15))
    made = [await book(gql, owner.token, "studio", yoga.service_id, local(day, 15), f"m{i}@example.com",
                       seats=i + 1) for i in range(2)]

    cheaper = await gql(MOVE_SESSION, {"input": {"id": session["id"], "start": local(day, 9).isoformat()}},
                        token=owner.token, tenant="studio")
    back = await gql(MOVE_SESSION, {"input": {"id": session["id"], "start": local(day, 16).isoformat()}},
                     token=owner.token, tenant="studio")
    capacity_only = await gql(MOVE_SESSION, {"input": {"id": session["id"], "capacity": 6}},
                              token=owner.token, tenant="studio")

    payload = cheaper.data["updateClassSession"]
    assert payload["errors"] == []
    by_booking = {m["booking"]["id"]: _money(m) for m in payload["movedBookings"]}
    assert by_booking == {made[0]["booking"]["id"]: (1800, 1500, 0, 1500),
                          made[1]["booking"]["id"]: (3600, 3000, 0, 3000)}
    # moved back to the evening by the business: the customers keep the lower price
    assert sorted(_money(m) for m in back.data["updateClassSession"]["movedBookings"]) == [
        (1500, 1500, 0, 1500), (3000, 3000, 0, 3000)]
    assert capacity_only.data["updateClassSession"]["movedBookings"] == []
    async with world.runtime.database.transaction(all_tenants=True) as db:
        details = (await db.execute(
            sa.select(BookingHistory.details).where(BookingHistory.action == "rescheduled")
        )).scalars().all()
    assert all(d["moved_by_business"] for d in details) and len(details) == 4
