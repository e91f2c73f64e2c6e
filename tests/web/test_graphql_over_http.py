"""GraphQL over HTTP as the spec asks (issue 14): media types, statuses, refusals, GET caching."""

from __future__ import annotations

import httpx

from boka.models.tenancy import Role
from boka.persisted_queries import query_hash
from boka.web.app import create_app
from tests.conftest import settings_for
from tests.support import World
from tests.web.test_errors import assert_error_shape

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def _post(http: httpx.AsyncClient, body: object, accept: str = GRAPHQL_RESPONSE) -> httpx.Response:
    return await http.post("/graphql", json=body, headers={"Accept": accept})


async def test_graphql_response_json_answers_400_without_data_for_requests_that_never_ran(
    http: httpx.AsyncClient,
) -> None:
    syntax = await _post(http, {"query": "{"})
    invalid = await _post(http, {"query": "{ noSuchField }"})
    variables = await _post(http, {"query": "query($n: Int!) { __typename }", "variables": {"n": "x"}})
    unknown_hash = await _post(http, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}}})
    fine = await _post(http, {"query": "{ __typename }"})
    legacy = await _post(http, {"query": "{"}, accept="application/json")

    for refused in (syntax, invalid, variables, unknown_hash):
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"] == GRAPHQL_RESPONSE
        assert "data" not in refused.json()
        assert_error_shape(refused.json()["errors"][0], refused.json()["errors"][0]["extensions"]["code"],
                           refused.headers["x-request-id"])
    assert unknown_hash.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert (fine.status_code, fine.headers["content-type"]) == (200, GRAPHQL_RESPONSE)
    assert fine.json() == {"data": {"__typename": "Query"}}
    # application/json (and no Accept, or a wildcard) keeps the legacy rule: 200 for a
    # well-formed request, whatever its errors.
    assert (legacy.status_code, legacy.headers["content-type"]) == (200, "application/json")
    assert legacy.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


async def test_bad_requests_are_refused_with_the_right_status_as_graphql_errors(http: httpx.AsyncClient) -> None:
    html_only = await _post(http, {"query": "{ __typename }"}, accept="text/html")
    name_not_a_string = await _post(http, {"query": "{ __typename }", "operationName": {"a": 1}})
    variables_not_an_object = await _post(http, {"query": "{ __typename }", "variables": "[]"})
    two_unnamed_choices = await _post(http, {"query": "query A { __typename } query B { __typename }"})
    wrong_name = await _post(http, {"query": "query A { __typename }", "operationName": "C"})
    subscription = await _post(http, {"query": "subscription { bookingEvents { type } }"})
    named = await _post(http, {"query": "query A { a: __typename } query B { b: __typename }",
                               "operationName": "B"})
    put = await http.put("/graphql", json={"query": "{ __typename }"})

    assert html_only.status_code == 406
    assert name_not_a_string.status_code == variables_not_an_object.status_code == 400
    assert "operationName" in name_not_a_string.json()["errors"][0]["message"]
    assert two_unnamed_choices.status_code == 400
    assert "operationName" in two_unnamed_choices.json()["errors"][0]["message"]
    assert wrong_name.status_code == 400 and "'C'" in wrong_name.json()["errors"][0]["message"]
    assert subscription.status_code == 400 and "websocket" in subscription.json()["errors"][0]["message"]
    for refused in (html_only, name_not_a_string, variables_not_an_object, two_unnamed_choices,
                    wrong_name, subscription):
        assert_error_shape(refused.json()["errors"][0], "VALIDATION_ERROR", refused.headers["x-request-id"])
    assert named.json() == {"data": {"b": "Query"}}
    assert (put.status_code, put.headers["allow"]) == (405, "GET, POST")
    assert_error_shape(put.json()["errors"][0], "VALIDATION_ERROR", put.headers["x-request-id"])


async def test_get_answers_are_private_and_vary_on_who_asks(http: httpx.AsyncClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staff = await world.person(tenant, Role.STAFF, email="sam@example.com")
    query = {"query": "{ viewer { user { email } } }"}

    anonymous = await http.get("/graphql", params=query, headers={"X-Tenant": "salon"})
    signed_in = await http.get("/graphql", params=query,
                               headers={"X-Tenant": "salon", "Authorization": f"Bearer {staff.token}"})
    mutation = await http.get("/graphql", params={"query": "mutation { signOut { signedOut } }"},
                              headers={"Accept": GRAPHQL_RESPONSE})
    bad_variables = await http.get("/graphql", params={"query": "{ __typename }", "variables": "{"})

    assert signed_in.json()["data"]["viewer"]["user"] == {"email": "sam@example.com"}
    assert anonymous.json()["data"]["viewer"]["user"] is None
    for answer in (anonymous, signed_in, mutation, bad_variables):
        assert answer.headers["cache-control"] == "private, no-store"
        vary = {part.strip().lower() for part in answer.headers["vary"].split(",")}
        assert {"accept", "authorization", "cookie", "x-api-key", "x-tenant"} <= vary
    assert (mutation.status_code, mutation.headers["allow"]) == (405, "POST")
    assert mutation.headers["content-type"] == GRAPHQL_RESPONSE
    assert bad_variables.status_code == 400


async def test_a_persisted_query_over_get_answers_json_whatever_the_accept(http: httpx.AsyncClient) -> None:
    text = "{ __typename }"
    extensions = '{"persistedQuery": {"version": 1, "sha256Hash": "%s"}}' % query_hash(text)
    unknown = await http.get("/graphql", params={"extensions": extensions}, headers={"Accept": "*/*"})
    await http.post("/graphql", json={"query": text, "extensions": {
        "persistedQuery": {"version": 1, "sha256Hash": query_hash(text)}}})
    browser_like = await http.get("/graphql", params={"extensions": extensions},
                                  headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    graphiql = await http.get("/graphql", headers={"Accept": "text/html"})
    no_query = await http.get("/graphql", headers={"Accept": "*/*"})

    assert unknown.headers["content-type"] == "application/json"
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert browser_like.headers["content-type"] == "application/json"
    assert browser_like.json() == {"data": {"__typename": "Query"}}
    # The IDE only for a browser asking for HTML with no operation at all.
    assert graphiql.headers["content-type"].startswith("text/html")
    assert no_query.status_code == 400
    assert_error_shape(no_query.json()["errors"][0], "VALIDATION_ERROR")


async def test_a_rate_limited_request_is_a_graphql_response_apollo_can_read(postgres_url: str, world: World) -> None:
    """Apollo Client 4 asks for application/graphql-response+json and then parses a 429's body:
    RATE_LIMITED and retry_after reach its error link (README: Rate limits and Apollo Client)."""
    tight = create_app(settings_for(postgres_url, rate_limit_api_per_hour=2))
    tenant = await world.tenant("salon")
    staff = await world.person(tenant, Role.STAFF)
    headers = {"Accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9",
               "Authorization": f"Bearer {staff.token}", "X-Tenant": "salon"}
    async with tight.router.lifespan_context(tight):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=tight), base_url="http://t") as client:
            answers = [await client.post("/graphql", json={"query": "{ viewer { role } }"}, headers=headers)
                       for _ in range(3)]

    refused = answers[-1]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert refused.headers["content-type"] == GRAPHQL_RESPONSE
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retry_after"] >= 1
    assert int(refused.headers["retry-after"]) >= 1
