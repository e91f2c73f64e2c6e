"""Why a start is not bookable, straight from the database: ``explainSlot`` and the reasons a
SLOT_UNAVAILABLE error carries.

The same reads as ``find_slots`` (boka/booking/slots.py), for the one start, judged by
``explain_start`` (boka/booking/refusals.py) with availability's own checks. A group service
is sold as its scheduled class sessions, as its availability is (boka/booking/session_seats.py).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.availability import TimeRange
from boka.booking.calendars import load_availability_inputs, service_rules, staff_for_service
from boka.booking.catalog import active_unless_manager
from boka.booking.limits import limited_starts, rules_out
from boka.booking.access import visible_bookings
from boka.booking.refusals import (
    HeldBlock,
    Refusal,
    RefusalReason,
    explain_start,
    horizon_refusals,
)
from boka.booking.session_seats import sessions_at
from boka.errors import NotFound, Unauthenticated
from boka.identity.principal import Principal
from boka.models.bookings import Booking
from boka.models.catalog import Service, StaffMember, StaffService
from boka.models.sessions import ClassSession


@dataclass(frozen=True)
class StaffRefusals:
    """Every reason the start is not bookable with one staff member; none if it is."""

    staff_id: uuid.UUID
    refusals: tuple[Refusal, ...]
    session: ClassSession | None = None  # a group service's session then, if there is one

    @property
    def reasons(self) -> tuple[RefusalReason, ...]:
        return tuple(dict.fromkeys(refusal.reason for refusal in self.refusals))


async def explain_slot(
    db: AsyncSession,
    principal: Principal,
    *,
    service_id: uuid.UUID,
    start: datetime,
    now: datetime,
    staff_id: uuid.UUID | None = None,
) -> list[StaffRefusals]:
    """For each staff member who could deliver the service (the named one only, if any), every
    reason ``start`` is not bookable. Services and staff members hidden from the principal (other
    tenants', inactive ones for those who do not manage the catalogue) are NotFound; a named staff
    member who does not perform the service gets NOT_ASSIGNED, an inactive service (which only
    managers see) SERVICE_INACTIVE on top of the rest."""
    tenant = principal.require_tenant()
    service = (
        await db.execute(
            sa.select(Service).where(
                Service.id == service_id, Service.tenant_id == tenant.id,
                active_unless_manager(principal, Service.active),
            )
        )
    ).scalar_one_or_none()
    if service is None:
        raise NotFound("No such service.")
    if staff_id is not None and not await staff_for_service(db, service, staff_id):
        member = (
            await db.execute(
                sa.select(StaffMember.id).where(
                    StaffMember.id == staff_id, StaffMember.tenant_id == tenant.id,
                    active_unless_manager(principal, StaffMember.active),
                )
            )
        ).scalar_one_or_none()
        if member is None:
            raise NotFound("No such staff member.")
        return [StaffRefusals(staff_id, (Refusal(RefusalReason.NOT_ASSIGNED),))]
    explained = await refusals_for(db, service, start=start, now=now, staff_id=staff_id)
    if not service.active:
        inactive = Refusal(RefusalReason.SERVICE_INACTIVE)
        explained = [
            StaffRefusals(each.staff_id, (inactive, *each.refusals), each.session)
            for each in explained
        ]
    return explained


async def refusals_for(
    db: AsyncSession,
    service: Service,
    *,
    start: datetime,
    now: datetime,
    staff_id: uuid.UUID | None = None,
    ignore_booking_id: uuid.UUID | None = None,
    seats: int = 1,
) -> list[StaffRefusals]:
    """The staff who perform ``service`` (just ``staff_id``, if given), oldest first, each with
    every reason ``start`` is not bookable with them, as availability decides it (for a group
    class, with ``seats`` seats; availability asks for one)."""
    staff = await staff_for_service(db, service, staff_id)
    if service.capacity > 1:
        return await _class_refusals(db, service, staff, start=start, now=now, seats=seats)
    by_duration: dict[int, list[StaffMember]] = defaultdict(list)
    for member, link in staff:
        by_duration[link.duration_minutes or service.duration_minutes].append(member)
    refusals: dict[uuid.UUID, tuple[Refusal, ...]] = {}
    window = TimeRange(start, start + timedelta(seconds=1))
    for duration, members in by_duration.items():
        inputs = await load_availability_inputs(
            db, service, members, window, ignore_booking_id=ignore_booking_id, detailed=True,
            duration_minutes=duration,
        )
        refusals.update(
            explain_start(
                service_rules(service, duration), inputs.calendars, start=start, now=now,
                seats_taken=inputs.seats_taken, resource_busy=inputs.resource_busy,
            )
        )
    return [StaffRefusals(member.id, refusals[member.id]) for member, _ in staff]


async def _class_refusals(
    db: AsyncSession, service: Service, staff: list[tuple[StaffMember, StaffService]], *,
    start: datetime, now: datetime, seats: int,
) -> list[StaffRefusals]:
    """A group service is bookable at its scheduled sessions within the booking horizon that
    have a seat left (``session_slots``; ``open_sessions`` when booking several): with no
    session then, the instructor has no hours for it (OUTSIDE_HOURS); with too few seats left,
    CLASS_FULL; and LIMIT_REACHED when a booking limit of the service or the instructor rules
    the start out, as ``session_slots`` leaves such sessions out."""
    horizon = horizon_refusals(service_rules(service), start, now)
    sessions = {session.staff_id: session for session in await sessions_at(db, service, start)}
    limited = await limited_starts(
        db, service, [member for member, _ in staff], TimeRange(start, start + timedelta(seconds=1)),
        duration_minutes=service.duration_minutes,
    )
    explained = []
    for member, _ in staff:
        session = sessions.get(member.id)
        refusals = list(horizon)
        if session is None:
            refusals.append(Refusal(RefusalReason.OUTSIDE_HOURS))
        elif session.capacity - session.seats_taken < seats:
            refusals.append(Refusal(RefusalReason.CLASS_FULL))
        if rules_out(limited.get(member.id, ()), start):
            refusals.append(Refusal(RefusalReason.LIMIT_REACHED))
        explained.append(StaffRefusals(member.id, tuple(refusals), session))
    return explained


def reasons_of(explained: list[StaffRefusals]) -> tuple[RefusalReason, ...]:
    """Every reason any of them gives, in the enum's order: what a SLOT_UNAVAILABLE carries."""
    given = {reason for each in explained for reason in each.reasons}
    return tuple(reason for reason in RefusalReason if reason in given)


async def visible_booking_ids(
    db: AsyncSession, principal: Principal, explained: list[StaffRefusals]
) -> set[uuid.UUID]:
    """The bookings behind the refusals that the principal may see (``visible_bookings``:
    customers their own, staff those assigned to them, managers and owners all the tenant's);
    an anonymous visitor sees none."""
    ids = {
        refusal.block.booking_id
        for each in explained
        for refusal in each.refusals
        if isinstance(refusal.block, HeldBlock) and refusal.block.booking_id is not None
    }
    if not ids or (principal.user is None and principal.api_key is None):
        return set()
    try:
        where = visible_bookings(principal)
    except Unauthenticated:
        return set()
    statement = sa.select(Booking.id).where(Booking.id.in_(ids), where)
    return set((await db.execute(statement)).scalars())
