"""Customers' own data (issue 15 item 6), end to end: a customer books and pays (the real
stripe library against localstripe), gets mail (a real SMTP server), the owner exports
everything held about them and erases them; afterwards no personal data is left in their rows
and the books (payments, refunds, analytics revenue) read exactly as before."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import stripe

from boka.models.bookings import Booking, BookingHistory, Customer
from boka.models.events import Event
from boka.models.notifications import NotificationLog
from boka.models.payments import Payment, Refund
from boka.models.security import AuthenticationLog
from boka.models.tenancy import Role
from boka.notifications.booking_messages import PaymentInfo, send_booking_message, send_payment_message
from boka.notifications.kinds import MessageKind
from tests.booking.support import BookingWorld, future_day, gid, local
from tests.notifications.servers import SmtpServer
from tests.payments.conftest import card
from tests.payments.support import CANCEL, CREATE, SET_POLICY
from tests.support import GraphQLClient, World

UPDATE_CUSTOMER = """mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) {
    customer { id firstName } errors { field code } } }"""
EXPORT = "query($id: ID) { customerDataExport(customerId: $id) }"
ERASE = """mutation($input: EraseCustomerInput!) { eraseCustomer(input: $input) {
    customer { id email firstName lastName phone } alreadyErased cancelledBookings
    errors { field code message } } }"""
COMPLETE = """mutation($id: ID!) { completeBooking(input: {id: $id}) { booking { status } errors { code } } }"""
ANALYTICS = """query($from: Date!, $to: Date!) { analytics(from: $from, to: $to, granularity: MONTH) {
    totals { revenue { gross { amount currency } refunds { amount currency } net { amount currency } } } } }"""
MY_RECORD = "{ myCustomerRecord { id email firstName } }"

CARL = "carl@example.com"
PHONE = "+4930123456"


def raw(global_id: str) -> uuid.UUID:
    import base64
    return uuid.UUID(base64.b64decode(global_id).decode().split(":", 1)[1])


async def _rows(world: World, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> dict[str, Any]:
    """Every row about the customer, as the app sees it in the tenant (RLS applies)."""
    async with world.runtime.database.transaction(tenant_id) as db:
        customer = await db.get(Customer, customer_id, populate_existing=True)
        bookings = (await db.execute(sa.select(Booking).where(Booking.customer_id == customer_id)
                                     .execution_options(populate_existing=True))).scalars().all()
        ids = [b.id for b in bookings]
        history = (await db.execute(sa.select(BookingHistory).where(BookingHistory.booking_id.in_(ids))
                                    .execution_options(populate_existing=True))).scalars().all()
        messages = (await db.execute(sa.select(NotificationLog).where(NotificationLog.booking_id.in_(ids))
                                     .execution_options(populate_existing=True))).scalars().all()
        events = (await db.execute(sa.select(Event).where(Event.aggregate_id.in_([*ids, customer_id]))
                                   .execution_options(populate_existing=True))).scalars().all()
        payments = (await db.execute(sa.select(Payment).where(Payment.booking_id.in_(ids)))).scalars().all()
        refunds = (await db.execute(sa.select(Refund).where(Refund.booking_id.in_(ids)))).scalars().all()
    return {"customer": customer, "bookings": bookings, "history": history, "messages": messages,
            "events": events, "payments": payments, "refunds": refunds}


def _as_text(rows: dict[str, Any]) -> str:
    """Every column of every row, as one text to search for personal data."""
    def columns(row: Any) -> dict[str, Any]:
        return {c.name: getattr(row, c.key if hasattr(c, "key") else c.name, None)
                for c in row.__table__.columns if hasattr(row, c.name)}
    everything = [columns(rows["customer"])]
    for name in ("bookings", "history", "messages", "events"):
        everything += [columns(row) for row in rows[name]]
    return json.dumps(everything, default=str).lower()


async def _ledger_sums(world: World) -> tuple[int, int, list[tuple[str, int]]]:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        paid = (await db.execute(sa.select(sa.func.coalesce(sa.func.sum(Payment.amount_cents), 0))
                                 .where(Payment.status == "succeeded"))).scalar_one()
        refunded = (await db.execute(sa.select(sa.func.coalesce(sa.func.sum(Refund.amount_cents), 0)))).scalar_one()
        per_booking = (await db.execute(sa.select(Booking.status, Booking.price_cents).order_by(Booking.start_time))).all()
    return paid, refunded, [(str(status), price) for status, price in per_booking]


async def test_owner_exports_then_erases_a_paying_customer_and_the_books_still_balance(
    gql: GraphQLClient, world: World, smtp: SmtpServer, stripe_client: stripe.StripeClient,
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    carl = await world.person(tenant, Role.CUSTOMER, email=CARL)
    policy = await gql(SET_POLICY, {"input": {"serviceId": staffed.service_id, "mode": "FULL"}},
                       token=owner.token, tenant="salon")
    assert policy.data["setServicePaymentPolicy"]["errors"] == []

    # Carl books twice and pays by card; he leaves a note on the first.
    made = []
    for days, notes in ((3, "Allergic to lavender, call me on +4930123456"), (4, "")):
        result = await gql(CREATE, {"input": {
            "serviceId": staffed.service_id, "start": local(future_day(days), 10).isoformat(),
            "paymentMethodId": card(stripe_client, "4242424242424242"), "notes": notes,
        }}, token=carl.token, tenant="salon")
        payload = result.data["createBooking"]
        assert payload["errors"] == [] and payload["payment"]["status"] == "succeeded", result.body
        made.append(payload["booking"]["id"])
    first, second = made
    me = await gql(MY_RECORD, token=carl.token, tenant="salon")
    customer_gid = me.data["myCustomerRecord"]["id"]
    assert me.data["myCustomerRecord"]["email"] == CARL
    named = await gql(UPDATE_CUSTOMER, {"input": {"id": customer_gid, "firstName": "Carl",
                                                  "lastName": "Kundmann", "phone": PHONE}},
                      token=carl.token, tenant="salon")
    assert named.data["updateCustomer"]["errors"] == [], named.body
    customer_id = raw(customer_gid)

    # He gets mail: the confirmation and the receipt (the job functions the worker runs).
    for booking_gid in made:
        await send_booking_message(world.runtime, tenant.id, raw(booking_gid), MessageKind.BOOKING_CONFIRMED)
        await send_payment_message(world.runtime, tenant.id, raw(booking_gid), MessageKind.PAYMENT_RECEIPT,
                                   PaymentInfo(reference=f"pay-{booking_gid}", amount_cents=5000, currency="EUR"))
    assert len(smtp.sink.received) == 4 and {m.recipients[0] for m in smtp.sink.received} == {CARL}

    # He cancels the second (refunded in full under the default policy), with a reason.
    cancelled = await gql(CANCEL, {"input": {"id": second, "reason": "Kundmann family emergency"}},
                          token=carl.token, tenant="salon")
    assert cancelled.data["cancelBooking"]["refund"]["amount"] == 5000, cancelled.body
    # Time passes: the first appointment took place, and the salon marks it done.
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        booking = await db.get(Booking, raw(first))
        assert booking is not None
        for column in ("start_time", "end_time", "block_start", "block_end"):
            setattr(booking, column, getattr(booking, column) - timedelta(days=10))
    done = await gql(COMPLETE, {"id": first}, token=owner.token, tenant="salon")
    assert done.data["completeBooking"]["errors"] == [], done.body

    window = {"from": (future_day(3) - timedelta(days=20)).isoformat(),
              "to": (future_day(3) + timedelta(days=20)).isoformat()}
    revenue_before = (await gql(ANALYTICS, window, token=owner.token, tenant="salon")).data["analytics"]
    ledger_before = await _ledger_sums(world)
    assert ledger_before[:2] == (10000, 5000)
    [revenue] = revenue_before["totals"]["revenue"]
    assert (revenue["gross"]["amount"], revenue["refunds"]["amount"], revenue["net"]["amount"]) == (10000, 5000, 5000)

    # Carl exports his own data (audited), then the owner exports everything about him.
    own = await gql(EXPORT, {"id": None}, token=carl.token, tenant="salon")
    assert len(own.data["customerDataExport"]["bookings"]) == 2, own.body
    exported = await gql(EXPORT, {"id": customer_gid}, token=owner.token, tenant="salon")
    assert not exported.errors, exported.body
    document = exported.data["customerDataExport"]
    assert document["format"] == "boka.customer-data/1"
    assert (document["customer"]["email"], document["customer"]["phone"]) == (CARL, PHONE)
    assert document["customer"]["account"]["email"] == CARL
    assert document["consents"] == {}
    by_id = {b["id"]: b for b in document["bookings"]}
    assert set(by_id) == {str(raw(first)), str(raw(second))}
    kept = by_id[str(raw(first))]
    assert kept["status"] == "completed" and kept["notes"].startswith("Allergic to lavender")
    assert [h["action"] for h in kept["history"]] == ["created", "paid", "completed"]
    [payment] = kept["payments"]
    assert (payment["amount_cents"], payment["status"], payment["provider"]) == (5000, "succeeded", "stripe")
    dropped = by_id[str(raw(second))]
    assert dropped["cancellation_reason"] == "Kundmann family emergency"
    assert [r["amount_cents"] for r in dropped["payments"][0]["refunds"]] == [5000]
    assert sorted((m["kind"], m["recipient"], m["status"]) for m in document["messages"]) == sorted(
        [("booking_confirmed", CARL, "sent"), ("payment_receipt", CARL, "sent")] * 2)
    assert [(e["event_type"], e["details"]["customer_id"]) for e in document["audit"]] == [
        ("customer_data_exported", str(customer_id))]

    # ... and erases him.
    erased = await gql(ERASE, {"input": {"id": customer_gid}}, token=owner.token, tenant="salon")
    payload = erased.data["eraseCustomer"]
    assert payload["errors"] == [], erased.body
    assert payload["customer"]["email"] == f"erased-{customer_id.hex}@erased.invalid"
    assert (payload["customer"]["firstName"], payload["customer"]["lastName"], payload["customer"]["phone"]) == ("", "", None)
    assert (payload["alreadyErased"], payload["cancelledBookings"]) == (False, 0)

    # No personal data left in his rows (read from the database, under RLS).
    rows = await _rows(world, tenant.id, customer_id)
    text = _as_text(rows)
    for personal in ("carl", "kundmann", "30123456", "lavender", "emergency"):
        assert personal not in text, personal
    assert rows["customer"].user_id is None and rows["customer"].preferences["notifications"] == {"channels": []}
    assert {m.recipient for m in rows["messages"]} == {"[erased]"} and len(rows["messages"]) == 4
    booking_events = [e for e in rows["events"] if e.aggregate_type == "booking"]
    assert booking_events and all(e.payload["customer"]["name"] is None for e in booking_events)
    assert [e.payload["action"] for e in rows["events"] if e.aggregate_type == "customer"][-1] == "erased"
    # ... while the books read exactly as before.
    assert await _ledger_sums(world) == ledger_before
    assert [(p.amount_cents, p.status) for p in rows["payments"]] == [(5000, "succeeded")] * 2
    revenue_after = (await gql(ANALYTICS, window, token=owner.token, tenant="salon")).data["analytics"]
    assert revenue_after == revenue_before

    # Idempotent: erasing again changes nothing; the erasure is audited once.
    again = await gql(ERASE, {"input": {"id": customer_gid}}, token=owner.token, tenant="salon")
    assert again.data["eraseCustomer"]["alreadyErased"] is True
    async with world.runtime.database.transaction(tenant.id) as db:
        audited = (await db.execute(sa.select(AuthenticationLog).where(
            AuthenticationLog.event_type == "customer_erased"))).scalars().all()
    assert [entry.details["customer_id"] for entry in audited] == [str(customer_id)]
    assert audited[0].user_id == owner.user.id
    # The account is no longer linked: Carl has no record here now, and a new booking of his
    # starts a fresh one rather than reviving the erased.
    assert (await gql(MY_RECORD, token=carl.token, tenant="salon")).data["myCustomerRecord"] is None
    # Mail to the erased record goes nowhere (no channels), even if a job runs late.
    before = len(smtp.sink.received)
    await send_booking_message(world.runtime, tenant.id, raw(first), MessageKind.BOOKING_CONFIRMED)
    assert len(smtp.sink.received) == before


async def test_upcoming_bookings_refuse_an_erasure_unless_it_cancels_them(
    gql: GraphQLClient, world: World,
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id,
                                          "start": local(future_day(2), 10).isoformat(),
                                          "customer": {"email": "dana@example.com", "firstName": "Dana"}}},
                       token=owner.token, tenant="salon")
    booking = booked.data["createBooking"]["booking"]
    async with world.runtime.database.transaction(tenant.id) as db:
        dana = (await db.execute(sa.select(Customer).where(Customer.email == "dana@example.com"))).scalar_one()
    dana_gid = gid("Customer", dana.id)

    refused = await gql(ERASE, {"input": {"id": dana_gid}}, token=owner.token, tenant="salon")
    [error] = refused.data["eraseCustomer"]["errors"]
    assert (error["code"], error["field"]) == ("FUTURE_BOOKINGS", "cancelFutureBookings")
    rows = await _rows(world, tenant.id, dana.id)
    assert rows["customer"].first_name == "Dana" and rows["bookings"][0].status.value != "cancelled"

    erased = await gql(ERASE, {"input": {"id": dana_gid, "cancelFutureBookings": True}},
                       token=owner.token, tenant="salon")
    payload = erased.data["eraseCustomer"]
    assert payload["errors"] == [] and payload["cancelledBookings"] == 1, erased.body
    rows = await _rows(world, tenant.id, dana.id)
    assert [b.status.value for b in rows["bookings"]] == ["cancelled"]
    assert "dana" not in _as_text(rows)
    assert raw(booking["id"]) == rows["bookings"][0].id


async def test_a_customer_exports_and_erases_only_themself_and_tenants_stay_apart(
    gql: GraphQLClient, world: World,
) -> None:
    salon = await world.tenant("salon", time_zone="Europe/Berlin")
    other = await world.tenant("other", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(salon)
    other_owner = await world.person(other, Role.OWNER)
    carl = await world.person(salon, Role.CUSTOMER, email=CARL)
    eve = await world.person(salon, Role.CUSTOMER, email="eve@example.com")
    made = await gql(CREATE, {"input": {"serviceId": staffed.service_id,
                                        "start": local(future_day(2), 10).isoformat()}},
                     token=carl.token, tenant="salon")
    assert made.data["createBooking"]["errors"] == [], made.body
    mine = await gql(EXPORT, {"id": None}, token=carl.token, tenant="salon")
    document = mine.data["customerDataExport"]
    assert document["customer"]["email"] == CARL and len(document["bookings"]) == 1
    carl_gid = gid("Customer", uuid.UUID(document["customer"]["id"]))

    # Eve cannot read or erase Carl's record: it is hidden from her.
    assert (await gql(EXPORT, {"id": carl_gid}, token=eve.token, tenant="salon")).error_codes == ["NOT_FOUND"]
    assert (await gql(ERASE, {"input": {"id": carl_gid}}, token=eve.token, tenant="salon")).error_codes == ["NOT_FOUND"]
    # Another business's owner cannot reach him, whichever tenant they name.
    assert (await gql(EXPORT, {"id": carl_gid}, token=other_owner.token, tenant="other")).error_codes == ["NOT_FOUND"]
    assert (await gql(EXPORT, {"id": carl_gid}, token=other_owner.token, tenant="salon")).error_codes == ["NOT_FOUND"]

    # Carl erases himself, cancelling his booking with it.
    erased = await gql(ERASE, {"input": {"id": carl_gid, "cancelFutureBookings": True}},
                       token=carl.token, tenant="salon")
    assert erased.data["eraseCustomer"]["errors"] == [], erased.body
    assert erased.data["eraseCustomer"]["cancelledBookings"] == 1
