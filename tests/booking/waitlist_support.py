"""Builders and documents for the waitlist tests."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from boka.booking.waitlist_offers import offer_freed_time
from boka.models.events import Event
from boka.models.tenancy import Role, Tenant
from boka.models.types import utcnow
from boka.models.waitlist import WaitlistEntry, WaitlistOffer
from tests.booking.support import BookingWorld, Staffed, future_day, local
from tests.support import GraphQLClient, Person, World

JOIN = """
mutation Join($input: JoinWaitlistInput!) {
  joinWaitlist(input: $input) { entry { id status seats earliest latest } errors { field code message } }
}"""
LEAVE = """
mutation Leave($input: LeaveWaitlistInput!) {
  leaveWaitlist(input: $input) { entry { id status } errors { field code message } }
}"""
CLAIM = """
mutation Claim($input: WaitlistOfferActionInput!) {
  claimWaitlistOffer(input: $input) {
    offer { id status } booking { id status startTime } manageToken errors { field code message } }
}"""
DECLINE = """
mutation Decline($input: WaitlistOfferActionInput!) {
  declineWaitlistOffer(input: $input) { offer { id status } booking { id status } errors { field code message } }
}"""
ENTRIES = """
query Entries($service: ID) {
  waitlistEntries(first: 50, serviceId: $service) {
    edges { node { id status customer { email } offer { id status expiresAt booking { status startTime } } } }
  }
}"""
BY_LINK = """
query ByLink($token: String!) {
  waitlistOfferByLink(token: $token) { id status expiresAt booking { status startTime service { name } } }
}"""
CREATE = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id status } errors { code message } }
}"""
CANCEL = """
mutation Cancel($input: CancelBookingInput!) {
  cancelBooking(input: $input) { booking { id status } errors { code message } }
}"""


def raw_id(global_id: str) -> uuid.UUID:
    return uuid.UUID(base64.b64decode(global_id).decode().split(":", 1)[1])


@dataclass
class Salon:
    tenant: Tenant
    staffed: Staffed
    owner: Person
    booker: Person  # holds the 10:00 appointment that will be cancelled
    booking_gid: str
    start: datetime


async def salon_with_a_full_morning(gql: GraphQLClient, world: World, *, slug: str = "salon") -> Salon:
    """One staff member working 10:00-11:00 only, that hour booked by a customer."""
    from datetime import time

    tenant = await world.tenant(slug, time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant, hours=(time(10), time(11)))
    owner = await world.person(tenant, Role.OWNER)
    booker = await world.person(tenant, Role.CUSTOMER, email=f"booker@{slug}.example")
    start = local(future_day(3), 10)
    booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start.isoformat()}},
                       token=booker.token, tenant=slug)
    payload = booked.data["createBooking"]
    assert payload["errors"] == [], payload
    return Salon(tenant, staffed, owner, booker, payload["booking"]["id"], start)


async def join(gql: GraphQLClient, salon: Salon, *, token: str | None = None, email: str | None = None,
               **fields: object) -> dict:
    day = salon.start.date()
    values: dict[str, object] = {
        "serviceId": salon.staffed.service_id,
        "earliest": local(day, 0).isoformat(), "latest": local(day, 23).isoformat(), **fields,
    }
    if email:
        values["customer"] = {"email": email}
    result = await gql(JOIN, {"input": values}, token=token, tenant=salon.tenant.slug)
    assert result.data and "joinWaitlist" in result.data, result.body
    return result.data["joinWaitlist"]


async def cancel_the_booking(gql: GraphQLClient, salon: Salon) -> None:
    result = await gql(CANCEL, {"input": {"id": salon.booking_gid, "reason": "Ill"}},
                       token=salon.booker.token, tenant=salon.tenant.slug)
    assert result.data["cancelBooking"]["errors"] == [], result.body


async def offer_pass(world: World, salon: Salon) -> list[WaitlistOffer]:
    """What the job after a freed hour does (boka/jobs/waitlist.py), run here."""
    async with world.runtime.database.transaction(salon.tenant.id, write=True) as db:
        return await offer_freed_time(
            db, salon.tenant.id, service_ids=[salon.staffed.service.id],
            start=salon.start, end=salon.start.replace(hour=salon.start.hour + 1), now=utcnow(),
        )


async def offers(world: World) -> list[WaitlistOffer]:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        return list((await db.execute(sa.select(WaitlistOffer).order_by(WaitlistOffer.created_at))).scalars())


async def entries(world: World) -> list[WaitlistEntry]:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        return list((await db.execute(
            sa.select(WaitlistEntry).order_by(WaitlistEntry.created_at, WaitlistEntry.id))).scalars())


async def event_types(world: World, prefix: str = "waitlist.") -> list[str]:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        rows = await db.execute(
            sa.select(Event.type).where(Event.type.like(f"{prefix}%")).order_by(Event.position))
        return list(rows.scalars())
