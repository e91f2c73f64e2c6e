"""Recurring bookings over GraphQL: a weekly series of 8 with one conflict, previewed (the
conflict shows its reason) and booked with BOOKABLE_ONLY (7 bookings) and ALL_OR_NOTHING
(refused, nothing booked); the cap; monthly by weekday; 09:00 local across a DST change;
cancelling this-and-following and all; moving the following ones."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from boka.models.bookings import Booking, BookingStatus
from boka.models.series import BookingSeries
from boka.models.tenancy import Role
from tests.booking.support import ZONE, BookingWorld, future_day, gid, local
from tests.support import GraphQLClient, World

OCCURRENCE = """index start end bookable reasons price { total { amount currency } }
                staff { id displayName }"""
PREVIEW = f"""query Preview($input: PreviewBookingSeriesInput!) {{
  previewBookingSeries(input: $input) {{
    preview {{ timeZone bookableCount occurrences {{ {OCCURRENCE} }} }}
    errors {{ field code message reasons }} }} }}"""
CREATE = f"""mutation Series($input: CreateBookingSeriesInput!) {{
  createBookingSeries(input: $input) {{
    series {{ id frequency interval occurrenceCount timeZone
              bookings {{ id seriesIndex seriesId status }} }}
    occurrences {{ {OCCURRENCE} manageToken booking {{ id startTime seriesIndex }} }}
    errors {{ field code message reasons }} }} }}"""
CANCEL = """mutation Cancel($input: CancelBookingSeriesInput!) {
  cancelBookingSeries(input: $input) {
    cancelled { id seriesIndex status } refund { amount currency } errors { field code } } }"""
MOVE = """mutation Move($input: RescheduleBookingSeriesInput!) {
  rescheduleBookingSeries(input: $input) {
    rescheduled { id seriesIndex startTime } errors { field code message reasons } } }"""
CREATE_BOOKING = """mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } errors { code } } }"""


def weekly(staffed, start: datetime, count: int = 8, **extra: object) -> dict:
    return {"serviceId": staffed.service_id, "start": start.isoformat(),
            "recurrence": {"frequency": "WEEKLY", "count": count}, **extra}


async def series_rows(world: World, tenant_id) -> tuple[int, int]:
    async with world.runtime.database.transaction(tenant_id) as db:
        series = (await db.execute(sa.select(sa.func.count()).select_from(BookingSeries))).scalar_one()
        bookings = (await db.execute(
            sa.select(sa.func.count()).select_from(Booking).where(Booking.series_id.is_not(None))
        )).scalar_one()
    return series, bookings


async def salon_with_a_conflict(gql: GraphQLClient, world: World):
    """A salon (Berlin) with one staff member, and someone else's booking on the fourth
    Thursday-or-whatever of the series: the first start's weekday, three weeks on, at 10:00."""
    tenant = await world.tenant("salon", time_zone=ZONE)
    staffed = await BookingWorld(world).staffed_service(tenant)
    first = local(future_day(3), 10)
    taken = await gql(CREATE_BOOKING, {"input": {
        "serviceId": staffed.service_id, "start": (first + timedelta(weeks=3)).isoformat(),
        "customer": {"email": "someone.else@example.com"}}}, tenant="salon")
    assert taken.data["createBooking"]["errors"] == [], taken.body
    return tenant, staffed, first


async def test_a_weekly_series_of_eight_with_one_conflict(gql: GraphQLClient, world: World) -> None:
    tenant, staffed, first = await salon_with_a_conflict(gql, world)
    customer = {"email": "carla@example.com", "firstName": "Carla"}

    previewed = await gql(PREVIEW, {"input": weekly(staffed, first)}, tenant="salon")
    assert not previewed.errors, previewed.errors
    preview = previewed.data["previewBookingSeries"]["preview"]
    assert preview["timeZone"] == ZONE and preview["bookableCount"] == 7
    occurrences = preview["occurrences"]
    assert [o["index"] for o in occurrences] == list(range(8))
    assert [o["bookable"] for o in occurrences] == [True] * 3 + [False] + [True] * 4
    assert occurrences[3]["reasons"] == ["BOOKED"]
    assert all(o["reasons"] == [] for i, o in enumerate(occurrences) if i != 3)
    assert all(o["price"]["total"] == {"amount": 5000, "currency": "EUR"} for o in occurrences)
    assert [datetime.fromisoformat(o["start"]) for o in occurrences] == [
        first + timedelta(weeks=week) for week in range(8)
    ]
    assert occurrences[0]["staff"] == {"id": staffed.staff_id(), "displayName": "Staff 0"}
    assert occurrences[3]["staff"] is None  # nobody can take it

    refused = await gql(CREATE, {"input": weekly(
        staffed, first, mode="ALL_OR_NOTHING", customer=customer)}, tenant="salon")
    payload = refused.data["createBookingSeries"]
    assert payload["series"] is None and payload["occurrences"] == []
    assert [(e["field"], e["code"], e["reasons"]) for e in payload["errors"]] == [
        ("occurrences.3", "SLOT_UNAVAILABLE", ["BOOKED"])
    ]
    assert payload["errors"][0]["message"].startswith("Occurrence 4 (")
    assert await series_rows(world, tenant.id) == (0, 0)  # nothing booked, no series

    booked = await gql(CREATE, {"input": weekly(
        staffed, first, mode="BOOKABLE_ONLY", customer=customer)}, tenant="salon")
    payload = booked.data["createBookingSeries"]
    assert payload["errors"] == [], booked.body
    series = payload["series"]
    assert (series["frequency"], series["interval"], series["occurrenceCount"], series["timeZone"]) == (
        "WEEKLY", 1, 8, ZONE)
    assert series["bookings"] == []  # a guest sees bookings through their links only
    owner = await world.person(tenant, Role.OWNER)
    seen = await gql("query($id: ID!) { node(id: $id) { ... on BookingSeries { bookings { seriesIndex seriesId } } } }",
                     {"id": series["id"]}, token=owner.token, tenant="salon")
    listed = seen.data["node"]["bookings"]
    assert [b["seriesIndex"] for b in listed] == [0, 1, 2, 4, 5, 6, 7]
    assert {b["seriesId"] for b in listed} == {series["id"]}
    made = payload["occurrences"]
    assert [o["booking"] is not None for o in made] == [True] * 3 + [False] + [True] * 4
    assert made[3]["reasons"] == ["BOOKED"] and made[3]["manageToken"] is None
    assert all(o["manageToken"] for i, o in enumerate(made) if i != 3)
    assert await series_rows(world, tenant.id) == (1, 7)


async def test_anyone_keeps_the_same_staff_member(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone=ZONE)
    bookings = BookingWorld(world)
    staffed = await bookings.staffed_service(tenant)
    await bookings.add_staff(tenant, staffed)
    first = local(future_day(3), 11)
    # the second staff member is the fair choice for the first date only (staff 0 is busy
    # that day); from then on the series stays with them although staff 0 is free
    busy = await gql(CREATE_BOOKING, {"input": {
        "serviceId": staffed.service_id, "staffId": staffed.staff_id(0),
        "start": local(future_day(3), 14).isoformat(), "customer": {"email": "x@example.com"}}},
        tenant="salon")
    assert busy.data["createBooking"]["errors"] == []
    booked = await gql(CREATE, {"input": weekly(
        staffed, first, count=4, mode="ALL_OR_NOTHING", customer={"email": "carla@example.com"})},
        tenant="salon")
    payload = booked.data["createBookingSeries"]
    assert payload["errors"] == [], booked.body
    assert [o["staff"]["id"] for o in payload["occurrences"]] == [staffed.staff_id(1)] * 4


async def test_more_than_52_occurrences_is_a_typed_error(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone=ZONE)
    staffed = await BookingWorld(world).staffed_service(tenant)
    start = local(future_day(3), 10)
    too_many = await gql(PREVIEW, {"input": weekly(staffed, start, count=53)}, tenant="salon")
    assert too_many.data["previewBookingSeries"]["errors"] == [{
        "field": "recurrence.count", "code": "SERIES_TOO_LONG", "reasons": [],
        "message": "A series has at most 52 occurrences; book the rest as another series.",
    }]
    daily_for_years = {**weekly(staffed, start), "recurrence": {
        "frequency": "DAILY", "until": (start.date() + timedelta(days=400)).isoformat()}}
    refused = await gql(CREATE, {"input": {**daily_for_years, "mode": "BOOKABLE_ONLY",
                                           "customer": {"email": "c@example.com"}}}, tenant="salon")
    assert [(e["field"], e["code"]) for e in refused.data["createBookingSeries"]["errors"]] == [
        ("recurrence.until", "SERIES_TOO_LONG")]
    both = {**weekly(staffed, start), "recurrence": {"frequency": "WEEKLY", "count": 2,
                                                     "until": start.date().isoformat()}}
    malformed = await gql(PREVIEW, {"input": both}, tenant="salon")
    assert malformed.data["previewBookingSeries"]["errors"][0]["code"] == "INVALID_INPUT"


async def test_monthly_by_weekday_the_last_friday(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone=ZONE)
    staffed = await BookingWorld(world).staffed_service(tenant, max_advance_days=365)
    today = future_day(3)
    first_day = today + timedelta(days=(4 - today.weekday()) % 7)  # a Friday
    start = local(first_day, 10)
    previewed = await gql(PREVIEW, {"input": {**weekly(staffed, start), "recurrence": {
        "frequency": "MONTHLY_BY_WEEKDAY", "count": 4, "weekOfMonth": -1}}}, tenant="salon")
    occurrences = previewed.data["previewBookingSeries"]["preview"]["occurrences"]
    days = [datetime.fromisoformat(o["start"]).astimezone(ZoneInfo(ZONE)) for o in occurrences]
    for moment in days:
        assert moment.weekday() == 4 and (moment.hour, moment.minute) == (10, 0)
        assert (moment + timedelta(days=7)).month != moment.month  # the last Friday
    assert len({(d.year, d.month) for d in days}) == 4


async def test_nine_oclock_stays_nine_across_the_dst_change(gql: GraphQLClient, world: World) -> None:
    """A weekly 09:00 (Berlin) from before the spring change to after it: the same wall time,
    one hour less of UTC offset difference after it."""
    tenant = await world.tenant("salon", time_zone=ZONE)
    staffed = await BookingWorld(world).staffed_service(tenant, max_advance_days=3650)
    year = future_day(3).year + 1
    last_sunday_of_march = max(date(year, 3, day) for day in range(25, 32)
                               if date(year, 3, day).weekday() == 6)
    start = local(last_sunday_of_march - timedelta(days=13), 9)  # a Monday two weeks before
    booked = await gql(CREATE, {"input": weekly(
        staffed, start, count=4, mode="ALL_OR_NOTHING", customer={"email": "d@example.com"})},
        tenant="salon")
    payload = booked.data["createBookingSeries"]
    assert payload["errors"] == [], booked.body
    starts = [datetime.fromisoformat(o["booking"]["startTime"]) for o in payload["occurrences"]]
    walls = [s.astimezone(ZoneInfo(ZONE)) for s in starts]
    assert {(w.hour, w.minute) for w in walls} == {(9, 0)}
    assert [s.astimezone(UTC).hour for s in starts] == [8, 8, 7, 7]


async def test_cancel_this_and_following_then_all(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone=ZONE)
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    first = local(future_day(3), 10)
    booked = await gql(CREATE, {"input": weekly(
        staffed, first, count=6, mode="ALL_OR_NOTHING", customer={"email": "e@example.com"})},
        token=owner.token, tenant="salon")
    series = booked.data["createBookingSeries"]["series"]
    bookings = series["bookings"]

    following = await gql(CANCEL, {"input": {"seriesId": series["id"], "fromBookingId": bookings[3]["id"],
                                             "reason": "moving away"}}, token=owner.token, tenant="salon")
    payload = following.data["cancelBookingSeries"]
    assert payload["errors"] == [], following.body
    assert [(b["seriesIndex"], b["status"]) for b in payload["cancelled"]] == [
        (3, "CANCELLED"), (4, "CANCELLED"), (5, "CANCELLED")]
    assert payload["refund"] == {"amount": 0, "currency": "EUR"}  # nothing was paid

    rest = await gql(CANCEL, {"input": {"seriesId": series["id"]}}, token=owner.token, tenant="salon")
    assert [b["seriesIndex"] for b in rest.data["cancelBookingSeries"]["cancelled"]] == [0, 1, 2]
    again = await gql(CANCEL, {"input": {"seriesId": series["id"]}}, token=owner.token, tenant="salon")
    assert [e["code"] for e in again.data["cancelBookingSeries"]["errors"]] == ["INVALID_TRANSITION"]
    async with world.runtime.database.transaction(tenant.id) as db:
        statuses = (await db.execute(sa.select(Booking.status).where(Booking.series_id.is_not(None)))).scalars()
        assert set(statuses) == {BookingStatus.CANCELLED}

    stranger = await world.person(tenant, Role.CUSTOMER, email="stranger@example.com")
    hidden = await gql(CANCEL, {"input": {"seriesId": series["id"]}}, token=stranger.token, tenant="salon")
    assert hidden.error_codes == ["NOT_FOUND"]


async def test_move_the_following_ones_all_or_nothing(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone=ZONE)
    staffed = await BookingWorld(world).staffed_service(tenant)
    owner = await world.person(tenant, Role.OWNER)
    first = local(future_day(3), 10)
    booked = await gql(CREATE, {"input": weekly(
        staffed, first, count=4, mode="ALL_OR_NOTHING", customer={"email": "f@example.com"})},
        token=owner.token, tenant="salon")
    series = booked.data["createBookingSeries"]["series"]
    second = series["bookings"][1]

    # someone else takes 14:00 on the last date: moving the following ones there is refused
    blocker = await gql(CREATE_BOOKING, {"input": {
        "serviceId": staffed.service_id, "start": (first + timedelta(weeks=3, hours=4)).isoformat(),
        "customer": {"email": "blocker@example.com"}}}, tenant="salon")
    assert blocker.data["createBooking"]["errors"] == []
    refused = await gql(MOVE, {"input": {"seriesId": series["id"], "fromBookingId": second["id"],
                                         "start": (first + timedelta(weeks=1, hours=4)).isoformat()}},
                        token=owner.token, tenant="salon")
    errors = refused.data["rescheduleBookingSeries"]["errors"]
    assert [(e["field"], e["code"], e["reasons"]) for e in errors] == [
        ("occurrences.3", "SLOT_UNAVAILABLE", ["BOOKED"])]
    async with world.runtime.database.transaction(tenant.id) as db:
        starts = list((await db.execute(sa.select(Booking.start_time).where(
            Booking.series_id.is_not(None)).order_by(Booking.start_time))).scalars())
    assert starts == [first + timedelta(weeks=week) for week in range(4)]  # nothing moved

    # an hour later works (later ones move first, so none trips over its neighbour)
    moved = await gql(MOVE, {"input": {"seriesId": series["id"], "fromBookingId": second["id"],
                                       "start": (first + timedelta(weeks=1, hours=1)).isoformat()}},
                      token=owner.token, tenant="salon")
    payload = moved.data["rescheduleBookingSeries"]
    assert payload["errors"] == [], moved.body
    assert [(b["seriesIndex"], datetime.fromisoformat(b["startTime"])) for b in payload["rescheduled"]] == [
        (index, first + timedelta(weeks=index, hours=1)) for index in (1, 2, 3)]


async def test_the_series_is_a_node_for_whoever_sees_its_bookings(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone=ZONE)
    staffed = await BookingWorld(world).staffed_service(tenant)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    dora = await world.person(tenant, Role.CUSTOMER, email="dora@example.com")
    booked = await gql(CREATE, {"input": weekly(
        staffed, local(future_day(3), 10), count=2, mode="ALL_OR_NOTHING")},
        token=carl.token, tenant="salon")
    series_id = booked.data["createBookingSeries"]["series"]["id"]
    node = "query($id: ID!) { node(id: $id) { ... on BookingSeries { id occurrenceCount } } }"
    mine = await gql(node, {"id": series_id}, token=carl.token, tenant="salon")
    assert mine.data["node"] == {"id": series_id, "occurrenceCount": 2}
    theirs = await gql(node, {"id": series_id}, token=dora.token, tenant="salon")
    assert theirs.data["node"] is None
    assert gid("BookingSeries", "x")  # ids are Relay global ids like any other


async def test_each_occurrence_is_its_own_event_naming_its_series(gql: GraphQLClient, world: World) -> None:
    """The confirmation's invite: one VEVENT per occurrence (its booking's UID, no RRULE), with
    the series' id and its place in it; the booking.created event names the series too."""
    import icalendar

    from boka.models.events import Event
    from boka.notifications.facts import load_booking_facts
    from boka.notifications.ics import booking_uid, invite

    tenant, staffed, first = await salon_with_a_conflict(gql, world)
    booked = await gql(CREATE, {"input": weekly(
        staffed, first, mode="BOOKABLE_ONLY", customer={"email": "g@example.com"})}, tenant="salon")
    payload = booked.data["createBookingSeries"]
    fifth = payload["occurrences"][4]["booking"]
    booking_id = base64.b64decode(fifth["id"]).decode().split(":", 1)[1]
    series_id = base64.b64decode(payload["series"]["id"]).decode().split(":", 1)[1]
    async with world.runtime.database.transaction(tenant.id) as db:
        facts = await load_booking_facts(db, uuid.UUID(booking_id))
        assert facts is not None
        ics, method = invite(facts, public_url="https://boka.example", organizer="Salon <s@example.com>")
        events = list((await db.execute(sa.select(Event).where(
            Event.aggregate_id == uuid.UUID(booking_id), Event.type == "booking.created"))).scalars())
    assert method == "REQUEST"
    calendar = icalendar.Calendar.from_ical(ics)
    [event] = calendar.walk("VEVENT")
    assert str(event["uid"]) == booking_uid(booking_id, "https://boka.example")
    assert "RRULE" not in event and "EXDATE" not in event
    assert str(event["x-boka-series-id"]) == series_id
    assert "Occurrence 5 of 8 of a recurring booking." in str(event["description"])
    assert event.decoded("dtstart") == datetime.fromisoformat(fifth["startTime"])
    [created] = events
    assert created.payload["series"] == {"id": payload["series"]["id"], "index": 4}


async def test_a_retried_series_with_its_idempotency_key_books_once(
    gql: GraphQLClient, world: World,
) -> None:
    tenant = await world.tenant("salon", time_zone=ZONE)
    staffed = await BookingWorld(world).staffed_service(tenant)
    variables = {"input": weekly(staffed, local(future_day(3), 10), count=3, mode="ALL_OR_NOTHING",
                                 customer={"email": "h@example.com"})}
    key = {"Idempotency-Key": "series-once"}
    first = await gql(CREATE, variables, tenant="salon", headers=key)
    again = await gql(CREATE, variables, tenant="salon", headers=key)
    assert first.data["createBookingSeries"]["errors"] == []
    assert again.response.headers.get("Idempotent-Replayed") == "true"
    assert again.body == first.body
    assert await series_rows(world, tenant.id) == (1, 3)
