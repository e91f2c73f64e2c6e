"""Cross-site request forgery: a browser sends the session cookie with any request to us, even
one a hostile page makes. SameSite=Lax already keeps it off cross-site POSTs in current
browsers; this is the second lock. A request authenticated by the cookie (not by an
Authorization or X-API-Key header) whose Origin names another site, neither this server nor one
of BOKA_CORS_ORIGINS (the list CORS grants credentials to, boka/web/cors.py), is refused. Clients that send no
Origin (curl, servers) and bearer-token clients are unaffected: they carry no ambient
credentials to abuse.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection


def cookie_authenticated(connection: HTTPConnection, cookie_name: str) -> bool:
    has_bearer = connection.headers.get("authorization", "").lower().startswith("bearer ")
    has_api_key = bool(connection.headers.get("x-api-key", "").strip())
    return not has_bearer and not has_api_key and bool(connection.cookies.get(cookie_name))


def is_cross_site(connection: HTTPConnection, trusted_origins: frozenset[str]) -> bool:
    """True when the request's Origin is neither this server nor a trusted front end."""
    origin = connection.headers.get("origin")
    if not origin:
        return False
    own = f"{connection.url.scheme.replace('ws', 'http')}://{connection.headers.get('host', '')}"
    return origin.rstrip("/") not in trusted_origins | {own}


def form_post_is_cross_site(connection: HTTPConnection, trusted_origins: frozenset[str]) -> bool:
    """For the no-script forms of the link pages (boka/web/link_forms.py). Those pages send no
    Referer (Referrer-Policy: no-referrer), so browsers post them with ``Origin: null``; the
    browser's own Sec-Fetch-Site then says where the post came from: only ``same-origin`` (or
    ``none``, typed by the user) passes. Without that header, the Origin rule above decides, and
    an opaque ``null`` origin is refused."""
    site = connection.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    if connection.headers.get("origin", "").strip() == "null":
        return True
    return is_cross_site(connection, trusted_origins)
