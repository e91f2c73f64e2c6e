"""Recurring bookings: plan a series, book it, cancel or move its occurrences together.

Each occurrence is a normal booking made, cancelled or moved by the single-booking path the
caller passes in (``book``, ``cancel``, ``move``: the engine with its payment step), so every
rule, constraint, event and notification of a single booking applies to each; the series adds
only the rule (``BookingSeries``) and the link from each booking to it. Whether an occurrence
can be taken, and why not, is availability's own judgement (``refusals_for``, the computation
behind ``explainSlot``): one source of truth.

Booking a series is one transaction. ALL_OR_NOTHING books every occurrence or, if any is
refused, nothing, and the error lists each refused occurrence (field ``occurrences.<index>``)
with its reasons; BOOKABLE_ONLY books those that can be taken and reports the others. Moving
"this and following" is all or nothing in the same way.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.access import visible_bookings
from boka.booking.calendars import staff_for_service
from boka.booking.engine import (
    MAX_NOTES,
    BookingRequest,
    CustomerDetails,
    check_seats,
    customer_for,
    load_service,
)
from boka.booking.pricing import Quote
from boka.booking.quotes import price_booking
from boka.booking.recurrence import Recurrence, check_recurrence, local_instant, occurrence_starts
from boka.booking.refusals import RefusalReason
from boka.booking.slot_explanations import StaffRefusals, reasons_of, refusals_for
from boka.errors import NotFound, UserErrorCode, UserInputError, UserInputErrors
from boka.identity.principal import Principal
from boka.identity.rbac import Action, Scope
from boka.models.bookings import ACTIVE_STATUSES, Booking
from boka.models.catalog import Service, StaffMember, StaffService
from boka.models.series import BookingSeries
from boka.validation import check_time_zone, invalid

T = TypeVar("T")
X = TypeVar("X")


class SeriesMode(str, enum.Enum):
    ALL_OR_NOTHING = "ALL_OR_NOTHING"  # every occurrence, or nothing at all
    BOOKABLE_ONLY = "BOOKABLE_ONLY"  # the occurrences that can be taken; the others reported


@dataclass(frozen=True)
class SeriesRequest:
    service_id: uuid.UUID
    first_start: datetime
    recurrence: Recurrence
    staff_id: uuid.UUID | None = None  # None: anyone, the same staff member preferred
    time_zone: str | None = None  # the zone whose wall time the series keeps; the tenant's if None
    customer: CustomerDetails | None = None
    notes: str = ""
    discount_code: str | None = None
    seats: int = 1


@dataclass(frozen=True)
class PlannedOccurrence:
    index: int
    start: datetime
    end: datetime
    explained: list[StaffRefusals]
    staff_id: uuid.UUID | None  # who would most likely take it; None when nobody can
    quote: Quote

    @property
    def bookable(self) -> bool:
        return any(not each.refusals for each in self.explained)

    @property
    def reasons(self) -> tuple[RefusalReason, ...]:
        """Why nobody (or not the staff member asked for) can take it; empty when bookable."""
        if self.bookable:
            return ()
        return reasons_of(self.explained) or (RefusalReason.NOT_ASSIGNED,)


@dataclass(frozen=True)
class SeriesPlan:
    service: Service
    zone: ZoneInfo
    recurrence: Recurrence
    occurrences: list[PlannedOccurrence]


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """One occurrence of a booked series: what booking it gave, or why not."""

    index: int
    start: datetime
    booked: T | None
    refusal: UserInputError | None = None


@dataclass(frozen=True)
class BookedSeries(Generic[T]):
    series: BookingSeries
    outcomes: list[Outcome[T]]


def zone_of(request: SeriesRequest, tenant_zone: str) -> ZoneInfo:
    if request.time_zone is None:
        return ZoneInfo(tenant_zone)
    return ZoneInfo(check_time_zone(request.time_zone, "timeZone"))


async def plan_series(
    db: AsyncSession, principal: Principal, request: SeriesRequest, *, now: datetime
) -> SeriesPlan:
    """Every occurrence of the series with whether it can be taken (and if not, every reason
    availability gives), who would take it, and its price then (quoted as ``quote`` would)."""
    tenant = principal.require_tenant()
    service = await load_service(db, tenant, request.service_id)
    check_seats(service, request.seats)
    zone = zone_of(request, tenant.time_zone)
    starts = occurrence_starts(request.first_start, zone, request.recurrence)
    performers = await _performers(db, service, request.staff_id)
    links = {member.id: link for member, link in performers}
    preferred = request.staff_id
    planned = []
    for index, start in enumerate(starts):
        explained = await refusals_for(
            db, service, start=start, now=now, staff_id=request.staff_id, seats=request.seats,
        )
        able = [each.staff_id for each in explained if not each.refusals]
        staff_id = preferred if preferred in able else (able[0] if able else None)
        preferred = staff_id or preferred
        link = links.get(staff_id) if staff_id else performers[0][1]
        priced = await price_booking(
            db, tenant, service, link, start=start, discount_code=request.discount_code,
            customer_id=None, now=now, seats=request.seats,
        )
        minutes = (link.duration_minutes if link else None) or service.duration_minutes
        duration = timedelta(minutes=minutes)
        planned.append(PlannedOccurrence(
            index=index, start=start, end=start + duration, explained=explained,
            staff_id=staff_id, quote=priced.quote,
        ))
    return SeriesPlan(
        service=service, zone=zone,
        recurrence=check_recurrence(
            request.recurrence, request.first_start.astimezone(zone).date()
        ),
        occurrences=planned,
    )


async def _performers(
    db: AsyncSession, service: Service, staff_id: uuid.UUID | None
) -> list[tuple[StaffMember, StaffService]]:
    """Who performs the service (just ``staff_id``, if named); a user error if nobody does."""
    performers = await staff_for_service(db, service, staff_id)
    if not performers:
        if staff_id is not None:
            raise invalid("That staff member does not perform this service.", "staffId")
        raise invalid("Nobody performs this service yet.", "serviceId")
    return performers


async def book_series(
    db: AsyncSession,
    principal: Principal,
    request: SeriesRequest,
    *,
    mode: SeriesMode,
    book: Callable[[BookingRequest], Awaitable[tuple[Booking, X]]],
    now: datetime,
) -> BookedSeries[tuple[Booking, X]]:
    """Book the series' occurrences, each through ``book`` (the single-booking path) in its own
    savepoint, so a refused one leaves nothing behind. ALL_OR_NOTHING: any refusal raises them
    all (one UserError per refused occurrence, field ``occurrences.<index>``) and the caller's
    transaction writes nothing; BOOKABLE_ONLY: the refused ones are reported, unless none could
    be booked at all (then the same error)."""
    tenant = principal.require_tenant()
    if principal.api_key is not None:
        principal.authorize(Action.BOOKING_CREATE, Scope.TENANT)
    service = await load_service(db, tenant, request.service_id)
    check_seats(service, request.seats)
    zone = zone_of(request, tenant.time_zone)
    starts = occurrence_starts(request.first_start, zone, request.recurrence)
    await _performers(db, service, request.staff_id)
    if len(request.notes) > MAX_NOTES:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "Notes are too long.", "notes")
    customer = await customer_for(db, principal, request.customer, now=now)
    recurrence = check_recurrence(request.recurrence, request.first_start.astimezone(zone).date())
    series = BookingSeries(
        tenant_id=tenant.id, customer_id=customer.id, service_id=service.id,
        staff_id=request.staff_id, time_zone=zone.key, frequency=recurrence.frequency.value,
        interval=recurrence.interval, week_of_month=recurrence.week_of_month,
        until=recurrence.until, occurrence_count=len(starts), first_start=starts[0],
        created_by_user_id=principal.user.id if principal.user else None, created_at=now,
    )
    db.add(series)
    await db.flush()
    outcomes: list[Outcome[tuple[Booking, X]]] = []
    preferred = request.staff_id
    for index, start in enumerate(starts):
        staff_id = request.staff_id
        if staff_id is None and preferred is not None and await _free_with(
            db, service, start, preferred, now=now, seats=request.seats
        ):
            staff_id = preferred
        occurrence = BookingRequest(
            service_id=service.id, start=start, staff_id=staff_id, customer=request.customer,
            notes=request.notes, discount_code=request.discount_code, seats=request.seats,
            series_id=series.id, series_index=index,
        )
        try:
            async with db.begin_nested():
                booked = await book(occurrence)
        except UserInputError as error:
            outcomes.append(Outcome(index, start, None, error))
            continue
        preferred = booked[0].staff_id
        outcomes.append(Outcome(index, start, booked))
    refused = [outcome for outcome in outcomes if outcome.refusal is not None]
    if refused and (mode is SeriesMode.ALL_OR_NOTHING or len(refused) == len(outcomes)):
        raise UserInputErrors([_occurrence_error(outcome, zone) for outcome in refused])
    return BookedSeries(series=series, outcomes=outcomes)


async def _free_with(
    db: AsyncSession, service: Service, start: datetime, staff_id: uuid.UUID, *, now: datetime,
    seats: int,
) -> bool:
    explained = await refusals_for(
        db, service, start=start, now=now, staff_id=staff_id, seats=seats
    )
    return any(not each.refusals for each in explained)


def _occurrence_error(outcome: Outcome, zone: ZoneInfo) -> UserInputError:  # type: ignore[type-arg]
    refusal = outcome.refusal
    assert refusal is not None
    when = outcome.start.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return UserInputError(
        refusal.code, f"Occurrence {outcome.index + 1} ({when}): {refusal.message}",
        f"occurrences.{outcome.index}", reasons=refusal.reasons,
    )


async def load_series(
    db: AsyncSession, principal: Principal, series_id: uuid.UUID, *, for_update: bool = False
) -> tuple[BookingSeries, list[Booking]]:
    """The series and those of its bookings the principal may see, by start; NOT_FOUND when
    they may see none of them (never FORBIDDEN, which would confirm that it exists). Changing
    them (``for_update``) takes the right to make bookings first, as changing one booking does
    (``changes.load_booking``): a key that may only read cannot cancel."""
    tenant = principal.require_tenant()
    if for_update:
        principal.authorize(Action.BOOKING_CREATE, Scope.OWN)
    series = (await db.execute(
        sa.select(BookingSeries)
        .where(BookingSeries.id == series_id, BookingSeries.tenant_id == tenant.id)
    )).scalar_one_or_none()
    bookings = list((await db.execute(
        sa.select(Booking)
        .where(Booking.series_id == series_id, visible_bookings(principal))
        .order_by(Booking.start_time, Booking.id)
    )).scalars()) if series is not None else []
    if series is None or not bookings:
        raise NotFound("No such booking series.")
    return series, bookings


def _from(
    bookings: list[Booking], from_booking_id: uuid.UUID | None, now: datetime
) -> list[Booking]:
    """The active occurrences from ``from_booking_id`` on (that one included), or, without it,
    every active occurrence that has not started yet."""
    active = [booking for booking in bookings if booking.status in ACTIVE_STATUSES]
    if from_booking_id is None:
        chosen = [booking for booking in active if booking.start_time > now]
    else:
        anchor = next((booking for booking in bookings if booking.id == from_booking_id), None)
        if anchor is None:
            raise NotFound("No such booking in this series.")
        chosen = [booking for booking in active if booking.start_time >= anchor.start_time]
    if not chosen:
        raise UserInputError(
            UserErrorCode.INVALID_TRANSITION, "No occurrence of this series is left to change.",
            "fromBookingId",
        )
    return chosen


async def cancel_series(
    db: AsyncSession,
    principal: Principal,
    series_id: uuid.UUID,
    *,
    from_booking_id: uuid.UUID | None,
    cancel: Callable[[Booking], Awaitable[X]],
    now: datetime,
) -> tuple[BookingSeries, list[X]]:
    """Cancel this and following (from ``from_booking_id``) or all remaining occurrences, each
    through ``cancel`` (its own policy and refund); any refusal cancels none."""
    series, bookings = await load_series(db, principal, series_id, for_update=True)
    targets = _from(bookings, from_booking_id, now)
    return series, [await cancel(booking) for booking in targets]


async def reschedule_series(
    db: AsyncSession,
    principal: Principal,
    series_id: uuid.UUID,
    *,
    from_booking_id: uuid.UUID | None,
    start: datetime,
    move: Callable[[Booking, datetime], Awaitable[X]],
    now: datetime,
) -> tuple[BookingSeries, list[X]]:
    """Move this and following occurrences (from ``from_booking_id``, or the first that has not
    started) by the wall-clock shift that takes the first of them to ``start``, in the series'
    zone: each keeps its own date's local time plus the shift, across DST changes. Each goes
    through ``move`` (the single reschedule: policy, price, fee); any refusal moves none, and
    the error lists every refused occurrence."""
    series, bookings = await load_series(db, principal, series_id, for_update=True)
    targets = _from(bookings, from_booking_id, now)
    zone = ZoneInfo(series.time_zone)

    def wall(moment: datetime) -> datetime:
        return moment.astimezone(zone).replace(tzinfo=None)

    shift = wall(start) - wall(targets[0].start_time)
    new_starts = {
        booking.id: local_instant(wall(booking.start_time) + shift, zone) for booking in targets
    }
    # later ones first when moving later (and earlier ones first when moving earlier), so that
    # no occurrence is refused for the time its neighbour is about to leave
    ordered = list(reversed(targets)) if shift > timedelta(0) else targets
    moved: dict[uuid.UUID, X] = {}
    refused: list[tuple[int, UserInputError]] = []
    for booking in ordered:
        index = booking.series_index if booking.series_index is not None else 0
        try:
            async with db.begin_nested():
                moved[booking.id] = await move(booking, new_starts[booking.id])
        except UserInputError as error:
            when = new_starts[booking.id].astimezone(zone).strftime("%Y-%m-%d %H:%M")
            refused.append((index, UserInputError(
                error.code, f"Occurrence {index + 1} ({when}): {error.message}",
                f"occurrences.{index}", reasons=error.reasons,
            )))
    if refused:
        raise UserInputErrors([error for _, error in sorted(refused, key=lambda each: each[0])])
    return series, [moved[booking.id] for booking in targets]


async def series_by_ids(
    db: AsyncSession, principal: Principal, ids: list[uuid.UUID]
) -> dict[uuid.UUID, BookingSeries]:
    """Of ``ids``, the series of which the principal may see at least one booking."""
    visible = sa.select(Booking.series_id).where(
        Booking.series_id.in_(ids), visible_bookings(principal)
    )
    statement = sa.select(BookingSeries).where(BookingSeries.id.in_(visible))
    return {row.id: row for row in (await db.execute(statement)).scalars()}


async def bookings_of_series(
    db: AsyncSession, principal: Principal, series_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Booking]]:
    """Each series' bookings that the principal may see, by start."""
    rows = await db.execute(
        sa.select(Booking)
        .where(Booking.series_id.in_(series_ids), visible_bookings(principal))
        .order_by(Booking.start_time, Booking.id)
    )
    found: dict[uuid.UUID, list[Booking]] = {}
    for booking in rows.scalars():
        assert booking.series_id is not None
        found.setdefault(booking.series_id, []).append(booking)
    return found
