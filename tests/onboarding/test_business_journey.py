"""Issue 15's whole journey on PostgreSQL, through the API and the mailed links only: a business
signs up and verifies its email from the captured mail, sets its hours, invites a staff member
who joins from the mailed link, creates a service; a customer books; the owner exports that
customer and erases them, and the books still add up (the booking stays, with its price)."""

from __future__ import annotations

import json
from datetime import timedelta

from boka.models.types import utcnow
from tests.booking.catalog_support import ASSIGN, CREATE_SERVICE, CREATE_STAFF
from tests.notifications.servers import SmtpServer
from tests.onboarding.support import ACCEPT, INVITE, SIGN_UP, VERIFY, business, deliver_mail, link_token
from tests.privacy.test_customer_data import ERASE, EXPORT
from tests.support import GraphQLClient, World

SETTINGS = """mutation($input: UpdateBusinessSettingsInput!) { updateBusinessSettings(input: $input) {
    errors { field code message } } }"""
SLOTS = """query($s: ID!, $f: DateTime!, $t: DateTime!) {
    availability(serviceId: $s, from: $f, to: $t) { start staff { displayName } } }"""
BOOK = """mutation($input: CreateBookingInput!) { createBooking(input: $input) {
    booking { id price { amount } customer { id } } errors { code message } } }"""
BOOKED = """{ bookings(first: 10) { totalCount edges { node { status price { amount }
    customer { email firstName } } } } }"""


async def test_a_business_gets_going_and_a_customer_is_exported_and_erased(
    gql: GraphQLClient, world: World, smtp: SmtpServer
) -> None:
    signed_up = (await gql(SIGN_UP, {"input": business()})).data["signUpBusiness"]
    assert signed_up["errors"] == []
    owner, slug = signed_up["token"], signed_up["tenant"]["slug"]
    await deliver_mail(world)
    verified = await gql(VERIFY, {"token": link_token(smtp, "olivia@studio.example", "/verify-email")})
    assert verified.data["verifyEmail"]["verified"] is True

    def as_owner(query: str, variables: dict | None = None):  # type: ignore[no-untyped-def]
        return gql(query, variables, token=owner, tenant=slug)

    week = [{"weekday": day, "start": "09:00:00", "end": "17:00:00"} for day in range(7)]
    hours = await as_owner(SETTINGS, {"input": {"defaults": {"weeklyHours": week, "minNoticeMinutes": 60}}})
    assert hours.data["updateBusinessSettings"]["errors"] == []

    invited = await as_owner(INVITE, {"email": "sam@example.com", "role": "STAFF"})
    assert invited.data["inviteMember"]["errors"] == []
    await deliver_mail(world)
    joined = await gql(ACCEPT, {"token": link_token(smtp, "sam@example.com", "/accept-invitation"),
                                "password": "sam's own passphrase", "name": "Sam Stylist"})
    assert joined.data["acceptInvitation"]["viewer"]["role"] == "STAFF"

    staff = (await as_owner(CREATE_STAFF, {"input": {"email": "sam@example.com", "displayName": "Sam"}})
             ).data["createStaffMember"]
    service = (await as_owner(CREATE_SERVICE, {"input": {"name": "Haircut", "durationMinutes": 45,
                                                         "price": {"amount": 4500}}})).data["createService"]
    assert staff["errors"] == [] and service["errors"] == []
    assigned = await as_owner(ASSIGN, {"input": {"staffMemberId": staff["staffMember"]["id"],
                                                 "serviceId": service["service"]["id"]}})
    assert assigned.data["assignService"]["errors"] == []

    day = (utcnow() + timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    slots = (await gql(SLOTS, {"s": service["service"]["id"], "f": day.isoformat(),
                               "t": (day + timedelta(days=1)).isoformat()}, tenant=slug)).data["availability"]
    assert slots and {s["staff"][0]["displayName"] for s in slots} == {"Sam"}  # the default hours apply
    booked = (await gql(BOOK, {"input": {
        "serviceId": service["service"]["id"], "start": slots[0]["start"],
        "customer": {"email": "carla@example.com", "firstName": "Carla", "lastName": "Client",
                     "phone": "+49 30 1234567"}}}, tenant=slug)).data["createBooking"]
    assert booked["errors"] == [] and booked["booking"]["price"]["amount"] == 4500
    customer = booked["booking"]["customer"]["id"]

    exported = json.loads(json.dumps((await as_owner(EXPORT, {"id": customer})).data["customerDataExport"]))
    text = json.dumps(exported)
    assert "carla@example.com" in text and "Carla" in text and exported["bookings"], exported
    erased = (await as_owner(ERASE, {"input": {"id": customer, "cancelFutureBookings": True}})).data["eraseCustomer"]
    assert erased["errors"] == [] and erased["cancelledBookings"] == 1

    after = (await as_owner(BOOKED)).data["bookings"]
    assert after["totalCount"] == 1  # the booking stays, with its price: the books still add up
    [node] = [edge["node"] for edge in after["edges"]]
    assert node["price"]["amount"] == 4500 and node["status"] == "CANCELLED"
    assert node["customer"]["firstName"] == "" and "carla" not in node["customer"]["email"]
    await deliver_mail(world)  # messages in flight at the erasure: not sent after it, or scrubbed
    again = json.dumps((await as_owner(EXPORT, {"id": customer})).data["customerDataExport"])
    leftovers = [again[max(0, i - 300):i + 60] for i in range(len(again)) if again.startswith("carla", i)]
    assert not leftovers and "Carla" not in again and "1234567" not in again, leftovers
