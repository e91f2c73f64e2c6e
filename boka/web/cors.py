"""Cross-origin calls from browser front ends (CORS), by Starlette's CORSMiddleware.

The allowed origins are one list, ``BOKA_CORS_ORIGINS`` (Settings.trusted_origin_set): a page
on one of them may call the API with credentials (the session cookie), and the CSRF rule
(boka/web/csrf.py) and the websocket's Origin check trust the same list, so what a browser
is allowed to send and what the server accepts never disagree. A preflight from any other
origin is refused (400, no Access-Control-Allow-Origin); a browser then sends nothing.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from boka.config import Settings

# What a front end may send besides the CORS-safelisted headers: credentials, the tenant,
# idempotency and request ids, and what Apollo Client adds.
ALLOWED_HEADERS = (
    "Authorization", "Content-Type", "X-API-Key", "X-Tenant", "Idempotency-Key", "X-Request-ID",
    "apollographql-client-name", "apollographql-client-version", "apollo-require-preflight",
)
# What a front end's script may read from an answer.
EXPOSED_HEADERS = (
    "X-Request-ID", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
    "Idempotent-Replayed",
)


def cors_middleware(settings: Settings) -> Middleware:
    return Middleware(
        CORSMiddleware,
        allow_origins=sorted(settings.trusted_origin_set),
        allow_methods=["GET", "POST"],
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        allow_credentials=True,
        max_age=settings.cors_max_age_seconds,
    )
