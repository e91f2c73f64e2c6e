"""A real local HTTP server publishing calendar feeds the way Google, Outlook and iCloud do:
each path serves a body with validators (ETag, Last-Modified) and answers a conditional GET
with 304, or misbehaves as told (slow, redirecting, failing). It records every request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from string import Template
from typing import Any

FEEDS = Path(__file__).parent / "calendar_feeds"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def render(name: str, monday: date, **extra: str) -> bytes:
    """``calendar_feeds/<name>.ics`` with ${mon0} … ${sun1} the dates of the week starting
    ``monday`` and of the week after (YYYYMMDD)."""
    days = {
        f"{day}{week}": (monday + timedelta(days=index + 7 * week)).strftime("%Y%m%d")
        for week in (0, 1) for index, day in enumerate(WEEKDAYS)
    }
    return Template((FEEDS / f"{name}.ics").read_text()).substitute(days, **extra).encode()


@dataclass
class Feed:
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200
    delay: float = 0.0
    redirect_to: str | None = None


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    status: int


@dataclass
class FeedServer:
    base: str
    feeds: dict[str, Feed] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, path: str, body: bytes, *, etag: str | None = None, with_dates: bool = True) -> str:
        self.feeds[path] = Feed(
            body, etag=etag, last_modified=formatdate(time.time(), usegmt=True) if with_dates else None
        )
        return self.base + path

    def at(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path == path]


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    server_state: FeedServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            feed = server_state.feeds.get(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = 404 if feed is None else feed.status
            if feed is not None and feed.redirect_to:
                status = 302
            elif feed is not None and status == 200:
                if feed.etag and headers.get("if-none-match") == feed.etag:
                    status = 304
                elif not feed.etag and feed.last_modified and headers.get("if-modified-since") == feed.last_modified:
                    status = 304
            with server_state.lock:
                server_state.requests.append(Request(self.path, headers, status))
            if feed is not None and feed.delay:
                time.sleep(feed.delay)
            self.send_response(status)
            if status == 302:
                self.send_header("Location", feed.redirect_to)  # type: ignore[union-attr]
            if feed is not None and status in (200, 304):
                if feed.etag:
                    self.send_header("ETag", feed.etag)
                if feed.last_modified:
                    self.send_header("Last-Modified", feed.last_modified)
            body = feed.body if feed is not None and status == 200 else b""
            self.send_header("Content-Type", "text/calendar; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout or the size cap)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server_state = FeedServer(base=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server.shutdown()
        server.server_close()
