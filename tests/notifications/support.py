"""Builders for notification tests: a salon with one staff member and a booked customer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import icalendar
import sqlalchemy as sa

from boka.models.bookings import Booking, Customer
from boka.models.notifications import NotificationLog
from boka.models.tenancy import Role, Tenant
from tests.booking.support import BookingWorld, Staffed, future_day, gid, local
from tests.support import GraphQLClient, Person, World

CREATE = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id status startTime } errors { code message } }
}"""
RESCHEDULE = """
mutation Move($input: RescheduleBookingInput!) {
  rescheduleBooking(input: $input) { booking { id startTime } errors { code message } }
}"""
CANCEL = """
mutation Cancel($input: CancelBookingInput!) {
  cancelBooking(input: $input) { booking { id status } errors { code message } }
}"""


@dataclass
class Booked:
    tenant: Tenant
    staffed: Staffed
    customer: Person
    booking_id: uuid.UUID
    start: datetime

    @property
    def gid(self) -> str:
        return gid("Booking", self.booking_id)


async def book(
    gql: GraphQLClient, world: World, *, slug: str = "salon", email: str = "carl@example.com",
    days: int = 3, hour: int = 10, tenant: Tenant | None = None, staffed: Staffed | None = None,
) -> Booked:
    tenant = tenant or await world.tenant(slug, time_zone="Europe/Berlin")
    staffed = staffed or await BookingWorld(world).staffed_service(tenant)
    customer = await world.person(tenant, Role.CUSTOMER, email=email)
    start = local(future_day(days), hour)
    result = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start.isoformat()}},
                       token=customer.token, tenant=tenant.slug)
    payload = result.data["createBooking"]
    assert payload["errors"] == [], payload
    booking_id = uuid.UUID(_raw_id(payload["booking"]["id"]))
    return Booked(tenant, staffed, customer, booking_id, start)


def _raw_id(global_id: str) -> str:
    import base64
    return base64.b64decode(global_id).decode().split(":", 1)[1]


async def reschedule(gql: GraphQLClient, booked: Booked, start: datetime) -> None:
    result = await gql(RESCHEDULE, {"input": {"id": booked.gid, "start": start.isoformat()}},
                       token=booked.customer.token, tenant=booked.tenant.slug)
    assert result.data["rescheduleBooking"]["errors"] == [], result.body
    booked.start = start


async def cancel(gql: GraphQLClient, booked: Booked) -> None:
    result = await gql(CANCEL, {"input": {"id": booked.gid, "reason": "Ill"}},
                       token=booked.customer.token, tenant=booked.tenant.slug)
    assert result.data["cancelBooking"]["errors"] == [], result.body


async def customer_row(world: World, booked: Booked) -> Customer:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        booking = await db.get(Booking, booked.booking_id)
        assert booking is not None
        customer = await db.get(Customer, booking.customer_id)
        assert customer is not None
        return customer


async def set_phone_and_channels(world: World, booked: Booked, phone: str | None, channels: list[str]) -> None:
    async with world.runtime.database.transaction(write=True, all_tenants=True) as db:
        booking = await db.get(Booking, booked.booking_id)
        assert booking is not None
        customer = await db.get(Customer, booking.customer_id)
        assert customer is not None
        customer.phone = phone
        customer.preferences = {**customer.preferences, "notifications": {"channels": channels}}


async def log_rows(world: World) -> list[NotificationLog]:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        return list((await db.execute(sa.select(NotificationLog).order_by(NotificationLog.created_at))).scalars())


def parse_event(ics: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(ics)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


__all__ = ["local", "future_day"]
