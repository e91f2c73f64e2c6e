"""The load generator of bench/fanout.py: many websocket subscribers on one event loop, in a
process of their own, so they cost the machine little and never share a loop with a server.

    python -m bench.fanout_clients --mode graphql --target ws://127.0.0.1:8000/graphql=1000 \\
        --token TOKEN --tenant bench

Modes: ``graphql`` (graphql-transport-ws: connection_init, then one ``bookingEvents``
subscription per connection; a message's key is the booking's id) and ``bare`` (the baseline's
``/ws``: a message's key is its ``key``). Raw ``websockets`` clients, no compression (uvicorn
would otherwise deflate every message for every socket), uvloop.

It talks to its parent in lines. On stdout: ``READY <open> <failed>`` once every connection is
subscribed; ``DONE <key>`` when every open connection has received ``key``. On stdin:
``REPORT`` makes it print ``REPORT <json>`` (each receipt as [connection, key, time.time()],
each event's ``occurredAt`` by key, and how connections ended) and exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

SUBSCRIBE = "subscription { bookingEvents { eventId type occurredAt booking { id status startTime } } }"
OPENING_AT_ONCE = 32


class Clients:
    def __init__(self, mode: str, token: str | None, tenant: str | None, query: str) -> None:
        self.mode = mode
        self.token = token
        self.tenant = tenant
        self.query = query
        self.receipts: list[tuple[int, str, float]] = []
        self.occurred: dict[str, str] = {}  # key -> the event's occurredAt, when it has one
        self.counts: Counter[str] = Counter()
        self.ended: Counter[str] = Counter()  # how connections ended, e.g. "close 4401"
        self.open = 0
        self.failed = 0

    async def open_one(self, index: int, url: str, gate: asyncio.Semaphore) -> ClientConnection | None:
        async with gate:
            try:
                ws = await connect(url, subprotocols=["graphql-transport-ws"] if self.mode == "graphql" else None,
                                   compression=None, open_timeout=120, ping_interval=None, max_queue=None)
                if self.mode == "graphql":
                    payload: dict[str, Any] = {"tenant": self.tenant}
                    if self.token:
                        payload["authorization"] = f"Bearer {self.token}"
                    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
                    ack = json.loads(await asyncio.wait_for(ws.recv(), 120))
                    if ack.get("type") != "connection_ack":
                        raise RuntimeError(f"no ack: {ack}")
                    await ws.send(json.dumps({"type": "subscribe", "id": "1",
                                              "payload": {"query": self.query}}))
            except Exception as error:  # noqa: BLE001
                self.failed += 1
                self.ended[f"failed to open: {type(error).__name__}"] += 1
                return None
        self.open += 1
        return ws

    def key_of(self, message: dict[str, Any]) -> str | None:
        if self.mode == "bare":
            return message.get("key")
        if message.get("type") != "next":
            return None
        data = (message.get("payload") or {}).get("data") or {}
        event = data.get("bookingEvents") or {}
        key = (event.get("booking") or {}).get("id")
        if key is not None and "occurredAt" in event:
            self.occurred[key] = event["occurredAt"]
        return key

    async def read(self, index: int, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                now = time.time()
                message = json.loads(raw)
                key = self.key_of(message)
                if key is None:
                    kind = message.get("type")
                    if kind == "ping":
                        await ws.send('{"type":"pong"}')
                    elif kind in ("error", "complete") or (kind == "next" and "errors" in message.get("payload", {})):
                        self.ended[f"{kind}: {json.dumps(message.get('payload'))[:200]}"] += 1
                    continue
                self.receipts.append((index, key, now))
                self.counts[key] += 1
                if self.counts[key] == self.open:
                    print(f"DONE {key}", flush=True)
        except ConnectionClosed as closed:
            self.open -= 1
            self.ended[f"close {closed.rcvd.code if closed.rcvd else 'abnormal'}"] += 1


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["graphql", "bare"], required=True)
    parser.add_argument("--target", action="append", required=True, help="URL=COUNT")
    parser.add_argument("--token")
    parser.add_argument("--tenant")
    parser.add_argument("--query", default=SUBSCRIBE)
    args = parser.parse_args(argv)
    clients = Clients(args.mode, args.token, args.tenant, args.query)
    gate = asyncio.Semaphore(OPENING_AT_ONCE)
    urls = [url for target in args.target for url, count in [target.rsplit("=", 1)] for _ in range(int(count))]
    opened = await asyncio.gather(*(clients.open_one(i, url, gate) for i, url in enumerate(urls)))
    connections = [(i, ws) for i, ws in enumerate(opened) if ws is not None]
    readers = [asyncio.create_task(clients.read(i, ws)) for i, ws in connections]
    print(f"READY {clients.open} {clients.failed}", flush=True)

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line in ("REPORT", ""):
            break
    report = {"receipts": clients.receipts, "occurred": clients.occurred, "ended": dict(clients.ended),
              "open": clients.open, "failed": clients.failed}
    print("REPORT " + json.dumps(report), flush=True)
    for task in readers:
        task.cancel()
    await asyncio.gather(*(ws.close() for _, ws in connections), return_exceptions=True)


if __name__ == "__main__":
    import uvloop

    uvloop.run(main(sys.argv[1:]))
