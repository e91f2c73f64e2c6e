"""``/dev/mailbox``: the messages the dev mailbox captured (boka/notifications/dev_mailbox.py),
newest first, each readable with its links and attachments. Served only where the mailbox can
be on: the embedded mode, or ``BOKA_DEV_MAILBOX=true``."""

from __future__ import annotations

import html
import re

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from boka.config import Settings
from boka.notifications.dev_mailbox import CapturedMessage, DevMailbox

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>{body}</body></html>"""
_URL = re.compile(r"https?://[^\s<>\"']+")


def _mailbox(request: Request) -> DevMailbox:
    settings: Settings = request.app.state.runtime.settings
    return DevMailbox(settings.dev_mailbox_dir, settings.public_url)


def _linked(text: str) -> str:
    """Escaped text with every URL a link (the escaping first: a message cannot inject markup)."""
    escaped = html.escape(text)
    return _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)


def _render(message: CapturedMessage) -> str:
    head = f"<p><b>{html.escape(message.channel.upper())} to {html.escape(message.to)}</b>"
    if message.subject:
        head += f": {html.escape(message.subject)}"
    head += "</p>"
    files = "".join(
        f'<li><a href="/dev/mailbox/{message.id}/{index}">{html.escape(a.filename)}</a> '
        f"({html.escape(a.content_type)})</li>"
        for index, a in enumerate(message.attachments)
    )
    return head + f"<pre>{_linked(message.body)}</pre>" + (f"<ul>{files}</ul>" if files else "")


async def mailbox_page(request: Request) -> Response:
    messages = _mailbox(request).messages()
    if not messages:
        body = "<p>No messages yet. Book something, sign up or invite someone, then reload.</p>"
    else:
        body = "".join(
            f'<hr><p><a href="/dev/mailbox/{m.id}">#{m.id}</a></p>{_render(m)}' for m in messages
        )
    return HTMLResponse(_PAGE.format(title=f"Dev mailbox ({len(messages)})", body=body))


async def message_page(request: Request) -> Response:
    message = _mailbox(request).get(request.path_params["id"])
    if message is None:
        return HTMLResponse(_PAGE.format(title="No such message", body=""), status_code=404)
    return HTMLResponse(_PAGE.format(title=html.escape(message.subject or "SMS"), body=_render(message)))


async def attachment(request: Request) -> Response:
    message = _mailbox(request).get(request.path_params["id"])
    index = request.path_params["index"]
    if message is None or index >= len(message.attachments):
        return Response("No such attachment.\n", status_code=404, media_type="text/plain")
    found = message.attachments[index]
    safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", found.filename)
    return Response(found.data, media_type=found.content_type,
                    headers={"Content-Disposition": f'attachment; filename="{safe_name}"'})


def dev_mailbox_routes(settings: Settings) -> list[Route]:
    if not settings.dev_mailbox_possible:
        return []
    return [
        Route("/dev/mailbox", mailbox_page, methods=["GET"]),
        Route("/dev/mailbox/{id}", message_page, methods=["GET"]),
        Route("/dev/mailbox/{id}/{index:int}", attachment, methods=["GET"]),
    ]
