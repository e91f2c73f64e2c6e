"""Migrations: from empty to head on both dialects, with no drift from the models."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from alembic import command
from boka.migrations import alembic_config, upgrade_to_head
from boka.models import metadata

EXPECTED_TABLES = {"tenants", "users", "tenant_users", "user_sessions", "bookings", "services"}


async def _table_names(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()


def _migrate_and_check(url: str) -> set[str]:
    upgrade_to_head(url)
    # Raises if the models describe anything the migrations do not create.
    command.check(alembic_config(url))
    return asyncio.run(_table_names(url))


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'boka.db'}"


async def test_postgres_upgrades_from_empty_with_no_drift(fresh_postgres: Callable[[], str]) -> None:
    url = fresh_postgres()
    tables = await asyncio.to_thread(_migrate_and_check, url)
    assert EXPECTED_TABLES <= tables
    assert {table.name for table in metadata.sorted_tables} <= tables


@pytest.mark.sqlite
async def test_sqlite_upgrades_from_empty_with_no_drift(tmp_path: Path) -> None:
    tables = await asyncio.to_thread(_migrate_and_check, _sqlite_url(tmp_path))
    assert {table.name for table in metadata.sorted_tables} <= tables


async def test_postgres_downgrades_to_empty_and_back(fresh_postgres: Callable[[], str]) -> None:
    url = fresh_postgres()

    def round_trip() -> tuple[set[str], set[str]]:
        upgrade_to_head(url)
        command.downgrade(alembic_config(url), "base")
        emptied = asyncio.run(_table_names(url))
        upgrade_to_head(url)
        return emptied, asyncio.run(_table_names(url))

    emptied, restored = await asyncio.to_thread(round_trip)
    assert emptied <= {"alembic_version"}
    assert EXPECTED_TABLES <= restored
