"""GraphQL documents and helpers shared by the class-session tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.support import GraphQLClient

SESSION_FIELDS = "id status startTime endTime capacity seatsTaken seatsLeft instructor { id } room { id }"
CREATE_SESSION = f"""mutation($input: CreateClassSessionInput!) {{
  createClassSession(input: $input) {{ classSession {{ {SESSION_FIELDS} }} errors {{ field code message }} }} }}"""
CREATE_TIMETABLE = f"""mutation($input: CreateClassTimetableInput!) {{
  createClassTimetable(input: $input) {{ classSessions {{ {SESSION_FIELDS} }} errors {{ field code message }} }} }}"""
UPDATE_SESSION = f"""mutation($input: UpdateClassSessionInput!) {{
  updateClassSession(input: $input) {{ classSession {{ {SESSION_FIELDS} }} errors {{ field code message }} }} }}"""
CANCEL_SESSION = f"""mutation($input: CancelClassSessionInput!) {{
  cancelClassSession(input: $input) {{ classSession {{ {SESSION_FIELDS} }}
    cancelledBookings {{ booking {{ id status }} refund {{ amount currency }} }}
    errors {{ field code message }} }} }}"""
CREATE_BOOKING = """mutation($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id status startTime seats staff { id } classSession { id seatsLeft } }
    errors { field code } } }"""
RESCHEDULE = """mutation($input: RescheduleBookingInput!) {
  rescheduleBooking(input: $input) { booking { id startTime classSession { id } } errors { code } } }"""
AVAILABILITY = """query($service: ID!, $from: DateTime!, $to: DateTime!) {
  availability(serviceId: $service, from: $from, to: $to) { start seatsLeft staff { id } } }"""
SESSIONS = f"""query($service: ID, $from: DateTime!, $to: DateTime!) {{
  classSessions(serviceId: $service, from: $from, to: $to) {{ {SESSION_FIELDS} }} }}"""


async def schedule(
    gql: GraphQLClient, token: str, tenant: str, service_id: str, staff_id: str, start: datetime,
    **extra: Any,
) -> dict[str, Any]:
    """A session, created by ``token`` (a manager or owner); fails the test if refused."""
    result = await gql(CREATE_SESSION, {"input": {
        "serviceId": service_id, "staffId": staff_id, "start": start.isoformat(), **extra,
    }}, token=token, tenant=tenant)
    payload = result.data["createClassSession"]
    assert payload["errors"] == [], payload
    return payload["classSession"]


async def book(
    gql: GraphQLClient, token: str, tenant: str, service_id: str, start: datetime, email: str,
    **extra: Any,
) -> dict[str, Any]:
    result = await gql(CREATE_BOOKING, {"input": {
        "serviceId": service_id, "start": start.isoformat(), "customer": {"email": email}, **extra,
    }}, token=token, tenant=tenant)
    assert not result.errors, result.body
    return result.data["createBooking"]
