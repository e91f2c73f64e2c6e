"""Availability of a service: the bookable slots in a window, straight from the database."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.availability import Slot, TimeRange, compute_slots
from boka.booking.calendars import load_availability_inputs, service_rules, staff_for_service
from boka.booking.limits import limited_starts
from boka.booking.session_seats import session_slots
from boka.errors import InvalidRequest, NotFound
from boka.models.catalog import Service, StaffMember, StaffService

MAX_WINDOW = timedelta(days=62)
INLINE_WINDOW = timedelta(days=1)  # longer windows are computed off the event loop


async def find_slots(
    db: AsyncSession,
    service: Service,
    *,
    window: TimeRange,
    now: datetime,
    staff_id: uuid.UUID | None = None,
    ignore_booking_id: uuid.UUID | None = None,
    staff: list[tuple[StaffMember, StaffService]] | None = None,
) -> list[Slot]:
    """Bookable slots of ``service`` starting in ``window``, for one staff member or any
    (``staff``: the service's staff as ``staff_for_service`` answers, when the caller has them).

    Staff who perform the service at their own duration are computed separately (their slots
    end at a different time), then merged with the rest by (start, end). A group service's
    slots are its scheduled class sessions with seats left, but those a booking limit rules out.
    """
    if window.end - window.start > MAX_WINDOW:
        raise InvalidRequest(f"Ask for at most {MAX_WINDOW.days} days at a time.")
    if staff is None:
        staff = await staff_for_service(db, service, staff_id)
    if staff_id is not None and not staff:
        raise NotFound("No such staff member performs this service.")
    if service.capacity > 1:
        limited = await limited_starts(
            db, service, [member for member, _ in staff], window,
            duration_minutes=service.duration_minutes, ignore_booking_id=ignore_booking_id,
        )
        return await session_slots(
            db, service, window=window, now=now, staff_id=staff_id, limited=limited
        )
    by_duration: dict[int, list] = defaultdict(list)  # type: ignore[type-arg]
    for member, link in staff:
        by_duration[link.duration_minutes or service.duration_minutes].append(member)

    merged: dict[tuple[datetime, datetime], Slot] = {}
    for duration, members in by_duration.items():
        inputs = await load_availability_inputs(
            db, service, members, window, ignore_booking_id=ignore_booking_id,
            duration_minutes=duration,
        )
        compute = partial(
            compute_slots, service_rules(service, duration), inputs.calendars, window=window,
            now=now, seats_taken=inputs.seats_taken, resource_busy=inputs.resource_busy,
        )
        # Pure Python: a long window computed on the event loop stalls every other request
        # (issue 12: /healthz waited seconds). In a thread the loop still gets the interpreter
        # every switch interval (5 ms); a short window (a booking's one start) stays inline.
        slots = await asyncio.to_thread(compute) if window.end - window.start > INLINE_WINDOW else compute()
        for slot in slots:
            key = (slot.start, slot.end)
            if key in merged:
                other = merged[key]
                slot = Slot(
                    start=slot.start,
                    end=slot.end,
                    staff_ids=tuple(sorted({*other.staff_ids, *slot.staff_ids}, key=str)),
                    seats_left=max(other.seats_left, slot.seats_left),
                )
            merged[key] = slot
    return [merged[key] for key in sorted(merged)]


@dataclass(frozen=True)
class SlotDay:
    """One local date of availability, as a calendar shows it: the slots that start on it (in
    order, shown in the zone asked for) and everyone who can take at least one of them."""

    day: date
    slots: tuple[Slot, ...]
    staff_ids: tuple[uuid.UUID, ...]


def slots_by_day(slots: Iterable[Slot], zone: ZoneInfo) -> list[SlotDay]:
    """Sorted ``slots`` grouped by the local date their start falls on in ``zone``, with their
    start and end shown in ``zone``. Dates without a slot are left out."""
    days: dict[date, list[Slot]] = {}
    for slot in slots:
        start = slot.start.astimezone(zone)
        local = Slot(start, slot.end.astimezone(zone), slot.staff_ids, slot.seats_left)
        days.setdefault(start.date(), []).append(local)
    result = []
    for day, day_slots in days.items():
        # compute_slots gives slots with the same staff one shared tuple: join each tuple once.
        distinct = {id(slot.staff_ids): slot.staff_ids for slot in day_slots}.values()
        staff_ids = tuple(sorted(set().union(*distinct), key=str))
        result.append(SlotDay(day=day, slots=tuple(day_slots), staff_ids=staff_ids))
    return result
