"""The reference web clients: the public booking page, the manage-booking page, the staff
calendar, and the pages behind the links in account mails (verify an email address, accept a
team invitation, reset a password).

They are static files (plain ES modules, no build step) that use only the public GraphQL API,
as any single-page app would; this module serves them with a Content-Security-Policy that allows
exactly what they need: their own scripts and styles, and requests to this origin (POST /graphql
and the graphql-transport-ws socket). With Stripe configured (secret and publishable key), the
booking page also may load Stripe.js and its Payment Element frames (and they may call Stripe's
API): those allowances are on that page only (the page learns the publishable key from the API). BOKA_WEB_PAGES=false leaves all of it out.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from urllib.parse import quote, urlsplit

import sqlalchemy as sa

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from boka.config import Settings
from boka.models.tenancy import Tenant
from boka.notifications.account_mail import PATHS as ACCOUNT_PATHS
from boka.web import link_forms
from boka.notifications.kinds import AccountMailKind
from boka.payments.card_checkout import card_checkout_for
from boka.tenancy import find_tenant_by_domain

STATIC_DIR = Path(__file__).parent / "static"

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "Cache-Control": "no-cache",
    # The manage page's address is a secret: never send it to anyone in a Referer.
    "Referrer-Policy": "no-referrer",
}


def _page(name: str) -> Response:
    return FileResponse(STATIC_DIR / name, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)


CLOSED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Closed</title></head>
<body><main><h1>This business is closed</h1>
<p>{name} is not taking bookings at the moment. Please try again later.</p></main></body></html>
"""


async def _closed_page(request: Request) -> Response | None:
    """A suspended business's booking page says it is closed (503, nothing to book from)."""
    tenant = await _page_tenant(request)
    if tenant is not None and tenant.suspended_at is not None:
        return HTMLResponse(
            CLOSED_PAGE.format(name=escape(tenant.name)), status_code=503,
            headers={**_PAGE_HEADERS, "Retry-After": "3600"},
        )
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def stripe_page_csp(settings: Settings) -> str:
    """The booking page's policy when it takes card payments: Stripe.js from its origin, the
    Payment Element's frames, and Stripe's API (as Stripe's CSP guide lists them)."""
    js = _origin(settings.stripe_js_url)
    scripts = [js]
    frames = [js]
    if js == "https://js.stripe.com":
        scripts.append("https://*.js.stripe.com")
        frames += ["https://*.js.stripe.com", "https://hooks.stripe.com"]
    api = _origin(settings.stripe_api_base) if settings.stripe_api_base else "https://api.stripe.com"
    return (
        f"default-src 'none'; script-src 'self' {' '.join(scripts)}; style-src 'self'; "
        f"img-src 'self' data: https:; connect-src 'self' {api}; frame-src {' '.join(frames)}; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def takes_card_payments(settings: Settings | None) -> bool:
    return card_checkout_for(settings).online


def booking_page_for(settings: Settings | None):  # noqa: ANN201
    """/book/<slug>, or /book on a tenant's own domain (the API then finds it by Host). The page
    learns whether it takes cards, Stripe's publishable key and the Stripe.js address from the
    API (``business(slug) { payments }``), as any client would; with Stripe configured only its
    Content-Security-Policy differs here."""
    headers = _PAGE_HEADERS
    if takes_card_payments(settings):
        assert settings is not None
        headers = {**_PAGE_HEADERS, "Content-Security-Policy": stripe_page_csp(settings)}

    async def booking_page(request: Request) -> Response:
        return await _closed_page(request) or FileResponse(
            STATIC_DIR / "book.html", media_type="text/html; charset=utf-8", headers=headers)
    return booking_page


async def _page_tenant(request: Request) -> Tenant | None:
    """The tenant a booking page is for: its slug, else the Host's domain."""
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return None
    slug = request.path_params.get("slug")
    async with runtime.database.transaction() as db:
        if slug:
            return (await db.execute(
                sa.select(Tenant).where(Tenant.slug == str(slug).strip().lower())
            )).scalar_one_or_none()
        host = request.headers.get("host", "").split(":", 1)[0].strip().lower()
        return await find_tenant_by_domain(db, host) if host else None


async def manage_page(request: Request) -> Response:
    """The script page, with the booking and a cancel form for browsers without script."""
    if request.method == "POST":
        return await link_forms.handle_post(request, "Your booking", link_forms.do_manage, _PAGE_HEADERS)
    return _page_with_form("manage.html", await link_forms.manage_summary(request))


async def waitlist_offer_page(request: Request) -> Response:
    """/waitlist/offer/<token>: the claim link of a waitlist offer."""
    return _page("waitlist-offer.html")


async def calendar_page(request: Request) -> Response:
    return _page("calendar.html")


def _page_with_form(name: str, form: str) -> Response:
    """A script page that also works without JavaScript: its form in a <noscript> block."""
    text = (STATIC_DIR / name).read_text(encoding="utf-8")
    return HTMLResponse(link_forms.with_noscript_form(text, form), headers=_PAGE_HEADERS)


async def verify_email_page(request: Request) -> Response:
    if request.method == "POST":
        return await link_forms.handle_post(request, "Confirm your email address", link_forms.do_verify,
                                            _PAGE_HEADERS)
    return _page_with_form("verify-email.html", link_forms.verify_form(request))


async def accept_invitation_page(request: Request) -> Response:
    if request.method == "POST":
        return await link_forms.handle_post(request, "Join the team", link_forms.do_accept, _PAGE_HEADERS)
    return _page_with_form("accept-invitation.html", link_forms.accept_form(request))


async def reset_password_page(request: Request) -> Response:
    if request.method == "POST":
        return await link_forms.handle_post(request, "Choose a new password", link_forms.do_reset,
                                            _PAGE_HEADERS)
    return _page_with_form("reset-password.html", link_forms.reset_form(request))


async def confirm_email_change_page(request: Request) -> Response:
    """/confirm-email-change?token=…: server-rendered only (a form; it needs no script)."""
    title = "Confirm your new email address"
    if request.method == "POST":
        return await link_forms.handle_post(request, title, link_forms.do_change, _PAGE_HEADERS)
    return link_forms.plain_page(title, link_forms.change_form(request), headers=_PAGE_HEADERS)


async def old_manage_link(request: Request) -> Response:
    """Links sent before the page existed: /manage-booking?token=…"""
    token = request.query_params.get("token", "")
    if not token:
        return Response("This link is not complete.\n", status_code=404, media_type="text/plain")
    target = f"/manage/{quote(token, safe='')}"
    if tenant := request.query_params.get("tenant"):
        target += f"?tenant={quote(tenant, safe='')}"
    return RedirectResponse(target, status_code=308)


def page_routes(settings: Settings | None = None) -> list[BaseRoute]:
    booking_page = booking_page_for(settings)
    return [
        Route("/book", booking_page, methods=["GET"]),
        Route("/book/{slug}", booking_page, methods=["GET"]),
        Route("/manage/{token}", manage_page, methods=["GET", "POST"]),
        Route("/manage-booking", old_manage_link, methods=["GET"]),
        Route("/waitlist/offer/{token}", waitlist_offer_page, methods=["GET"]),
        Route("/calendar", calendar_page, methods=["GET"]),
        # The paths the account mails link to (?token=…), as they build them
        # (GET the page; POST its no-script form, boka/web/link_forms.py)
        Route(ACCOUNT_PATHS[AccountMailKind.VERIFY_EMAIL], verify_email_page, methods=["GET", "POST"]),
        Route(ACCOUNT_PATHS[AccountMailKind.TEAM_INVITATION], accept_invitation_page, methods=["GET", "POST"]),
        Route(ACCOUNT_PATHS[AccountMailKind.PASSWORD_RESET], reset_password_page, methods=["GET", "POST"]),
        Route(ACCOUNT_PATHS[AccountMailKind.EMAIL_CHANGE], confirm_email_change_page, methods=["GET", "POST"]),
        Mount("/web", app=StaticFiles(directory=STATIC_DIR), name="web"),
    ]
