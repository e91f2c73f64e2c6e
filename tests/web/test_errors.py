"""The error shape clients get, and that internal failures leak nothing."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime

import httpx
import pytest
import structlog

from boka.models.tenancy import Role
from tests.conftest import execute_as_owner
from tests.support import GraphQLClient, World
from tests.web.test_health import UNREACHABLE_POSTGRES

LEAKS = re.compile(r"Traceback|SELECT|sqlalchemy|asyncpg|user_sessions|File \"|\.py", re.IGNORECASE)


def assert_error_shape(error: dict, code: str, request_id: str | None = None) -> None:
    extensions = error["extensions"]
    assert extensions["code"] == code
    assert extensions["request_id"]
    if request_id:
        assert extensions["request_id"] == request_id
    datetime.fromisoformat(extensions["timestamp"].replace("Z", "+00:00"))
    assert error["message"]


def json_formatter() -> logging.Formatter:
    """The formatter Boka's log handler uses (see boka.observability.logging)."""
    formatters = [
        h.formatter for h in logging.getLogger().handlers
        if isinstance(h.formatter, structlog.stdlib.ProcessorFormatter)
    ]
    assert formatters, "Boka's JSON log handler is not installed"
    return formatters[0]


async def test_access_errors_carry_code_request_id_and_timestamp(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    customer = await world.person(tenant, Role.CUSTOMER)

    result = await gql(
        "{ members { edges { cursor } } }",
        token=customer.token,
        tenant="salon",
        headers={"X-Request-ID": "req_trace-me"},
    )

    assert result.response.status_code == 200
    assert len(result.errors) == 1
    assert_error_shape(result.errors[0], "FORBIDDEN", request_id="req_trace-me")
    assert result.errors[0]["path"] == ["members"]


async def test_invalid_documents_are_validation_errors(gql: GraphQLClient) -> None:
    unknown_field = await gql("{ viewer { shoeSize } }")
    syntax = await gql("{ viewer { ")
    bad_variable = await gql(
        "mutation A($role: Role!) { addMember(input: {email: \"x@example.com\", role: $role}) { errors { code } } }",
        {"role": "EMPEROR"},
    )
    for result in (unknown_field, syntax, bad_variable):
        assert result.error_codes == ["VALIDATION_ERROR"], result.body
        assert_error_shape(result.errors[0], "VALIDATION_ERROR")


async def test_query_depth_limit_is_enforced(gql: GraphQLClient) -> None:
    deep = "{ viewer { tenant { id } } " + "".join(
        f"a{i}: viewer {{ user {{ email }} }} " for i in range(40)
    ) + "}"
    result = await gql(deep)
    assert result.error_codes and set(result.error_codes) == {"VALIDATION_ERROR"}
    assert "alias" in result.errors[0]["message"].lower()


async def test_internal_error_is_masked_and_logged_with_the_request_id(
    gql: GraphQLClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    # Force a real failure deep in the stack: a table the query needs is gone.
    settings = world.runtime.settings
    await execute_as_owner(settings, "ALTER TABLE user_sessions RENAME TO user_sessions_away")
    try:
        with caplog.at_level(logging.ERROR, logger="boka.graphql"):
            result = await gql(
                "{ viewer { user { email } } }",
                token=owner.token,
                tenant="salon",
                headers={"X-Request-ID": "req_boom"},
            )
    finally:
        await execute_as_owner(settings, "ALTER TABLE user_sessions_away RENAME TO user_sessions")

    assert result.error_codes == ["INTERNAL"]
    assert_error_shape(result.errors[0], "INTERNAL", request_id="req_boom")
    assert not LEAKS.search(result.response.text), result.response.text
    logged = [r for r in caplog.records if r.name == "boka.graphql"]
    assert logged and logged[0].msg["request_id"] == "req_boom"
    # the traceback stays on the server: the JSON log line carries it
    line = json.loads(json_formatter().format(logged[0]))
    assert line["request_id"] == "req_boom" and line["level"] == "error"
    assert "Traceback" in line["exception"] and "user_sessions" in line["exception"]


async def test_a_database_outage_is_a_retryable_service_unavailable_not_a_crash(postgres_url: str) -> None:
    """An unreachable database is not a bug of ours: a typed, retryable 503 (it was INTERNAL),
    still revealing nothing of the connection."""
    from boka.web.app import create_app
    from tests.conftest import settings_for

    app = create_app(settings_for(UNREACHABLE_POSTGRES))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post(
            "/graphql",
            json={"query": "{ viewer { user { email } } }"},
            headers={"Authorization": "Bearer bks_whatever"},
        )
    await app.state.runtime.close()
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["SERVICE_UNAVAILABLE"]
    assert response.status_code == 503 and response.headers["retry-after"]
    assert not LEAKS.search(response.text)
    assert not re.search(r"refused|connect|127\.0\.0\.1", response.text, re.IGNORECASE)


@pytest.mark.parametrize("bad_id", [
    "garbage",  # not base64
    "x",  # not even a base64 length
    "U2VydmljZTo2MTBlMmQxMi0xYWY5LTRiYzQtOTJmMS03ZmQxYjIxNGZlYWQ",  # padding stripped
    "610e2d12-1af9-4bc4-92f1-7fd1b214fead",  # a raw UUID, as in a webhook payload
])
async def test_a_malformed_id_is_the_clients_mistake_not_ours(
    gql: GraphQLClient, world: World, bad_id: str
) -> None:
    await world.tenant("salon")
    for query in (
        "query($id: ID!) { node(id: $id) { id } }",
        """query($id: ID!) { availability(serviceId: $id, from: "2030-01-01T00:00:00Z",
             to: "2030-01-02T00:00:00Z") { start } }""",
        """mutation($id: ID!) { createBooking(input: {serviceId: $id, start: "2030-01-01T10:00:00Z",
             customer: {email: "a@example.com"}}) { errors { code } } }""",
    ):
        result = await gql(query, {"id": bad_id}, tenant="salon")

        assert result.error_codes == ["VALIDATION_ERROR"], result.body
        assert "GlobalID" in result.errors[0]["message"]
        assert not LEAKS.search(result.errors[0]["message"])


async def test_requests_refused_over_http_are_graphql_errors_too(http: httpx.AsyncClient) -> None:
    subscription = await http.post("/graphql", json={"query": "subscription { bookingEvents { type } }"})
    mutation_over_get = await http.get("/graphql", params={"query": "mutation { signOut { signedOut } }"})
    not_json = await http.post("/graphql", content=b"{ __typename }", headers={"Content-Type": "text/plain"})
    batch = await http.post("/graphql", json=[{"query": "{ __typename }"}])

    assert (subscription.status_code, mutation_over_get.status_code, not_json.status_code,
            batch.status_code) == (400, 405, 415, 400)
    assert mutation_over_get.headers["allow"] == "POST"
    for response in (subscription, mutation_over_get, not_json, batch):
        assert response.headers["content-type"] == "application/json"
        assert_error_shape(response.json()["errors"][0], "VALIDATION_ERROR",
                           response.headers["x-request-id"])


async def test_no_malformed_id_anywhere_in_the_schema_answers_internal(gql: GraphQLClient, world: World) -> None:
    """Every argument and input field of type ID, in every query and mutation, with an id that
    is not one (and one of a type that does not exist): a typed error, never INTERNAL."""
    from tests.web.id_probes import INTROSPECTION, IdProbes

    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    schema = (await gql(INTROSPECTION, token=owner.token, tenant="salon")).data["__schema"]
    probes = IdProbes(schema)
    wrong_type = "Tm9TdWNoVHlwZTo2MTBlMmQxMi0xYWY5LTRiYzQtOTJmMS03ZmQxYjIxNGZlYWQ="  # NoSuchType:<uuid>
    failures, sent = [], 0
    for bad_id in ("garbage", wrong_type):
        for field, operation in probes.operations(bad_id):
            result = await gql(operation, token=owner.token, tenant="salon")
            sent += 1
            if result.response.status_code >= 500 or "INTERNAL" in result.error_codes:
                failures.append((field, bad_id, result.body))
    assert sent > 50
    assert not failures, failures


async def test_an_id_of_the_wrong_type_in_a_query_names_the_argument(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    service_id = "U2VydmljZVR5cGU6NjEwZTJkMTItMWFmOS00YmM0LTkyZjEtN2ZkMWIyMTRmZWFk"  # ServiceType:<uuid>
    result = await gql("query($id: ID!) { webhookDeliveries(endpointId: $id) { edges { cursor } } }",
                       {"id": service_id}, token=owner.token, tenant="salon")
    assert result.error_codes == ["VALIDATION_ERROR"]
    assert result.errors[0]["extensions"]["field"] == "endpointId"
    assert result.errors[0]["path"] == ["webhookDeliveries"]
