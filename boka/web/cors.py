"""Cross-origin calls from browser front ends (CORS), by Starlette's CORSMiddleware.

Two kinds of origin may call:
- The front ends listed in ``BOKA_CORS_ORIGINS`` (Settings.trusted_origin_set): with
  credentials, so a page there may use the session cookie. The CSRF rule (boka/web/csrf.py)
  and the websocket's Origin check trust the same list, so what a browser is allowed to send
  and what the server accepts never disagree.
- A tenant's own booking page, ``https://<the tenant's domain>``: without credentials (its
  answer is ``Access-Control-Allow-Origin: *``), so it calls with a bearer token or a guest
  link, never with a Boka cookie; a tenant's owner sets the domain, and must not thereby get a
  page that acts with other people's sessions.
A preflight from any other origin is refused (400, no Access-Control-Allow-Origin); a browser
then sends nothing.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from boka.config import Settings
from boka.db import Database
from boka.identity.cache import IdentityCache, tenant_key
from boka.observability.logging import get_logger
from boka.tenancy import find_tenant_by_domain

log = get_logger("boka.web.cors")

# What a front end may send besides the CORS-safelisted headers: credentials, the tenant,
# idempotency and request ids, trace context, and what Apollo Client adds.
ALLOWED_HEADERS = (
    "Authorization", "Content-Type", "X-API-Key", "X-Tenant", "Idempotency-Key", "X-Request-ID",
    "apollographql-client-name", "apollographql-client-version", "apollo-require-preflight",
    "traceparent", "tracestate",  # a traced front end's W3C trace context (README: Tracing)
)
# What a front end's script may read from an answer.
EXPOSED_HEADERS = (
    "X-Request-ID", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
    "Idempotent-Replayed",
)


class BokaCORS:
    """CORS for the listed front ends, and credential-less CORS for tenants' own domains."""

    def __init__(self, app: ASGIApp, *, settings: Settings, database: Database, cache: IdentityCache) -> None:
        common = {
            "allow_methods": ["GET", "POST"], "allow_headers": list(ALLOWED_HEADERS),
            "expose_headers": list(EXPOSED_HEADERS), "max_age": settings.cors_max_age_seconds,
        }
        self.listed_origins = settings.trusted_origin_set
        self.listed = CORSMiddleware(
            app, allow_origins=sorted(self.listed_origins), allow_credentials=True, **common  # type: ignore[arg-type]
        )
        self.tenant_pages = CORSMiddleware(app, allow_origins=["*"], allow_credentials=False, **common)  # type: ignore[arg-type]
        self.app = app
        self.database = database
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # websockets: CORS does not apply (one frame less each)
            await self.app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")
        if origin and origin not in self.listed_origins and await self._is_tenant_page(origin):
            await self.tenant_pages(scope, receive, send)
            return
        await self.listed(scope, receive, send)

    async def _is_tenant_page(self, origin: str) -> bool:
        """Whether ``origin`` is https://<a tenant's domain> (no port, no path)."""
        scheme, _, host = origin.partition("://")
        host = host.lower()
        if scheme.lower() != "https" or not host or any(c in host for c in ":/@"):
            return False
        key = tenant_key("domain", host)
        known, tenant = self.cache.get(key)
        if not known:
            generation = self.cache.generation
            try:
                async with self.database.transaction() as db:
                    tenant = await find_tenant_by_domain(db, host)
            except Exception:  # noqa: BLE001 - the database is away: no grant, the request goes on
                log.warning("could not look up a CORS origin's tenant", origin=origin, exc_info=True)
                return False
            self.cache.put(key, tenant, generation)
        return tenant is not None
