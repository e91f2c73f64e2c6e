"""Live subscriptions: availability that follows every change, and booking events.

Both are fed by the process's LiveHub (one broadcast subscription per process), so any app
instance sees every change. Thin: arguments → domain feed → types.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from strawberry import relay

from boka.booking.access import sees_whole_tenant, visible_booking
from boka.booking.availability import TimeRange
from boka.booking.engine import load_service
from boka.booking.slots import MAX_WINDOW
from boka.errors import InvalidRequest, SlowConsumerDropped, UserInputError
from boka.events.hub import SlowConsumer
from boka.events.live_availability import WindowKey
from boka.events.types import BOOKING_EVENT_PREFIX
from boka.identity.rbac import Action, Scope
from boka.models.bookings import Booking
from boka.resolvers.booking import aware, zone_named
from boka.resolvers.context import Info, RequestContext
from boka.schema.booking import BookingType, SlotType
from boka.schema.ids import optional_row_id, row_id
from boka.schema.live import BookingEventType

# Closing codes of the websocket (application range 4000-4999).
SESSION_ENDED = 4401


async def _close_if_session_ended(context: RequestContext) -> None:
    """Every BOKA_LIVE_SESSION_CHECK_SECONDS, re-check the session; a revoked or expired one
    closes the whole connection."""
    if context.credentials is None or context.credentials.token is None:
        return
    now = time.monotonic()
    if now - context.principal_checked_at < context.runtime.settings.live_session_check_seconds:
        return
    context.principal_checked_at = now
    principal = await context.refresh_principal()
    if not principal.is_authenticated:
        await context.request.close(code=SESSION_ENDED)  # type: ignore[union-attr]
        raise InvalidRequest("The session has ended.")


async def availability_changed(
    info: Info,
    service_id: relay.GlobalID,
    from_: Annotated[datetime, strawberry.argument(name="from")],
    to: datetime,
    staff_id: relay.GlobalID | None = None,
    time_zone: str | None = None,
) -> AsyncGenerator[list[SlotType], None]:
    """The bookable slots of [from, to): now, and again each time a booking, cancellation,
    reschedule, schedule, time-off or catalogue change alters them."""
    context = info.context
    tenant = context.principal.require_tenant()
    zone = zone_named(time_zone, tenant.time_zone)
    try:
        window = TimeRange(aware(from_, "from"), aware(to, "to"))
        service_row_id = row_id(service_id, "Service", "serviceId")
        staff_row_id = optional_row_id(staff_id, "StaffMember", "staffId")
    except (UserInputError, ValueError) as error:
        raise InvalidRequest(getattr(error, "message", None) or "'from' must be before 'to'.") from error
    if window.end - window.start > MAX_WINDOW:
        raise InvalidRequest(f"Ask for at most {MAX_WINDOW.days} days at a time.")
    async with context.runtime.database.transaction(tenant.id) as db:
        await load_service(db, tenant, service_row_id)  # NOT_FOUND for unknown or inactive
    key = WindowKey(
        tenant.id, service_row_id, window.start.astimezone(UTC), window.end.astimezone(UTC), staff_row_id
    )
    check_every = context.runtime.settings.live_session_check_seconds
    async with context.runtime.live.availability.watch(key) as watcher:
        while True:
            try:
                slots = await watcher.get(timeout=check_every)
            except SlowConsumer as dropped:
                raise SlowConsumerDropped("Too far behind; subscribe again.") from dropped
            await _close_if_session_ended(context)
            if slots is None:
                continue
            context.reset_loaders()
            yield [
                SlotType(start=s.start.astimezone(zone), end=s.end.astimezone(zone),
                         seats_left=s.seats_left, staff_ids=s.staff_ids)
                for s in slots
            ]


def _booking_events_of(staff_id: uuid.UUID | None) -> Any:
    def accepts(message: dict[str, Any]) -> bool:
        if not str(message.get("type", "")).startswith(BOOKING_EVENT_PREFIX):
            return False
        return staff_id is None or message["payload"].get("staff_id") == str(staff_id)

    return accepts


async def _visible_booking_of(
    context: RequestContext, tenant_id: uuid.UUID, message: dict[str, Any]
) -> Booking | None:
    """The event's booking if the principal may see it now. Managers and owners see the whole
    tenant, so the row read once for every subscriber decides; staff and customers are asked
    of the database, with access.py's row rules."""
    booking_id = uuid.UUID(message["payload"]["booking_id"])
    principal = context.principal
    if sees_whole_tenant(principal):
        booking = await context.runtime.live.bookings.for_event(message["id"], tenant_id, booking_id)
        return booking if booking is not None and booking.tenant_id == tenant_id else None
    async with context.runtime.database.transaction(tenant_id) as db:
        return await visible_booking(db, principal, booking_id)


async def booking_events(
    info: Info, staff_id: relay.GlobalID | None = None
) -> AsyncGenerator[BookingEventType, None]:
    """Changes of the bookings you may see: a customer their own, staff their assigned ones,
    managers and owners the tenant's (optionally one staff member's). Checked per event."""
    context = info.context
    principal = context.principal
    tenant = principal.require_tenant()
    principal.authorize(Action.BOOKING_VIEW, Scope.OWN)
    try:
        staff_row_id = optional_row_id(staff_id, "StaffMember", "staffId")
    except (UserInputError, ValueError) as error:
        raise InvalidRequest(getattr(error, "message", None) or "Bad staffId.") from error
    settings = context.runtime.settings
    async with context.runtime.live.hub.listen(
        tenant.id, maxsize=settings.live_queue_size, accepts=_booking_events_of(staff_row_id)
    ) as listener:
        while True:
            try:
                message = await listener.get(timeout=settings.live_session_check_seconds)
            except SlowConsumer as dropped:
                raise SlowConsumerDropped("Too far behind; subscribe again.") from dropped
            await _close_if_session_ended(context)
            if message is None:
                continue
            booking = await _visible_booking_of(context, tenant.id, message)
            if booking is None:
                continue
            context.reset_loaders()
            yield BookingEventType(
                event_id=strawberry.ID(message["id"]),
                type=message["type"],
                sequence=message["sequence"],
                occurred_at=datetime.fromisoformat(message["occurred_at"]),
                status=booking.status,
                booking=BookingType.from_model(booking),
            )


@strawberry.type
class LiveSubscription:
    availability_changed: AsyncGenerator[list[SlotType], None] = strawberry.subscription(
        resolver=availability_changed
    )
    booking_events: AsyncGenerator[BookingEventType, None] = strawberry.subscription(
        resolver=booking_events
    )
