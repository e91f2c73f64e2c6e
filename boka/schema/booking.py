"""GraphQL types of bookings, customers, availability slots and quotes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from boka.booking.pricing import Quote
from boka.booking.queries import bookings_by_ids
from boka.booking.slots import SlotDay
from boka.models.bookings import Booking, BookingStatus
from boka.payments.ledger import payments_of_bookings
from boka.schema.catalog import MoneyType, ResourceType, ServiceType, StaffMemberType
from boka.schema.customers import CustomerInput, CustomerType
from boka.schema.errors import SlotRefusalReasonEnum, UserError
from boka.schema.related import related
from boka.schema.payments import PaymentType
from boka.schema.transactions import resolve_visible_nodes

if TYPE_CHECKING:
    from boka.schema.class_sessions import ClassSessionType

BookingStatusEnum = strawberry.enum(BookingStatus, name="BookingStatus")


@strawberry.type(name="Booking")
class BookingType(relay.Node):
    id: relay.NodeID[str]
    status: BookingStatusEnum  # type: ignore[valid-type]
    start_time: datetime
    end_time: datetime
    seats: int
    price: MoneyType
    notes: str
    cancellation_reason: str | None
    created_at: datetime
    customer_id: strawberry.Private[uuid.UUID]
    service_id: strawberry.Private[uuid.UUID]
    staff_id: strawberry.Private[uuid.UUID]
    class_session_id: strawberry.Private[uuid.UUID | None] = None
    series_row_id: strawberry.Private[uuid.UUID | None] = None
    series_index: int | None = strawberry.field(
        default=None, description="Its position in its series (0 for the first); null outside one."
    )

    @classmethod
    def from_model(cls, booking: Booking) -> BookingType:
        return cls(
            id=str(booking.id), status=booking.status,
            # always UTC, whether the row was just written (in the client's offset) or read back
            start_time=booking.start_time.astimezone(UTC),
            end_time=booking.end_time.astimezone(UTC), seats=booking.seats,
            price=MoneyType(amount=booking.price_cents, currency=booking.currency),
            notes=booking.notes, cancellation_reason=booking.cancellation_reason,
            created_at=booking.created_at, customer_id=booking.customer_id,
            service_id=booking.service_id, staff_id=booking.staff_id,
            class_session_id=booking.class_session_id,
            series_row_id=booking.series_id, series_index=booking.series_index,
        )

    @strawberry.field(description="The id of the BookingSeries this booking is an occurrence of.")
    def series_id(self) -> strawberry.ID | None:
        if self.series_row_id is None:
            return None
        return strawberry.ID(str(relay.GlobalID("BookingSeries", str(self.series_row_id))))

    @strawberry.field
    def customer(self, info: strawberry.Info) -> CustomerType:
        return related(info.context.loaders.customer_by_id, self.customer_id, CustomerType.from_model)  # type: ignore[return-value]

    @strawberry.field
    def service(self, info: strawberry.Info) -> ServiceType:
        return related(info.context.loaders.service_by_id, self.service_id, ServiceType.from_model)  # type: ignore[return-value]

    @strawberry.field
    def staff(self, info: strawberry.Info) -> StaffMemberType:
        return related(info.context.loaders.staff_member_by_id, self.staff_id, StaffMemberType.from_model)  # type: ignore[return-value]

    @strawberry.field(description="The class session whose seats this booking holds (group services).")
    async def class_session(
        self, info: strawberry.Info
    ) -> Annotated[ClassSessionType, strawberry.lazy("boka.schema.class_sessions")] | None:
        from boka.schema.class_sessions import ClassSessionType

        if self.class_session_id is None:
            return None
        session = await info.context.loaders.class_session_by_id.load(self.class_session_id)
        return ClassSessionType.from_model(session) if session else None

    @strawberry.field
    async def resources(self, info: strawberry.Info) -> list[ResourceType]:
        held = await info.context.loaders.resources_by_booking_id.load(uuid.UUID(self.id))
        return [ResourceType.from_model(resource) for resource in held]

    @strawberry.field(description="The ledger of this booking: what was asked, paid and refunded.")
    async def payments(self, info: strawberry.Info) -> list[PaymentType]:
        rows = await info.context.loaders.related(payments_of_bookings).load(uuid.UUID(self.id))
        return [PaymentType.from_model(payment) for payment in rows]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[BookingType | None]:
        return await resolve_visible_nodes(info, node_ids, bookings_by_ids, cls.from_model)


@strawberry.type(name="Slot", description="A bookable start, in the zone the client asked for.")
class SlotType:
    start: datetime
    end: datetime
    seats_left: int
    staff_ids: strawberry.Private[tuple[uuid.UUID, ...]]

    @strawberry.field(description="Who can take this slot (several in any-staff mode).")
    async def staff(self, info: strawberry.Info) -> list[StaffMemberType]:
        members = await info.context.loaders.staff_member_by_id.load_many(list(self.staff_ids))
        return [StaffMemberType.from_model(m) for m in members if m is not None]


@strawberry.type(
    name="AvailableSlot",
    description="A bookable start in the zone the client asked for; its staff as plain ids.",
)
class AvailableSlotType:
    start: datetime
    end: datetime
    seats_left: int
    staff_ids: list[strawberry.ID] = strawberry.field(
        description="Who can take this slot: ids of StaffMember (several in any-staff mode)."
    )


@strawberry.type(
    name="AvailabilityDay",
    description="The slots starting on one local date of the zone asked for: what a calendar "
    "shows for that day. Dates without a slot are left out.",
)
class AvailabilityDayType:
    date: date
    staff_ids: list[strawberry.ID] = strawberry.field(
        description="Everyone who can take one of the day's slots, once: ids of StaffMember."
    )
    slots: list[AvailableSlotType]

    @classmethod
    def from_days(cls, days: Iterable[SlotDay]) -> list[AvailabilityDayType]:
        """Each staff member's global id is encoded once, and slots that share a tuple of staff
        ids (compute_slots hands out one per set of staff) share one list of global ids."""
        global_ids: dict[uuid.UUID, strawberry.ID] = {}
        id_lists: dict[int, list[strawberry.ID]] = {}  # by id() of the tuple: all alive here

        def ids_of(staff_ids: tuple[uuid.UUID, ...]) -> list[strawberry.ID]:
            ids = id_lists.get(id(staff_ids))
            if ids is None:
                for staff_id in staff_ids:
                    if staff_id not in global_ids:
                        global_ids[staff_id] = strawberry.ID(
                            str(relay.GlobalID("StaffMember", str(staff_id)))
                        )
                ids = id_lists[id(staff_ids)] = [global_ids[staff_id] for staff_id in staff_ids]
            return ids

        return [
            cls(
                date=day.day,
                staff_ids=ids_of(day.staff_ids),
                slots=[
                    AvailableSlotType(
                        start=slot.start, end=slot.end, seats_left=slot.seats_left,
                        staff_ids=ids_of(slot.staff_ids),
                    )
                    for slot in day.slots
                ],
            )
            for day in days
        ]


@strawberry.type(
    name="SlotRefusal",
    description="One reason a time is not bookable, with the item behind it where you may see it.",
)
class SlotRefusalType:
    reason: SlotRefusalReasonEnum  # type: ignore[valid-type]
    booking_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="BOOKED, BUFFER, HELD, RESOURCE_BUSY: the Booking holding the time, if you "
        "may see that booking (customers their own, staff those assigned to them, managers all).",
    )
    class_session_id: strawberry.ID | None = strawberry.field(
        default=None, description="BOOKED, RESOURCE_BUSY: the ClassSession holding the time."
    )
    starts_at: datetime | None = strawberry.field(
        default=None,
        description="When the item above (or, for those who manage the catalogue, the time off) "
        "starts; null when it is not yours to see.",
    )
    ends_at: datetime | None = None


@strawberry.type(name="StaffSlotExplanation")
class StaffSlotExplanationType:
    staff_id: strawberry.ID = strawberry.field(description="The id of the StaffMember.")
    bookable: bool = strawberry.field(description="True exactly when `reasons` is empty.")
    reasons: list[SlotRefusalReasonEnum] = strawberry.field(  # type: ignore[valid-type]
        description="Every reason the time is not bookable with this staff member, each once."
    )
    refusals: list[SlotRefusalType] = strawberry.field(
        description="The reasons one by one, with what causes them (one per conflicting booking)."
    )
    staff_row_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def staff(self, info: strawberry.Info) -> StaffMemberType | None:
        member = await info.context.loaders.staff_member_by_id.load(self.staff_row_id)
        return StaffMemberType.from_model(member) if member is not None else None


@strawberry.type(
    name="SlotExplanation",
    description="Whether a start is bookable, and if not why, per staff member who could "
    "deliver the service: the same judgement as `availability`.",
)
class SlotExplanationType:
    start: datetime
    bookable: bool = strawberry.field(
        description="Whether some staff member can take it: then it is in `availability`."
    )
    staff: list[StaffSlotExplanationType]


@strawberry.type(name="PriceLine")
class PriceLineType:
    label: str
    amount: MoneyType


@strawberry.type(name="Quote", description="What a booking would cost, before it is made.")
class QuoteType:
    base: MoneyType
    lines: list[PriceLineType]
    subtotal: MoneyType
    discount: MoneyType
    total: MoneyType

    @classmethod
    def from_quote(cls, quote: Quote) -> QuoteType:
        def money(amount: int) -> MoneyType:
            return MoneyType(amount=amount, currency=quote.currency)

        return cls(
            base=money(quote.base),
            lines=[PriceLineType(label=line.label, amount=money(line.amount)) for line in quote.lines],
            subtotal=money(quote.subtotal),
            discount=money(quote.discount),
            total=money(quote.total),
        )


@strawberry.input
class CreateBookingInput:
    service_id: relay.GlobalID | None = None
    start: datetime | None = None
    staff_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Leave out for any staff member (fewest bookings that day first)."
    )
    hold_id: str | None = strawberry.field(
        default=None,
        description="Book the time a holdSlot holds (its secret `holdId`): the customer, notes "
        "and discount code are given now, the time is the held one (serviceId, start, staffId and "
        "seats may be left out; given, they must match). HOLD_EXPIRED once the hold ran out.",
    )
    customer: CustomerInput | None = strawberry.field(
        default=None, description="Required for guests and for staff booking on someone's behalf."
    )
    notes: str = ""
    discount_code: str | None = None
    seats: int | None = None
    payment_method_id: str | None = strawberry.field(
        default=None,
        description="For services paid up front: a Stripe PaymentMethod to charge at once. "
        "Without it, pay with the returned payment's clientSecret before it expires.",
    )


@strawberry.input
class QuoteInput:
    service_id: relay.GlobalID
    start: datetime
    staff_id: relay.GlobalID | None = None
    discount_code: str | None = None
    seats: int = 1


@strawberry.input
class RescheduleBookingInput:
    start: datetime
    id: relay.GlobalID | None = None
    manage_token: str | None = strawberry.field(default=None, description="A guest's link token.")
    staff_id: relay.GlobalID | None = None
    override_policy: bool = strawberry.field(
        default=False,
        description="Staff, managers and owners only: move inside the cancellation window "
        "without the service's refusal or fee. Recorded in the booking's history.",
    )
    payment_method_id: str | None = strawberry.field(
        default=None,
        description="For a booking paid up front that the move makes dearer: a Stripe "
        "PaymentMethod to charge the difference (the top-up) at once; a declined card refuses "
        "the move. Without it, pay the returned topUp's clientSecret, or on site.",
    )


@strawberry.input
class CancelBookingInput:
    id: relay.GlobalID | None = None
    manage_token: str | None = None
    reason: str = ""


@strawberry.input
class BookingActionInput:
    id: relay.GlobalID


@strawberry.input
class BookingFilterInput:
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    statuses: list[BookingStatusEnum] | None = None  # type: ignore[valid-type]
    staff_id: relay.GlobalID | None = None
    customer_id: relay.GlobalID | None = None
    service_id: relay.GlobalID | None = None


@strawberry.type
class BookingPayload:
    booking: BookingType | None = None
    manage_token: str | None = strawberry.field(
        default=None,
        description="Lets whoever holds it view, reschedule or cancel this booking without "
        "signing in (send it to a guest). Only returned when the booking is created.",
    )
    payment: PaymentType | None = strawberry.field(
        default=None, description="What the customer pays up front, for services that ask it."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RescheduleBookingPayload:
    booking: BookingType | None = None
    previous_price: MoneyType | None = strawberry.field(
        default=None, description="The booking's price before the move."
    )
    price: MoneyType | None = strawberry.field(
        default=None,
        description="The price quoted again at the new time (the booking's discount code still "
        "applies), plus any late-reschedule fee.",
    )
    fee: MoneyType | None = strawberry.field(
        default=None,
        description="The late-reschedule fee this move added (0 outside the cancellation window "
        "or when staff overrode the policy). A later cancellation keeps it.",
    )
    refund: MoneyType | None = strawberry.field(
        default=None,
        description="Paid up front beyond what the new price asks up front: refunded (0 if none).",
    )
    balance_due: MoneyType | None = strawberry.field(
        default=None,
        description="The new price less what has been paid: still to pay (an unpaid topUp "
        "included; whatever is not paid online is paid on site).",
    )
    top_up: PaymentType | None = strawberry.field(
        default=None,
        description="For a booking paid up front that the move made dearer: the difference "
        "between what the service now asks up front and what was paid, asked as a payment of "
        "kind top_up (with its clientSecret). Payable online until the appointment starts, then "
        "due on site; the booking stays confirmed either way. Null when nothing more is asked.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CancelBookingPayload:
    booking: BookingType | None = None
    refund: MoneyType | None = strawberry.field(
        default=None,
        description="What goes back to the customer: the policy's share of the money actually "
        "paid (less fees of late moves). 0 when nothing was paid (e.g. a service paid on site).",
    )
    refund_percent: int | None = strawberry.field(
        default=None,
        description="The share of what was paid that goes back under the cancellation policy; "
        "null when nothing was paid, so there is nothing to refund.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class QuotePayload:
    quote: QuoteType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="BookingSettings", description="The tenant's booking rules.")
class BookingSettingsType:
    allow_overlapping_customer_bookings: bool = strawberry.field(
        description="Whether one customer may hold appointments that overlap in time. Off by "
        "default: a second one is refused with CUSTOMER_OVERLAP."
    )


@strawberry.input
class UpdateBookingSettingsInput:
    allow_overlapping_customer_bookings: bool


@strawberry.type
class BookingSettingsPayload:
    settings: BookingSettingsType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
