"""GraphQL types of class sessions (the scheduled sessions of group services) and their inputs."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any

import strawberry
from strawberry import relay

from boka.booking.class_sessions import class_sessions_by_ids
from boka.models.sessions import ClassSession, ClassSessionStatus
from boka.schema.booking import BookingType
from boka.schema.catalog import MoneyType, ResourceType, ServiceType, StaffMemberType
from boka.schema.errors import UserError
from boka.schema.payments import PaymentType
from boka.schema.related import related
from boka.schema.transactions import resolve_visible_nodes

ClassSessionStatusEnum = strawberry.enum(ClassSessionStatus, name="ClassSessionStatus")


@strawberry.type(
    name="ClassSession",
    description="One scheduled class of a group service: book its seats with createBooking "
    "(the session's start, and its instructor as staffId when several classes start then).",
)
class ClassSessionType(relay.Node):
    id: relay.NodeID[str]
    status: ClassSessionStatusEnum  # type: ignore[valid-type]
    start_time: datetime
    end_time: datetime
    capacity: int
    seats_taken: int
    cancellation_reason: str | None
    service_id: strawberry.Private[uuid.UUID]
    staff_id: strawberry.Private[uuid.UUID]
    resource_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_model(cls, session: ClassSession) -> ClassSessionType:
        return cls(
            id=str(session.id), status=ClassSessionStatus(session.status),
            start_time=session.start_time.astimezone(UTC),
            end_time=session.end_time.astimezone(UTC), capacity=session.capacity,
            seats_taken=session.seats_taken, cancellation_reason=session.cancellation_reason,
            service_id=session.service_id, staff_id=session.staff_id,
            resource_id=session.resource_id,
        )

    @strawberry.field(description="Seats still free (0 once cancelled).")
    def seats_left(self) -> int:
        if self.status != ClassSessionStatus.SCHEDULED:
            return 0
        return self.capacity - self.seats_taken

    @strawberry.field
    def service(self, info: strawberry.Info) -> ServiceType:
        return related(info.context.loaders.service_by_id, self.service_id, ServiceType.from_model)  # type: ignore[return-value]

    @strawberry.field(description="Who teaches it.")
    def instructor(self, info: strawberry.Info) -> StaffMemberType:
        return related(info.context.loaders.staff_member_by_id, self.staff_id, StaffMemberType.from_model)  # type: ignore[return-value]

    @strawberry.field(description="The room (a resource) it takes, if any.")
    async def room(self, info: strawberry.Info) -> ResourceType | None:
        if self.resource_id is None:
            return None
        resource = await info.context.loaders.resource_by_id.load(self.resource_id)
        return ResourceType.from_model(resource) if resource else None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[ClassSessionType | None]:
        return await resolve_visible_nodes(info, node_ids, class_sessions_by_ids, cls.from_model)


@strawberry.input
class CreateClassSessionInput:
    service_id: relay.GlobalID = strawberry.field(description="A group service (capacity above 1).")
    staff_id: relay.GlobalID = strawberry.field(description="The instructor: a StaffMember who performs the service.")
    start: datetime
    room_id: relay.GlobalID | None = strawberry.field(default=None, description="A Resource the session holds.")
    capacity: int | None = strawberry.field(default=None, description="Seats; the service's capacity if left out.")


@strawberry.input
class CreateClassTimetableInput:
    service_id: relay.GlobalID
    staff_id: relay.GlobalID
    weekdays: list[int] = strawberry.field(description="0 = Monday … 6 = Sunday.")
    local_time: time = strawberry.field(description="Wall-clock start in the tenant's time zone, e.g. 09:00:00.")
    from_date: date
    until_date: date = strawberry.field(description="The last date a session may fall on (inclusive).")
    room_id: relay.GlobalID | None = None
    capacity: int | None = None


@strawberry.input
class UpdateClassSessionInput:
    id: relay.GlobalID
    start: datetime | None = strawberry.field(default=None, description="Move the session (its bookings move with it).")
    staff_id: relay.GlobalID | None = strawberry.field(default=None, description="Another instructor.")
    room_id: relay.GlobalID | None = None
    remove_room: bool = False
    capacity: int | None = strawberry.field(default=None, description="Not below the seats already taken.")


@strawberry.input
class CancelClassSessionInput:
    id: relay.GlobalID
    reason: str = ""


@strawberry.type
class MovedClassBooking:
    booking: BookingType
    previous_price: MoneyType
    price: MoneyType
    refund: MoneyType
    balance_due: MoneyType
    top_up: PaymentType | None = None


@strawberry.type
class ClassSessionPayload:
    class_session: ClassSessionType | None = None
    moved_bookings: list[MovedClassBooking] = strawberry.field(
        default_factory=list,
        description="updateClassSession, when it moved the session or changed its instructor: "
        "every booking that moved with it, quoted again at the new time (never dearer: the "
        "business moved it), with what goes back. Empty otherwise.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ClassTimetablePayload:
    class_sessions: list[ClassSessionType] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CancelledClassBooking:
    booking: BookingType
    refund: MoneyType


@strawberry.type
class CancelClassSessionPayload:
    class_session: ClassSessionType | None = None
    cancelled_bookings: list[CancelledClassBooking] = strawberry.field(
        default_factory=list,
        description="Every booking the cancellation cancelled, with what goes back to its customer.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)
