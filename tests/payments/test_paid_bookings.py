"""Booking services that are paid up front, through the GraphQL API, with the real stripe
library talking to localstripe: the hold, the PaymentIntent, declines, policies, no-shows."""

from __future__ import annotations

import stripe

from boka.models.tenancy import Role
from tests.booking.support import BookingWorld, future_day, local
from tests.payments.conftest import card
from tests.payments.support import CANCEL, CREATE, NO_SHOW, SET_POLICY, ledger, payment_intent_id
from tests.support import GraphQLClient, World


async def _salon(gql: GraphQLClient, world: World, policy: dict | None, **service_fields: object):
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant, **service_fields)
    owner = await world.person(tenant, Role.OWNER)
    if policy is not None:
        result = await gql(SET_POLICY, {"input": {"serviceId": staffed.service_id, **policy}},
                           token=owner.token, tenant="salon")
        assert result.data["setServicePaymentPolicy"]["errors"] == [], result.data
    customer = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    return staffed, owner, customer


async def _book(gql: GraphQLClient, staffed, customer, hour: int = 10, **extra: object) -> dict:
    start = local(future_day(), hour)
    result = await gql(CREATE, {"input": {"serviceId": staffed.service_id, "start": start.isoformat(), **extra}},
                       token=customer.token, tenant="salon")
    assert not result.errors, result.errors
    return result.data["createBooking"]


async def test_a_deposit_service_holds_the_booking_pending_with_a_payment_intent(
    gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient
) -> None:
    staffed, _owner, customer = await _salon(gql, world, {"mode": "DEPOSIT", "depositPercent": 20})

    payload = await _book(gql, staffed, customer)

    assert payload["errors"] == []
    assert payload["booking"]["status"] == "PENDING"
    payment = payload["payment"]
    assert (payment["kind"], payment["status"], payment["provider"]) == ("booking", "pending", "stripe")
    assert payment["amount"] == {"amount": 1000, "currency": "EUR"}  # 20 % of 50.00
    intent = stripe_client.v1.payment_intents.retrieve(payment_intent_id(payment["clientSecret"]))
    assert (intent.amount, intent.currency, intent.status) == (1000, "eur", "requires_payment_method")
    assert intent.client_secret == payment["clientSecret"]
    state = await ledger(world.runtime.database)
    assert [p.provider_payment_id for p in state["payments"]] == [intent.id]
    assert str(state["bookings"][0].id) == intent.metadata["booking_id"]


async def test_a_card_given_at_booking_is_charged_at_once_and_confirms_the_booking(
    gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient
) -> None:
    staffed, _owner, customer = await _salon(gql, world, {"mode": "FULL"})

    payload = await _book(gql, staffed, customer, paymentMethodId=card(stripe_client, "4242424242424242"))

    assert payload["errors"] == []
    assert payload["booking"]["status"] == "CONFIRMED"
    assert payload["payment"]["status"] == "succeeded"
    assert payload["payment"]["amount"]["amount"] == 5000
    state = await ledger(world.runtime.database)
    assert state["history"] == ["created", "paid"]


async def test_a_declined_card_is_a_payment_declined_error_and_nothing_is_booked(
    gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient
) -> None:
    staffed, _owner, customer = await _salon(gql, world, {"mode": "FULL"})

    payload = await _book(gql, staffed, customer, paymentMethodId=card(stripe_client, "4000000000000341"))

    assert payload["booking"] is None and payload["payment"] is None
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == ("PAYMENT_DECLINED", "paymentMethodId")
    assert "declined" in error["message"]
    state = await ledger(world.runtime.database)
    assert state["bookings"] == [] and state["payments"] == []
    # the slot is still free
    again = await _book(gql, staffed, customer)
    assert again["booking"]["status"] == "PENDING"


async def test_services_without_a_policy_or_paid_on_site_book_as_before(
    gql: GraphQLClient, world: World
) -> None:
    staffed, owner, customer = await _salon(gql, world, None)
    on_site = await BookingWorld(world).staffed_service(
        await _tenant(world, "salon"), name="Massage"
    )
    result = await gql(SET_POLICY, {"input": {"serviceId": on_site.service_id, "mode": "ON_SITE"}},
                       token=owner.token, tenant="salon")
    assert result.data["setServicePaymentPolicy"]["policy"]["mode"] == "ON_SITE"

    plain = await _book(gql, staffed, customer)
    paid_later = await _book(gql, on_site, customer, hour=12)  # one customer, one place at a time

    assert (plain["booking"]["status"], plain["payment"]) == ("CONFIRMED", None)
    assert (paid_later["booking"]["status"], paid_later["payment"]) == ("CONFIRMED", None)


async def _tenant(world: World, slug: str):
    import sqlalchemy as sa

    from boka.models.tenancy import Tenant

    async with world.runtime.database.transaction(all_tenants=True) as db:
        return (await db.execute(sa.select(Tenant).where(Tenant.slug == slug))).scalar_one()


async def test_policy_rules_are_checked_and_only_managers_set_them(
    gql: GraphQLClient, world: World
) -> None:
    staffed, owner, customer = await _salon(gql, world, None)

    both = await gql(SET_POLICY, {"input": {"serviceId": staffed.service_id, "mode": "DEPOSIT",
                                            "depositAmount": 500, "depositPercent": 10}},
                     token=owner.token, tenant="salon")
    by_customer = await gql(SET_POLICY, {"input": {"serviceId": staffed.service_id, "mode": "FULL"}},
                            token=customer.token, tenant="salon")

    assert both.data["setServicePaymentPolicy"]["errors"][0]["code"] == "INVALID_INPUT"
    assert by_customer.errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_fixed_deposit_never_exceeds_the_price(
    gql: GraphQLClient, world: World
) -> None:
    staffed, _owner, customer = await _salon(
        gql, world, {"mode": "DEPOSIT", "depositAmount": 9000}, price_cents=4000
    )
    payload = await _book(gql, staffed, customer)
    assert payload["payment"]["amount"]["amount"] == 4000


async def test_a_no_show_owes_the_fee_less_the_deposit(
    gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient
) -> None:
    staffed, owner, customer = await _salon(
        gql, world, {"mode": "DEPOSIT", "depositAmount": 1000, "noShowFeePercent": 50}
    )
    payload = await _book(gql, staffed, customer, paymentMethodId=card(stripe_client, "4242424242424242"))
    assert payload["booking"]["status"] == "CONFIRMED"
    # the appointment has passed: move it into the past directly, as time would
    from datetime import timedelta

    import sqlalchemy as sa

    from boka.models.bookings import Booking
    from boka.models.types import utcnow

    async with world.runtime.database.transaction(write=True, all_tenants=True) as db:
        booking = (await db.execute(sa.select(Booking))).scalar_one()
        shift = booking.start_time - (utcnow() - timedelta(hours=2))
        for field in ("start_time", "end_time", "block_start", "block_end"):
            setattr(booking, field, getattr(booking, field) - shift)

    result = await gql(NO_SHOW, {"input": {"id": payload["booking"]["id"]}}, token=owner.token, tenant="salon")

    assert result.data["markNoShow"]["errors"] == []
    assert result.data["markNoShow"]["booking"]["status"] == "NO_SHOW"
    state = await ledger(world.runtime.database)
    fee = [p for p in state["payments"] if p.kind == "no_show_fee"]
    assert [(p.amount_cents, p.status, p.provider) for p in fee] == [(1500, "pending", "stripe")]
    intent = stripe_client.v1.payment_intents.retrieve(fee[0].provider_payment_id)
    assert intent.amount == 1500  # 50 % of 50.00, less the 10.00 deposit kept


async def test_cancelling_an_unpaid_booking_refunds_nothing_and_gives_up_the_payment(
    gql: GraphQLClient, world: World
) -> None:
    staffed, _owner, customer = await _salon(gql, world, {"mode": "FULL"})
    payload = await _book(gql, staffed, customer)

    result = await gql(CANCEL, {"input": {"id": payload["booking"]["id"]}}, token=customer.token, tenant="salon")

    body = result.data["cancelBooking"]
    assert (body["booking"]["status"], body["refund"]["amount"]) == ("CANCELLED", 0)
    state = await ledger(world.runtime.database)
    assert [p.status for p in state["payments"]] == ["canceled"] and state["refunds"] == []
    queued = world.runtime.jobs.queue("high").get_jobs()
    assert [job.func_name for job in queued] == ["boka.jobs.payments.cancel_provider_payment"]


async def test_a_card_that_needs_authentication_leaves_the_booking_held_for_the_browser(
    gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient
) -> None:
    staffed, _owner, customer = await _salon(gql, world, {"mode": "FULL"})

    payload = await _book(gql, staffed, customer, paymentMethodId=card(stripe_client, "4000002500003155"))

    assert payload["errors"] == []
    assert (payload["booking"]["status"], payload["payment"]["status"]) == ("PENDING", "pending")
    intent = stripe_client.v1.payment_intents.retrieve(payment_intent_id(payload["payment"]["clientSecret"]))
    assert intent.status == "requires_action"  # 3-D Secure, finished in the browser


async def test_a_refund_the_provider_refuses_is_recorded_as_failed_not_retried(
    gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient
) -> None:
    import sqlalchemy as sa

    from boka.jobs.context import bind_runtime, unbind_runtime
    from boka.jobs.payments import send_refund
    from boka.models.payments import Payment, Refund

    staffed, _owner, customer = await _salon(gql, world, {"mode": "FULL"})
    payload = await _book(gql, staffed, customer)
    async with world.runtime.database.transaction(write=True, all_tenants=True) as db:
        payment = (await db.execute(sa.select(Payment))).scalar_one()
        refund = Refund(  # a refund of money that never came in: Stripe says no
            tenant_id=payment.tenant_id, payment_id=payment.id, booking_id=payment.booking_id,
            idempotency_key="test:refused", provider="stripe", amount_cents=100, currency="EUR",
            status="pending", reason="test",
        )
        db.add(refund)
    assert payload["payment"]["status"] == "pending"

    token = bind_runtime(world.runtime)
    try:
        assert await send_refund(str(refund.id)) == "refused"
        assert await send_refund(str(refund.id)) == "nothing to do"
    finally:
        unbind_runtime(token)

    [stored] = (await ledger(world.runtime.database))["refunds"]
    assert stored.status == "failed" and stored.provider_refund_id is None
    assert stored.failure_message


HOLD = """mutation Hold($input: HoldSlotInput!) {
  holdSlot(input: $input) { hold { holdId expiresAt } errors { code } } }"""


async def test_a_held_slot_booked_for_a_paid_service_waits_for_its_payment_by_the_same_hold(
    gql: GraphQLClient, world: World, stripe_client: stripe.StripeClient
) -> None:
    """A checkout hold booked for a service paid up front: the same hold now holds the booking
    for its payment (purpose PAYMENT, held at least the payment's time); unpaid, the one expiry
    cancels the booking and the PaymentIntent, and the time is free again."""
    from datetime import datetime, timedelta

    import sqlalchemy as sa

    from boka.models.holds import SlotHold
    from boka.models.types import utcnow
    from boka.payments.holds import expire_slot_hold

    staffed, _owner, customer = await _salon(gql, world, {"mode": "FULL"})
    start = local(future_day(), 10)
    held = await gql(HOLD, {"input": {"serviceId": staffed.service_id, "start": start.isoformat()}},
                     token=customer.token, tenant="salon")
    hold = held.data["holdSlot"]["hold"]
    booked = await gql(CREATE, {"input": {"holdId": hold["holdId"]}}, token=customer.token, tenant="salon")
    payload = booked.data["createBooking"]
    async with world.runtime.database.transaction(all_tenants=True) as db:
        [row] = (await db.execute(sa.select(SlotHold))).scalars().all()
    hold_seconds = world.runtime.settings.payment_hold_seconds

    assert payload["errors"] == [] and payload["booking"]["status"] == "PENDING"
    assert payload["payment"]["status"] == "pending" and payload["payment"]["amount"]["amount"] == 5000
    assert (row.purpose, row.status) == ("payment", "open") and row.booked_at is not None
    assert datetime.fromisoformat(payload["payment"]["expiresAt"]) == row.expires_at
    assert row.expires_at - utcnow() > timedelta(seconds=hold_seconds - 60)  # longer than the checkout's

    async with world.runtime.database.transaction(write=True, all_tenants=True) as db:
        expiry = await expire_slot_hold(db, row.id, now=row.expires_at + timedelta(seconds=1))
    state = await ledger(world.runtime.database)
    again = await _book(gql, staffed, customer)

    assert expiry.expired and expiry.provider_payment_id == payment_intent_id(payload["payment"]["clientSecret"])
    assert [p.status for p in state["payments"]] == ["canceled"]
    assert state["history"] == ["created", "expired"]
    assert again["errors"] == []  # the time came free
