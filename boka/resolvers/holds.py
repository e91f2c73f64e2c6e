"""Resolvers for slot holds: holdSlot, releaseHold and the live slotHoldEvents (booking a hold
is createBooking's, boka/resolvers/booking.py). Thin: input → boka/booking/holds.py → types;
a new hold's expiry job is enqueued once its transaction has committed (should that fail, the
sweep still expires it)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

import sqlalchemy as sa

from boka.booking.access import is_staff_side_principal
from boka.booking.holds import HoldRequest, NewHold, hold_slot, holder_of, release_hold
from boka.db import already_loaded
from boka.errors import SlowConsumerDropped
from boka.events.holds import HOLD_EVENTS
from boka.events.hub import SlowConsumer
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.jobs.holds import enqueue_hold_expiry
from boka.models.bookings import Booking
from boka.models.catalog import Service, StaffMember
from boka.models.holds import SlotHold
from boka.models.types import utcnow
from boka.observability.logging import get_logger
from boka.resolvers.booking import aware
from boka.resolvers.context import Info
from boka.resolvers.live import close_if_session_ended
from boka.schema.holds import (
    HoldSlotInput,
    HoldSlotPayload,
    ReleaseHoldInput,
    ReleaseHoldPayload,
    SlotHoldEventType,
    SlotHoldType,
)
from boka.schema.ids import optional_row_id, row_id
from boka.schema.transactions import write

log = get_logger("boka.resolvers.holds")


def _prime(info: Info, db: AsyncSession, booking: Booking) -> None:
    """The hold's service and staff member, already in this transaction's hands, for the
    answer (no connection needed after the commit)."""
    loaders = info.context.loaders
    for loader, model, key in ((loaders.service_by_id, Service, booking.service_id),
                               (loaders.staff_member_by_id, StaffMember, booking.staff_id)):
        row = already_loaded(db, model, key)
        if row is not None:
            loader.prime(key, row)


async def hold_slot_mutation(info: Info, input: HoldSlotInput) -> HoldSlotPayload:
    """Reserve a time (or seats of a class) for BOKA_HOLD_MINUTES while the checkout is filled
    in, for any service, paid or not. Anyone who may book may hold, guests too; a holder has
    at most BOKA_HOLD_MAX_OPEN holds open at once."""
    context = info.context
    settings = context.runtime.settings

    async def work(db: AsyncSession, principal: Principal) -> NewHold:
        request = HoldRequest(
            service_id=row_id(input.service_id, "Service", "serviceId"),
            start=aware(input.start, "start"),
            staff_id=optional_row_id(input.staff_id, "StaffMember", "staffId"),
            seats=input.seats,
        )
        made = await hold_slot(
            db, principal, request, holder=holder_of(principal, context.client_ip),
            minutes=settings.hold_minutes, max_open=settings.hold_max_open, now=utcnow(),
        )
        _prime(info, db, made.booking)
        return made

    made, errors = await write(info, work)
    if made is None:
        return HoldSlotPayload(errors=errors)
    try:
        await enqueue_hold_expiry(context.runtime, made.hold.id, made.hold.expires_at)
    except Exception as error:  # noqa: BLE001 - the sweep expires it (within 5 minutes more)
        log.warning("could not schedule a hold's expiry", hold_id=str(made.hold.id), error=repr(error))
    return HoldSlotPayload(hold=SlotHoldType.from_model(made.hold, made.booking, made.hold_id))


async def release_hold_mutation(info: Info, input: ReleaseHoldInput) -> ReleaseHoldPayload:
    """Give a held time back before it expires (a hold not yet booked)."""

    async def work(db: AsyncSession, principal: Principal) -> tuple[SlotHold, Booking]:
        hold = await release_hold(db, principal, input.hold_id, now=utcnow())
        held = await db.get(Booking, hold.booking_id)
        assert held is not None
        _prime(info, db, held)
        return hold, held

    released, errors = await write(info, work)
    if released is None:
        return ReleaseHoldPayload(errors=errors)
    return ReleaseHoldPayload(hold=SlotHoldType.from_model(*released))


async def slot_hold_events(info: Info) -> AsyncGenerator[SlotHoldEventType, None]:
    """Holds as they are made, booked, released or expire: staff those of their own time,
    managers and owners the whole business's."""
    context = info.context
    principal = context.principal
    tenant = principal.require_tenant()
    principal.authorize(Action.BOOKING_VIEW, Scope.ASSIGNED)
    mine: set[str] | None = None  # None: every staff member's
    scope = principal.scope(Action.BOOKING_VIEW)
    if scope is None or scope < Scope.TENANT:
        async with context.runtime.database.transaction(tenant.id) as db:
            mine = {str(staff_id) for staff_id in (await db.execute(sa.select(StaffMember.id).where(
                StaffMember.tenant_id == tenant.id, StaffMember.user_id == principal.require_user().id,
            ))).scalars()}

    def accepts(message: dict[str, Any]) -> bool:
        if message.get("type") not in HOLD_EVENTS:
            return False
        return mine is None or message.get("payload", {}).get("staff_id") in mine

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
            if message is None or not is_staff_side_principal(context.principal):
                continue
            context.reset_loaders()
            yield SlotHoldEventType(
                event_id=strawberry.ID(message["id"]), type=message["type"],
                occurred_at=datetime.fromisoformat(message["occurred_at"]),
                hold=SlotHoldType.from_event(message["payload"]),
            )


@strawberry.type
class HoldMutation:
    hold_slot: HoldSlotPayload = strawberry.field(resolver=hold_slot_mutation)
    release_hold: ReleaseHoldPayload = strawberry.field(resolver=release_hold_mutation)


@strawberry.type
class HoldSubscription:
    slot_hold_events: AsyncGenerator[SlotHoldEventType, None] = strawberry.subscription(
        resolver=slot_hold_events
    )
