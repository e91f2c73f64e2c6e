"""Migrations: from empty to head on both dialects, with no drift from the models."""

from __future__ import annotations

import ast
import asyncio
import importlib.util
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from alembic import command
from alembic.script import ScriptDirectory
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


async def test_the_analytics_rollup_is_backfilled_from_the_history(
    fresh_postgres: Callable[[], str],
) -> None:
    """Migration 0018 on a database with bookings (with payments and refunds) builds each
    tenant's rollup, and reports from it equal the raw computation's."""
    from bench.analytics import _add_bookings, _open_salon
    from bench.harness import BenchDatabase
    from boka.analytics.periods import Granularity, Period
    from boka.analytics.queries import Reach
    from boka.analytics.report import analytics_report
    from boka.analytics.rollup import rollup_figures
    from boka.config import Settings
    from boka.db import Database, create_engine

    url = fresh_postgres()
    # The history is written by today's code (its models know every later column), then the
    # schema goes back to before the rollup and up again: 0018 meets an existing history.
    await asyncio.to_thread(upgrade_to_head, url)
    owner = BenchDatabase(url, url, "backfill")
    salon = await _open_salon(owner)
    first = date(2026, 3, 27)
    await _add_bookings(owner, salon, first, first + timedelta(days=4))  # across the DST change
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0017")
    await asyncio.to_thread(upgrade_to_head, url)

    database = Database(create_engine(Settings(database_url=url, secret_key="x" * 32)))
    try:
        for granularity in Granularity:
            period = Period.of(date(2026, 3, 1), date(2026, 4, 30), "Europe/Berlin", granularity)
            async with database.transaction(salon.tenant_id) as db:
                assert await rollup_figures(db, Reach(salon.tenant_id), period) is not None
                rolled = await analytics_report(db, Reach(salon.tenant_id), period)
                raw = await analytics_report(db, Reach(salon.tenant_id), period, use_rollup=False)
            assert rolled.totals.total == raw.totals.total == 60 * 11 * 5
            assert rolled.totals.revenue == raw.totals.revenue
            assert [(d, t.by_status, t.revenue) for d, t in rolled.buckets] == [
                (d, t.by_status, t.revenue) for d, t in raw.buckets]
            assert [(s.member.id, s.tally.by_status, s.booked_seconds) for s in rolled.staff] == [
                (s.member.id, s.tally.by_status, s.booked_seconds) for s in raw.staff]
            assert (rolled.new_customers, rolled.returning_customers) == (
                raw.new_customers, raw.returning_customers)
    finally:
        await database.dispose()


MIGRATIONS = Path(__file__).resolve().parent.parent / "alembic"


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_no_migration_imports_boka() -> None:
    """Migrations are history: what they run is written in them or in alembic/frozen, never
    imported from the application, whose next change would rewrite them."""
    files = [*sorted((MIGRATIONS / "versions").glob("*.py")), *sorted((MIGRATIONS / "frozen").glob("*.py"))]
    assert len(files) > 20
    offenders = {
        path.name: sorted(m for m in _imported_modules(path) if m == "boka" or m.startswith("boka."))
        for path in files
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_migration_files_are_in_apply_order() -> None:
    """Each file is named by its revision, and sorting the names gives the order they apply in."""
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    applied = list(reversed(list(script.walk_revisions())))
    assert [Path(r.path).name[:4] for r in applied] == [r.revision for r in applied]
    assert [r.revision for r in applied] == sorted(p.name[:4] for p in (MIGRATIONS / "versions").glob("*.py"))


def test_the_newest_frozen_policy_sql_is_boka_rls() -> None:
    """boka/rls.py says what the policies are now; the newest frozen copy is what the
    migrations applied last. They must agree: a change to the policies takes a migration that
    applies it (and a frozen copy of its own)."""
    from boka import rls

    newest = sorted((MIGRATIONS / "frozen").glob("frozen_rls_*.py"))[-1]
    spec = importlib.util.spec_from_file_location(newest.stem, newest)
    assert spec is not None and spec.loader is not None
    frozen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(frozen)
    for account_rows in (False, True):
        assert frozen.tenant_isolation_statements("t", account_rows=account_rows) == (
            rls.tenant_isolation_statements("t", account_rows=account_rows))
    assert (frozen.POLICY_NAME, frozen.ALL_TENANTS_POLICY_NAME, frozen.ALL_TENANTS_ROLE) == (
        rls.POLICY_NAME, rls.ALL_TENANTS_POLICY_NAME, rls.ALL_TENANTS_ROLE)
