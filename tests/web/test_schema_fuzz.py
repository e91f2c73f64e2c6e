"""The schema fuzzer (issue 14 item 6, issue 12 item 7): queries and mutations generated from the
live schema by hypothesis-graphql, with hostile argument values (tests/web/fuzz_values.py), sent
over HTTP to the app in PostgreSQL mode as the app role under row level security, signed in as
each role of a salon and anonymous. Whatever a client sends, the answer is never a 5xx, never
an ``INTERNAL`` error, and never shows a traceback or SQL.

The suite runs a fixed, reproducible budget (``FUZZ_EXAMPLES`` unset: 200 operations, seed
fixed, password-hashing mutations spared); ``make fuzz`` runs thousands, every root field,
with fresh randomness (``FUZZ_EXAMPLES=5000 make fuzz``)."""

from __future__ import annotations

import base64
import json
import os
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema

from boka.config import Settings
from boka.models.tenancy import Role
from boka.schema.root import build_schema
from tests.booking.support import BookingWorld, future_day, gid, local
from tests.conftest import settings_for
from tests.support import GraphQLClient, World
from tests.web.fuzz_values import custom_scalars

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
REPORT = os.environ.get("FUZZ_REPORT")  # a file: failures are written there instead of raised
ROLES = (Role.OWNER, Role.MANAGER, Role.STAFF, Role.CUSTOMER, None)  # None: anonymous
# signOut would end a role's session for the rest of the run (everything after it anonymous).
# In the suite's fixed budget, the mutations that hash a password (Argon2, tens of milliseconds
# each by design, seconds on a loaded CI machine) are left to `make fuzz`; tests/identity has
# their bad-input cases.
SPARED = frozenset({"signOut"}) | (
    frozenset() if "FUZZ_EXAMPLES" in os.environ
    else frozenset({"register", "signIn", "changePassword", "completeMfaSignIn"})
)
# What a leaked internal looks like; none of the fuzzer's own inputs contains these.
LEAKS = re.compile(
    r"Traceback \(most recent call last\)|File \"/|sqlalchemy\.|asyncpg\.|psycopg|sqlite3\."
    r"|\[SQL:|IntegrityError|DataError|ProgrammingError|violates .* constraint"
    r"|invalid byte sequence|value too long for type"
)
CREATE_BOOKING = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id customer { id } } errors { field code message } }
}"""


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    # Rate limits have tests of their own; here they would turn most operations into RATE_LIMITED
    # before they reach a resolver.
    return settings_for(postgres_url, rate_limits_enabled=False)


@dataclass
class Salon:
    tokens: dict[Role, str]
    operations: st.SearchStrategy[str]


@pytest.fixture
async def salon(world: World, gql: GraphQLClient, settings: Settings) -> Salon:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    other = await world.tenant("other")
    booking_world = BookingWorld(world)
    staffed = await booking_world.staffed_service(tenant, staff_count=2)
    foreign = await booking_world.staffed_service(other)
    room = await booking_world.room(tenant, staffed.service)
    people = {role: await world.person(tenant, role) for role in ROLES if role is not None}
    booked = await gql(
        CREATE_BOOKING,
        {"input": {"serviceId": staffed.service_id, "start": local(future_day(), 10).isoformat()}},
        token=people[Role.CUSTOMER].token, tenant="salon",
    )
    assert not booked.errors and not booked.data["createBooking"]["errors"], booked.body
    booking = booked.data["createBooking"]["booking"]
    real_ids = [
        staffed.service_id, staffed.staff_id(0), staffed.staff_id(1), foreign.service_id,
        gid("Resource", room.id), booking["id"], booking["customer"]["id"],
        gid("User", people[Role.STAFF].user.id), gid("Tenant", tenant.id),
        base64.b64encode(f"Service:{staffed.service.id}".encode()).decode().rstrip("="),
    ]
    schema = build_schema(settings)._schema
    roots = [
        name for root in (schema.query_type, schema.mutation_type) if root is not None
        for name in root.fields if name not in SPARED
    ]
    tokens = {role: person.token for role, person in people.items()}
    tokens[Role.STAFF] = staffed.people[0].token  # staff with a calendar, services and bookings
    return Salon(
        tokens=tokens,
        operations=from_schema(schema, fields=roots, custom_scalars=custom_scalars(real_ids)),
    )


def check(response: httpx.Response, document: str) -> None:
    if REPORT:  # exploring: write every failure down and go on
        try:
            _check(response, document)
        except AssertionError as failure:
            with open(REPORT, "a") as report:
                report.write(repr(failure.args)[:6000] + "\n")
        return
    _check(response, document)


def _check(response: httpx.Response, document: str) -> None:
    shown = re.sub(r"(.)\1{40,}", lambda repeated: f"<{len(repeated.group(0))} × {repeated.group(1)!r}>", document)
    assert response.status_code < 500, (response.status_code, response.text[:2000], shown)
    assert not LEAKS.search(response.text), (response.text[:4000], shown)
    body: dict[str, Any] = response.json()
    internal = [
        error for error in body.get("errors") or []
        if (error.get("extensions") or {}).get("code") in (None, "INTERNAL")
    ]
    assert not internal, ([error.get("path") for error in internal], shown)


@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize="FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=list(HealthCheck),
    # Shrinking replays hundreds of requests against a live server; the failing document is in
    # the assertion message already.
    phases=(Phase.explicit, Phase.generate),
)
@given(data=st.data(), role=st.sampled_from(ROLES))
async def test_no_generated_operation_gets_an_internal_error(
    http: httpx.AsyncClient, salon: Salon, data: st.DataObject, role: Role | None
) -> None:
    document = data.draw(salon.operations, label="document")
    headers = {"X-Tenant": "salon", "Content-Type": "application/json"}
    if role is not None:
        headers["Authorization"] = f"Bearer {salon.tokens[role]}"
    began = time.perf_counter()
    # ASCII-escaped JSON: a lone surrogate travels as "\\ud800", as a client's JSON encoder sends it.
    body = json.dumps({"query": document}).encode()
    response = await http.post("/graphql", content=body, headers=headers)
    if REPORT:
        with open(REPORT + ".timing", "a") as timing:
            timing.write(f"{time.perf_counter() - began:.3f} {len(document)} {document[:150]!r}\n")
    check(response, document)
