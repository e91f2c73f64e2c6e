"""Routes that messages and calendar apps reach without signing in: a staff member's ICS feed
and the unsubscribe link (RFC 8058 one-click POST, or a confirmation page for a browser)."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from boka.notifications.feeds import render_feed
from boka.notifications.unsubscribe import unsubscribe
from boka.runtime import Runtime

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>{body}</body></html>"""


async def calendar_feed(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    ics = await render_feed(runtime.database, runtime.settings, request.path_params["token"])
    if ics is None:
        return Response("Unknown or revoked calendar feed.\n", status_code=404, media_type="text/plain")
    return Response(
        ics, media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300",
                 "Content-Disposition": 'inline; filename="bookings.ics"'},
    )


async def unsubscribe_link(request: Request) -> Response:
    """GET shows a button (link scanners must not unsubscribe anyone); POST unsubscribes."""
    token = request.path_params["token"]
    if request.method == "GET":
        body = (f'<form method="post" action="{html.escape(request.url.path)}">'
                '<p>Stop all booking emails and text messages?</p>'
                '<button type="submit">Unsubscribe</button></form>')
        return HTMLResponse(_PAGE.format(title="Unsubscribe", body=body))
    runtime: Runtime = request.app.state.runtime
    customer = await unsubscribe(runtime.database, runtime.settings, token)
    if customer is None:
        return HTMLResponse(_PAGE.format(title="Link not valid", body="<p>This link is not valid.</p>"),
                            status_code=404)
    return HTMLResponse(_PAGE.format(
        title="Unsubscribed",
        body="<p>You will get no more messages about your bookings. You can turn them back on "
             "in your account.</p>",
    ))
