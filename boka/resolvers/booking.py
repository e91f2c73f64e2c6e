"""Resolvers for availability, quotes and the booking lifecycle. Thin: input → domain → type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from boka.booking.availability import Slot, TimeRange
from boka.booking.changes import (
    BookingRef,
    Rescheduled,
    booking_ref,
    cancel_booking,
    change_status,
    load_booking,
    prove_booking_email,
    reschedule_booking,
)
from boka.booking.engine import (
    BookingRequest,
    CustomerDetails,
    load_service,
    quote_booking,
)
from boka.booking.holds import HoldBooking
from boka.booking.lifecycle import CancellationTerms
from boka.booking.links import manage_token
from boka.booking.policies import allows_customer_overlap, set_customer_overlap
from boka.booking.catalog import manages_catalog
from boka.booking.pricing import Quote
from boka.booking.refusals import HeldBlock, Refusal
from boka.booking.slot_explanations import StaffRefusals, visible_booking_ids
from boka.booking.slot_explanations import explain_slot as explain_slot_of
from boka.booking.queries import BookingFilter, list_bookings
from boka.booking.slots import find_slots, slots_by_day
from boka.db import already_loaded
from boka.errors import InvalidRequest, UserErrorCode, UserInputError
from boka.identity.principal import Principal
from boka.models.bookings import Booking, BookingStatus, Customer
from boka.models.catalog import Service, StaffMember
from boka.models.types import utcnow
from boka.payments.checkout import Checkout, book_with_payment
from boka.payments.refunds import CancellationMoney, charge_no_show_fee, settle_cancellation
from boka.resolvers.context import Info
from boka.payments.reschedules import RescheduleMoney, settle_reschedule
from boka.resolvers.payments import after_cancellation, after_checkout, after_reschedule
from boka.schema.booking import (
    AvailabilityDayType,
    BookingActionInput,
    BookingFilterInput,
    BookingPayload,
    BookingSettingsPayload,
    BookingSettingsType,
    BookingType,
    CancelBookingInput,
    CancelBookingPayload,
    CreateBookingInput,
    QuoteInput,
    QuotePayload,
    QuoteType,
    RescheduleBookingInput,
    RescheduleBookingPayload,
    SlotExplanationType,
    SlotRefusalType,
    SlotType,
    StaffSlotExplanationType,
    UpdateBookingSettingsInput,
)
from boka.schema.catalog import MoneyType
from boka.schema.ids import optional_row_id, row_id
from boka.schema.pagination import (
    After,
    Before,
    Connection,
    First,
    Last,
    connection_from_page,
    counted_in_read,
)
from boka.schema.payments import PaymentType
from boka.schema.related import preload, selected_subfields
from boka.schema.transactions import read, write
from boka.validation import check_instant, check_time_zone


def aware(moment: datetime, field: str) -> datetime:
    """An instant from the input: with its UTC offset, within the years Boka handles."""
    return check_instant(moment, field)


def zone_named(name: str | None, default: str, field: str = "timeZone") -> ZoneInfo:
    if name is None:
        return ZoneInfo(default)
    try:
        return ZoneInfo(check_time_zone(name, field))
    except UserInputError as error:
        raise InvalidRequest(error.message, field=field) from error


async def _slots_asked(
    info: Info,
    service_id: relay.GlobalID,
    from_: datetime,
    to: datetime,
    staff_id: relay.GlobalID | None,
    time_zone: str | None,
) -> tuple[list[Slot], ZoneInfo]:
    """The slots an availability query asks for, and the zone to show them in."""
    principal = info.context.principal
    tenant = principal.require_tenant()
    zone = zone_named(time_zone, tenant.time_zone)
    try:
        window = TimeRange(aware(from_, "from"), aware(to, "to"))
        service_row_id = row_id(service_id, "Service", "serviceId")
        staff_row_id = optional_row_id(staff_id, "StaffMember", "staffId")
    except (UserInputError, ValueError) as error:
        raise InvalidRequest(
            getattr(error, "message", None) or "'from' must be before 'to'.",
            **({"field": error.field} if isinstance(error, UserInputError) else {}),
        ) from error
    async with info.context.read_transaction(tenant.id) as db:
        service = await load_service(db, tenant, service_row_id)
        slots = await find_slots(db, service, window=window, now=utcnow(), staff_id=staff_row_id)
    return slots, zone


async def availability(
    info: Info,
    service_id: relay.GlobalID,
    from_: Annotated[datetime, strawberry.argument(name="from")],
    to: datetime,
    staff_id: relay.GlobalID | None = None,
    time_zone: str | None = None,
) -> list[SlotType]:
    """Bookable slots of a service starting in [from, to), shown in ``timeZone`` (default:
    the tenant's). Without ``staffId``, each slot appears once with everyone who can take it.
    For a calendar, ``availabilityDays`` gives the same slots by day, far more compactly."""
    slots, zone = await _slots_asked(info, service_id, from_, to, staff_id, time_zone)
    return [
        SlotType(start=slot.start.astimezone(zone), end=slot.end.astimezone(zone),
                 seats_left=slot.seats_left, staff_ids=slot.staff_ids)
        for slot in slots
    ]


async def availability_days(
    info: Info,
    service_id: relay.GlobalID,
    from_: Annotated[datetime, strawberry.argument(name="from")],
    to: datetime,
    staff_id: relay.GlobalID | None = None,
    time_zone: str | None = None,
) -> list[AvailabilityDayType]:
    """The slots of ``availability``, grouped by the local date (in ``timeZone``, default the
    tenant's) they start on, with staff as plain ids: what a calendar widget shows."""
    slots, zone = await _slots_asked(info, service_id, from_, to, staff_id, time_zone)
    return AvailabilityDayType.from_days(slots_by_day(slots, zone))


async def explain_slot(
    info: Info,
    service_id: relay.GlobalID,
    start: datetime,
    staff_id: relay.GlobalID | None = None,
) -> SlotExplanationType:
    """Why ``start`` is or is not bookable, per staff member who could deliver the service (or
    just ``staffId``): every reason, from the checks availability runs."""
    info.context.principal.require_tenant()
    try:
        moment = aware(start, "start")
        service_row_id = row_id(service_id, "Service", "serviceId")
        staff_row_id = optional_row_id(staff_id, "StaffMember", "staffId")
    except UserInputError as error:
        raise InvalidRequest(error.message, field=error.field) from error

    async def work(db: AsyncSession, principal: Principal) -> tuple[list[StaffRefusals], set, bool]:  # type: ignore[type-arg]
        explained = await explain_slot_of(
            db, principal, service_id=service_row_id, start=moment, now=utcnow(),
            staff_id=staff_row_id,
        )
        visible = await visible_booking_ids(db, principal, explained)
        return explained, visible, manages_catalog(principal)

    explained, visible, sees_time_off = await read(info, work)
    return SlotExplanationType(
        start=moment,
        bookable=any(not each.refusals for each in explained),
        staff=[
            StaffSlotExplanationType(
                staff_id=strawberry.ID(str(relay.GlobalID("StaffMember", str(each.staff_id)))),
                staff_row_id=each.staff_id,
                bookable=not each.refusals,
                reasons=list(each.reasons),
                refusals=[_refusal_type(r, visible, sees_time_off) for r in each.refusals],
            )
            for each in explained
        ],
    )


def _refusal_type(refusal: Refusal, visible: set, sees_time_off: bool) -> SlotRefusalType:  # type: ignore[type-arg]
    """A refusal as the caller may see it: the booking only if it is theirs to see, the class
    session (public, as its slots are), the time off only for those who manage the catalogue."""
    block = refusal.block
    if isinstance(block, HeldBlock) and block.booking_id in visible:
        return SlotRefusalType(
            reason=refusal.reason,
            booking_id=strawberry.ID(str(relay.GlobalID("Booking", str(block.booking_id)))),
            starts_at=block.core.start if block.core else block.range.start,
            ends_at=block.core.end if block.core else block.range.end,
        )
    if isinstance(block, HeldBlock) and block.session_id is not None:
        return SlotRefusalType(
            reason=refusal.reason,
            class_session_id=strawberry.ID(str(relay.GlobalID("ClassSession", str(block.session_id)))),
            starts_at=block.core.start if block.core else block.range.start,
            ends_at=block.core.end if block.core else block.range.end,
        )
    if refusal.time_off is not None and sees_time_off:
        return SlotRefusalType(
            reason=refusal.reason, starts_at=refusal.time_off.start, ends_at=refusal.time_off.end
        )
    return SlotRefusalType(reason=refusal.reason)


async def quote(info: Info, input: QuoteInput) -> QuotePayload:
    """The price a booking would have, with every rule and code that applies."""
    async def work(db: AsyncSession, principal: Principal) -> Quote:
        request = BookingRequest(
            service_id=row_id(input.service_id, "Service", "serviceId"),
            start=aware(input.start, "start"),
            staff_id=optional_row_id(input.staff_id, "StaffMember", "staffId"),
            discount_code=input.discount_code,
            seats=max(input.seats, 1),
        )
        return await quote_booking(db, principal, request, now=utcnow())

    quoted, errors = await write(info, work)  # nothing is written; write() maps user errors
    return QuotePayload(quote=QuoteType.from_quote(quoted) if quoted else None, errors=errors)


async def bookings(
    info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None,
    filter: BookingFilterInput | None = None,
) -> Connection[BookingType]:
    """Bookings by start time: customers see their own, staff their assigned ones, managers
    and owners the whole tenant."""
    criteria = filter or BookingFilterInput()
    try:
        decoded = BookingFilter(
            starts_from=aware(criteria.starts_from, "startsFrom") if criteria.starts_from else None,
            starts_before=aware(criteria.starts_before, "startsBefore") if criteria.starts_before else None,
            statuses=tuple(criteria.statuses or ()),
            staff_id=optional_row_id(criteria.staff_id, "StaffMember", "staffId"),
            customer_id=optional_row_id(criteria.customer_id, "Customer", "customerId"),
            service_id=optional_row_id(criteria.service_id, "Service", "serviceId"),
        )
    except UserInputError as error:
        raise InvalidRequest(error.message, field=error.field) from error
    page = await read(
        info, lambda db, principal: list_bookings(
            db, principal, decoded, first=first, after=after, last=last, before=before)
    )
    await _preload_relations(info, page.items)
    return connection_from_page(page, BookingType.from_model, counted_in_read(info))


async def _preload_relations(info: Info, bookings: list[Booking]) -> None:
    """The customers, services and staff the query asks of this page, one batch each."""
    wanted = selected_subfields(info, "edges", "node")
    loaders = info.context.loaders
    await preload(*(
        (loader, [getattr(booking, key) for booking in bookings])
        for name, loader, key in (
            ("customer", loaders.customer_by_id, "customer_id"),
            ("service", loaders.service_by_id, "service_id"),
            ("staff", loaders.staff_member_by_id, "staff_id"),
        )
        if name in wanted
    ))


async def booking_by_link(info: Info, manage_token: str) -> BookingType:
    """The booking a guest's link is for: what they see when they open it. Opening the link
    that was emailed to the booking's address proves the guest reads that mailbox, so the
    booking joins the list of the account of that email (if any)."""
    ref = booking_ref(None, manage_token, info.context.runtime.settings.secret_key)
    if not ref.proves_email:
        booking = await read(info, lambda db, principal: load_booking(db, principal, ref))
        return BookingType.from_model(booking)
    proven, errors = await write(info, lambda db, principal: prove_booking_email(db, principal, ref))
    if proven is None:  # prove_booking_email raises no user errors; keep the types honest
        raise InvalidRequest(errors[0].message if errors else "This booking link is not valid.")
    return BookingType.from_model(proven)


async def create_booking_mutation(info: Info, input: CreateBookingInput) -> BookingPayload:
    runtime = info.context.runtime

    async def work(db: AsyncSession, principal: Principal) -> tuple[Booking, Checkout | None]:
        customer = CustomerDetails(
            email=input.customer.email, first_name=input.customer.first_name,
            last_name=input.customer.last_name, phone=input.customer.phone,
        ) if input.customer else None
        if input.hold_id is not None:
            booked = await book_with_payment(
                db, principal, None, provider=runtime.payment_provider, hold=runtime.payment_hold,
                now=utcnow(), payment_method=input.payment_method_id, hold_id=input.hold_id,
                held_booking=HoldBooking(
                    customer=customer, notes=input.notes, discount_code=input.discount_code,
                    service_id=optional_row_id(input.service_id, "Service", "serviceId"),
                    start=aware(input.start, "start") if input.start else None,
                    staff_id=optional_row_id(input.staff_id, "StaffMember", "staffId"),
                    seats=input.seats,
                ),
            )
        else:
            if input.service_id is None or input.start is None:
                raise UserInputError(
                    UserErrorCode.INVALID_INPUT, "Name the service and the start (or a holdId).",
                    "serviceId" if input.service_id is None else "start",
                )
            request = BookingRequest(
                service_id=row_id(input.service_id, "Service", "serviceId"),
                start=aware(input.start, "start"),
                staff_id=optional_row_id(input.staff_id, "StaffMember", "staffId"),
                customer=customer, notes=input.notes, discount_code=input.discount_code,
                seats=input.seats if input.seats is not None else 1,
            )
            booked = await book_with_payment(
                db, principal, request, provider=runtime.payment_provider, hold=runtime.payment_hold,
                now=utcnow(), payment_method=input.payment_method_id,
            )
        await _keep_relations(info, db, booked[0])
        return booked

    created, errors = await write(info, work)
    if created is None:
        return BookingPayload(errors=errors)
    booking, checkout = created
    if checkout is not None:
        await after_checkout(runtime, checkout)
    return BookingPayload(
        booking=BookingType.from_model(booking),
        manage_token=manage_token(runtime.settings.secret_key, booking.id),
        payment=PaymentType.from_model(checkout.payment, checkout.client_secret) if checkout else None,
    )


async def _keep_relations(info: Info, db: AsyncSession, booking: Booking) -> Booking:
    """Prime the request's loaders with the booking's customer, service and staff, read in
    this write transaction (one statement), so that the payload needs no connection after the
    commit. Under load the pool could run dry between a booking's commit and its answer: a
    booking made, an error shown (issue 12's ghost bookings). A new booking's rows are
    already in the transaction's hands: then no statement at all."""
    held = (already_loaded(db, Customer, booking.customer_id),
            already_loaded(db, Service, booking.service_id),
            already_loaded(db, StaffMember, booking.staff_id))
    customer, service, staff = held if all(row is not None for row in held) else (await db.execute(
        sa.select(Customer, Service, StaffMember)
        .select_from(Booking)
        .join(Customer, Customer.id == Booking.customer_id)
        .join(Service, Service.id == Booking.service_id)
        .join(StaffMember, StaffMember.id == Booking.staff_id)
        .where(Booking.id == booking.id)
    )).one()
    loaders = info.context.loaders
    loaders.customer_by_id.prime(booking.customer_id, customer)
    loaders.service_by_id.prime(booking.service_id, service)
    loaders.staff_member_by_id.prime(booking.staff_id, staff)
    return booking


def _ref(info: Info, booking_id: relay.GlobalID | None, token: str | None) -> BookingRef:
    return booking_ref(
        optional_row_id(booking_id, "Booking", "id"), token, info.context.runtime.settings.secret_key
    )


async def reschedule_booking_mutation(
    info: Info, input: RescheduleBookingInput
) -> RescheduleBookingPayload:
    async def work(db: AsyncSession, principal: Principal) -> tuple[Rescheduled, RescheduleMoney]:
        now = utcnow()
        moved = await reschedule_booking(
            db, principal, _ref(info, input.id, input.manage_token),
            start=aware(input.start, "start"),
            staff_id=optional_row_id(input.staff_id, "StaffMember", "staffId"), now=now,
            override_policy=input.override_policy,
        )
        await _keep_relations(info, db, moved.booking)
        return moved, await settle_reschedule(
            db, moved.booking, provider=info.context.runtime.payment_provider, now=now,
            payment_method=input.payment_method_id,
        )

    done, errors = await write(info, work)
    if done is None:
        return RescheduleBookingPayload(errors=errors)
    moved, money = done
    await after_reschedule(info.context.runtime, money)
    booking = moved.booking

    def money_of(amount: int) -> MoneyType:
        return MoneyType(amount=amount, currency=booking.currency)

    return RescheduleBookingPayload(
        booking=BookingType.from_model(booking),
        previous_price=money_of(moved.previous_price_cents),
        price=money_of(booking.price_cents),
        fee=money_of(moved.terms.fee_cents),
        refund=money_of(money.refund_cents),
        balance_due=money_of(money.balance_due_cents),
        top_up=PaymentType.from_model(money.top_up.payment, money.top_up.client_secret)
        if money.top_up else None,
    )


async def cancel_booking_mutation(info: Info, input: CancelBookingInput) -> CancelBookingPayload:
    async def work(
        db: AsyncSession, principal: Principal
    ) -> tuple[Booking, CancellationTerms, CancellationMoney]:
        now = utcnow()
        booking, terms = await cancel_booking(
            db, principal, _ref(info, input.id, input.manage_token), reason=input.reason, now=now
        )
        await _keep_relations(info, db, booking)
        return booking, terms, await settle_cancellation(db, booking, terms, now=now)

    cancelled, errors = await write(info, work)
    if cancelled is None:
        return CancelBookingPayload(errors=errors)
    booking, terms, money = cancelled
    await after_cancellation(info.context.runtime, money)
    return CancelBookingPayload(
        booking=BookingType.from_model(booking),
        refund=MoneyType(amount=money.refund_cents, currency=booking.currency),
        refund_percent=terms.refund_percent if money.paid_cents > 0 else None,
    )


async def booking_settings(info: Info) -> BookingSettingsType:
    """The tenant's booking rules."""
    allowed = await read(
        info, lambda db, principal: allows_customer_overlap(db, principal.require_tenant().id)
    )
    return BookingSettingsType(allow_overlapping_customer_bookings=allowed)


async def update_booking_settings(
    info: Info, input: UpdateBookingSettingsInput
) -> BookingSettingsPayload:
    """Managers and owners: whether one customer may hold overlapping appointments."""
    allowed, errors = await write(info, lambda db, principal: set_customer_overlap(
        db, principal, allowed=input.allow_overlapping_customer_bookings
    ))
    if allowed is None:
        return BookingSettingsPayload(errors=errors)
    return BookingSettingsPayload(settings=BookingSettingsType(allow_overlapping_customer_bookings=allowed))


def status_mutation(target: BookingStatus) -> Callable[[Info, BookingActionInput], Awaitable[BookingPayload]]:
    """confirmBooking, completeBooking and markNoShow: one resolver shape, three targets."""

    async def resolve(info: Info, input: BookingActionInput) -> BookingPayload:
        async def work(db: AsyncSession, principal: Principal) -> Booking:
            now = utcnow()
            booking = await change_status(db, principal, row_id(input.id, "Booking", "id"), target, now=now)
            if target == BookingStatus.NO_SHOW:
                await charge_no_show_fee(db, booking, info.context.runtime.payment_provider, now=now)
            return await _keep_relations(info, db, booking)

        booking, errors = await write(info, work)
        return BookingPayload(booking=BookingType.from_model(booking) if booking else None, errors=errors)

    return resolve


@strawberry.type
class BookingQuery:
    availability: list[SlotType] = strawberry.field(resolver=availability)
    availability_days: list[AvailabilityDayType] = strawberry.field(
        resolver=availability_days,
        description="The slots of `availability` by local date, staff as plain ids: for a calendar.",
    )
    explain_slot: SlotExplanationType = strawberry.field(
        resolver=explain_slot,
        description="Why a start is (not) bookable: per staff member who could deliver the "
        "service, every reason availability refuses it, with the conflicting item where you "
        "may see it.",
    )
    quote: QuotePayload = strawberry.field(resolver=quote)
    bookings: Connection[BookingType] = strawberry.field(resolver=bookings)
    booking_by_link: BookingType = strawberry.field(resolver=booking_by_link)
    booking_settings: BookingSettingsType = strawberry.field(resolver=booking_settings)


@strawberry.type
class BookingMutation:
    create_booking: BookingPayload = strawberry.field(resolver=create_booking_mutation)
    reschedule_booking: RescheduleBookingPayload = strawberry.field(resolver=reschedule_booking_mutation)
    cancel_booking: CancelBookingPayload = strawberry.field(resolver=cancel_booking_mutation)
    confirm_booking: BookingPayload = strawberry.field(resolver=status_mutation(BookingStatus.CONFIRMED))
    complete_booking: BookingPayload = strawberry.field(resolver=status_mutation(BookingStatus.COMPLETED))
    mark_no_show: BookingPayload = strawberry.field(resolver=status_mutation(BookingStatus.NO_SHOW))
    update_booking_settings: BookingSettingsPayload = strawberry.field(resolver=update_booking_settings)
