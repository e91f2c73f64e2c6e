"""Prometheus metrics of the app process."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

GRAPHQL_REQUESTS = Counter(
    "boka_graphql_requests_total",
    "GraphQL operations executed, by operation name and outcome (ok or the first error code).",
    ["operation", "outcome"],
)
GRAPHQL_LATENCY = Histogram(
    "boka_graphql_request_duration_seconds",
    "Time to execute a GraphQL operation, by operation name and outcome.",
    ["operation", "outcome"],
    buckets=LATENCY_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "boka_http_requests_total",
    "HTTP requests answered, by method, route and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "boka_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
