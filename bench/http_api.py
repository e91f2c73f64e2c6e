"""Benchmark: Boka's GraphQL API over HTTP against same-run baselines (issue 10, goals 1-3).

    .venv/bin/python -m bench http_api       (PostgreSQL, Redis, wrk; npm for PostGraphile)

One throwaway database, migrated, with Boka's app role (row level security binds) and a busy
tenant: 3 staff, 2,000 bookings of 200 customers, an owner's session. Servers, each one uvicorn
process (PostGraphile one node process): Boka (PostgreSQL + Redis, rate limits on with a high
ceiling, as deployed), graphql-core with a document cache on bare Starlette, plain Strawberry,
and PostGraphile 4 as the database owner. wrk with 32 connections; rounds are interleaved
(baseline, Boka, baseline, ...) and the median round of each is reported.

Figures (goals): `{ __typename }` (anonymous) and a signed-in `viewer` vs graphql-core (1);
hash-only persisted `{ __typename }` vs the same query as text (1); `createBooking` on
distinct free slots vs plain Strawberry's trivial query, and its p99 (2); the first 100
bookings with customer, service and staff vs PostGraphile, and statements per request (3).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import (
    REDIS,
    BenchDatabase,
    Load,
    asyncpg_dsn,
    bench_env,
    free_port,
    median_load,
    serve,
    rss_bytes,
    serve_command,
    serve_process,
    throwaway_database,
    wrk,
)
from bench.salon import PASSWORD, open_salon
from bench.table import Row, ratio_row
from boka.db import Database, create_engine
from boka.identity.accounts import register_user
from boka.identity.memberships import add_membership
from boka.identity.sessions import DeviceInfo, start_session
from boka.models.bookings import Booking, BookingStatus, Customer
from boka.models.tenancy import Role

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
CONNECTIONS = 32
STAFF = 3
CUSTOMERS = 200
BOOKINGS = 2_000
NODE_DIR = Path(__file__).resolve().parent / ".node"

TYPENAME = json.dumps({"query": "{ __typename }"})
HELLO = json.dumps({"query": "{ hello }"})
VIEWER = json.dumps({"query": "{ viewer { user { id email } tenant { id name } role } }"})
PAGE_QUERY = """{ bookings(first: 100) { edges { node { id startTime endTime status
  customer { id firstName lastName email } service { id name } staff { id displayName } } } } }"""
POSTGRAPHILE_QUERY = """{ allBookings(first: 100, orderBy: START_TIME_ASC) { nodes { id startTime
  endTime status customerByCustomerId { id firstName lastName email } serviceByServiceId { id name }
  staffMemberByStaffId { id displayName } } } }"""
CREATE = ("mutation Book($input: CreateBookingInput!) { createBooking(input: $input) "
          "{ booking { id startTime staff { id } } errors { code message } } }")


def _gid(kind: str, row_id: uuid.UUID) -> str:
    return base64.b64encode(f"{kind}:{row_id}".encode()).decode()


async def _seed(database: BenchDatabase) -> tuple[str, uuid.UUID]:
    """The busy tenant, written as the owner. Returns the owner's session token and the service."""
    db_engine = Database(create_engine(database.settings(database_url=database.owner_url)))
    try:
        async with db_engine.transaction(write=True) as db:
            salon = await open_salon(db, staff_count=STAFF)
            tenant, service, staff = salon.tenant, salon.service, salon.staff
            owner = await register_user(db, email="owner@bench.test", password=PASSWORD,
                                        full_name="Owner")
            await add_membership(db, tenant_id=tenant.id, user_id=owner.id, role=Role.OWNER)
            issued = await start_session(db, owner, tenant_id=tenant.id,
                                         device=DeviceInfo(ip_address="127.0.0.1", user_agent="bench"),
                                         ttl=timedelta(hours=6))
            customers = [Customer(tenant_id=tenant.id, email=f"c{i}@bench.test", first_name=f"C{i}",
                                  last_name="Bench") for i in range(CUSTOMERS)]
            db.add_all(customers)
            await db.flush()
            # History in the past, so the future stays free for createBooking.
            start = datetime(2024, 1, 1, tzinfo=UTC)
            for index in range(BOOKINGS):
                member = staff[index % STAFF]
                begins = start + timedelta(minutes=30 * (index // STAFF))
                db.add(Booking(tenant_id=tenant.id, customer_id=customers[index % CUSTOMERS].id,
                               service_id=service.id, staff_id=member.id,
                               status=BookingStatus.CONFIRMED, start_time=begins,
                               end_time=begins + timedelta(minutes=30), block_start=begins,
                               block_end=begins + timedelta(minutes=30),
                               slot_key=f"{member.id}:{begins.isoformat()}", price_cents=2500,
                               currency="EUR"))
        return issued.token, service.id
    finally:
        await db_engine.dispose()


def _postgraphile() -> list[str] | None:
    """The PostGraphile 4 CLI, installed from the npm registry into bench/.node on first use."""
    binary = NODE_DIR / "node_modules" / ".bin" / "postgraphile"
    if not binary.exists():
        if shutil.which("npm") is None:
            return None
        NODE_DIR.mkdir(exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                        str(NODE_DIR), "postgraphile@4"], check=True)
    return [str(binary)]


def _statements_per_request(database: BenchDatabase, body: str, headers: dict[str, str]) -> int:
    """SQL statements (as the driver sends them: queries and set_config, not BEGIN/COMMIT) one
    request costs, counted in process on the real app against the same database."""
    import httpx
    from sqlalchemy import event

    from boka.web.app import create_app

    async def count() -> int:
        app = create_app(database.settings(redis_url=REDIS, rate_limits_enabled=False))
        statements: list[str] = []
        async with app.router.lifespan_context(app):
            engine = app.state.runtime.database.engine.sync_engine
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                (await client.post("/graphql", content=body, headers=headers)).raise_for_status()
                event.listen(engine, "before_cursor_execute", listener)
                (await client.post("/graphql", content=body, headers=headers)).raise_for_status()
                event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    return asyncio.run(count())


def _create_booking_script(service_gid: str, round_index: int) -> str:
    """Lua for wrk: each request books a free 30-minute slot of its own for a new guest, from
    two days on (each round 6 hours later in the day than the last). Consecutive requests go to different days (300 of them), as
    bookings from many customers do, rather than queueing on one staff member's day."""
    first = (datetime.now(UTC) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    first += timedelta(hours=6 * round_index)
    epoch = int(first.timestamp())
    return f"""
local counter = 0
local thread_id = 0
local threads = 0
setup = function(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end
init = function(args)
  thread_id = tonumber(wrk.thread:get("thread_id")) or 0
end
request = function()
  counter = counter + 1
  local n = counter * 2 + thread_id
  local day = n % 300
  local slot = math.floor(n / 300)
  local start = os.date("!%Y-%m-%dT%H:%M:%SZ", {epoch} + day * 86400 + slot * 1800)
  local body = '{{"query": {json.dumps(CREATE)}, "variables": {{"input": {{"serviceId": "{service_gid}", ' ..
    '"start": "' .. start .. '", "customer": {{"email": "g' .. n .. '-{round_index}@bench.test", ' ..
    '"firstName": "Guest", "lastName": "Bench"}}}}}}}}'
  return wrk.format("POST", nil, nil, body)
end
"""


def measure() -> list[Row]:
    with throwaway_database() as database:
        token, service_id = asyncio.run(_seed(database))
        return _measure(database, token, service_id)


def _measure(database: BenchDatabase, token: str, service_id: uuid.UUID) -> list[Row]:
    json_headers = {"Content-Type": "application/json"}
    boka_env = bench_env(database_url=database.app_url, redis_url=REDIS,
                         rate_limit_api_per_hour="100000000", rate_limit_auth_per_minute="100000000",
                         persisted_queries="apq", relay_in_app="false")
    tenant = {"X-Tenant": "bench"}
    owner = {**json_headers, **tenant, "Authorization": f"Bearer {token}"}
    typename_hash = hashlib.sha256(b"{ __typename }").hexdigest()
    persisted = json.dumps({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": typename_hash}}})
    rows: list[Row] = []
    pg_argv = _postgraphile()
    pg_port = free_port()
    with serve_process(boka_env) as served_boka, \
            serve(bench_env(), "bench.baseline_apps:graphql_core_app") as core, \
            serve(bench_env(), "bench.baseline_apps:strawberry_app") as plain:
        import httpx

        boka = served_boka.base
        idle_mib = rss_bytes(served_boka.pid) / 2**20  # started, migrated, nothing asked yet
        rows.append(Row("7 app memory", f"Boka app process idle: {idle_mib:.0f} MiB RSS", "-", None,
                        "<= 120 MiB", idle_mib <= 120))

        # Register the persisted query once (APQ: hash + text), as a client's first request does.
        httpx.post(boka + "/graphql", headers={**json_headers, **tenant}, content=json.dumps({
            "query": "{ __typename }", **json.loads(persisted)})).raise_for_status()
        runs: dict[str, list[Load]] = {name: [] for name in (
            "core", "plain", "typename", "viewer", "persisted", "typename_text", "create", "page")}
        for round_index in range(ROUNDS):
            runs["core"].append(wrk(core + "/graphql", body=HELLO, headers=json_headers, seconds=SECONDS))
            runs["typename"].append(wrk(boka + "/graphql", body=TYPENAME, headers={**json_headers, **tenant},
                                        seconds=SECONDS))
            runs["viewer"].append(wrk(boka + "/graphql", body=VIEWER, headers=owner, seconds=SECONDS))
            runs["persisted"].append(wrk(boka + "/graphql", body=persisted, headers={**json_headers, **tenant},
                                         seconds=SECONDS))
            runs["plain"].append(wrk(plain + "/graphql", body=HELLO, headers=json_headers, seconds=SECONDS))
            runs["create"].append(wrk(
                boka + "/graphql", headers={**json_headers, **tenant}, seconds=SECONDS,
                lua_extra=_create_booking_script(_gid("Service", service_id), round_index)))
            runs["page"].append(wrk(boka + "/graphql", body=json.dumps({"query": PAGE_QUERY}),
                                    headers=owner, seconds=SECONDS))
        statements = _statements_per_request(database, json.dumps({"query": PAGE_QUERY}), owner)
        core_load, plain_load = median_load(runs["core"]), median_load(runs["plain"])
        typename, viewer = median_load(runs["typename"]), median_load(runs["viewer"])
        persisted_load, create = median_load(runs["persisted"]), median_load(runs["create"])
        page = median_load(runs["page"])
        core_desc = f"graphql-core + doc cache {core_load.describe()}"
        rows.append(ratio_row("1 typename", f"Boka {{ __typename }} {typename.describe()}",
                              typename.requests_per_second, core_desc, core_load.requests_per_second, 0.9))
        rows.append(ratio_row("1 viewer", f"Boka signed-in viewer {viewer.describe()}",
                              viewer.requests_per_second, core_desc, core_load.requests_per_second, 0.5))
        rows.append(ratio_row("1 persisted", f"hash-only {{ __typename }} {persisted_load.describe()}",
                              persisted_load.requests_per_second, "same query as text",
                              typename.requests_per_second, 0.95, extra=" (never slower)"))
        create_row = ratio_row("2 createBooking",
                               f"distinct slots {create.describe()}, {create.errors} errors",
                               create.requests_per_second, f"plain Strawberry {plain_load.describe()}",
                               plain_load.requests_per_second, 0.3, extra=", p99 < 50 ms")
        rows.append(Row(create_row.goal, create_row.figure, create_row.baseline, create_row.ratio,
                        create_row.target, bool(create_row.met and create.p99_ms < 50 and not create.errors)))
        if pg_argv is not None:
            with serve_command(pg_argv + ["-c", asyncpg_dsn(database.owner_url), "-s", "public",
                                          "-p", str(pg_port), "-n", "127.0.0.1", "--disable-query-log"],
                               f"http://127.0.0.1:{pg_port}", health="/graphql") as served_pg:
                postgraphile = served_pg.base
                pg_runs = []
                pg_body = json.dumps({"query": POSTGRAPHILE_QUERY})
                check = httpx.post(postgraphile + "/graphql", content=pg_body, headers=json_headers).json()
                assert len(check["data"]["allBookings"]["nodes"]) == 100, check
                for _ in range(ROUNDS):
                    pg_runs.append(wrk(postgraphile + "/graphql", body=pg_body, headers=json_headers,
                                       seconds=SECONDS))
                pg_load = median_load(pg_runs)
            rows.append(ratio_row("3 100 bookings", f"Boka (app role, RLS, signed in) {page.describe()}",
                                  page.requests_per_second, f"PostGraphile 4 (owner) {pg_load.describe()}",
                                  pg_load.requests_per_second, 1.0))
        else:
            rows.append(Row("3 100 bookings", f"Boka {page.describe()}", "PostGraphile: npm missing",
                            None, ">= 1x", None))
        rows.append(Row("3 statements", f"{statements} statements per 100-booking request", "-", None,
                        "<= 6", statements <= 6 if statements >= 0 else None))
    return rows


if __name__ == "__main__":
    from bench.table import render

    print(render(measure()))
