"""Waitlists through the API: joining with typed errors for bad input, who sees which entries,
an offer for freed time held for the first in line, claimed, declined or expired, and nothing
offered twice. The offer pass runs here as the job runs it (its own transaction); the whole
path through the relay, the worker and SMTP is in tests/notifications/test_waitlist_offers.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from boka.booking.links import offer_token
from boka.booking.waitlist_offers import expire_offer
from boka.models.bookings import Booking, BookingHistory
from boka.models.tenancy import Role
from boka.models.types import utcnow
from tests.booking.support import gid, local
from tests.booking.waitlist_support import (
    BY_LINK,
    CLAIM,
    DECLINE,
    ENTRIES,
    LEAVE,
    cancel_the_booking,
    entries,
    event_types,
    join,
    offer_pass,
    offers,
    salon_with_a_full_morning,
)
from tests.conftest import TEST_SECRET_KEY
from tests.support import GraphQLClient, World

SETTINGS = "{ waitlistSettings { offerMinutes } }"
UPDATE_SETTINGS = """
mutation Set($input: UpdateWaitlistSettingsInput!) {
  updateWaitlistSettings(input: $input) { settings { offerMinutes } errors { field code } }
}"""


async def test_bad_input_is_a_typed_user_error_and_writes_nothing(gql: GraphQLClient, world: World) -> None:
    salon = await salon_with_a_full_morning(gql, world)
    customer = await world.person(salon.tenant, Role.CUSTOMER)
    day = salon.start.date()
    other = await world.person(salon.tenant, Role.STAFF)

    over = await join(gql, salon, token=customer.token, latest=local(day - timedelta(days=10), 9).isoformat(),
                      earliest=local(day - timedelta(days=10), 8).isoformat())
    backwards = await join(gql, salon, token=customer.token, earliest=local(day, 12).isoformat(),
                           latest=local(day, 11).isoformat())
    seats = await join(gql, salon, token=customer.token, seats=3)
    wrong_id = await join(gql, salon, token=customer.token, staffId=gid("Service", salon.staffed.service.id))
    no_offset = await join(gql, salon, token=customer.token, earliest="2031-01-01T10:00:00")
    guest_without_email = await join(gql, salon)
    first = await join(gql, salon, token=customer.token)
    twice = await join(gql, salon, token=customer.token)

    assert [e["code"] for e in over["errors"]] == ["INVALID_INPUT"] and over["entry"] is None
    assert backwards["errors"][0]["field"] == "latest"
    assert seats["errors"][0]["field"] == "seats"
    assert wrong_id["errors"][0]["field"] == "staffId"
    assert no_offset["errors"][0]["field"] == "earliest"
    assert guest_without_email["errors"][0]["field"] == "customer"
    assert first["errors"] == [] and first["entry"]["status"] == "WAITING"
    assert twice["errors"][0]["code"] == "DUPLICATE"
    assert other is not None
    assert len(await entries(world)) == 1
    assert await event_types(world) == ["waitlist.joined"]


async def test_customers_see_their_own_entries_and_the_team_sees_the_line(gql: GraphQLClient, world: World) -> None:
    salon = await salon_with_a_full_morning(gql, world)
    ann = await world.person(salon.tenant, Role.CUSTOMER, email="ann@example.com")
    bob = await world.person(salon.tenant, Role.CUSTOMER, email="bob@example.com")
    staff = await world.person(salon.tenant, Role.STAFF)
    await join(gql, salon, token=ann.token)
    await join(gql, salon, token=bob.token)
    await join(gql, salon, email="guest@example.com")  # a guest joins by email

    def emails(result) -> list[str]:  # type: ignore[no-untyped-def]
        return [edge["node"]["customer"]["email"] for edge in result.data["waitlistEntries"]["edges"]]

    as_ann = await gql(ENTRIES, token=ann.token, tenant="salon")
    as_staff = await gql(ENTRIES, token=staff.token, tenant="salon")
    as_guest = await gql(ENTRIES, tenant="salon")
    ann_entry = as_ann.data["waitlistEntries"]["edges"][0]["node"]["id"]
    bob_leaves_ann = await gql(LEAVE, {"input": {"id": ann_entry}}, token=bob.token, tenant="salon")
    ann_leaves = await gql(LEAVE, {"input": {"id": ann_entry}}, token=ann.token, tenant="salon")

    assert emails(as_ann) == ["ann@example.com"]
    assert emails(as_staff) == ["ann@example.com", "bob@example.com", "guest@example.com"]  # in line order
    assert as_guest.data["waitlistEntries"]["edges"] == []
    assert bob_leaves_ann.error_codes == ["NOT_FOUND"]
    assert ann_leaves.data["leaveWaitlist"]["entry"]["status"] == "LEFT"


async def test_freed_time_is_held_for_the_first_in_line_and_claimed(gql: GraphQLClient, world: World) -> None:
    salon = await salon_with_a_full_morning(gql, world)
    ann = await world.person(salon.tenant, Role.CUSTOMER, email="ann@example.com")
    bob = await world.person(salon.tenant, Role.CUSTOMER, email="bob@example.com")
    await join(gql, salon, token=ann.token)
    await join(gql, salon, token=bob.token)

    nothing_yet = await offer_pass(world, salon)  # the hour is still booked
    await cancel_the_booking(gql, salon)
    made = await offer_pass(world, salon)
    again = await offer_pass(world, salon)  # a redelivered event: nothing new
    as_ann = await gql(ENTRIES, token=ann.token, tenant="salon")
    offer = as_ann.data["waitlistEntries"]["edges"][0]["node"]["offer"]
    bob_claims = await gql(CLAIM, {"input": {"id": offer["id"]}}, token=bob.token, tenant="salon")
    claimed = await gql(CLAIM, {"input": {"id": offer["id"]}}, token=ann.token, tenant="salon")
    twice = await gql(CLAIM, {"input": {"id": offer["id"]}}, token=ann.token, tenant="salon")

    assert nothing_yet == [] and len(made) == 1 and again == []
    assert offer["status"] == "OPEN" and offer["booking"]["status"] == "PENDING"
    assert datetime.fromisoformat(offer["booking"]["startTime"]) == salon.start
    assert bob_claims.error_codes == ["NOT_FOUND"]  # not his to see
    payload = claimed.data["claimWaitlistOffer"]
    assert payload["errors"] == [] and payload["offer"]["status"] == "CLAIMED"
    assert payload["booking"]["status"] == "CONFIRMED"
    assert twice.data["claimWaitlistOffer"]["errors"][0]["code"] == "INVALID_TRANSITION"
    assert [e.status for e in await entries(world)] == ["booked", "waiting"]
    assert await event_types(world) == ["waitlist.joined", "waitlist.joined", "waitlist.offered", "waitlist.claimed"]
    assert "booking.confirmed" in await event_types(world, "booking.")


async def test_declining_or_expiry_releases_the_time_to_the_next_in_line(gql: GraphQLClient, world: World) -> None:
    salon = await salon_with_a_full_morning(gql, world)
    people = [await world.person(salon.tenant, Role.CUSTOMER, email=f"{n}@example.com") for n in ("ann", "bob", "cy")]
    for person in people:
        await join(gql, salon, token=person.token)
    await cancel_the_booking(gql, salon)

    [to_ann] = await offer_pass(world, salon)
    token = offer_token(TEST_SECRET_KEY, to_ann.id)
    seen = await gql(BY_LINK, {"token": token}, tenant="salon")  # a guest with the emailed link
    declined = await gql(DECLINE, {"input": {"token": token}}, tenant="salon")
    [to_bob] = await offer_pass(world, salon)  # what the released time's event brings
    async with world.runtime.database.transaction(salon.tenant.id, write=True) as db:
        early = await expire_offer(db, to_bob.id, now=utcnow())
    async with world.runtime.database.transaction(salon.tenant.id, write=True) as db:
        late = await expire_offer(db, to_bob.id, now=to_bob.expires_at + timedelta(seconds=1))
    [to_cy] = await offer_pass(world, salon)
    forged = await gql(CLAIM, {"input": {"token": token[:-2] + "xx"}}, tenant="salon")

    assert seen.data["waitlistOfferByLink"]["status"] == "OPEN"
    assert declined.data["declineWaitlistOffer"]["offer"]["status"] == "DECLINED"
    assert declined.data["declineWaitlistOffer"]["booking"]["status"] == "CANCELLED"
    assert not early.expired and early.due_at == to_bob.expires_at
    assert late.expired
    assert [o.status for o in await offers(world)] == ["declined", "expired", "open"]
    assert [e.status for e in await entries(world)] == ["passed", "passed", "offered"]
    assert forged.data["claimWaitlistOffer"]["errors"][0]["code"] == "INVALID_TOKEN"
    assert to_cy.entry_id == (await entries(world))[2].id
    async with world.runtime.database.transaction(all_tenants=True) as db:
        actions = list((await db.execute(sa.select(BookingHistory.action).order_by(BookingHistory.created_at))).scalars())
        held = (await db.execute(sa.select(Booking).where(Booking.id == to_cy.booking_id))).scalar_one()
    assert actions.count("released") == 2  # no "cancelled": the customer never had it
    assert held.status == "pending"
    assert await event_types(world) == ["waitlist.joined"] * 3 + [
        "waitlist.offered", "waitlist.declined", "waitlist.offered", "waitlist.expired", "waitlist.offered"]


async def test_offer_minutes_is_a_business_setting(gql: GraphQLClient, world: World) -> None:
    salon = await salon_with_a_full_morning(gql, world)
    customer = await world.person(salon.tenant, Role.CUSTOMER)
    default = await gql(SETTINGS, token=salon.owner.token, tenant="salon")
    too_long = await gql(UPDATE_SETTINGS, {"input": {"offerMinutes": 5000}}, token=salon.owner.token, tenant="salon")
    by_customer = await gql(UPDATE_SETTINGS, {"input": {"offerMinutes": 5}}, token=customer.token, tenant="salon")
    changed = await gql(UPDATE_SETTINGS, {"input": {"offerMinutes": 5}}, token=salon.owner.token, tenant="salon")
    await join(gql, salon, token=customer.token)
    await cancel_the_booking(gql, salon)
    [offer] = await offer_pass(world, salon)

    assert default.data["waitlistSettings"]["offerMinutes"] == 15
    assert too_long.data["updateWaitlistSettings"]["errors"][0]["field"] == "offerMinutes"
    assert by_customer.error_codes == ["FORBIDDEN"]
    assert changed.data["updateWaitlistSettings"]["settings"]["offerMinutes"] == 5
    assert timedelta(minutes=4) < offer.expires_at - utcnow() <= timedelta(minutes=5)


async def _react_to_the_last_availability_change(world: World) -> str:
    """What the waitlist's consumer starts for the newest availability.changed: its job, run
    here with the event's own payload."""
    from boka.jobs.context import bind_runtime, unbind_runtime
    from boka.jobs.waitlist import offer_freed_time_job
    from boka.models.events import Event

    async with world.runtime.database.transaction(all_tenants=True) as db:
        event = (await db.execute(sa.select(Event).where(Event.type == "availability.changed")
                                  .order_by(Event.position.desc()).limit(1))).scalar_one()
    binding = bind_runtime(world.runtime)
    try:
        payload = event.payload
        return await offer_freed_time_job(str(event.tenant_id), payload["service_ids"],
                                          payload["start"], payload["end"])
    finally:
        unbind_runtime(binding)


CREATE_SESSION = """mutation($input: CreateClassSessionInput!) {
  createClassSession(input: $input) { classSession { id } errors { field code message } } }"""
UPDATE_SESSION = """mutation($input: UpdateClassSessionInput!) {
  updateClassSession(input: $input) { classSession { capacity seatsLeft } errors { field code message } } }"""
BOOK = """mutation($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } errors { code message } } }"""


async def test_a_class_session_whose_capacity_is_raised_offers_the_new_seat(gql: GraphQLClient, world: World) -> None:
    from tests.booking.support import BookingWorld, future_day

    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant, name="Spin class", capacity=5)
    owner = await world.person(tenant, Role.OWNER)
    ann = await world.person(tenant, Role.CUSTOMER, email="ann@example.com")
    start = local(future_day(), 15)
    made = await gql(CREATE_SESSION, {"input": {"serviceId": staffed.service_id, "staffId": staffed.staff_id(),
                                                "start": start.isoformat(), "capacity": 1}},
                     token=owner.token, tenant="salon")
    session_id = made.data["createClassSession"]["classSession"]["id"]
    full = await gql(BOOK, {"input": {"serviceId": staffed.service_id, "start": start.isoformat(),
                                      "customer": {"email": "first@example.com"}}}, token=owner.token, tenant="salon")
    assert full.data["createBooking"]["errors"] == []
    joined = await gql(JOIN_SESSION, {"input": {"serviceId": staffed.service_id, "classSessionId": session_id}},
                       token=ann.token, tenant="salon")
    assert joined.data["joinWaitlist"]["errors"] == []

    raised = await gql(UPDATE_SESSION, {"input": {"id": session_id, "capacity": 2}}, token=owner.token, tenant="salon")
    outcome = await _react_to_the_last_availability_change(world)

    assert raised.data["updateClassSession"]["classSession"]["seatsLeft"] == 1
    assert outcome == "1 offered"
    [offer] = await offers(world)
    async with world.runtime.database.transaction(all_tenants=True) as db:
        held = (await db.execute(sa.select(Booking).where(Booking.id == offer.booking_id))).scalar_one()
    assert held.status == "pending" and held.start_time == start and held.class_session_id is not None


JOIN_SESSION = """mutation($input: JoinWaitlistInput!) {
  joinWaitlist(input: $input) { entry { id status } errors { field code message } } }"""


async def test_the_catch_up_pass_offers_free_time_to_a_waiting_line(gql: GraphQLClient, world: World) -> None:
    """A pass lost with an emptied Redis: the recurring sweep's catch-up finds the free hour."""
    from boka.jobs.context import bind_runtime, unbind_runtime
    from boka.jobs.waitlist import offer_to_waiting_lines

    salon = await salon_with_a_full_morning(gql, world)
    ann = await world.person(salon.tenant, Role.CUSTOMER, email="ann@example.com")
    await join(gql, salon, token=ann.token)
    await cancel_the_booking(gql, salon)  # ... and its pass never runs

    binding = bind_runtime(world.runtime)
    try:
        lines = await offer_to_waiting_lines()
        again = await offer_to_waiting_lines()
    finally:
        unbind_runtime(binding)

    assert (lines, again) == (1, 0)
    [offer] = await offers(world)
    assert offer.status == "open"


async def test_hostile_input_never_becomes_an_internal_error(gql: GraphQLClient, world: World) -> None:
    salon = await salon_with_a_full_morning(gql, world)
    customer = await world.person(salon.tenant, Role.CUSTOMER)
    documents = [
        (JOIN_SESSION, {"input": {"serviceId": salon.staffed.service_id, "seats": 2**31 - 1}}),
        (JOIN_SESSION, {"input": {"serviceId": salon.staffed.service_id, "seats": -5}}),
        (JOIN_SESSION, {"input": {"serviceId": salon.staffed.service_id, "earliest": "9999-12-31T23:00:00-12:00"}}),
        (JOIN_SESSION, {"input": {"serviceId": salon.staffed.service_id, "classSessionId": "bm90IGFuIGlk"}}),
        (JOIN_SESSION, {"input": {"serviceId": gid("ClassSession", salon.staffed.service.id)}}),
        (JOIN_SESSION, {"input": {"serviceId": salon.staffed.service_id, "customer": {"email": "x" * 5000}}}),
        (CLAIM, {"input": {}}),
        (CLAIM, {"input": {"token": "wlo_\x00" + "A" * 10000}}),
        (CLAIM, {"input": {"token": "wlo_AAAA.BBBB", "id": gid("WaitlistOffer", salon.staffed.service.id)}}),
        (DECLINE, {"input": {"id": gid("Booking", salon.staffed.service.id)}}),
        (LEAVE, {"input": {"id": gid("WaitlistEntry", salon.staffed.service.id)}}),
        (BY_LINK, {"token": "\x00é" * 3000}),
        (ENTRIES, {"service": "%%%"}),
        (UPDATE_SETTINGS, {"input": {"offerMinutes": -2**31}}),
    ]
    for token in (None, customer.token, salon.owner.token):
        for document, variables in documents:
            result = await gql(document, variables, token=token, tenant="salon")
            assert result.response.status_code < 500, result.body
            codes = result.error_codes
            assert "INTERNAL" not in codes and None not in codes, (document, variables, result.body)
    assert await entries(world) == []


async def test_an_open_offers_expiry_is_rearmed_once_when_the_job_store_lost_it(gql: GraphQLClient, world: World) -> None:
    from boka.jobs.rearm import rearm

    salon = await salon_with_a_full_morning(gql, world)
    ann = await world.person(salon.tenant, Role.CUSTOMER, email="ann@example.com")
    await join(gql, salon, token=ann.token)
    await cancel_the_booking(gql, salon)
    await offer_pass(world, salon)  # (no relay here: its expiry job was never enqueued)

    first = await rearm(world.runtime)
    second = await rearm(world.runtime)

    assert (first.waitlist_offers, second.waitlist_offers) == (1, 0)


async def test_a_suspended_business_offers_nothing_until_it_is_reactivated(gql: GraphQLClient, world: World) -> None:
    """Freed time of a suspended business is not offered (nobody could claim it): the offer
    pass is parked, and resumed by the reactivation it offers the time to the first in line."""
    from boka.jobs.context import bind_runtime, unbind_runtime
    from boka.jobs.waitlist import offer_freed_time_job
    from boka.models.tenancy import ParkedJob
    from tests.platform.test_tenant_administration import REACTIVATE, SUSPEND, tenant_gid

    salon = await salon_with_a_full_morning(gql, world)
    ann = await world.person(salon.tenant, Role.CUSTOMER, email="ann@example.com")
    admin = await world.person(None, None, superadmin=True)
    await join(gql, salon, token=ann.token)
    await cancel_the_booking(gql, salon)
    await gql(SUSPEND, {"id": tenant_gid(salon.tenant.id), "reason": "unpaid"}, token=admin.token)

    while_suspended = await _react_to_the_last_availability_change(world)
    async with world.runtime.database.transaction(salon.tenant.id) as db:
        parked = [job.function for job in (await db.execute(sa.select(ParkedJob))).scalars()]
    assert while_suspended.startswith("parked")
    assert "boka.jobs.waitlist.offer_freed_time_job" in parked
    assert await offers(world) == []

    reactivated = await gql(REACTIVATE, {"id": tenant_gid(salon.tenant.id), "reason": "paid"}, token=admin.token)
    assert reactivated.data["reactivateTenant"]["resumedJobs"] >= 1
    resumed = [job for job in world.runtime.jobs.queue("high").get_jobs()  # type: ignore[attr-defined]
               if job.func_name == "boka.jobs.waitlist.offer_freed_time_job"]
    assert len(resumed) == 1
    binding = bind_runtime(world.runtime)
    try:  # what the worker does with it
        outcome = await offer_freed_time_job(*resumed[0].args)
    finally:
        unbind_runtime(binding)
    made = await offers(world)
    assert outcome == "1 offered" and len(made) == 1 and made[0].status == "open"
