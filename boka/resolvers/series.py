"""Resolvers of recurring bookings: preview, book, cancel and move a series. Thin: input →
domain (boka/booking/series.py, with its money in boka/payments/series.py) → type."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.engine import CustomerDetails
from boka.booking.links import manage_token
from boka.booking.recurrence import Recurrence
from boka.booking.series import BookedSeries, SeriesMode, SeriesPlan, SeriesRequest, plan_series
from boka.identity.principal import Principal
from boka.models.bookings import Booking
from boka.models.series import BookingSeries, SeriesFrequency
from boka.models.types import utcnow
from boka.payments.checkout import Checkout
from boka.payments.series import (
    Cancelled,
    Moved,
    book_series_with_payment,
    cancel_series_with_refunds,
    reschedule_series_with_money,
)
from boka.resolvers.booking import aware
from boka.resolvers.context import Info
from boka.resolvers.payments import after_cancellation, after_checkout, after_reschedule
from boka.schema.booking import BookingType, QuoteType
from boka.schema.catalog import MoneyType
from boka.schema.ids import optional_row_id, row_id
from boka.schema.payments import PaymentType
from boka.schema.series import (
    BookingSeriesPreviewPayload,
    BookingSeriesPreviewType,
    BookingSeriesType,
    CancelBookingSeriesInput,
    CancelBookingSeriesPayload,
    CreateBookingSeriesInput,
    CreateBookingSeriesPayload,
    PreviewBookingSeriesInput,
    RecurrenceInput,
    RescheduleBookingSeriesInput,
    RescheduleBookingSeriesPayload,
    SeriesOccurrenceType,
)
from boka.schema.transactions import write


def _recurrence(given: RecurrenceInput) -> Recurrence:
    return Recurrence(
        frequency=SeriesFrequency(given.frequency), interval=given.interval, count=given.count,
        until=given.until, week_of_month=given.week_of_month,
    )


def _request(input: PreviewBookingSeriesInput | CreateBookingSeriesInput) -> SeriesRequest:
    customer = getattr(input, "customer", None)
    return SeriesRequest(
        service_id=row_id(input.service_id, "Service", "serviceId"),
        first_start=aware(input.start, "start"),
        recurrence=_recurrence(input.recurrence),
        staff_id=optional_row_id(input.staff_id, "StaffMember", "staffId"),
        time_zone=input.time_zone,
        customer=CustomerDetails(
            email=customer.email, first_name=customer.first_name, last_name=customer.last_name,
            phone=customer.phone,
        ) if customer else None,
        notes=getattr(input, "notes", ""),
        discount_code=input.discount_code,
        seats=input.seats,
    )


async def preview_booking_series(
    info: Info, input: PreviewBookingSeriesInput
) -> BookingSeriesPreviewPayload:
    """Every occurrence of a series, with whether it can be taken (and why not) and its price."""

    async def work(db: AsyncSession, principal: Principal) -> SeriesPlan:
        return await plan_series(db, principal, _request(input), now=utcnow())

    plan, errors = await write(info, work)  # nothing is written; write() maps user errors
    if plan is None:
        return BookingSeriesPreviewPayload(errors=errors)
    return BookingSeriesPreviewPayload(preview=BookingSeriesPreviewType(
        time_zone=plan.zone.key,
        occurrences=[
            SeriesOccurrenceType(
                index=each.index, start=each.start, end=each.end, bookable=each.bookable,
                reasons=list(each.reasons), price=QuoteType.from_quote(each.quote),
                staff_row_id=each.staff_id,
            )
            for each in plan.occurrences
        ],
    ))


async def create_booking_series(
    info: Info, input: CreateBookingSeriesInput
) -> CreateBookingSeriesPayload:
    runtime = info.context.runtime

    async def work(
        db: AsyncSession, principal: Principal
    ) -> BookedSeries[tuple[Booking, Checkout | None]]:
        return await book_series_with_payment(
            db, principal, _request(input), mode=SeriesMode(input.mode),
            provider=runtime.payment_provider, hold=runtime.payment_hold, now=utcnow(),
        )

    booked, errors = await write(info, work)
    if booked is None:
        return CreateBookingSeriesPayload(errors=errors)
    occurrences = []
    for outcome in booked.outcomes:
        if outcome.booked is None:
            refusal = outcome.refusal
            occurrences.append(SeriesOccurrenceType(
                index=outcome.index, start=outcome.start, bookable=False,
                reasons=list(getattr(refusal, "reasons", ())),
            ))
            continue
        booking, checkout = outcome.booked
        if checkout is not None:
            await after_checkout(runtime, checkout)
        occurrences.append(SeriesOccurrenceType(
            index=outcome.index, start=booking.start_time, end=booking.end_time, bookable=True,
            booking=BookingType.from_model(booking),
            manage_token=manage_token(runtime.settings.secret_key, booking.id),
            payment=(
                PaymentType.from_model(checkout.payment, checkout.client_secret)
                if checkout else None
            ),
            staff_row_id=booking.staff_id,
        ))
    return CreateBookingSeriesPayload(
        series=BookingSeriesType.from_model(booked.series), occurrences=occurrences
    )


async def cancel_booking_series(
    info: Info, input: CancelBookingSeriesInput
) -> CancelBookingSeriesPayload:
    async def work(
        db: AsyncSession, principal: Principal
    ) -> tuple[BookingSeries, list[Cancelled]]:
        return await cancel_series_with_refunds(
            db, principal, row_id(input.series_id, "BookingSeries", "seriesId"),
            from_booking_id=optional_row_id(input.from_booking_id, "Booking", "fromBookingId"),
            reason=input.reason, now=utcnow(),
        )

    done, errors = await write(info, work)
    if done is None:
        return CancelBookingSeriesPayload(errors=errors)
    series, cancelled = done
    for _, _, money in cancelled:
        await after_cancellation(info.context.runtime, money)
    currency = cancelled[0][0].currency
    return CancelBookingSeriesPayload(
        series=BookingSeriesType.from_model(series),
        cancelled=[BookingType.from_model(booking) for booking, _, _ in cancelled],
        refund=MoneyType(
            amount=sum(money.refund_cents for _, _, money in cancelled), currency=currency
        ),
    )


async def reschedule_booking_series(
    info: Info, input: RescheduleBookingSeriesInput
) -> RescheduleBookingSeriesPayload:
    async def work(db: AsyncSession, principal: Principal) -> tuple[BookingSeries, list[Moved]]:
        return await reschedule_series_with_money(
            db, principal, row_id(input.series_id, "BookingSeries", "seriesId"),
            from_booking_id=optional_row_id(input.from_booking_id, "Booking", "fromBookingId"),
            start=aware(input.start, "start"), override_policy=input.override_policy, now=utcnow(),
            provider=info.context.runtime.payment_provider,
        )

    done, errors = await write(info, work)
    if done is None:
        return RescheduleBookingSeriesPayload(errors=errors)
    series, moved = done
    for _, money in moved:
        await after_reschedule(info.context.runtime, money)
    return RescheduleBookingSeriesPayload(
        series=BookingSeriesType.from_model(series),
        rescheduled=[BookingType.from_model(each.booking) for each, _ in moved],
    )


@strawberry.type
class SeriesQuery:
    preview_booking_series: BookingSeriesPreviewPayload = strawberry.field(
        resolver=preview_booking_series,
        description="Every occurrence of a recurring booking, with whether it can be taken (and "
        "if not, every reason, as `explainSlot` gives them) and its price. Books nothing.",
    )


@strawberry.type
class SeriesMutation:
    create_booking_series: CreateBookingSeriesPayload = strawberry.field(
        resolver=create_booking_series,
        description="Book a recurring appointment: each occurrence is booked as createBooking "
        "books one (its rules, price, payment, events and messages), all in one transaction.",
    )
    cancel_booking_series: CancelBookingSeriesPayload = strawberry.field(
        resolver=cancel_booking_series,
        description="Cancel this and the following occurrences of a series, or all that have "
        "not started; each by its own cancellation policy. Any refusal cancels none.",
    )
    reschedule_booking_series: RescheduleBookingSeriesPayload = strawberry.field(
        resolver=reschedule_booking_series,
        description="Move this and the following occurrences by one shift of local time; each "
        "by its own reschedule policy. Any refusal moves none.",
    )

