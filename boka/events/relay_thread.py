"""The relay outside the app: worker.py runs it on a thread with its own event loop."""

from __future__ import annotations

import asyncio
import threading

from boka.config import Settings
from boka.db import Database, create_engine
from boka.events.broadcast import make_broadcast
from boka.events.consumers import load_consumer_modules
from boka.events.live import build_relay


async def run_relay(settings: Settings) -> None:
    """Connect, then publish until cancelled."""
    database = Database(create_engine(settings))
    broadcast = make_broadcast(settings.redis_url)
    await broadcast.connect()
    load_consumer_modules()
    try:
        await build_relay(settings, database, broadcast).run()
    finally:
        await broadcast.disconnect()
        await database.dispose()


def start_relay_thread(settings: Settings) -> threading.Thread:
    thread = threading.Thread(target=asyncio.run, args=(run_relay(settings),), name="boka-relay", daemon=True)
    thread.start()
    return thread
