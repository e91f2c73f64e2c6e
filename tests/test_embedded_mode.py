"""The embedded default (SQLite, no Redis) stays honest: the real server, started the way
`make run` starts it, serves the demo tenant; and the API behaves on SQLite as on PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from boka.migrations import PROJECT_ROOT, upgrade_to_head
from boka.models.tenancy import Role
from boka.seed import DEMO_PASSWORD, DEMO_PEOPLE
from boka.web.app import create_app
from tests.conftest import settings_for
from tests.servers import clean_env, free_port, wait_until_healthy
from tests.support import PASSWORD, GraphQLClient, World

pytestmark = pytest.mark.sqlite

SIGN_IN = """mutation($email: String!, $password: String!) {
  signIn(input: {email: $email, password: $password}) { token errors { code } } }"""


def _start_embedded_server(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = clean_env(database_url=f"sqlite+aiosqlite:///{tmp_path / 'boka.db'}", port=str(port))
    return subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def embedded_server(tmp_path: Path) -> Iterator[Any]:
    started: list[subprocess.Popen[bytes]] = []

    def start() -> tuple[str, subprocess.Popen[bytes]]:
        port = free_port()
        process = _start_embedded_server(tmp_path, port)
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(process, base)
        return base, process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def _stop(process: subprocess.Popen[bytes]) -> str:
    process.terminate()
    output, _ = process.communicate(timeout=10)
    return output.decode()


def test_embedded_server_serves_the_demo_owner(embedded_server: Any) -> None:
    base, process = embedded_server()
    owner = DEMO_PEOPLE[0]
    # The demo tenant's domain is localhost, so the browser's Host header finds it.
    headers = {"Host": "localhost"}

    signed_in = httpx.post(
        f"{base}/graphql",
        json={"query": SIGN_IN, "variables": {"email": owner.email, "password": DEMO_PASSWORD}},
        headers=headers,
    ).json()
    token = signed_in["data"]["signIn"]["token"]
    viewer = httpx.post(
        f"{base}/graphql",
        json={"query": "{ viewer { user { email } tenant { slug name } role } }"},
        headers=headers | {"Authorization": f"Bearer {token}"},
    ).json()
    ready = httpx.get(f"{base}/readyz")

    assert viewer["data"]["viewer"] == {
        "user": {"email": owner.email},
        "tenant": {"slug": "demo", "name": "Demo Studio"},
        "role": "OWNER",
    }
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "live": "ok"}
    output = _stop(process)
    assert "new demo tenant" in output and owner.email in output and DEMO_PASSWORD in output


def test_restarting_the_embedded_server_keeps_the_data_and_does_not_reseed(embedded_server: Any) -> None:
    _, first = embedded_server()
    assert "new demo tenant" in _stop(first)

    base, second = embedded_server()
    response = httpx.post(
        f"{base}/graphql",
        json={"query": SIGN_IN, "variables": {"email": DEMO_PEOPLE[1].email, "password": DEMO_PASSWORD}},
    ).json()
    assert response["data"]["signIn"]["errors"] == []
    assert "existing demo tenant" in _stop(second)


@pytest.fixture
async def sqlite_app(tmp_path: Path) -> AsyncIterator[Any]:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'api.db'}", redis_url=None)
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_sign_in_roles_and_isolation_work_on_sqlite(sqlite_app: Any) -> None:
    world = World(sqlite_app.state.runtime)
    alpha = await world.tenant("alpha")
    await world.tenant("beta")
    owner = await world.person(alpha, Role.OWNER, email="owner@alpha.example")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://t") as http:
        gql = GraphQLClient(http)
        signed_in = await gql(SIGN_IN, {"email": "owner@alpha.example", "password": PASSWORD}, tenant="alpha")
        members = await gql("{ members { edges { node { role } } } }", token=owner.token, tenant="alpha")
        elsewhere = await gql("{ members { edges { node { role } } } }", token=owner.token, tenant="beta")
        wrong = await gql(SIGN_IN, {"email": "owner@alpha.example", "password": "nope nope nope"})

    assert signed_in.data["signIn"]["errors"] == []
    assert members.data["members"]["edges"] == [{"node": {"role": "OWNER"}}]
    assert elsewhere.error_codes == ["FORBIDDEN"]
    assert wrong.data["signIn"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]


async def test_booking_the_demo_tenant_works_on_sqlite(sqlite_app: Any) -> None:
    from boka.seed import seed_demo_tenant

    assert await seed_demo_tenant(sqlite_app.state.runtime.database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://t") as http:
        gql = GraphQLClient(http)
        services = await gql("{ services { edges { node { id name } } } }", tenant="demo")
        haircut = next(e["node"]["id"] for e in services.data["services"]["edges"] if e["node"]["name"] == "Haircut")
        carl = (await gql(SIGN_IN, {"email": "carl@example.com", "password": DEMO_PASSWORD}, tenant="demo")).data["signIn"]["token"]
        http.cookies.clear()  # the walk-ins below are guests, not Carl
        now = datetime.now(UTC)
        slots = await gql(
            "query S($s: ID!, $f: DateTime!, $t: DateTime!) { availability(serviceId: $s, from: $f, to: $t) { start staff { id } } }",
            {"s": haircut, "f": now.isoformat(), "t": (now + timedelta(days=7)).isoformat()}, tenant="demo",
        )
        # (Anna teaches the yoga timetable some mornings: a time all three are free)
        start = next(s["start"] for s in slots.data["availability"] if len(s["staff"]) == 3)
        book = """mutation B($input: CreateBookingInput!) { createBooking(input: $input) {
                    booking { status staff { id } } errors { code } } }"""
        attempts = await asyncio.gather(*(
            gql(book, {"input": {"serviceId": haircut, "start": start,
                                 "customer": {"email": f"walkin{i}@example.com"}}}, tenant="demo")
            for i in range(8)
        ))
        carl_too = await gql(book, {"input": {"serviceId": haircut, "start": start}}, token=carl, tenant="demo")

    assert all(not a.errors for a in attempts), [a.errors for a in attempts][:2]
    made = [a.data["createBooking"]["booking"] for a in attempts if a.data["createBooking"]["booking"]]
    refused = [a.data["createBooking"]["errors"] for a in attempts if a.data["createBooking"]["errors"]]
    assert carl_too.data["createBooking"]["errors"] == [{"code": "SLOT_UNAVAILABLE"}]
    # the demo has three staff who all cut hair: three bookings fit, each with someone else
    assert len(made) == 3 and len({b["staff"]["id"] for b in made}) == 3
    assert refused == [[{"code": "SLOT_UNAVAILABLE"}]] * 5


async def test_a_refused_booking_writes_nothing_on_sqlite(sqlite_app: Any) -> None:
    """SQLite's driver would let a savepoint start (and commit) the transaction on its own;
    a refused booking must not leave its new customer behind."""
    import sqlalchemy as sa

    from boka.models.bookings import Customer
    from boka.seed import seed_demo_tenant

    await seed_demo_tenant(sqlite_app.state.runtime.database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://t") as http:
        gql = GraphQLClient(http)
        services = await gql("{ services { edges { node { id } } } }", tenant="demo")
        service = services.data["services"]["edges"][0]["node"]["id"]
        start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
        result = await gql(
            """mutation B($input: CreateBookingInput!) { createBooking(input: $input) { errors { code } } }""",
            {"input": {"serviceId": service, "start": start.isoformat(), "discountCode": "NO-SUCH-CODE",
                       "customer": {"email": "ghost@example.com"}}},
            tenant="demo",
        )
    async with sqlite_app.state.runtime.database.transaction() as db:
        ghosts = (await db.execute(sa.select(Customer).where(Customer.email == "ghost@example.com"))).all()
    assert result.data["createBooking"]["errors"] in ([{"code": "DISCOUNT_INVALID"}], [{"code": "SLOT_UNAVAILABLE"}])
    assert ghosts == []


async def test_the_demo_yoga_timetable_sells_each_class_once_on_sqlite(sqlite_app: Any) -> None:
    """The demo's yoga is a timetable (Mon/Wed/Fri 09:00 with Anna); twelve guests racing for
    one 8-seat class get 8 seats in it, whoever else could teach."""
    from boka.seed import seed_demo_tenant

    await seed_demo_tenant(sqlite_app.state.runtime.database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sqlite_app), base_url="http://t") as http:
        gql = GraphQLClient(http)
        services = await gql("{ services { edges { node { id name } } } }", tenant="demo")
        yoga = next(e["node"]["id"] for e in services.data["services"]["edges"] if e["node"]["name"] == "Morning yoga")
        now = datetime.now(UTC)
        slots = await gql(
            "query S($s: ID!, $f: DateTime!, $t: DateTime!) { availability(serviceId: $s, from: $f, to: $t) { start seatsLeft staff { displayName } } }",
            {"s": yoga, "f": now.isoformat(), "t": (now + timedelta(days=14)).isoformat()}, tenant="demo",
        )
        first = slots.data["availability"][0]
        book = """mutation B($input: CreateBookingInput!) { createBooking(input: $input) {
                    booking { classSession { id } } errors { code } } }"""
        attempts = await asyncio.gather(*(
            gql(book, {"input": {"serviceId": yoga, "start": first["start"],
                                 "customer": {"email": f"yogi{i}@example.com"}}}, tenant="demo")
            for i in range(12)
        ))

    starts = [datetime.fromisoformat(slot["start"]) for slot in slots.data["availability"]]
    assert {(s.weekday(), s.hour, s.minute) for s in starts} <= {(0, 9, 0), (2, 9, 0), (4, 9, 0)}
    assert len(starts) in (5, 6, 7)  # three classes a week for two weeks
    assert first["seatsLeft"] == 8 and first["staff"] == [{"displayName": "Anna Stylist"}]
    made = [a.data["createBooking"]["booking"] for a in attempts if a.data["createBooking"]["booking"]]
    assert len(made) == 8 and len({b["classSession"]["id"] for b in made}) == 1
    assert sorted(str(a.data["createBooking"]["errors"]) for a in attempts).count("[{'code': 'SLOT_UNAVAILABLE'}]") == 4
