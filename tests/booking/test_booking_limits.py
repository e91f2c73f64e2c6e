"""Booking limits over GraphQL (issue 16 item 3): a service's or a staff member's limit per day,
week or month (bookings or minutes, in the tenant's zone) takes the full period out of
availability, explainSlot names LIMIT_REACHED, and createBooking and rescheduleBooking refuse
with SLOT_UNAVAILABLE carrying it; the tenant's customer rules (upcoming bookings, a minimum
gap) refuse the same way. Who may set them is in the RBAC matrix."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from boka.models.tenancy import Role
from tests.booking.class_session_support import CREATE_SESSION
from tests.booking.support import ZONE, BookingWorld, Staffed, future_day, local
from tests.support import GraphQLClient, World

SET_SERVICE_LIMITS = """mutation($input: SetServiceBookingLimitsInput!) {
  setServiceBookingLimits(input: $input) {
    service { bookingLimits { period maxBookings maxMinutes } } errors { field code } } }"""
SET_STAFF_LIMITS = """mutation($input: SetStaffBookingLimitsInput!) {
  setStaffBookingLimits(input: $input) {
    staffMember { bookingLimits { period maxBookings maxMinutes } } errors { field code } } }"""
SET_CUSTOMER_RULES = """mutation($input: SetCustomerBookingRulesInput!) {
  setCustomerBookingRules(input: $input) { rules { maxFutureBookings minGapMinutes } errors { field code } } }"""
CUSTOMER_RULES = "{ customerBookingRules { maxFutureBookings minGapMinutes } }"
CREATE = """mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } errors { field code message reasons } } }"""
RESCHEDULE = """mutation Move($input: RescheduleBookingInput!) {
  rescheduleBooking(input: $input) { booking { id startTime } errors { field code reasons } } }"""
AVAILABILITY = """query Slots($service: ID!, $from: DateTime!, $to: DateTime!, $staff: ID) {
  availability(serviceId: $service, from: $from, to: $to, staffId: $staff) { start staff { id } } }"""
EXPLAIN = """query Explain($service: ID!, $start: DateTime!, $staff: ID) {
  explainSlot(serviceId: $service, start: $start, staffId: $staff) { bookable staff { reasons } } }"""


class Salon:
    def __init__(self, gql: GraphQLClient, staffed: Staffed, owner_token: str) -> None:
        self.gql, self.staffed, self.owner = gql, staffed, owner_token

    async def call(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None) -> Any:
        result = await self.gql(query, variables, token=token or self.owner, tenant="salon")
        assert not result.errors, result.errors
        return result.data

    async def service_limits(self, *limits: dict[str, Any]) -> dict[str, Any]:
        data = await self.call(SET_SERVICE_LIMITS, {"input": {"serviceId": self.staffed.service_id, "limits": list(limits)}})
        return data["setServiceBookingLimits"]

    async def staff_limits(self, index: int, *limits: dict[str, Any]) -> dict[str, Any]:
        data = await self.call(SET_STAFF_LIMITS, {"input": {"staffMemberId": self.staffed.staff_id(index), "limits": list(limits)}})
        return data["setStaffBookingLimits"]

    async def book(self, start: Any, email: str = "x@example.com", staff: int | None = None) -> dict[str, Any]:
        fields: dict[str, Any] = {"serviceId": self.staffed.service_id, "start": start.isoformat(),
                                  "customer": {"email": email}}
        if staff is not None:
            fields["staffId"] = self.staffed.staff_id(staff)
        return (await self.call(CREATE, {"input": fields}))["createBooking"]

    async def starts(self, day: Any, staff: int | None = None) -> list[str]:
        variables = {"service": self.staffed.service_id, "from": local(day, 0).isoformat(),
                     "to": local(day + timedelta(days=1), 0).isoformat(),
                     "staff": self.staffed.staff_id(staff) if staff is not None else None}
        return [slot["start"] for slot in (await self.call(AVAILABILITY, variables))["availability"]]

    async def reasons(self, start: Any, staff: int | None = None) -> list[list[str]]:
        variables = {"service": self.staffed.service_id, "start": start.isoformat(),
                     "staff": self.staffed.staff_id(staff) if staff is not None else None}
        return [member["reasons"] for member in (await self.call(EXPLAIN, variables))["explainSlot"]["staff"]]


async def salon(gql: GraphQLClient, world: World, **fields: Any) -> Salon:
    tenant = await world.tenant("salon", time_zone=ZONE)
    staffed = await BookingWorld(world).staffed_service(tenant, **fields)
    owner = await world.person(tenant, Role.OWNER)
    return Salon(gql, staffed, owner.token)


def refused_for_limit(payload: dict[str, Any]) -> bool:
    return payload["booking"] is None and [(e["code"], "LIMIT_REACHED" in e["reasons"]) for e in payload["errors"]] == [
        ("SLOT_UNAVAILABLE", True)
    ]


async def test_a_full_day_shows_no_slots_explains_and_refuses(gql: GraphQLClient, world: World) -> None:
    place = await salon(gql, world, staff_count=2)
    set_ = await place.service_limits({"period": "DAY", "maxBookings": 2})
    assert set_ == {"service": {"bookingLimits": [{"period": "DAY", "maxBookings": 2, "maxMinutes": None}]},
                    "errors": []}
    day = future_day(4)
    assert (await place.book(local(day, 9), "a@example.com"))["errors"] == []
    assert len(await place.starts(day)) > 0  # one more is still allowed
    assert (await place.book(local(day, 11), "b@example.com"))["errors"] == []

    assert await place.starts(day) == []  # the day is full, with either staff member
    assert len(await place.starts(day + timedelta(days=1))) > 0  # the next day is not
    assert await place.reasons(local(day, 14)) == [["LIMIT_REACHED"], ["LIMIT_REACHED"]]
    assert refused_for_limit(await place.book(local(day, 14), "c@example.com"))

    # Lifting the limit gives the day back.
    assert (await place.service_limits())["service"]["bookingLimits"] == []
    assert (await place.book(local(day, 14), "c@example.com"))["errors"] == []


async def test_a_staff_members_weekly_minutes_limit_leaves_colleagues_bookable(
    gql: GraphQLClient, world: World
) -> None:
    place = await salon(gql, world, staff_count=2)
    await place.staff_limits(0, {"period": "WEEK", "maxMinutes": 120})
    day = future_day(8)
    monday = day - timedelta(days=day.weekday())
    assert (await place.book(local(monday, 9), "a@example.com", staff=0))["errors"] == []
    assert (await place.book(local(monday + timedelta(days=2), 9), "b@example.com", staff=0))["errors"] == []
    # 120 minutes booked in that week: staff 0 is out for the whole week, staff 1 is not.
    sunday = monday + timedelta(days=6)
    assert await place.starts(sunday, staff=0) == []
    assert len(await place.starts(sunday, staff=1)) > 0
    assert len(await place.starts(sunday + timedelta(days=1), staff=0)) > 0  # the next week
    assert await place.reasons(local(sunday, 10), staff=0) == [["LIMIT_REACHED"]]
    assert refused_for_limit(await place.book(local(sunday, 10), "c@example.com", staff=0))
    # "Any staff" goes to the colleague the limit leaves free.
    assert (await place.book(local(sunday, 10), "c@example.com"))["errors"] == []


async def test_minutes_count_the_length_asked_for(gql: GraphQLClient, world: World) -> None:
    """90 minutes a day with a 60-minute service: the first fits, the second would pass it."""
    place = await salon(gql, world)
    await place.service_limits({"period": "DAY", "maxMinutes": 90})
    day = future_day(5)
    assert (await place.book(local(day, 9), "a@example.com"))["errors"] == []
    assert await place.starts(day) == []


async def test_a_reschedule_within_the_full_day_is_allowed_into_it_is_refused(
    gql: GraphQLClient, world: World
) -> None:
    place = await salon(gql, world)
    await place.service_limits({"period": "DAY", "maxBookings": 1})
    day, other = future_day(4), future_day(5)
    first = await place.book(local(day, 9), "a@example.com")
    second = await place.book(local(other, 9), "b@example.com")
    # Its own day: the booking being moved does not count against itself.
    moved = await place.call(RESCHEDULE, {"input": {"id": first["booking"]["id"], "start": local(day, 13).isoformat()}})
    assert moved["rescheduleBooking"]["errors"] == []
    refused = await place.call(RESCHEDULE, {"input": {"id": second["booking"]["id"], "start": local(day, 15).isoformat()}})
    assert refused["rescheduleBooking"]["booking"] is None
    assert [(e["code"], e["reasons"]) for e in refused["rescheduleBooking"]["errors"]] == [
        ("SLOT_UNAVAILABLE", ["LIMIT_REACHED"])
    ]


async def test_a_class_session_of_a_full_day_is_not_offered(gql: GraphQLClient, world: World) -> None:
    place = await salon(gql, world, name="Yoga", capacity=5)
    day = future_day(4)
    for hour in (9, 12):
        created = await place.call(CREATE_SESSION, {"input": {
            "serviceId": place.staffed.service_id, "staffId": place.staffed.staff_id(), "start": local(day, hour).isoformat()}})
        assert created["createClassSession"]["errors"] == [], created
    await place.staff_limits(0, {"period": "DAY", "maxBookings": 1})
    assert (await place.book(local(day, 9), "a@example.com"))["errors"] == []
    assert await place.starts(day) == []
    assert "LIMIT_REACHED" in (await place.reasons(local(day, 12)))[0]
    assert refused_for_limit(await place.book(local(day, 12), "b@example.com"))


async def test_limits_are_checked(gql: GraphQLClient, world: World) -> None:
    place = await salon(gql, world)
    twice = await place.service_limits({"period": "DAY", "maxBookings": 2}, {"period": "DAY", "maxMinutes": 60})
    empty = await place.service_limits({"period": "MONTH"})
    zero = await place.staff_limits(0, {"period": "WEEK", "maxBookings": 0})
    assert [e["code"] for e in twice["errors"] + empty["errors"] + zero["errors"]] == ["INVALID_INPUT"] * 3
    assert zero["errors"][0]["field"] == "limits.0.maxBookings"
    services = await place.call("{ services(first: 1) { edges { node { bookingLimits { period } } } } }")
    assert services["services"]["edges"][0]["node"]["bookingLimits"] == []  # nothing was written


async def test_customer_rules_limit_upcoming_bookings_and_keep_a_gap(gql: GraphQLClient, world: World) -> None:
    place = await salon(gql, world)
    assert await place.call(CUSTOMER_RULES) == {"customerBookingRules": {"maxFutureBookings": None, "minGapMinutes": None}}
    rules = await place.call(SET_CUSTOMER_RULES, {"input": {"maxFutureBookings": 2, "minGapMinutes": 60}})
    assert rules["setCustomerBookingRules"] == {"rules": {"maxFutureBookings": 2, "minGapMinutes": 60}, "errors": []}
    day = future_day(4)
    assert (await place.book(local(day, 9), "ada@example.com"))["errors"] == []  # 09:00-10:00
    # 10:30 starts 30 minutes after the first ends (a gap of 60 is needed); 11:00 is fine.
    assert refused_for_limit(await place.book(local(day, 10, 30), "ada@example.com"))
    assert (await place.book(local(day, 11), "ada@example.com"))["errors"] == []
    # A third upcoming booking is one too many, whenever it is; another customer is not limited.
    assert refused_for_limit(await place.book(local(day + timedelta(days=3), 9), "ada@example.com"))
    assert (await place.book(local(day + timedelta(days=3), 9), "bo@example.com"))["errors"] == []

    lifted = await place.call(SET_CUSTOMER_RULES, {"input": {}})
    assert lifted["setCustomerBookingRules"]["rules"] == {"maxFutureBookings": None, "minGapMinutes": None}
    assert (await place.book(local(day + timedelta(days=3), 11), "ada@example.com"))["errors"] == []
    bad = await place.call(SET_CUSTOMER_RULES, {"input": {"maxFutureBookings": 0}})
    assert [(e["field"], e["code"]) for e in bad["setCustomerBookingRules"]["errors"]] == [
        ("maxFutureBookings", "INVALID_INPUT")
    ]
