"""Live subscriptions: availability that follows every change, and booking events.

Both are fed by the process's LiveHub (one broadcast subscription per process), so any app
instance sees every change. Thin: arguments → domain feed → types.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, Hashable
from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from strawberry import relay

from boka.booking.access import BookingFacts, BookingViewer, is_staff_side_principal
from boka.booking.availability import TimeRange
from boka.booking.engine import load_service
from boka.booking.slots import MAX_WINDOW
from boka.booking.waitlist_reads import offers_by_ids
from boka.errors import InvalidRequest, SlowConsumerDropped, UserInputError
from boka.events.fanout import BookingWatch, Render
from boka.events.hub import Listener, SlowConsumer
from boka.events.live_availability import WindowKey
from boka.events.waitlist import OFFER_EVENTS
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.bookings import Booking
from boka.resolvers.booking import aware, zone_named
from boka.resolvers.context import Info, RequestContext
from boka.resolvers.live_handoff import Deliver, Fail, Rendered, current_handoff
from boka.resolvers.live_render import EventRenderer
from boka.schema.booking import BookingType, SlotType
from boka.schema.ids import optional_row_id, row_id
from boka.schema.live import BookingEventType
from boka.schema.waitlist import WaitlistOfferEventType, WaitlistOfferType

# Closing codes of the websocket (application range 4000-4999).
SESSION_ENDED = 4401


async def close_if_session_ended(context: RequestContext) -> None:
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
            await close_if_session_ended(context)
            if slots is None:
                continue
            context.reset_loaders()
            yield [
                SlotType(start=s.start.astimezone(zone), end=s.end.astimezone(zone),
                         seats_left=s.seats_left, staff_ids=s.staff_ids)
                for s in slots
            ]


def _event_of(message: dict[str, Any], booking: Booking) -> BookingEventType:
    return BookingEventType(
        event_id=strawberry.ID(message["id"]),
        type=message["type"],
        sequence=message["sequence"],
        occurred_at=datetime.fromisoformat(message["occurred_at"]),
        status=booking.status,
        booking=BookingType.from_model(booking),
        customer_name=_name(message, "customer"),
        service_name=_name(message, "service"),
        staff_name=_name(message, "staff"),
    )


def _name(message: dict[str, Any], key: str) -> str | None:
    """A name the event recorded (events written before names were added have none)."""
    linked = message.get("payload", {}).get(key)
    return linked.get("name") if isinstance(linked, dict) else None


class _RenderedBookingEvents:
    """bookingEvents of one subscriber, rendered with its group by the process's fan-out: the
    group is the viewer (access.py's rules), the staff filter, the document and variables, and
    the grants its fields resolve with."""

    __slots__ = ("_renderer", "_staff_id", "_subscription", "_template")

    def __init__(self, info: Info, variables: dict[str, Any] | None, staff_id: uuid.UUID | None,
                 deliver: Deliver, fail: Fail) -> None:
        self._renderer = EventRenderer(info, variables)
        self._template: RequestContext = info.context
        self._staff_id = staff_id
        watch, key, render = self._place(self._template.principal)
        # Only the subscription keeps the key, its group's (the same for all its members).
        self._subscription = self._template.runtime.live.booking_events.subscribe(
            watch, key, render, deliver=deliver, fail=fail
        )

    def _place(self, principal: Principal) -> tuple[BookingWatch, Hashable, Render]:
        renderer, template = self._renderer, self._template

        async def render(message: dict[str, Any], facts: BookingFacts) -> Rendered:
            context = RequestContext(request=template.request, response=template.response,
                                     runtime=template.runtime, resolved_principal=principal)
            return await renderer.render(_event_of(message, facts.booking), context)

        key = (renderer.key, frozenset(principal.grants.items()))
        return BookingWatch(BookingViewer.of(principal), self._staff_id), key, render

    def principal_changed(self, principal: Principal) -> None:
        watch, key, render = self._place(principal)
        if (watch, key) != (self._subscription.watch, self._subscription.render_key):
            self._subscription.move(watch, key, render)

    def cancel(self) -> None:
        self._subscription.cancel()


async def _raw_events(message: dict[str, Any], facts: BookingFacts) -> tuple[dict[str, Any], BookingFacts]:
    return message, facts


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
    handoff = current_handoff.get()
    if handoff is not None:  # the websocket writes the group's rendering itself
        handoff.take(lambda deliver, fail: _RenderedBookingEvents(
            info, handoff.variables, staff_row_id, deliver, fail))
        return
    # Elsewhere, Strawberry executes the selection set for this subscriber, event by event.
    settings = context.runtime.settings
    queue = Listener(tenant.id, settings.live_queue_size, accepts=lambda _: True)
    watch = BookingWatch(BookingViewer.of(principal), staff_row_id)
    subscription = context.runtime.live.booking_events.subscribe(
        watch, "raw", _raw_events, deliver=queue.offer, fail=queue.offer
    )
    try:
        while True:
            try:
                item = await queue.get(timeout=settings.live_session_check_seconds)
            except SlowConsumer as dropped:
                raise SlowConsumerDropped("Too far behind; subscribe again.") from dropped
            if isinstance(item, Exception):
                raise item
            await close_if_session_ended(context)
            if context.principal is not principal:
                principal = context.principal
                if (moved := BookingWatch(BookingViewer.of(principal), staff_row_id)) != subscription.watch:
                    subscription.move(moved, "raw", _raw_events)
            if item is None:
                continue
            message, facts = item
            if not subscription.watch.wants(facts):  # delivered before the principal changed
                continue
            context.reset_loaders()
            yield _event_of(message, facts.booking)
    finally:
        subscription.cancel()


async def waitlist_offer(info: Info) -> AsyncGenerator[WaitlistOfferEventType, None]:
    """Offers as they are made, claimed, declined or expire: a signed-in customer their own,
    staff, managers and owners the business's."""
    context = info.context
    principal = context.principal
    tenant = principal.require_tenant()
    principal.authorize(Action.BOOKING_VIEW, Scope.OWN)
    staff_side = is_staff_side_principal(principal)
    user_id = str(principal.user.id) if principal.user else None

    def accepts(message: dict[str, Any]) -> bool:
        if message.get("type") not in OFFER_EVENTS:
            return False
        return staff_side or message.get("payload", {}).get("customer_user_id") == user_id

    settings = context.runtime.settings
    async with context.runtime.live.hub.listen(
        tenant.id, maxsize=settings.live_queue_size, accepts=accepts
    ) as listener:
        while True:
            try:
                message = await listener.get(timeout=settings.live_session_check_seconds)
            except SlowConsumer as dropped:
                raise SlowConsumerDropped("Too far behind; subscribe again.") from dropped
            await close_if_session_ended(context)
            if message is None:
                continue
            offer_id = uuid.UUID(message["payload"]["offer_id"])
            async with context.runtime.database.transaction(tenant.id) as db:  # as it is now
                found = await offers_by_ids(db, context.principal, [offer_id])
            if offer_id not in found:
                continue
            context.reset_loaders()
            yield WaitlistOfferEventType(
                event_id=strawberry.ID(message["id"]), type=message["type"],
                occurred_at=datetime.fromisoformat(message["occurred_at"]),
                offer=WaitlistOfferType.from_model(found[offer_id]),
            )


@strawberry.type
class LiveSubscription:
    availability_changed: AsyncGenerator[list[SlotType], None] = strawberry.subscription(
        resolver=availability_changed
    )
    booking_events: AsyncGenerator[BookingEventType, None] = strawberry.subscription(
        resolver=booking_events
    )
    waitlist_offer: AsyncGenerator[WaitlistOfferEventType, None] = strawberry.subscription(
        resolver=waitlist_offer
    )
