"""Fixtures: a fresh PostgreSQL database per test run (Alembic-migrated), real Redis, and an
HTTP client on the real ASGI app. Nothing of ours is mocked.

As in production, the app connects as a role of its own that is not a superuser, owns no table
and cannot bypass row level security (one per run, ``boka_test_app_<pid>_<random>``, dropped at
the end), so every test also proves that its queries name their tenant. Migrations and the
truncation between tests run as the owner (the server's superuser).

BOKA_TEST_DATABASE_URL names the PostgreSQL server (its database part is only used to connect
and create the throwaway one); BOKA_TEST_REDIS_URL the Redis database the tests may flush.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import redis
from sqlalchemy.engine import make_url

from boka.config import Settings
from boka.migrations import migrate
from boka.models import metadata
from boka.web.app import create_app
from tests.notifications.servers import SmtpServer, start_smtp
from tests.support import GraphQLClient, World

TEST_DATABASE_URL = os.environ.get(
    "BOKA_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
TEST_REDIS_URL = os.environ.get("BOKA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_SECRET_KEY = "test-secret-key-not-for-production"
# Where embedded-mode apps without SMTP keep captured messages during the run (not the checkout).
TEST_MAILBOX_DIR = os.path.join(tempfile.gettempdir(), f"boka-test-mailbox-{os.getpid()}")
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_REDIS = 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _run(coro: Any) -> Any:
    """Run a coroutine to completion in a thread of its own (safe whatever loop is running)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop at once, with one clear line, if PostgreSQL or Redis is not there. Never skip."""

    async def ping_postgres() -> None:
        connection = await asyncpg.connect(_asyncpg_dsn(TEST_DATABASE_URL), timeout=5)
        await connection.close()

    try:
        _run(ping_postgres())
    except Exception as exc:  # noqa: BLE001
        pytest.exit(
            f"PostgreSQL is unreachable at {make_url(TEST_DATABASE_URL).render_as_string()} "
            f"({type(exc).__name__}: {exc}); start it with: {START_POSTGRES}",
            returncode=3,
        )
    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.exit(
            f"Redis is unreachable at {TEST_REDIS_URL} ({type(exc).__name__}: {exc}); "
            f"start it with: {START_REDIS}",
            returncode=3,
        )


async def _create_database(name: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(TEST_DATABASE_URL))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _drop_database(name: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(TEST_DATABASE_URL))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def app_role() -> Iterator[str]:
    """The run's app role (cluster-wide, hence a unique name). Dropped after every database of
    the run (``fresh_postgres`` depends on it, so it is torn down first), which takes its
    privileges and default privileges with them. Its background role (the one that may see
    every tenant) is named after it with ``_bg``."""
    name = f"boka_test_app_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield name
    _run(_drop_role(name))
    _run(_drop_role(background_role(name)))


def background_role(app_role: str) -> str:
    return f"{app_role}_bg"


async def _drop_role(name: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(TEST_DATABASE_URL))
    try:
        await connection.execute(f'DROP OWNED BY "{name}"')  # what it holds here, if anything
        await connection.execute(f'DROP ROLE IF EXISTS "{name}"')
    except asyncpg.UndefinedObjectError:
        pass  # never created: no test needed the migrated database
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def fresh_postgres(app_role: str) -> Iterator[Callable[[], str]]:
    """Makes empty PostgreSQL databases (URLs, as the owner), all dropped when the run ends."""
    created: list[str] = []

    def make() -> str:
        name = f"boka_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        _run(_create_database(name))
        created.append(name)
        return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    for name in created:
        _run(_drop_database(name))


# The URL the app uses (as the run's app role) -> the owner's URL of the same database, and
# the background role's (the one that may see every tenant, see boka/dbroles.py).
_OWNER_URLS: dict[str, str] = {}
BACKGROUND_URLS: dict[str, str] = {}


@pytest.fixture(scope="session")
def postgres_url(fresh_postgres: Callable[[], str], app_role: str) -> str:
    """The run's database, migrated to head by Alembic, as the app sees it: connected as the
    run's app role, created and granted its privileges by ``migrate`` the way
    ``python -m boka.migrations --create-app-role`` does in a deployment."""
    owner_url = fresh_postgres()
    app_url = (
        make_url(owner_url)
        .set(username=app_role, password=uuid.uuid4().hex)
        .render_as_string(hide_password=False)
    )
    background_url = (
        make_url(owner_url)
        .set(username=background_role(app_role), password=uuid.uuid4().hex)
        .render_as_string(hide_password=False)
    )
    _OWNER_URLS[app_url] = owner_url
    BACKGROUND_URLS[app_url] = background_url
    settings = settings_for(app_url)
    _run(asyncio.to_thread(migrate, settings, create_app_role=True))
    return app_url


@pytest.fixture(scope="session")
def owner_postgres_url(postgres_url: str) -> str:
    """The run's database as its owner (the server's superuser)."""
    return _OWNER_URLS[postgres_url]


def settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "migration_database_url": _OWNER_URLS.get(database_url),
        "background_database_url": BACKGROUND_URLS.get(database_url),
        "redis_url": TEST_REDIS_URL,
        "graphiql": True,
        "secret_key": TEST_SECRET_KEY,
        "log_level": "INFO",
        "dev_mailbox_dir": TEST_MAILBOX_DIR,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    return settings_for(postgres_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    """The real ASGI app with its lifespan running; tables emptied after each test."""
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
    await _truncate_all(settings)


async def execute_as_owner(settings: Settings, sql: str) -> None:
    """Run ``sql`` as the tables' owner (DDL, which the app role may not do)."""
    connection = await asyncpg.connect(_asyncpg_dsn(settings.migration_url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _truncate_all(settings: Settings) -> None:
    if settings.is_sqlite:
        return  # each SQLite test has a database file of its own
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    # As the owner: TRUNCATE is not filtered by row level security, and the app role may not.
    connection = await asyncpg.connect(_asyncpg_dsn(settings.migration_url))
    try:
        await connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@pytest.fixture
def world(app: Any) -> World:
    """Builds tenants and people directly through the domain services."""
    return World(app.state.runtime)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free local port, keeping what it receives."""
    controller, server = start_smtp()
    try:
        yield server
    finally:
        controller.stop()
