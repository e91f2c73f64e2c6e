"""The baseline of bench/fanout.py: a bare Starlette websocket fan-out, served by uvicorn like
Boka (``uvicorn bench.baseline_fanout:app``).

Clients connect to ``/ws`` and only listen. ``POST /trigger`` with ``{"key": ..., "size": n}``
answers at once and sends one text message of about ``size`` bytes, carrying the key, to every
connected client, one ``await send_text`` after another: the least a Python server can do to
tell 1,000 sockets about something.
"""

from __future__ import annotations

import asyncio
import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

clients: set[WebSocket] = set()
_fanning: set[asyncio.Task[None]] = set()


async def listen(websocket: WebSocket) -> None:
    await websocket.accept()
    clients.add(websocket)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        clients.discard(websocket)


async def _fan_out(message: str) -> None:
    for websocket in list(clients):
        try:
            await websocket.send_text(message)
        except Exception:  # noqa: BLE001 - a client that went away
            clients.discard(websocket)


async def trigger(request: Request) -> JSONResponse:
    body = await request.json()
    message = json.dumps({"key": body["key"], "pad": ""})
    message = json.dumps({"key": body["key"], "pad": "x" * max(0, int(body.get("size", 0)) - len(message))})
    task = asyncio.create_task(_fan_out(message))
    _fanning.add(task)
    task.add_done_callback(_fanning.discard)
    return JSONResponse({"clients": len(clients)})


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[
    WebSocketRoute("/ws", listen),
    Route("/trigger", trigger, methods=["POST"]),
    Route("/healthz", healthz),
])
