"""The mailed links without JavaScript: each page behind a link (verify an email, confirm an email
change, reset a password, accept an invitation, manage a booking) also carries a plain HTML form
(in a ``<noscript>`` block of the script page, or as the whole page for the email change), posted
back to the same path and handled here, server-side, by the same domain functions the GraphQL
mutations call. The manage page shows the booking, moves it to another free time (chosen from
a list of the next two weeks' free times of the same staff member; the script page has the
live picker) and cancels it.

Opening a link never acts by itself (mail scanners fetch links): the visitor presses the form's
button. The POST is authenticated by the token in the form body only (the session cookie is not
used, so a forged post has nothing ambient to borrow), refused when it comes from another
site (Sec-Fetch-Site, else Origin: boka/web/csrf.py), counted on the sign-in rate limit per client address, and
its body is read up to a small limit. The answer is a plain page saying what happened.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from zoneinfo import ZoneInfo

from boka.booking.availability import TimeRange
from boka.booking.changes import booking_ref, cancel_booking, load_booking, reschedule_booking
from boka.booking.slots import find_slots
from boka.errors import BokaError, UserErrorCode, UserInputError
from boka.identity.authentication import resolve_principal
from boka.models.bookings import ACTIVE_STATUSES
from boka.models.catalog import Service
from boka.payments.refunds import settle_cancellation
from boka.payments.reschedules import settle_reschedule
from boka.resolvers.payments import after_cancellation, after_reschedule
from boka.identity.devices import DeviceInfo
from boka.identity.email_change import confirm_email_change
from boka.identity.invitations import accept_invitation
from boka.identity.principal import Principal
from boka.identity.recovery import reset_password, verify_email
from boka.jobs.account_mail import mail_email_changed_notice
from boka.models.types import utcnow
from boka.runtime import Runtime
from boka.web.csrf import form_post_is_cross_site
from boka.web.request_body import BodyRefused, read_body

FORM_BODY_LIMIT = 8 * 1024
MOVE_WINDOW = timedelta(days=14)  # the times offered by the manage page's form
MOVE_CHOICES = 80
NOSCRIPT_MARK = "</main>"


def _escape(value: str) -> str:
    return html.escape(value, quote=True)


def token_field(request: Request) -> str:
    return f'<input type="hidden" name="token" value="{_escape(request.query_params.get("token", ""))}">'


def with_noscript_form(page: str, form: str) -> str:
    """``page`` (a script page's HTML) with ``form`` shown to browsers that run no script."""
    return page.replace(NOSCRIPT_MARK, f"<noscript><section>{form}</section></noscript>\n  {NOSCRIPT_MARK}", 1)


def verify_form(request: Request) -> str:
    return (f'<form method="post" class="nojs">{token_field(request)}'
            '<p>Press the button to confirm this email address.</p>'
            '<button type="submit">Confirm my email address</button></form>')


def change_form(request: Request) -> str:
    return (f'<form method="post" class="nojs">{token_field(request)}'
            '<p>Press the button to make this address your account\'s email address. Your other '
            'devices will be signed out.</p>'
            '<button type="submit">Use this address</button></form>')


def reset_form(request: Request) -> str:
    return (f'<form method="post" class="nojs">{token_field(request)}'
            '<label>New password <input type="password" name="newPassword" autocomplete="new-password" '
            'required minlength="10"></label>'
            '<label>Code from your authenticator app or a backup code (only with two-factor '
            'authentication) <input type="text" name="mfaCode" autocomplete="one-time-code"></label>'
            '<button type="submit">Set the new password</button></form>')


def accept_form(request: Request) -> str:
    return (f'<form method="post" class="nojs">{token_field(request)}'
            '<p>Choose a password for your new account. If this address already has an account, '
            'sign in first (that needs JavaScript) or ask for the invitation to another address.</p>'
            '<label>Your name <input type="text" name="fullName" autocomplete="name"></label>'
            '<label>Password <input type="password" name="password" autocomplete="new-password" '
            'required minlength="10"></label>'
            '<button type="submit">Join the team</button></form>')


def plain_page(title: str, body: str, *, status_code: int = 200, headers: dict[str, str]) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n"
        "  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "  <meta name=\"referrer\" content=\"no-referrer\">\n"
        f"  <title>{_escape(title)}</title>\n  <link rel=\"icon\" href=\"data:,\">\n"
        "  <link rel=\"stylesheet\" href=\"/web/style.css\">\n</head>\n<body>\n"
        "  <header class=\"brand\"><h1>Boka</h1></header>\n"
        f"  <main id=\"main\"><section><h2>{_escape(title)}</h2>\n{body}\n</section></main>\n</body>\n</html>\n",
        status_code=status_code, headers=headers,
    )


def _message(text: str, *, alert: bool = False) -> str:
    role = 'role="alert" class="alert"' if alert else 'role="status"'
    return f"<p {role}>{_escape(text)}</p>"


Action = Callable[[Runtime, dict[str, str], DeviceInfo], Awaitable[str]]


async def handle_post(request: Request, title: str, action: Action, headers: dict[str, str]) -> Response:
    """Checks every such POST shares, then ``action``; its text (or the user error) as a page."""
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    if form_post_is_cross_site(request, settings.trusted_origin_set):
        return plain_page(title, _message("Cross-site request refused.", alert=True),
                          status_code=403, headers=headers)
    client = request.client.host if request.client else "unknown"
    if runtime.rate_limits.enabled:
        decision = await runtime.rate_limiter.hit(runtime.rate_limits.auth, client)
        if not decision.allowed:
            return plain_page(title, _message(
                f"Too many attempts; try again in {decision.retry_after_seconds} s.", alert=True),
                status_code=429, headers={**headers, "Retry-After": str(decision.retry_after_seconds)})
    try:
        body = await read_body(request, FORM_BODY_LIMIT)
    except BodyRefused as refused:
        return plain_page(title, _message(refused.reason, alert=True), status_code=refused.status,
                          headers=headers)
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return plain_page(title, _message("Send the page's form.", alert=True), status_code=415,
                          headers=headers)
    fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    device = DeviceInfo(ip_address=client, user_agent=request.headers.get("user-agent"),
                        accept_language=request.headers.get("accept-language"))
    try:
        done = await action(runtime, fields, device)
    except UserInputError as error:
        back = f'<p><a href="{_escape(request.url.path)}?token={_escape(fields.get("token", ""))}">Try again</a></p>'
        return plain_page(title, _message(error.message, alert=True) + back, status_code=400, headers=headers)
    except BokaError as error:
        return plain_page(title, _message(str(error), alert=True), status_code=400, headers=headers)
    return plain_page(title, _message(done), headers=headers)


async def do_verify(runtime: Runtime, fields: dict[str, str], device: DeviceInfo) -> str:
    async with runtime.database.transaction(write=True) as db:
        await verify_email(db, token=fields.get("token", ""), now=utcnow(), device=device)
    return "Thank you: your email address is confirmed."


async def do_change(runtime: Runtime, fields: dict[str, str], device: DeviceInfo) -> str:
    changed = await confirm_email_change(runtime.database, token=fields.get("token", ""), device=device,
                                         now=utcnow())
    await mail_email_changed_notice(runtime, changed.old_email, changed.user.email)
    return f"Done: your account's email address is now {changed.user.email}."


async def do_reset(runtime: Runtime, fields: dict[str, str], device: DeviceInfo) -> str:
    await reset_password(
        runtime.database, runtime.identity.mfa, token=fields.get("token", ""),
        new_password=fields.get("newPassword", ""), mfa_code=fields.get("mfaCode") or None,
        device=device, now=utcnow(),
    )
    return "Your password is set. Every session ended: sign in with the new password."


async def do_accept(runtime: Runtime, fields: dict[str, str], device: DeviceInfo) -> str:
    nobody = Principal.build(user=None, session_id=None, tenant=None, role=None)
    accepted = await accept_invitation(
        runtime.database, nobody, token=fields.get("token", ""), password=fields.get("password") or None,
        full_name=fields.get("fullName", "").strip(), now=utcnow(), device=device,
        session_ttl=runtime.identity.session_ttl,
    )
    return (f"Welcome to {accepted.tenant.name}: you joined as {accepted.role.value}. "
            f"Sign in with {accepted.user.email} and your new password.")


# --- the manage-booking link (/manage/<token>?tenant=<slug>) ---


async def _link_principal(runtime: Runtime, slug: str, client: str) -> Principal:
    """Nobody signed in, in the tenant the link names (the token alone authorizes the booking)."""
    return await resolve_principal(
        runtime.database, runtime.identity, credential=None, tenant_header=slug or None, host=None,
        ip_address=client, cache=runtime.identity_cache,
    )


async def manage_summary(request: Request) -> str:
    """The booking as a plain section with a cancel form (for browsers without script); a
    sentence when the link is not valid. Reads only: opening the link changes nothing."""
    runtime: Runtime = request.app.state.runtime
    token = request.path_params.get("token", "")
    slug = request.query_params.get("tenant", "")
    client = request.client.host if request.client else "unknown"
    try:
        principal = await _link_principal(runtime, slug, client)
        tenant = principal.require_tenant()
        ref = booking_ref(None, token, runtime.settings.secret_key)
        async with runtime.database.transaction(tenant.id) as db:
            booking = await load_booking(db, principal, ref)
            service = await db.get(Service, booking.service_id)
            movable = (service is not None and service.capacity == 1
                       and booking.status in ACTIVE_STATUSES and booking.start_time > utcnow())
            now = utcnow()
            # the same staff member's free times: a move keeps the booking's staff member
            slots = await find_slots(db, service, window=TimeRange(now, now + MOVE_WINDOW), now=now,
                                     staff_id=booking.staff_id,
                                     ignore_booking_id=booking.id) if movable and service else []
    except (BokaError, UserInputError):
        return _message("This booking link is not valid.", alert=True)
    zone = ZoneInfo(tenant.time_zone)
    start = booking.start_time.astimezone(zone)
    lines = (f"<p>{_escape(tenant.name)}: <strong>{_escape(service.name if service else '')}</strong>, "
             f"{start:%A %d %B %Y, %H:%M} ({_escape(tenant.time_zone)}). "
             f"Status: {_escape(str(getattr(booking.status, 'value', booking.status)))}.</p>")
    if booking.status in ACTIVE_STATUSES and booking.start_time > utcnow():
        lines += (f'<form method="post" class="nojs"><input type="hidden" name="token" value="{_escape(token)}">'
                  f'<input type="hidden" name="tenant" value="{_escape(slug)}">'
                  '<p>The business\'s cancellation policy decides what is refunded of a payment.</p>'
                  '<label>Reason (optional) <input type="text" name="reason" maxlength="500"></label>'
                  '<button type="submit">Cancel this booking</button></form>')
        lines += _move_form(token, slug, [slot.start for slot in slots if slot.start != booking.start_time], zone)
    return lines


def _move_form(token: str, slug: str, starts: list[datetime], zone: ZoneInfo) -> str:
    if not starts:
        return "<p>No other free time in the next two weeks: ask the business, or cancel.</p>"
    options = "".join(
        f'<option value="{_escape(start.isoformat())}">{start.astimezone(zone):%a %d %b, %H:%M}</option>'
        for start in starts[:MOVE_CHOICES]
    )
    return (f'<form method="post" class="nojs"><input type="hidden" name="token" value="{_escape(token)}">'
            f'<input type="hidden" name="tenant" value="{_escape(slug)}">'
            '<input type="hidden" name="action" value="move">'
            f'<label>Move to <select name="start">{options}</select></label>'
            "<p>The business's policy applies: a late move may be refused or carry a fee.</p>"
            '<button type="submit">Move this booking</button></form>')


async def do_manage(runtime: Runtime, fields: dict[str, str], device: DeviceInfo) -> str:
    """The manage page's two forms: move (``action=move``) or cancel."""
    if fields.get("action") == "move":
        return await do_move(runtime, fields, device)
    return await do_cancel(runtime, fields, device)


async def do_move(runtime: Runtime, fields: dict[str, str], device: DeviceInfo) -> str:
    principal = await _link_principal(runtime, fields.get("tenant", ""), device.ip_address or "unknown")
    tenant = principal.require_tenant()
    ref = booking_ref(None, fields.get("token", ""), runtime.settings.secret_key)
    try:
        start = datetime.fromisoformat(fields.get("start", ""))
    except ValueError:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "Pick a time from the list.", "start") from None
    if start.tzinfo is None:
        raise UserInputError(UserErrorCode.INVALID_INPUT, "Pick a time from the list.", "start")
    now = utcnow()
    async with runtime.database.transaction(tenant.id, write=True) as db:
        moved = await reschedule_booking(db, principal, ref, start=start, staff_id=None, now=now)
        money = await settle_reschedule(db, moved.booking, provider=runtime.payment_provider, now=now)
    await after_reschedule(runtime, money)
    booking = moved.booking
    when = booking.start_time.astimezone(ZoneInfo(tenant.time_zone))
    said = f"Your booking is moved to {when:%A %d %B %Y, %H:%M} ({tenant.time_zone})."
    if moved.terms.fee_cents:
        said += f" A late-move fee of {moved.terms.fee_cents / 100:.2f} {booking.currency} applies."
    if money.refund_cents:
        said += f" {money.refund_cents / 100:.2f} {booking.currency} will be refunded."
    if money.top_up is not None:
        said += (f" The new time costs {money.top_up.payment.amount_cents / 100:.2f} "
                 f"{booking.currency} more than you paid up front; whatever is not paid online "
                 "before the appointment is paid on site.")
    return said


async def do_cancel(runtime: Runtime, fields: dict[str, str], device: DeviceInfo) -> str:
    principal = await _link_principal(runtime, fields.get("tenant", ""), device.ip_address or "unknown")
    tenant = principal.require_tenant()
    ref = booking_ref(None, fields.get("token", ""), runtime.settings.secret_key)
    now = utcnow()
    async with runtime.database.transaction(tenant.id, write=True) as db:
        booking, terms = await cancel_booking(db, principal, ref, reason=fields.get("reason", "")[:500], now=now)
        money = await settle_cancellation(db, booking, terms, now=now)
    await after_cancellation(runtime, money)
    refunded = ""
    if money.refund_cents:
        refunded = f" {money.refund_cents / 100:.2f} {booking.currency} will be refunded."
    return f"Your booking is cancelled.{refunded}"
