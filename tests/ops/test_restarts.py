"""A PostgreSQL restart under light load loses nothing acknowledged (issue 17 item 5): a
cluster of the test's own, the app (with its relay) booking on it through a Redis of the test's
own, a booker that keeps booking while the cluster restarts. Requests that fail while the
server is away fail with a typed error (never INTERNAL); every booking the API acknowledged is
in the database afterwards, with its events, and the relay publishes every one of them once
the server is back. (Redis restarts: tests/events/test_redis_restart.py and tests/jobs/test_rearm.py.)"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.ops.test_restore_drill import Booker, Cluster, _app_env, _python, cluster  # noqa: F401
from tests.servers import redis_server, uvicorn_server

pytestmark = pytest.mark.ops_drill

CREATE = ("mutation($i: CreateBookingInput!) { createBooking(input: $i) { booking { id } "
          "errors { code message } } }")


def _many_slots(booker: Booker, days: int = 40) -> Iterator[str]:
    """Starts two hours apart over ``days`` days (the drill's Booker looks one week ahead)."""
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=2)
    slots = booker.gql(
        "query($s: ID!, $f: DateTime!, $t: DateTime!) { availability(serviceId: $s, from: $f, to: $t) { start } }",
        {"s": booker.service, "f": start.isoformat(), "t": (start + timedelta(days=days)).isoformat()},
    )["availability"]
    spaced: list[str] = []
    for slot in sorted({slot["start"] for slot in slots}, key=datetime.fromisoformat):
        if not spaced or datetime.fromisoformat(slot) - datetime.fromisoformat(spaced[-1]) >= timedelta(hours=2):
            spaced.append(slot)
    return iter(spaced)


class KeepBooking(threading.Thread):
    """Books one slot after another until told to stop; notes what was acknowledged and how
    each refusal was answered."""

    def __init__(self, booker: Booker) -> None:
        super().__init__(daemon=True)
        self.booker = booker
        self.slots = _many_slots(booker)
        self.acknowledged: list[str] = []
        self.refusals: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.done.is_set():
            n += 1
            try:
                response = self.booker.client.post("/graphql", json={"query": CREATE, "variables": {"i": {
                    "serviceId": self.booker.service, "start": next(self.slots),
                    "customer": {"email": f"restart{n}@example.com", "firstName": "Re"}}}})
            except Exception as error:  # noqa: BLE001 - the connection itself failed: not acknowledged
                self.refusals.append(type(error).__name__)
                continue
            body = response.json()
            made = (body.get("data") or {}).get("createBooking")
            if response.status_code == 200 and made and made["booking"] and not made["errors"]:
                self.acknowledged.append(base64.b64decode(made["booking"]["id"]).decode().split(":", 1)[1])
            else:
                codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
                self.refusals.append(",".join(c or "?" for c in codes) or f"HTTP {response.status_code}")
            time.sleep(0.1)


def test_a_postgres_restart_under_light_load_loses_no_acknowledged_booking(
    cluster: Cluster, tmp_path: Path  # noqa: F811
) -> None:
    cluster.create()
    owner = {**_app_env(cluster), "BOKA_MIGRATION_DATABASE_URL": cluster.url("postgres")}
    _python("-m", "boka.migrations", "--create-app-role", env=owner)
    _python("-c", "import asyncio, app; asyncio.run(app._seed())", env=_app_env(cluster))

    with redis_server(tmp_path / "redis.log") as redis:
        env = {**_app_env(cluster), "BOKA_REDIS_URL": redis.url, "BOKA_RELAY_IN_APP": "true"}
        with uvicorn_server(env, tmp_path / "app.log", allow_errors=True) as base:
            booker = KeepBooking(Booker(base))
            booker.start()
            time.sleep(2)
            before = len(booker.acknowledged)
            # (its log to a file: a server holding pg_ctl's output pipe would keep run() waiting)
            cluster.run(str(cluster.bin / "pg_ctl"), "-D", str(cluster.data), "-m", "fast", "-w", "restart",
                        "-l", str(cluster.work / "primary.log"),
                        "-o", f"-p {cluster.port} -k {cluster.work} -c listen_addresses=127.0.0.1")
            restarted = len(booker.acknowledged)
            deadline = time.monotonic() + 30  # light load goes on until bookings succeed again
            while len(booker.acknowledged) < restarted + 5 and time.monotonic() < deadline:
                time.sleep(0.2)
            booker.done.set()
            booker.join(timeout=30)

            acknowledged = booker.acknowledged
            assert before >= 3 and len(acknowledged) >= restarted + 5, (before, restarted, booker.refusals)
            assert "INTERNAL" not in ",".join(booker.refusals), booker.refusals
            ids = ",".join(f"'{booking_id}'" for booking_id in acknowledged)
            assert cluster.sql(f"select count(*) from bookings where id in ({ids})") == str(len(acknowledged))
            assert cluster.sql(
                "select count(distinct aggregate_id) from events "
                f"where type = 'booking.created' and aggregate_id in ({ids})"
            ) == str(len(acknowledged))
            unpublished = "-1"
            for _ in range(150):  # the relay, back on its feet, publishes everything written
                unpublished = cluster.sql("select count(*) from events where published_at is null")
                if unpublished == "0":
                    break
                time.sleep(0.2)
            assert unpublished == "0"
    print(f"postgres restart: {len(acknowledged)} bookings acknowledged, all kept; "
          f"{len(booker.refusals)} refused while it restarted: {sorted(set(booker.refusals))}")
