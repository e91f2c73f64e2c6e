"""The deployed stack, started (issue 17 item 3): the processes docker-compose.yml runs, from
its config files (tests/deploy/stack.py), checked as a whole: nginx balances requests over both
app replicas, a subscription through nginx receives the bookings made through either replica
(fan-out across processes via the worker's relay and Redis), Prometheus scrapes every target and
has loaded the alert rules.

And graceful shutdown (item 5): SIGTERM to one app, as `docker stop` or a rolling restart sends
it, lets its in-flight request finish, closes its websockets with 1012 (Service Restart: clients
reconnect) and nginx sends new connections to the other app. The worker's side (it finishes its
running job on SIGTERM) is tests/jobs/test_worker_loop.py."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from contextlib import AsyncExitStack

from httpx_ws import WebSocketDisconnect, aconnect_ws

from boka.config import Settings
from boka.models.tenancy import Role
from tests.booking.support import BookingWorld, future_day, local
from tests.deploy.stack import DEPLOY, find_binary, stack, wait_for_http
from tests.events.support import BOOKING_EVENTS, CREATE, next_payload, subscribe
from tests.support import World

pytestmark = pytest.mark.skipif(
    find_binary("nginx") is None or find_binary("envsubst") is None,
    reason="Debian's nginx (and gettext's envsubst) are needed: `apt-get install nginx` (.ci/run does)",
)


def graphql_count(metrics: str, operation: str) -> float:
    pattern = re.compile(r'^boka_graphql_requests_total\{([^}]*)\} (\S+)$', re.M)
    return sum(float(value) for labels, value in pattern.findall(metrics) if f'operation="{operation}"' in labels)


async def book(client: httpx.AsyncClient, base: str, token: str, service_id: str, hour: int, email: str) -> str:
    response = await client.post(f"{base}/graphql", headers={"Authorization": f"Bearer {token}", "X-Tenant": "salon"},
                                 json={"query": CREATE, "variables": {"input": {
                                     "serviceId": service_id, "start": local(future_day(), hour).isoformat(),
                                     "customer": {"email": email}}}})
    assert response.status_code == 200, response.text
    result = response.json()["data"]["createBooking"]
    assert not result["errors"], result
    return result["booking"]["id"]


async def test_the_stack_balances_fans_out_and_is_scraped(
    app: Any, settings: Settings, world: World, tmp_path: Path
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    manager = await world.person(tenant, Role.MANAGER)
    with_prometheus = find_binary("prometheus") is not None
    started = time.monotonic()
    with stack(tmp_path, database_url=settings.database_url, redis_url=settings.redis_url or "",
               prometheus=with_prometheus) as running:
        async with httpx.AsyncClient(timeout=30) as client:
            # 1. nginx round-robins over both replicas: each process counted its share
            for _ in range(20):
                response = await client.post(f"{running.url}/graphql", headers={"X-Tenant": "salon"},
                                             json={"query": "query StackBalance { __typename }"})
                assert response.status_code == 200 and response.json()["data"] == {"__typename": "Query"}
            counts = [graphql_count((await client.get(f"{url}/metrics")).text, "StackBalance")
                      for url in running.app_urls]
            assert sum(counts) == 20 and min(counts) >= 5, f"not balanced: {counts}"
            upstreams = set(re.findall(r"upstream=(\S+)", running.access_log.read_text()))
            assert {url.removeprefix("http://") for url in running.app_urls} <= upstreams
            # /metrics is for Prometheus on each replica, not for the outside world
            assert (await client.get(f"{running.url}/metrics")).status_code == 404

            # 2. a subscription through nginx gets the bookings made through each replica: one of
            # them was made on the other process (the worker's relay publishes, Redis fans out)
            async with aconnect_ws(f"{running.url}/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
                await ws.send_json({"type": "connection_init",
                                    "payload": {"authorization": f"Bearer {manager.token}", "tenant": "salon"}})
                assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
                await subscribe(ws, "e", BOOKING_EVENTS)
                await asyncio.sleep(0.3)
                booked = [await book(client, base, manager.token, staffed.service_id, 9 + index, f"c{index}@example.com")
                          for index, base in enumerate(running.app_urls)]
                received = []
                for _ in booked:
                    message = await next_payload(ws, timeout=10)
                    event = message["payload"]["data"]["bookingEvents"]
                    assert event["type"] == "booking.created"
                    received.append(event["booking"]["id"])
                assert sorted(received) == sorted(booked)

        # 3. Prometheus, on deploy/prometheus.yml: every target up, the rule files loaded
        if with_prometheus:
            assert running.prometheus is not None
            # exits at start on a config or rule file it cannot load: fail with its log
            wait_for_http(running.prometheus, f"{running.prometheus_url}/-/ready")
            await _check_prometheus(running.prometheus_url, running.app_urls, running.worker_metrics_url)
        assert not running.app_logs_errors(), running.app_logs_errors()[:3]
    print(f"stack test: {time.monotonic() - started:.1f} s")
    if not with_prometheus:
        pytest.skip("Debian's prometheus is not installed: the Prometheus checks did not run (the rest passed)")


async def _check_prometheus(base: str, app_urls: list[str], worker_url: str) -> None:
    expected = {("boka-app", url.removeprefix("http://")) for url in app_urls}
    expected.add(("boka-worker", worker_url.removeprefix("http://")))
    deadline = time.monotonic() + 60  # the first scrape comes within one scrape_interval (15 s)
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            targets = (await client.get(f"{base}/api/v1/targets", params={"state": "active"})).json()["data"]
            health = {(t["labels"]["job"], t["labels"]["instance"]): (t["health"], t["lastError"])
                      for t in targets["activeTargets"]}
            if set(health) == expected and all(h == "up" for h, _ in health.values()):
                break
            assert time.monotonic() < deadline, f"Prometheus targets not all up: {health}"
            await asyncio.sleep(1)

        config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
        patterns = config.get("rule_files") or []
        assert not [p for p in patterns if Path(p).is_absolute()], (
            "rule_files must be relative to prometheus.yml (compose mounts them next to it), "
            f"so that the same file serves the stack test: {patterns}")
        rule_files = [path for pattern in patterns for path in DEPLOY.glob(pattern)]
        assert len(rule_files) >= len(patterns), f"rule_files names files deploy/ does not have: {patterns}"
        groups = (await client.get(f"{base}/api/v1/rules")).json()["data"]["groups"]
        loaded = {Path(group["file"]).name for group in groups}
        assert {path.name for path in rule_files} <= loaded, f"rule files not loaded: {loaded}"
        for path in rule_files:  # every group of every file, every rule in it
            expected_rules = sum(len(group.get("rules") or []) for group in yaml.safe_load(path.read_text())["groups"])
            got = sum(len(group["rules"]) for group in groups if Path(group["file"]).name == path.name)
            assert got == expected_rules, f"{path.name}: {got} of {expected_rules} rules loaded"


async def live_subscriber(exits: AsyncExitStack, client: httpx.AsyncClient, base: str, token: str) -> Any:
    ws = await exits.enter_async_context(aconnect_ws(f"{base}/graphql", client, subprotocols=["graphql-transport-ws"]))
    await ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}", "tenant": "salon"}})
    assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
    await subscribe(ws, "e", BOOKING_EVENTS)
    return ws


async def closed_with(ws: Any, timeout: float) -> int | None:
    """The close code the server sent within ``timeout``, or None if the socket stayed open."""
    try:
        message = await ws.receive_json(timeout=timeout)
    except WebSocketDisconnect as closed:
        return closed.code
    except TimeoutError:
        return None
    raise AssertionError(f"unexpected message {message}")


async def test_sigterm_to_an_app_drains_it_and_nginx_sends_new_connections_to_the_other(
    app: Any, settings: Settings, world: World, tmp_path: Path
) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    manager = await world.person(tenant, Role.MANAGER)
    with stack(tmp_path, database_url=settings.database_url, redis_url=settings.redis_url or "") as running:
        stopping, staying = running.apps
        async with httpx.AsyncClient(timeout=30) as client, AsyncExitStack() as exits:
            # four subscribers through nginx: round robin puts two on each app
            sockets = [await live_subscriber(exits, client, running.url, manager.token) for _ in range(4)]

            # a request in flight on the app about to stop: its body is still arriving
            rest_of_body = asyncio.Event()
            body_started = asyncio.Event()

            async def slow_body() -> Any:
                yield b'{"query": "query SlowRequest {'
                body_started.set()
                await rest_of_body.wait()
                yield b' __typename }"}'

            slow = asyncio.create_task(client.post(
                f"{running.app_urls[0]}/graphql", content=slow_body(),
                headers={"Content-Type": "application/json", "X-Tenant": "salon"}))
            await body_started.wait()
            await asyncio.sleep(0.5)

            os.kill(stopping.pid, signal.SIGTERM)

            # its websockets are closed with 1012 (Service Restart), the others stay open
            codes = await asyncio.gather(*(closed_with(ws, timeout=3) for ws in sockets))
            assert sorted(codes, key=str) == [1012, 1012, None, None], codes
            # still draining (the slow request holds it), it takes no new connections: nginx
            # sends every request to the other app, none fails
            assert stopping.alive()
            access_lines = len(running.access_log.read_text().splitlines())
            for _ in range(10):
                response = await client.post(f"{running.url}/graphql", headers={"X-Tenant": "salon"},
                                             json={"query": "query AfterSigterm { __typename }"})
                assert response.status_code == 200, response.text
            served_by = [re.search(r"upstream=(.*)$", line).group(1)  # type: ignore[union-attr]
                         for line in running.access_log.read_text().splitlines()[access_lines:]]
            staying_address = running.app_urls[1].removeprefix("http://")
            assert served_by and all(upstream.endswith(staying_address) for upstream in served_by), served_by
            assert stopping.alive(), "the app stopped before its in-flight request finished"

            # the in-flight request completes, then the app exits, cleanly
            rest_of_body.set()
            response = await slow
            assert response.status_code == 200 and response.json()["data"] == {"__typename": "Query"}
            await asyncio.to_thread(stopping.popen.wait, 15)
            # uvicorn, done shutting down, re-raises the signal it caught: exit by SIGTERM
            # (143 in a container) after "Application shutdown complete"
            assert stopping.popen.returncode == -signal.SIGTERM, stopping.log()[-2000:]
            assert "Application shutdown complete" in stopping.log()

            # the clients told to reconnect do, through nginx, to the app still running, and
            # get what happens next, as do the subscribers that were never interrupted
            reconnected = [await live_subscriber(exits, client, running.url, manager.token)
                           for code in codes if code == 1012]
            listening = reconnected + [ws for ws, code in zip(sockets, codes) if code is None]
            await asyncio.sleep(0.3)
            booking = await book(client, running.url, manager.token, staffed.service_id, 11, "after@example.com")
            for ws in listening:
                event = (await next_payload(ws, timeout=10))["payload"]["data"]["bookingEvents"]
                assert event["booking"]["id"] == booking
        assert not running.app_logs_errors(), running.app_logs_errors()[:3]
