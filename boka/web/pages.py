"""The reference web clients: the public booking page, the manage-booking page, the staff
calendar, and the pages behind the links in account mails (verify an email address, accept a
team invitation, reset a password).

They are static files (plain ES modules, no build step) that use only the public GraphQL API,
as any single-page app would; this module serves them with a Content-Security-Policy that allows
exactly what they need: their own scripts and styles, and requests to this origin (POST /graphql
and the graphql-transport-ws socket). BOKA_WEB_PAGES=false leaves all of it out.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from boka.notifications.account_mail import PATHS as ACCOUNT_PATHS
from boka.web import link_forms
from boka.notifications.kinds import AccountMailKind

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


async def booking_page(request: Request) -> Response:
    """/book/<slug>, or /book on a tenant's own domain (the API then finds it by Host)."""
    return _page("book.html")


async def manage_page(request: Request) -> Response:
    """The script page, with the booking and a cancel form for browsers without script."""
    if request.method == "POST":
        return await link_forms.handle_post(request, "Your booking", link_forms.do_cancel, _PAGE_HEADERS)
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


def page_routes() -> list[BaseRoute]:
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
