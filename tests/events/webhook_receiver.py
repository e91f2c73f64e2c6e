"""A real local HTTP server that receives webhooks, checks their signatures and records them.
Each path behaves as told: answer 200, fail the first N times, or fail until switched."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from boka.events.webhook_signing import verify


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    base: str
    secrets: dict[str, str] = field(default_factory=dict)  # path -> secret
    fail_first: dict[str, int] = field(default_factory=dict)  # path -> failures before success
    down: set[str] = field(default_factory=set)  # paths that fail until removed
    hang_first: set[str] = field(default_factory=set)  # paths whose first request hangs
    release: threading.Event = field(default_factory=threading.Event)  # ends the hang
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def signature_ok(self, request: Received) -> bool:
        return verify(self.secrets[request.path], request.body, request.headers["boka-signature"])


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with receiver.lock:
                seen = sum(1 for r in receiver.received if r.path == self.path)
                failing = self.path in receiver.down or seen < receiver.fail_first.get(self.path, 0)
                status = 500 if failing else 200
                receiver.received.append(Received(
                    path=self.path, headers={k.lower(): v for k, v in self.headers.items()},
                    body=body, status=status,
                ))
            if self.path in receiver.hang_first and seen == 0:
                receiver.release.wait(60)  # the sender gives up, or is killed, meanwhile
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(base=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
