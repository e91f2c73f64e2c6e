"""Request ids, JSON logs, Prometheus metrics and security headers, as an operator sees them."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from boka.config import Settings
from boka.models.tenancy import Role
from boka.web.app import create_app
from tests.servers import free_port
from tests.support import GraphQLClient, World
from tests.web.test_errors import json_formatter


async def test_request_id_is_echoed_or_generated(http: httpx.AsyncClient) -> None:
    given = await http.get("/healthz", headers={"X-Request-ID": "req_from-the-edge.42"})
    generated = await http.get("/healthz")
    hostile = await http.get("/healthz", headers={"X-Request-ID": "evil id with spaces; drop"})

    assert given.headers["x-request-id"] == "req_from-the-edge.42"
    assert re.fullmatch(r"req_[0-9a-f]{32}", generated.headers["x-request-id"])
    assert hostile.headers["x-request-id"] != "evil id with spaces"
    assert hostile.headers["x-request-id"].startswith("req_")


async def test_every_log_line_of_a_request_carries_its_id(
    gql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        await gql("{ viewer { user { email } } }", headers={"X-Request-ID": "req_logged"})

    lines = [json.loads(json_formatter().format(r)) for r in caplog.records if r.name.startswith("boka")]
    access = [line for line in lines if line["event"] == "request"]
    assert access, "the request was not logged"
    assert access[-1]["request_id"] == "req_logged"
    assert access[-1]["path"] == "/graphql" and access[-1]["status"] == 200
    assert {"timestamp", "level", "logger"} <= set(access[-1])


def _sample(metrics_text: str, name: str, labels: dict[str, str]) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


async def test_metrics_count_operations_by_name_and_outcome(
    http: httpx.AsyncClient, gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon")
    customer = await world.person(tenant, Role.CUSTOMER)
    before = (await http.get("/metrics")).text

    await gql("query WhoAmI { viewer { user { email } } }")
    await gql("query WhoAmI { viewer { user { email } } }")
    await gql("query Team { members { edges { cursor } } }", token=customer.token, tenant="salon")

    response = await http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    ok = {"operation": "WhoAmI", "outcome": "ok"}
    denied = {"operation": "Team", "outcome": "FORBIDDEN"}
    assert _sample(after, "boka_graphql_requests_total", ok) - _sample(before, "boka_graphql_requests_total", ok) == 2
    assert _sample(after, "boka_graphql_requests_total", denied) - _sample(before, "boka_graphql_requests_total", denied) == 1
    assert _sample(after, "boka_graphql_request_duration_seconds_count", ok) >= 2
    assert _sample(after, "boka_http_requests_total", {"method": "POST", "route": "/graphql", "status": "200"}) >= 3


async def test_api_responses_carry_security_headers(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"query": "{ viewer { role } }"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


async def test_graphiql_is_served_to_browsers_when_enabled(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_queries_work_over_get_but_mutations_do_not(http: httpx.AsyncClient) -> None:
    query = await http.get("/graphql", params={"query": "{ viewer { user { email } } }"})
    mutation = await http.get("/graphql", params={"query": "mutation { signOut { signedOut } }"})
    assert query.status_code == 200 and query.json()["data"]["viewer"]["user"] is None
    assert mutation.status_code in (400, 405)


async def test_metrics_sample_dependencies_and_pools_at_scrape_time(http: httpx.AsyncClient) -> None:
    """What the "database down" alert and the DB pool panel read (deploy/alerts.yml)."""
    text = (await http.get("/metrics")).text
    assert _sample(text, "boka_dependency_up", {"dependency": "database"}) == 1
    assert _sample(text, "boka_dependency_up", {"dependency": "redis"}) == 1
    assert _sample(text, "boka_db_pool_connections", {"pool": "app", "state": "limit"}) > 0
    assert "boka_live_subscribers 0.0" in text


async def test_metrics_report_redis_down_when_it_does_not_answer(settings: Settings) -> None:
    """What the "Redis down" alert reads: an app whose Redis is away still serves /metrics."""
    away = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    application = create_app(away)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            text = (await client.get("/metrics")).text
    assert _sample(text, "boka_dependency_up", {"dependency": "redis"}) == 0
    assert _sample(text, "boka_dependency_up", {"dependency": "database"}) == 1
