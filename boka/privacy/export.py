"""Everything Boka holds about one customer of a tenant, as one JSON document (GDPR art. 15/20):
the profile and linked account, consents (notification preferences), bookings with their
history, payments and refunds, the messages sent, and the audit entries about them.

What a customer exports of themself is what they may see in the app: the bookings of their
linked record since it was linked (``visible_bookings``; emails are unverified, so a guest's
earlier bookings under the same address stay the business's), and the messages about those
bookings. An owner's export holds every row of the record.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.access import visible_bookings
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.principal import Principal
from boka.models.bookings import Booking, BookingHistory, Customer
from boka.models.catalog import Service, StaffMember
from boka.models.identity import User
from boka.models.notifications import NotificationLog
from boka.models.payments import Payment, Refund
from boka.models.security import AuthenticationLog
from boka.privacy.access import customer_in_reach, reaches_every_customer
from boka.privacy.erasure import erased_at

FORMAT = "boka.customer-data/1"
# Audit entries that name the customer in their details rather than by user id.
ABOUT_A_CUSTOMER = (AuthEvent.CUSTOMER_DATA_EXPORTED.value, AuthEvent.CUSTOMER_ERASED.value)


async def export_customer_data(
    db: AsyncSession, principal: Principal, customer_id: uuid.UUID | None, *,
    device: DeviceInfo, now: datetime,
) -> dict[str, Any]:
    """The document, read in the caller's (tenant-scoped, writable) transaction; the export
    itself is audited there."""
    customer = await customer_in_reach(db, principal, customer_id)
    tenant = principal.require_tenant()
    whole_record = reaches_every_customer(principal)
    bookings_clause = Booking.customer_id == customer.id
    if not whole_record:
        bookings_clause = sa.and_(bookings_clause, visible_bookings(principal))
    rows = (await db.execute(
        sa.select(Booking, Service.name, StaffMember.display_name)
        .join(Service, Service.id == Booking.service_id)
        .join(StaffMember, StaffMember.id == Booking.staff_id)
        .where(bookings_clause)
        .order_by(Booking.start_time, Booking.id)
    )).all()
    booking_ids = [booking.id for booking, _, _ in rows]
    history = await _by_booking(db, BookingHistory, booking_ids, BookingHistory.created_at)
    payments = await _by_booking(db, Payment, booking_ids, Payment.created_at)
    refunds: dict[uuid.UUID, list[Refund]] = {}
    for refund in (await db.execute(
        sa.select(Refund).where(Refund.booking_id.in_(booking_ids)).order_by(Refund.created_at)
    )).scalars():
        refunds.setdefault(refund.payment_id, []).append(refund)
    document = {
        "format": FORMAT,
        "exported_at": _iso(now),
        "tenant": {"id": str(tenant.id), "name": tenant.name, "slug": tenant.slug},
        "customer": await _profile(db, customer),
        "consents": dict(customer.preferences or {}),
        "bookings": [
            _booking(booking, service, staff, history.get(booking.id, []),
                     [_payment(p, refunds.get(p.id, [])) for p in payments.get(booking.id, [])])
            for booking, service, staff in rows
        ],
        "messages": [_plain(row, _MESSAGE_FIELDS) for row in await _messages(
            db, customer, booking_ids, whole_record=whole_record)],
        "audit": [_plain(row, _AUDIT_FIELDS) for row in await _audit(db, tenant.id, customer)],
    }
    log_event(db, AuthEvent.CUSTOMER_DATA_EXPORTED, origin=device, success=True,
              user_id=principal.actor_user_id, tenant_id=tenant.id,
              details={"customer_id": str(customer.id), "bookings": len(rows)})
    return document


async def _profile(db: AsyncSession, customer: Customer) -> dict[str, Any]:
    account = None
    if customer.user_id is not None:
        user = await db.get(User, customer.user_id)
        if user is not None:
            account = {"user_id": str(user.id), "email": user.email, "full_name": user.full_name,
                       "linked_at": _iso(customer.user_linked_at)}
    erased = erased_at(customer)
    return {
        "id": str(customer.id), "email": customer.email, "first_name": customer.first_name,
        "last_name": customer.last_name, "phone": customer.phone,
        "created_at": _iso(customer.created_at), "account": account,
        "erased_at": _iso(erased) if erased else None,
    }


async def _by_booking(
    db: AsyncSession, model: Any, booking_ids: list[uuid.UUID], order: Any
) -> dict[uuid.UUID, list[Any]]:
    found: dict[uuid.UUID, list[Any]] = {}
    if booking_ids:
        statement = sa.select(model).where(model.booking_id.in_(booking_ids)).order_by(order)
        for row in (await db.execute(statement)).scalars():
            found.setdefault(row.booking_id, []).append(row)
    return found


async def _messages(
    db: AsyncSession, customer: Customer, booking_ids: list[uuid.UUID], *, whole_record: bool
) -> list[NotificationLog]:
    """Messages about the bookings; for the owner's export also those sent to the customer's
    address or number without a booking (or about a booking since erased from the list)."""
    about = [NotificationLog.booking_id.in_(booking_ids)] if booking_ids else []
    if whole_record:
        about.append(NotificationLog.recipient.in_([v for v in (customer.email, customer.phone) if v]))
    if not about:
        return []
    statement = (
        sa.select(NotificationLog)
        .where(NotificationLog.tenant_id == customer.tenant_id, sa.or_(*about))
        .order_by(NotificationLog.created_at, NotificationLog.id)
    )
    return list((await db.execute(statement)).scalars())


async def _audit(db: AsyncSession, tenant_id: uuid.UUID, customer: Customer) -> list[AuthenticationLog]:
    """The tenant's trail about this customer: their account's entries in this tenant (sign-ins,
    …) and the exports and erasures of this record."""
    about = [AuthenticationLog.event_type.in_(ABOUT_A_CUSTOMER)]
    if customer.user_id is not None:
        about.append(AuthenticationLog.user_id == customer.user_id)
    statement = (
        sa.select(AuthenticationLog)
        .where(AuthenticationLog.tenant_id == tenant_id, sa.or_(*about))
        .order_by(AuthenticationLog.created_at, AuthenticationLog.id)
    )
    wanted = str(customer.id)
    return [
        row for row in (await db.execute(statement)).scalars()
        if row.event_type not in ABOUT_A_CUSTOMER or (row.details or {}).get("customer_id") == wanted
    ]


def _booking(
    booking: Booking, service: str, staff: str, history: list[BookingHistory], payments: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        **_plain(booking, _BOOKING_FIELDS),
        "service": service,
        "staff": staff,
        "history": [_plain(entry, _HISTORY_FIELDS) for entry in history],
        "payments": payments,
    }


def _payment(payment: Payment, refunds: list[Refund]) -> dict[str, Any]:
    return {**_plain(payment, _PAYMENT_FIELDS), "refunds": [_plain(r, _REFUND_FIELDS) for r in refunds]}


_BOOKING_FIELDS = (
    "id", "status", "start_time", "end_time", "seats", "price_cents", "list_price_cents", "currency",
    "kept_fee_cents", "notes", "cancellation_reason", "created_at", "updated_at",
)
_HISTORY_FIELDS = ("action", "from_status", "to_status", "details", "actor_user_id", "created_at")
_PAYMENT_FIELDS = (
    "id", "kind", "provider", "provider_payment_id", "amount_cents", "currency", "status",
    "failure_code", "failure_message", "succeeded_at", "created_at", "updated_at",
)
_REFUND_FIELDS = (
    "id", "provider", "provider_refund_id", "amount_cents", "currency", "status", "reason",
    "created_at", "updated_at",
)
_MESSAGE_FIELDS = (
    "id", "kind", "channel", "recipient", "booking_id", "status", "attempts", "created_at", "sent_at",
)
_AUDIT_FIELDS = (
    "event_type", "success", "ip_address", "user_agent", "details", "created_at",
)


def _plain(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: _json_value(getattr(row, name)) for name in fields}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
