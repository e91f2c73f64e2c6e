"""GraphQL types of waitlists: entries (a customer's place in line), offers (time held for
them), their inputs, payloads and the live offer event."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from boka.booking.waitlist import entries_by_ids
from boka.booking.waitlist_reads import offers_by_ids
from boka.identity.principal import Principal
from boka.models.bookings import Booking
from boka.models.waitlist import OfferStatus, WaitlistEntry, WaitlistOffer, WaitlistStatus
from boka.schema.booking import BookingType
from boka.schema.catalog import ServiceType, StaffMemberType
from boka.schema.customers import CustomerInput, CustomerType
from boka.schema.errors import UserError
from boka.schema.related import related
from boka.schema.transactions import resolve_visible_nodes

if TYPE_CHECKING:
    from boka.schema.class_sessions import ClassSessionType

WaitlistStatusEnum = strawberry.enum(WaitlistStatus, name="WaitlistStatus")
WaitlistOfferStatusEnum = strawberry.enum(OfferStatus, name="WaitlistOfferStatus")


async def _offers_of_entries(
    db: AsyncSession, principal: Principal, entry_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WaitlistOffer]]:
    """The offer of each entry the caller already sees (at most one per entry)."""
    rows = await db.execute(sa.select(WaitlistOffer).where(WaitlistOffer.entry_id.in_(entry_ids)))
    return {offer.entry_id: [offer] for offer in rows.scalars()}


async def _entries_of_offers(
    db: AsyncSession, principal: Principal, entry_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WaitlistEntry]]:
    """Entries by id, of offers the caller already sees (by their id or their link)."""
    rows = await db.execute(sa.select(WaitlistEntry).where(WaitlistEntry.id.in_(entry_ids)))
    return {entry.id: [entry] for entry in rows.scalars()}


async def _held_bookings(
    db: AsyncSession, principal: Principal, booking_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Booking]]:
    """The bookings behind offers the caller already sees."""
    rows = await db.execute(sa.select(Booking).where(Booking.id.in_(booking_ids)))
    return {booking.id: [booking] for booking in rows.scalars()}


@strawberry.type(
    name="WaitlistOffer",
    description="Time held for a customer on the waitlist until `expiresAt`: claim it "
    "(claimWaitlistOffer) to book it, or decline it to pass it on to the next in line.",
)
class WaitlistOfferType(relay.Node):
    id: relay.NodeID[str]
    status: WaitlistOfferStatusEnum  # type: ignore[valid-type]
    expires_at: datetime
    created_at: datetime
    resolved_at: datetime | None
    entry_id: strawberry.Private[uuid.UUID]
    booking_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_model(cls, offer: WaitlistOffer) -> WaitlistOfferType:
        return cls(
            id=str(offer.id), status=OfferStatus(offer.status),
            expires_at=offer.expires_at.astimezone(UTC), created_at=offer.created_at.astimezone(UTC),
            resolved_at=offer.resolved_at.astimezone(UTC) if offer.resolved_at else None,
            entry_id=offer.entry_id, booking_id=offer.booking_id,
        )

    @strawberry.field(description="The held booking: pending while the offer is open, "
                      "confirmed once claimed, cancelled once declined or expired.")
    async def booking(self, info: strawberry.Info) -> BookingType:
        [booking] = await info.context.loaders.related(_held_bookings).load(self.booking_id)
        return BookingType.from_model(booking)

    @strawberry.field
    async def entry(self, info: strawberry.Info) -> WaitlistEntryType:
        [entry] = await info.context.loaders.related(_entries_of_offers).load(self.entry_id)
        return WaitlistEntryType.from_model(entry)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[WaitlistOfferType | None]:
        return await resolve_visible_nodes(info, node_ids, offers_by_ids, cls.from_model)


@strawberry.type(
    name="WaitlistEntry",
    description="A customer's place in line for a service (optionally one staff member, one "
    "class session, a time range). First come, first served.",
)
class WaitlistEntryType(relay.Node):
    id: relay.NodeID[str]
    status: WaitlistStatusEnum  # type: ignore[valid-type]
    earliest: datetime | None = strawberry.field(description="The appointment starts at or after this.")
    latest: datetime | None = strawberry.field(description="The appointment ends by this.")
    seats: int
    created_at: datetime = strawberry.field(description="When the customer joined: the line's order.")
    customer_id: strawberry.Private[uuid.UUID]
    service_id: strawberry.Private[uuid.UUID]
    staff_id: strawberry.Private[uuid.UUID | None]
    class_session_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_model(cls, entry: WaitlistEntry) -> WaitlistEntryType:
        return cls(
            id=str(entry.id), status=WaitlistStatus(entry.status),
            earliest=entry.earliest.astimezone(UTC) if entry.earliest else None,
            latest=entry.latest.astimezone(UTC) if entry.latest else None,
            seats=entry.seats, created_at=entry.created_at.astimezone(UTC),
            customer_id=entry.customer_id, service_id=entry.service_id, staff_id=entry.staff_id,
            class_session_id=entry.class_session_id,
        )

    @strawberry.field
    def customer(self, info: strawberry.Info) -> CustomerType:
        return related(info.context.loaders.customer_by_id, self.customer_id, CustomerType.from_model)  # type: ignore[return-value]

    @strawberry.field
    def service(self, info: strawberry.Info) -> ServiceType:
        return related(info.context.loaders.service_by_id, self.service_id, ServiceType.from_model)  # type: ignore[return-value]

    @strawberry.field(description="The staff member asked for, if any.")
    async def staff(self, info: strawberry.Info) -> StaffMemberType | None:
        if self.staff_id is None:
            return None
        member = await info.context.loaders.staff_member_by_id.load(self.staff_id)
        return StaffMemberType.from_model(member) if member else None

    @strawberry.field(description="The class session asked for, if any.")
    async def class_session(
        self, info: strawberry.Info
    ) -> Annotated[ClassSessionType, strawberry.lazy("boka.schema.class_sessions")] | None:
        from boka.schema.class_sessions import ClassSessionType

        if self.class_session_id is None:
            return None
        session = await info.context.loaders.class_session_by_id.load(self.class_session_id)
        return ClassSessionType.from_model(session) if session else None

    @strawberry.field(description="The offer made to this entry, if one was (at most one ever).")
    async def offer(self, info: strawberry.Info) -> WaitlistOfferType | None:
        offers = await info.context.loaders.related(_offers_of_entries).load(uuid.UUID(self.id))
        return WaitlistOfferType.from_model(offers[0]) if offers else None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[WaitlistEntryType | None]:
        return await resolve_visible_nodes(info, node_ids, entries_by_ids, cls.from_model)


@strawberry.input
class JoinWaitlistInput:
    service_id: relay.GlobalID
    staff_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Only this staff member's time; leave out for anyone's."
    )
    class_session_id: relay.GlobalID | None = strawberry.field(
        default=None, description="A seat in this class session (group services)."
    )
    earliest: datetime | None = strawberry.field(
        default=None, description="Offer only appointments starting at or after this."
    )
    latest: datetime | None = strawberry.field(
        default=None, description="Offer only appointments ending by this."
    )
    seats: int = 1
    customer: CustomerInput | None = strawberry.field(
        default=None, description="Required for guests and for staff adding someone."
    )


@strawberry.input
class LeaveWaitlistInput:
    id: relay.GlobalID


@strawberry.input
class WaitlistOfferActionInput:
    id: relay.GlobalID | None = strawberry.field(default=None, description="The offer (signed in).")
    token: str | None = strawberry.field(
        default=None, description="Or the token of the claim link the customer received."
    )


@strawberry.input
class UpdateWaitlistSettingsInput:
    offer_minutes: int = strawberry.field(description="How long an offer holds its time (1-1440).")


@strawberry.type
class WaitlistEntryPayload:
    entry: WaitlistEntryType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WaitlistOfferPayload:
    offer: WaitlistOfferType | None = None
    booking: BookingType | None = None
    manage_token: str | None = strawberry.field(
        default=None, description="Manages the booking without an account (claims only)."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="WaitlistSettings", description="The business's waitlist rules.")
class WaitlistSettingsType:
    offer_minutes: int = strawberry.field(description="How long an offer holds its time.")


@strawberry.type
class WaitlistSettingsPayload:
    settings: WaitlistSettingsType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="WaitlistOfferEvent", description="An offer made, claimed, declined or expired.")
class WaitlistOfferEventType:
    event_id: strawberry.ID
    type: str = strawberry.field(
        description="waitlist.offered, waitlist.claimed, waitlist.declined or waitlist.expired"
    )
    occurred_at: datetime
    offer: WaitlistOfferType
