"""GraphQL types of recurring bookings: the series, its rule, the preview of its occurrences,
and the inputs and payloads of booking, cancelling and moving a series."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import strawberry
from strawberry import relay

from boka.booking.series import SeriesMode, bookings_of_series, series_by_ids
from boka.models.series import BookingSeries, SeriesFrequency
from boka.schema.booking import BookingType, QuoteType
from boka.schema.catalog import MoneyType, ServiceType, StaffMemberType
from boka.schema.customers import CustomerInput
from boka.schema.errors import SlotRefusalReasonEnum, UserError
from boka.schema.payments import PaymentType
from boka.schema.related import related
from boka.schema.transactions import resolve_visible_nodes

SeriesFrequencyEnum = strawberry.enum(
    SeriesFrequency, name="SeriesFrequency", description="How a booking series repeats."
)
SeriesModeEnum = strawberry.enum(
    SeriesMode, name="SeriesBookingMode",
    description="What createBookingSeries does when some occurrences cannot be taken.",
)


@strawberry.input(description="How a series repeats, and for how long: give `count` or `until`.")
class RecurrenceInput:
    frequency: SeriesFrequencyEnum = strawberry.field(  # type: ignore[valid-type]
        description="DAILY, WEEKLY, or MONTHLY_BY_WEEKDAY (e.g. the second Tuesday)."
    )
    interval: int = strawberry.field(
        default=1, description="Every this many days, weeks or months (1 to 99)."
    )
    count: int | None = strawberry.field(
        default=None, description="How many occurrences (at most 52). Give this or `until`."
    )
    until: date | None = strawberry.field(
        default=None,
        description="The last local date an occurrence may fall on (at most 52 occurrences).",
    )
    week_of_month: int | None = strawberry.field(
        default=None,
        description="MONTHLY_BY_WEEKDAY: which such weekday of the month, 1 to 4, or -1 for the "
        "last; the first start's own position when left out (a fifth counts as the last).",
    )


@strawberry.input(description="A series to preview: what createBookingSeries would try to book.")
class PreviewBookingSeriesInput:
    service_id: relay.GlobalID = strawberry.field(description="The Service to book.")
    start: datetime = strawberry.field(
        description="The first occurrence (its local time in `timeZone` is every occurrence's)."
    )
    recurrence: RecurrenceInput = strawberry.field(description="How the series repeats.")
    staff_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="A StaffMember for every occurrence. Leave out for anyone: the staff member "
        "of the previous occurrence is preferred when free.",
    )
    time_zone: str | None = strawberry.field(
        default=None,
        description="The IANA zone whose wall time the series keeps across daylight-saving "
        "changes (e.g. the customer's); the tenant's when left out.",
    )
    seats: int = strawberry.field(default=1, description="Seats per occurrence (group classes).")
    discount_code: str | None = strawberry.field(
        default=None, description="A code to apply to each occurrence's price."
    )


@strawberry.input(
    description="A recurring booking: every occurrence is booked as createBooking books one."
)
class CreateBookingSeriesInput:
    service_id: relay.GlobalID = strawberry.field(description="The Service to book.")
    start: datetime = strawberry.field(
        description="The first occurrence (its local time in `timeZone` is every occurrence's)."
    )
    recurrence: RecurrenceInput = strawberry.field(description="How the series repeats.")
    mode: SeriesModeEnum = strawberry.field(  # type: ignore[valid-type]
        description="ALL_OR_NOTHING: every occurrence or none; BOOKABLE_ONLY: those that can be "
        "taken."
    )
    staff_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="A StaffMember for every occurrence. Leave out for anyone: the staff member "
        "of the previous occurrence is preferred when free.",
    )
    time_zone: str | None = strawberry.field(
        default=None,
        description="The IANA zone whose wall time the series keeps; the tenant's when left out.",
    )
    customer: CustomerInput | None = strawberry.field(
        default=None, description="Required for guests and for staff booking on someone's behalf."
    )
    notes: str = strawberry.field(default="", description="Notes for every occurrence.")
    discount_code: str | None = strawberry.field(
        default=None, description="A code applied to each occurrence (each counts as a use)."
    )
    seats: int = strawberry.field(default=1, description="Seats per occurrence (group classes).")


@strawberry.input(description="Which occurrences of a series to cancel.")
class CancelBookingSeriesInput:
    series_id: relay.GlobalID = strawberry.field(description="The BookingSeries.")
    from_booking_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="This occurrence (a Booking of the series) and the following ones; leave "
        "out for every occurrence that has not started yet.",
    )
    reason: str = strawberry.field(default="", description="Why, for each booking's history.")


@strawberry.input(description="Move this and the following occurrences of a series by one shift.")
class RescheduleBookingSeriesInput:
    series_id: relay.GlobalID = strawberry.field(description="The BookingSeries.")
    start: datetime = strawberry.field(
        description="The new start of the first occurrence moved; the following ones move by "
        "the same shift of local wall time (in the series' zone)."
    )
    from_booking_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="The first occurrence to move (a Booking of the series); leave out for the "
        "first that has not started yet.",
    )
    override_policy: bool = strawberry.field(
        default=False,
        description="Staff, managers and owners only: move inside the cancellation window "
        "without the service's refusal or fee.",
    )


@strawberry.type(
    name="SeriesOccurrence",
    description="One occurrence of a series: whether it can be taken (and why not), its price, "
    "and, once booked, its booking.",
)
class SeriesOccurrenceType:
    index: int = strawberry.field(description="Its position in the series, 0 for the first.")
    start: datetime = strawberry.field(description="When it starts (UTC).")
    end: datetime | None = strawberry.field(default=None, description="When it ends (UTC).")
    bookable: bool = strawberry.field(description="Whether it can be (or was) taken.")
    reasons: list[SlotRefusalReasonEnum] = strawberry.field(  # type: ignore[valid-type]
        default_factory=list,
        description="Why it cannot be taken (as `explainSlot` gives them); empty when bookable.",
    )
    price: QuoteType | None = strawberry.field(
        default=None, description="Its price, quoted as `quote` would quote it."
    )
    booking: BookingType | None = strawberry.field(
        default=None, description="The booking made for it (createBookingSeries only)."
    )
    manage_token: str | None = strawberry.field(
        default=None,
        description="The booking's manage link token (as createBooking returns it), for guests.",
    )
    payment: PaymentType | None = strawberry.field(
        default=None, description="What the customer pays up front for it, if its service asks it."
    )
    staff_row_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="Who would take it (the preview's best guess) or took it.")
    def staff(self, info: strawberry.Info) -> StaffMemberType | None:
        if self.staff_row_id is None:
            return None
        loader = info.context.loaders.staff_member_by_id
        return related(loader, self.staff_row_id, StaffMemberType.from_model)  # type: ignore[return-value]


@strawberry.type(name="BookingSeriesPreview", description="What booking a series would give.")
class BookingSeriesPreviewType:
    time_zone: str = strawberry.field(description="The zone whose wall time the series keeps.")
    occurrences: list[SeriesOccurrenceType] = strawberry.field(
        description="Every occurrence, in order."
    )

    @strawberry.field(description="How many occurrences can be taken now.")
    def bookable_count(self) -> int:
        return sum(1 for occurrence in self.occurrences if occurrence.bookable)


@strawberry.type(
    name="BookingSeries",
    description="A recurring booking: the rule it was booked with; its occurrences are bookings.",
)
class BookingSeriesType(relay.Node):
    id: relay.NodeID[str]
    frequency: SeriesFrequencyEnum = strawberry.field(  # type: ignore[valid-type]
        description="How it repeats."
    )
    interval: int = strawberry.field(description="Every this many days, weeks or months.")
    week_of_month: int | None = strawberry.field(
        description="MONTHLY_BY_WEEKDAY: which weekday of the month (1-4, -1 the last)."
    )
    until: date | None = strawberry.field(description="The end date it was booked with, if any.")
    occurrence_count: int = strawberry.field(
        description="How many occurrences the rule gave (booked or not)."
    )
    time_zone: str = strawberry.field(description="The zone whose wall time it keeps.")
    first_start: datetime = strawberry.field(description="The first occurrence's start.")
    created_at: datetime = strawberry.field(description="When it was booked.")
    service_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_model(cls, series: BookingSeries) -> BookingSeriesType:
        return cls(
            id=str(series.id), frequency=SeriesFrequency(series.frequency),
            interval=series.interval,
            week_of_month=series.week_of_month, until=series.until,
            occurrence_count=series.occurrence_count, time_zone=series.time_zone,
            first_start=series.first_start.astimezone(UTC), created_at=series.created_at,
            service_id=series.service_id,
        )

    @strawberry.field(description="The service booked.")
    def service(self, info: strawberry.Info) -> ServiceType:
        loader = info.context.loaders.service_by_id
        return related(loader, self.service_id, ServiceType.from_model)  # type: ignore[return-value]

    @strawberry.field(description="Its bookings that you may see, by start (cancelled ones too).")
    async def bookings(self, info: strawberry.Info) -> list[BookingType]:
        rows = await info.context.loaders.related(bookings_of_series).load(uuid.UUID(self.id))
        return [BookingType.from_model(booking) for booking in rows]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[BookingSeriesType | None]:
        return await resolve_visible_nodes(info, node_ids, series_by_ids, cls.from_model)


@strawberry.type(description="The preview of a series, or why the request is malformed.")
class BookingSeriesPreviewPayload:
    preview: BookingSeriesPreviewType | None = strawberry.field(
        default=None, description="Every occurrence with whether it can be taken."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Expected failures (e.g. SERIES_TOO_LONG)."
    )


@strawberry.type(description="The series booked, with every occurrence's outcome.")
class CreateBookingSeriesPayload:
    series: BookingSeriesType | None = strawberry.field(default=None, description="The series.")
    occurrences: list[SeriesOccurrenceType] = strawberry.field(
        default_factory=list,
        description="Every occurrence: its booking, or (BOOKABLE_ONLY) why it was not booked.",
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description="Nothing was booked: one error per refused occurrence (field "
        "`occurrences.<index>`, with its reasons), or what is wrong with the request.",
    )


@strawberry.type(description="The occurrences cancelled, and what goes back to the customer.")
class CancelBookingSeriesPayload:
    series: BookingSeriesType | None = strawberry.field(default=None, description="The series.")
    cancelled: list[BookingType] = strawberry.field(
        default_factory=list, description="The bookings cancelled, by start."
    )
    refund: MoneyType | None = strawberry.field(
        default=None,
        description="The sum refunded over the cancelled bookings, each by its own policy.",
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Nothing was cancelled: why."
    )


@strawberry.type(description="The occurrences moved.")
class RescheduleBookingSeriesPayload:
    series: BookingSeriesType | None = strawberry.field(default=None, description="The series.")
    rescheduled: list[BookingType] = strawberry.field(
        default_factory=list, description="The bookings moved, by start."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description="Nothing was moved: one error per refused occurrence (field "
        "`occurrences.<index>`, with its reasons), or what is wrong with the request.",
    )
