"""ASGI middleware: request ids, access logs with HTTP metrics, and security headers.

Written as plain ASGI so they wrap websockets as well as HTTP and never buffer a body.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from functools import lru_cache
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from boka.observability.logging import get_logger
from boka.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_KNOWN_ROUTES = ("/graphql", "/healthz", "/readyz", "/metrics")
log = get_logger("boka.http")


def incoming_request_id(scope: Scope) -> str:
    """The client's X-Request-ID if it is sane, else a fresh one."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return f"req_{uuid.uuid4().hex}"


# Paths whose last segment is a secret (calendar feed, unsubscribe link): logged without it.
SECRET_PATH_PREFIXES = ("/calendar/", "/notifications/unsubscribe/", "/manage/")


def loggable_path(path: str) -> str:
    for prefix in SECRET_PATH_PREFIXES:
        if path.startswith(prefix):
            return prefix + "…"
    return path


def route_label(path: str) -> str:
    """A bounded label for metrics: known routes by name, everything else as 'other'."""
    return path if path in _KNOWN_ROUTES else "other"


class RequestIdMiddleware:
    """Gives every request an id, echoes it, binds it to every log line, and logs the request;
    on HTTP answers it also sets the security headers (one pass over the headers, on every
    response's path)."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self._api_headers = _security_headers(API_CSP, hsts)
        self._page_headers = _security_headers(GRAPHIQL_CSP, hsts)
        self._logs_requests = log.isEnabledFor(logging.INFO)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        is_http = scope["type"] == "http"

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] in ("http.response.start", "websocket.accept"):
                status = message.get("status", 101)
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                if is_http:
                    headers.extend(self._missing_security_headers(headers))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_label(scope["path"])
            method = scope.get("method", "WS")
            if is_http:
                http_requests(method, route, status).inc()
                http_latency(method, route).observe(elapsed)
            if self._logs_requests:
                log.info(
                    "request",
                    method=method,
                    path=loggable_path(scope["path"]),
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                    client=(scope.get("client") or ("?",))[0],
                )
            structlog.contextvars.clear_contextvars()

    def _missing_security_headers(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        present = {name.lower() for name, _ in headers}
        is_html = any(
            name.lower() == b"content-type" and value.startswith(b"text/html") for name, value in headers
        )
        wanted = self._page_headers if is_html else self._api_headers
        return [(name, value) for name, value in wanted if name not in present]


@lru_cache(maxsize=256)
def http_requests(method: str, route: str, status: int) -> Any:
    """The counter's child for these labels (bounded: methods x known routes x statuses)."""
    return HTTP_REQUESTS.labels(method, route, str(status))


@lru_cache(maxsize=64)
def http_latency(method: str, route: str) -> Any:
    return HTTP_LATENCY.labels(method, route)


# The API answers JSON only: nothing may be framed, sniffed or run from it.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# GraphiQL is a page that loads its scripts and styles from a CDN.
GRAPHIQL_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://unpkg.com; "
    "style-src 'self' 'unsafe-inline' https://unpkg.com; img-src 'self' data:; "
    "font-src 'self' data: https://unpkg.com; connect-src 'self'; frame-ancestors 'none'"
)


def _security_headers(csp: str, hsts: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        ("content-security-policy", csp),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if hsts:
        headers.append(("strict-transport-security", "max-age=63072000; includeSubDomains"))
    return [(name.encode(), value.encode()) for name, value in headers]
