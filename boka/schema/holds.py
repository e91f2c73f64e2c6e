"""GraphQL types of slot holds: the hold, holdSlot's and releaseHold's inputs and payloads, and
the live hold event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry import relay

from boka.events.types import global_id
from boka.models.bookings import Booking
from boka.models.holds import HoldPurpose, HoldStatus, SlotHold
from boka.schema.catalog import ServiceType, StaffMemberType
from boka.schema.errors import UserError
from boka.schema.related import related

SlotHoldStatusEnum = strawberry.enum(HoldStatus, name="SlotHoldStatus")
SlotHoldPurposeEnum = strawberry.enum(HoldPurpose, name="SlotHoldPurpose")


@strawberry.type(
    name="SlotHold",
    description="Time (or seats of a class session) reserved for a checkout until `expiresAt`: "
    "nobody else can book it meanwhile. Book it with createBooking(input: {holdId}), give it "
    "back with releaseHold; otherwise it expires by itself.",
)
class SlotHoldType:
    hold_id: str | None = strawberry.field(
        description="The secret that books or releases the hold: only in holdSlot's answer, to "
        "whoever held. Keep it like a password until the hold is booked or released."
    )
    reference: strawberry.ID = strawberry.field(
        description="The hold's public name, as the hold.* events and webhooks give it (it "
        "books nothing)."
    )
    status: SlotHoldStatusEnum  # type: ignore[valid-type]
    purpose: SlotHoldPurposeEnum  # type: ignore[valid-type]
    start: datetime
    end: datetime
    seats: int
    expires_at: datetime = strawberry.field(description="Held until then, unless booked first.")
    service_id: strawberry.Private[uuid.UUID]
    staff_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_model(cls, hold: SlotHold, held: Booking, hold_id: str | None = None) -> SlotHoldType:
        return cls(
            hold_id=hold_id, reference=strawberry.ID(global_id("SlotHold", hold.id)),
            status=HoldStatus(hold.status), purpose=HoldPurpose(hold.purpose),
            start=held.start_time.astimezone(UTC), end=held.end_time.astimezone(UTC),
            seats=held.seats, expires_at=hold.expires_at.astimezone(UTC),
            service_id=held.service_id, staff_id=held.staff_id,
        )

    @classmethod
    def from_event(cls, payload: dict[str, Any]) -> SlotHoldType:
        return cls(
            hold_id=None, reference=strawberry.ID(payload["hold"]["id"]),
            status=HoldStatus(payload["status"]), purpose=HoldPurpose(payload["purpose"]),
            start=datetime.fromisoformat(payload["start"]), end=datetime.fromisoformat(payload["end"]),
            seats=int(payload["seats"]), expires_at=datetime.fromisoformat(payload["expires_at"]),
            service_id=uuid.UUID(payload["service_id"]), staff_id=uuid.UUID(payload["staff_id"]),
        )

    @strawberry.field
    def service(self, info: strawberry.Info) -> ServiceType:
        return related(info.context.loaders.service_by_id, self.service_id, ServiceType.from_model)  # type: ignore[return-value]

    @strawberry.field(description="Whose time is held (for a class, its instructor).")
    def staff(self, info: strawberry.Info) -> StaffMemberType:
        return related(info.context.loaders.staff_member_by_id, self.staff_id, StaffMemberType.from_model)  # type: ignore[return-value]


@strawberry.input
class HoldSlotInput:
    service_id: relay.GlobalID
    start: datetime
    staff_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Leave out for any staff member (fewest bookings that day first)."
    )
    seats: int = strawberry.field(default=1, description="For a class: how many places to hold.")


@strawberry.type
class HoldSlotPayload:
    hold: SlotHoldType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ReleaseHoldInput:
    hold_id: str = strawberry.field(description="The secret holdSlot answered with.")


@strawberry.type
class ReleaseHoldPayload:
    hold: SlotHoldType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="SlotHoldEvent", description="A hold was made, booked, released or expired.")
class SlotHoldEventType:
    event_id: strawberry.ID
    type: str = strawberry.field(
        description="hold.created, hold.converted, hold.released or hold.expired"
    )
    occurred_at: datetime
    hold: SlotHoldType
