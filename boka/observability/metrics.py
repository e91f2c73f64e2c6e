"""Prometheus metrics of the app process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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

# --- the business, without per-tenant labels (a label per tenant would grow without bound) ---

BUSINESS_EVENTS = Counter(
    "boka_business_events_total",
    "Committed domain events of the business, by type: booking.created, booking.cancelled "
    "(and the other booking transitions), payment.<status>, refund.<status>.",
    ["type"],
)
MESSAGES = Counter(
    "boka_messages_total",
    "Notifications handed to a provider, by channel (email, sms), kind and outcome (sent, "
    "failed: the provider refused or was unreachable; a failed attempt may be retried).",
    ["channel", "kind", "outcome"],
)
RELAY_LAG = Gauge(
    "boka_relay_lag_seconds",
    "Age of the oldest event not yet published, as the relay leading in this process last "
    "saw it (0: nothing waiting; a process whose relay stands by reports 0).",
)
WEBHOOK_DELIVERIES = Counter(
    "boka_webhook_deliveries_total",
    "Webhook delivery attempts that ended, by outcome (succeeded; retried = failed with retries "
    "left; dead = retries ran out, the delivery waits for a replay).",
    ["outcome"],
)

# --- sampled when Prometheus scrapes the app's /metrics (boka/web/health.py) ---

DEPENDENCY_UP = Gauge(
    "boka_dependency_up",
    "1 when the dependency answered a ping during this scrape of /metrics, 0 when it did not "
    "(database, redis; redis only when configured).",
    ["dependency"],
)
LIVE_SUBSCRIBERS = Gauge(
    "boka_live_subscribers",
    "GraphQL subscriptions (websocket listeners) attached to this process's live hub.",
)
DB_POOL_CONNECTIONS = Gauge(
    "boka_db_pool_connections",
    "Connections of this process's database pools, by pool (app, background) and state "
    "(in_use: checked out; idle: kept open in the pool; limit: pool size + overflow).",
    ["pool", "state"],
)
