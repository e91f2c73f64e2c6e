"""Input that used to reach the database unchecked (issue 12 item 7), each refused with a typed
error on its field and nothing written: NUL and lone surrogates, a 1 MB name, prices and seats
that overflow 32 bits, years 1 and 9999, a quote past the booking window, 10,000-character and
made-up time zones, currencies and phone numbers that do not exist, huge and deeply nested
bodies. On PostgreSQL as the app role; the text checks also on SQLite, which would have stored
the value."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from boka.errors import UserErrorCode, UserInputError
from boka.models.bookings import Customer
from boka.models.catalog import Service
from boka.models.tenancy import Role, Tenant
from boka.models.types import utcnow
from tests.booking.catalog_support import count
from tests.booking.support import BookingWorld, Staffed
from tests.booking.class_session_support import schedule
from tests.support import GraphQLClient, Person, World
from tests.web.test_idempotency_sqlite import sqlite_app  # noqa: F401 - a fixture

CREATE_CUSTOMER = """
mutation C($input: CustomerInput!) {
  createCustomer(input: $input) { customer { phone } errors { field code message } }
}"""
CREATE_SERVICE = """
mutation S($input: CreateServiceInput!) {
  createService(input: $input) { service { id } errors { field code message } }
}"""
CREATE_STAFF = """
mutation M($input: CreateStaffMemberInput!) {
  createStaffMember(input: $input) { staffMember { id } errors { field code message } }
}"""
QUOTE = """
query Q($input: QuoteInput!) {
  quote(input: $input) { quote { total { amount } } errors { field code message } }
}"""
AVAILABILITY = """
query A($service: ID!, $from: DateTime!, $to: DateTime!, $zone: String) {
  availability(serviceId: $service, from: $from, to: $to, timeZone: $zone) { start }
}"""
BOOKINGS = """
query B($filter: BookingFilterInput) { bookings(first: 5, filter: $filter) { edges { cursor } } }
"""


async def _owner(world: World) -> tuple[Person, Staffed, Tenant]:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant, capacity=8)
    return await world.person(tenant, Role.OWNER), staffed, tenant


def _user_errors(result: Any, name: str) -> list[tuple[str, str]]:
    assert not result.errors, result.body
    return [(error["field"], error["code"]) for error in result.data[name]["errors"]]


@pytest.mark.parametrize("text", ["Carl\x00", "\x00"])
async def test_nul_in_any_string_is_a_validation_error_inline_or_in_variables(
    gql: GraphQLClient, world: World, text: str
) -> None:
    owner, _, _ = await _owner(world)
    in_variables = await gql(
        CREATE_CUSTOMER, {"input": {"email": "carl@example.com", "firstName": text}},
        token=owner.token, tenant="salon",
    )
    assert in_variables.error_codes == ["VALIDATION_ERROR"]
    assert in_variables.errors[0]["extensions"]["field"] == "$input.firstName"
    inline = await gql(
        'mutation { createCustomer(input: {email: "carl@example.com", firstName: "Carl\\u0000"})'
        " { errors { code } } }",
        token=owner.token, tenant="salon",
    )
    assert inline.error_codes == ["VALIDATION_ERROR"]
    assert inline.errors[0]["locations"]


async def test_a_lone_surrogate_is_refused_as_a_body_that_is_not_json(gql: GraphQLClient) -> None:
    body = json.dumps({"query": "{ __typename }", "variables": {"name": "\ud800"}}).encode()
    response = await gql.http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


async def test_names_longer_than_their_columns_and_bad_phones_are_invalid_input(
    gql: GraphQLClient, world: World
) -> None:
    owner, _, _ = await _owner(world)
    cases = [
        ({"firstName": "x" * 1_000_000}, "firstName"),
        ({"lastName": "y" * 101}, "lastName"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "+999 1234"}, "phone"),
        ({"phone": "+46 70 123 45 67" * 3}, "phone"),
    ]
    for fields, field in cases:
        result = await gql(
            CREATE_CUSTOMER, {"input": {"email": "carl@example.com", **fields}},
            token=owner.token, tenant="salon",
        )
        assert _user_errors(result, "createCustomer") == [(field, "INVALID_INPUT")], fields
    assert await count(world, Customer) == 0
    stored = await gql(
        CREATE_CUSTOMER, {"input": {"email": "carl@example.com", "phone": "+46 70-123 45 67"}},
        token=owner.token, tenant="salon",
    )
    assert stored.data["createCustomer"]["customer"]["phone"] == "+46701234567"


async def test_prices_currencies_and_time_zones_are_checked(gql: GraphQLClient, world: World) -> None:
    owner, _, tenant = await _owner(world)
    service = {"name": "Gold", "durationMinutes": 60, "price": {"amount": 5000}}
    cases = [
        ({"price": {"amount": 2_147_483_647}}, "price.amount"),
        ({"price": {"amount": 5000, "currency": "ZZZ"}}, "price.currency"),
        ({"price": {"amount": 5000, "currency": "eur"}}, "price.currency"),
        ({"name": "n" * 201}, "name"),
    ]
    for fields, field in cases:
        result = await gql(CREATE_SERVICE, {"input": {**service, **fields}}, token=owner.token, tenant="salon")
        assert _user_errors(result, "createService") == [(field, "INVALID_INPUT")], fields
    anna = await world.person(tenant, Role.STAFF)
    for zone in ("Z" * 10_000, "Not/AZone", "../../etc/passwd"):
        result = await gql(
            CREATE_STAFF, {"input": {"email": anna.email, "displayName": "Anna", "timeZone": zone}},
            token=owner.token, tenant="salon",
        )
        assert _user_errors(result, "createStaffMember") == [("timeZone", "INVALID_INPUT")]
    assert await count(world, Service) == 1  # the salon's own


async def test_quotes_neither_overflow_nor_price_outside_the_booking_window(
    gql: GraphQLClient, world: World
) -> None:
    owner, staffed, _ = await _owner(world)
    soon = (utcnow() + timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    cases = [
        ({"seats": 2_147_483_647}, "seats"),
        ({"seats": 9}, "seats"),
        ({"start": "4546-06-01T10:00:00Z"}, "start"),
        ({"start": (soon + timedelta(days=91)).isoformat()}, "start"),
        ({"start": "0001-01-01T00:00:00+14:00"}, "start"),
        ({"start": "9999-12-31T23:59:59-12:00"}, "start"),
    ]
    # a group service sells the seats of its scheduled sessions: one at that time
    await schedule(gql, owner.token, "salon", staffed.service_id, staffed.staff_id(), soon)
    for fields, field in cases:
        variables = {"input": {"serviceId": staffed.service_id, "start": soon.isoformat(), **fields}}
        result = await gql(QUOTE, variables, token=owner.token, tenant="salon")
        assert _user_errors(result, "quote") == [(field, "INVALID_INPUT")], fields
    fine = await gql(QUOTE, {"input": {"serviceId": staffed.service_id, "start": soon.isoformat(),
                                       "seats": 8}}, token=owner.token, tenant="salon")
    assert fine.data["quote"]["quote"]["total"]["amount"] == 8 * 5000


async def test_queries_refuse_far_dates_and_odd_zones_with_a_validation_error(
    gql: GraphQLClient, world: World
) -> None:
    owner, staffed, _ = await _owner(world)
    for window, zone, field in [
        (("0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z"), None, "from"),
        (("2026-12-01T00:00:00Z", "9999-12-31T23:59:59-12:00"), None, "to"),
        (("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"), "Z" * 10_000, "timeZone"),
    ]:
        result = await gql(
            AVAILABILITY, {"service": staffed.service_id, "from": window[0], "to": window[1], "zone": zone},
            tenant="salon",
        )
        assert result.error_codes == ["VALIDATION_ERROR"], result.body
        assert result.errors[0]["extensions"]["field"] == field
    result = await gql(BOOKINGS, {"filter": {"startsBefore": "9999-12-31T23:59:59-12:00"}},
                       token=owner.token, tenant="salon")
    assert result.error_codes == ["VALIDATION_ERROR"]
    assert result.errors[0]["extensions"]["field"] == "startsBefore"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[" * 100_000 + b"]" * 100_000, 400),
        (b'{"query": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"}", 400),
        (b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 40 + b"]" * 40 + b"}}", 400),
        (b'{"query": ', 400),
        (b'{"query": "' + b" " * 2_000_000 + b'{ __typename }"}', 413),
        (b'{"query": "' + b" " * 50_000_000 + b'{ __typename }"}', 413),
    ],
    ids=["100k nested arrays", "50k nested objects", "nested 42 deep", "not json", "2 MB", "50 MB"],
)
async def test_huge_and_deeply_nested_bodies_get_a_typed_json_refusal(
    gql: GraphQLClient, body: bytes, status: int
) -> None:
    response = await gql.http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert response.json()["errors"][0]["extensions"]["request_id"]


@pytest.mark.sqlite
async def test_on_sqlite_the_same_text_is_refused_not_stored(sqlite_app: Any) -> None:  # noqa: F811
    world = World(sqlite_app.state.runtime)
    owner, _, _ = await _owner(world)
    transport = httpx.ASGITransport(app=sqlite_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        gql = GraphQLClient(http)
        nul = await gql(CREATE_CUSTOMER, {"input": {"email": "c@example.com", "firstName": "C\x00"}},
                        token=owner.token, tenant="salon")
        long = await gql(CREATE_CUSTOMER, {"input": {"email": "c@example.com", "firstName": "x" * 1_000_000}},
                         token=owner.token, tenant="salon")
    assert nul.error_codes == ["VALIDATION_ERROR"]
    assert _user_errors(long, "createCustomer") == [("firstName", "INVALID_INPUT")]
    assert await count(world, Customer) == 0


async def test_no_row_is_flushed_with_text_longer_than_its_column(world: World) -> None:
    """The backstop behind the domain's checks (boka/column_limits.py): a field that forgets
    its check still gets INVALID_INPUT, never PostgreSQL's 'value too long' as INTERNAL."""
    tenant = await world.tenant("salon")
    with pytest.raises(UserInputError) as refused:
        async with world.runtime.database.transaction(tenant.id, write=True) as db:
            db.add(Customer(tenant_id=tenant.id, email="c@example.com", first_name="x" * 101))
            await db.flush()
    assert (refused.value.code, refused.value.field) == (UserErrorCode.INVALID_INPUT, "firstName")
    assert await count(world, Customer) == 0


async def test_far_or_naive_instants_in_time_off_and_api_keys_are_refused(
    gql: GraphQLClient, world: World
) -> None:
    """Both found by the fuzzer: comparing 0001-01-01T00:00:00+14:00 with another instant
    overflows, and a naive expiry could not be compared at all (INTERNAL)."""
    owner, staffed, _ = await _owner(world)
    time_off = await gql(
        """query T($id: ID!) { node(id: $id) { ... on StaffMember {
             timeOff(from: "0001-01-01T00:00:00+14:00", to: "2026-01-02T00:00:00Z") { id } } } }""",
        {"id": staffed.staff_id(0)}, token=owner.token, tenant="salon",
    )
    assert time_off.error_codes == ["VALIDATION_ERROR"], time_off.body
    assert time_off.errors[0]["extensions"]["field"] == "from"
    for expires in ("9999-12-31T23:59:59-12:00", "2030-01-01T00:00:00"):
        created = await gql(
            """mutation K($expires: DateTime) { createApiKey(input: {name: "k",
                 scopes: ["bookings:read"], expiresAt: $expires}) { key errors { field code } } }""",
            {"expires": expires}, token=owner.token, tenant="salon",
        )
        assert _user_errors(created, "createApiKey") == [("expiresAt", "INVALID_INPUT")], expires


async def test_digits_that_are_not_ascii_are_a_wrong_code_not_an_internal_error(
    gql: GraphQLClient, world: World
) -> None:
    """Found by make fuzz: "¹".isdigit() is True, and hmac.compare_digest raises on non-ASCII
    text, so an MFA code or a link's signature of such characters answered INTERNAL."""
    owner, _, _ = await _owner(world)
    enrolled = await gql("mutation { enrollMfa { otpauthUri } }", token=owner.token, tenant="salon")
    assert not enrolled.errors, enrolled.body
    enabled = await gql('mutation { enableMfa(input: {code: "¹²³⁴⁵⁶"}) { errors { field code } } }',
                        token=owner.token, tenant="salon")
    assert not enabled.errors, enabled.body
    assert [error["code"] for error in enabled.data["enableMfa"]["errors"]] == ["MFA_INVALID_CODE"]
    by_link = await gql('{ bookingByLink(manageToken: "bkm_AAAAAAAAAAAAAAAAAAAAAA.¹") { id } }',
                        tenant="salon")
    assert by_link.error_codes and "INTERNAL" not in by_link.error_codes, by_link.body
