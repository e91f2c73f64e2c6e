"""Row level security on PostgreSQL: a query that forgot its tenant filter still sees, and may
write, only its own tenant's rows, because the app connects as a role the policies bind.

The whole suite runs as such a role (tests/conftest.py); this module proves the policies
themselves, and guards that every tenant-owned table has them.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from boka.dbroles import AppRoleError, grant_app_role_async
from boka.migrations import PROJECT_ROOT
from boka.models.bookings import Customer
from boka.models.tenancy import Role, Tenant
from boka.rls import ALL_TENANTS_POLICY_NAME, ALL_TENANTS_ROLE, GLOBAL_TABLES_WITH_TENANT_ID, POLICY_NAME
from tests.booking.support import BookingWorld, future_day, local
from tests.conftest import TEST_DATABASE_URL, _asyncpg_dsn, execute_as_owner
from tests.servers import clean_env
from tests.support import GraphQLClient, World

BOOK = """mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } errors { code } } }"""


async def _tenant_with_booking(gql: GraphQLClient, world: World, slug: str) -> Tenant:
    tenant = await world.tenant(slug, time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(tenant)
    customer = await world.person(tenant, Role.CUSTOMER)
    booked = await gql(BOOK, {"input": {"serviceId": staffed.service_id, "start": local(future_day(), 10).isoformat()}},
                       token=customer.token, tenant=slug)
    assert booked.data["createBooking"]["errors"] == [], booked.body
    return tenant


async def _booking_tenants(database: Any, **scope: Any) -> list[uuid.UUID]:
    """``SELECT * FROM bookings`` with no tenant filter at all: whatever the policy lets through."""
    async with database.transaction(**scope) as db:
        rows = (await db.execute(sa.text("SELECT * FROM bookings"))).mappings().all()
    return [row["tenant_id"] for row in rows]


async def test_a_query_without_a_tenant_filter_sees_only_its_tenants_rows(
    gql: GraphQLClient, world: World
) -> None:
    salon = await _tenant_with_booking(gql, world, "salon")
    studio = await _tenant_with_booking(gql, world, "studio")
    database = world.runtime.database

    assert await _booking_tenants(database, tenant_id=salon.id) == [salon.id]
    assert await _booking_tenants(database, tenant_id=studio.id) == [studio.id]
    assert await _booking_tenants(database) == []  # no tenant named: nothing, not everything
    assert sorted(await _booking_tenants(database, all_tenants=True)) == sorted([salon.id, studio.id])


async def test_the_request_role_cannot_switch_to_all_tenants(gql: GraphQLClient, world: World) -> None:
    """Issue 12 item 10: ``SET LOCAL app.all_tenants = 'on'`` in a transaction of the role that
    serves tenant requests sees nothing of any tenant, nor may it write; only the background
    role, which ``Database.transaction(all_tenants=True)`` connects as, sees them all."""
    salon = await _tenant_with_booking(gql, world, "salon")
    studio = await _tenant_with_booking(gql, world, "studio")
    database = world.runtime.database
    assert database.background_engine is not None
    async with database.engine.connect() as connection:  # the request role, switch on by hand
        async with connection.begin():
            await connection.execute(sa.text("SET LOCAL app.all_tenants = 'on'"))
            assert (await connection.execute(sa.text("SELECT count(*) FROM bookings"))).scalar() == 0
            await connection.execute(sa.text(f"SET LOCAL app.tenant_id = '{salon.id}'"))
            seen = (await connection.execute(sa.text("SELECT DISTINCT tenant_id FROM bookings"))).scalars().all()
            assert seen == [salon.id]  # its own tenant's, never the studio's
            updated = await connection.execute(
                sa.text("UPDATE customers SET first_name = 'x' WHERE tenant_id = :studio"), {"studio": studio.id})
            assert updated.rowcount == 0
    user = {}
    for name, engine in (("request", database.engine), ("background", database.background_engine)):
        async with engine.connect() as connection:
            user[name] = (await connection.execute(sa.text(
                "SELECT pg_has_role(current_user, 'boka_all_tenants', 'MEMBER')"))).scalar()
    assert user == {"request": False, "background": True}
    assert sorted(await _booking_tenants(database, all_tenants=True)) == sorted([salon.id, studio.id])


async def test_writing_another_tenants_id_is_refused(gql: GraphQLClient, world: World) -> None:
    salon = await _tenant_with_booking(gql, world, "salon")
    studio = await _tenant_with_booking(gql, world, "studio")
    database = world.runtime.database

    with pytest.raises(sa.exc.DBAPIError, match="row-level security"):
        async with database.transaction(salon.id, write=True) as db:
            db.add(Customer(tenant_id=studio.id, email="planted@example.com"))
            await db.flush()
    with pytest.raises(sa.exc.DBAPIError, match="row-level security"):
        async with database.transaction(salon.id, write=True) as db:
            await db.execute(sa.text("UPDATE bookings SET tenant_id = :other"), {"other": studio.id})
    with pytest.raises(sa.exc.DBAPIError, match="row-level security"):
        async with database.transaction(write=True) as db:  # no tenant: no writes either
            db.add(Customer(tenant_id=salon.id, email="stray@example.com"))
            await db.flush()

    # Another tenant's rows cannot be reached to be changed or deleted: they are not there.
    async with database.transaction(salon.id, write=True) as db:
        changed = await db.execute(
            sa.text("UPDATE bookings SET notes = 'hijacked' WHERE tenant_id = :other"), {"other": studio.id}
        )
        deleted = await db.execute(sa.text("DELETE FROM customers WHERE tenant_id = :other"), {"other": studio.id})
    assert (changed.rowcount, deleted.rowcount) == (0, 0)
    assert await _booking_tenants(database, tenant_id=studio.id) == [studio.id]
    async with database.transaction(all_tenants=True) as db:
        emails = set((await db.execute(sa.select(Customer.email))).scalars())
        notes = set((await db.execute(sa.text("SELECT notes FROM bookings"))).scalars())
    assert not any(e.startswith(("planted", "stray")) for e in emails) and "hijacked" not in notes


async def test_the_tenant_does_not_outlive_its_transaction_on_a_pooled_connection(
    gql: GraphQLClient, world: World
) -> None:
    """SET LOCAL ends with the transaction. On the same connection the setting then reads as ''
    (not NULL): the policy must treat that as "no tenant", not fail to cast or match."""
    salon = await _tenant_with_booking(gql, world, "salon")
    async with world.runtime.database.engine.connect() as connection:
        async with connection.begin():
            await connection.execute(sa.text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(salon.id)})
            seen = (await connection.execute(sa.text("SELECT count(*) FROM bookings"))).scalar_one()
        async with connection.begin():
            leftover = (await connection.execute(sa.text("SELECT current_setting('app.tenant_id', true)"))).scalar_one()
            after = (await connection.execute(sa.text("SELECT count(*) FROM bookings"))).scalar_one()
    assert (seen, leftover, after) == (1, "", 0)


async def test_a_tenant_and_all_tenants_together_are_a_mistake(world: World) -> None:
    with pytest.raises(ValueError):
        async with world.runtime.database.transaction(uuid.uuid4(), all_tenants=True):
            pass


async def test_the_app_role_is_bound_by_the_policies(world: World) -> None:
    async with world.runtime.database.transaction() as db:
        role = (
            await db.execute(sa.text(
                "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
            ))
        ).one()
        owned_or_inherited = (
            await db.execute(sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND pg_has_role(current_user, tableowner, 'MEMBER')"
            ))
        ).scalars().all()
        can_truncate = (
            await db.execute(sa.text("SELECT has_table_privilege(current_user, 'bookings', 'TRUNCATE')"))
        ).scalar_one()
    assert role.rolname.startswith("boka_test_app_")
    assert (role.rolsuper, role.rolbypassrls) == (False, False)
    assert owned_or_inherited == [] and can_truncate is False


async def test_every_table_with_a_tenant_id_has_the_forced_policy(world: World) -> None:
    """The guard: a migration that adds a tenant-owned table without
    ``enable_tenant_isolation(...)`` (alembic/frozen) fails here (or lists it, with its reason, in
    ``GLOBAL_TABLES_WITH_TENANT_ID``)."""
    connection = await asyncpg.connect(_asyncpg_dsn(world.runtime.settings.migration_url))
    try:
        tables = await connection.fetch(
            """SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                              AND a.attname = 'tenant_id' AND NOT a.attisdropped)"""
        )
        policies: dict[str, dict[str, Any]] = {}
        for row in await connection.fetch(
            "SELECT tablename, policyname, permissive, roles, cmd, qual, with_check "
            "FROM pg_policies WHERE schemaname = 'public'"
        ):
            policies.setdefault(row["tablename"], {})[row["policyname"]] = row
    finally:
        await connection.close()

    names = {row["relname"] for row in tables}
    assert "bookings" in names and "tenant_users" in names
    assert set(GLOBAL_TABLES_WITH_TENANT_ID) <= names, "an exemption names a table that is gone"
    unprotected = []
    for row in tables:
        table = row["relname"]
        if table in GLOBAL_TABLES_WITH_TENANT_ID:
            continue
        table_policies = policies.get(table, {})
        policy = table_policies.get(POLICY_NAME)
        everyone = table_policies.get(ALL_TENANTS_POLICY_NAME)
        protected = (
            row["relrowsecurity"] and row["relforcerowsecurity"] and policy is not None
            and set(table_policies) == {POLICY_NAME, ALL_TENANTS_POLICY_NAME}
            and policy["permissive"] == "PERMISSIVE"
            and policy["cmd"] == "ALL" and list(policy["roles"]) == ["public"]
            and "app.tenant_id" in policy["qual"] and "app.tenant_id" in policy["with_check"]
            # the switch to every tenant is not in the policy that binds every role ...
            and "app.all_tenants" not in policy["qual"] + policy["with_check"]
            # ... only in the one for members of boka_all_tenants
            and list(everyone["roles"]) == [ALL_TENANTS_ROLE]
        )
        if not protected:
            unprotected.append(table)
    assert unprotected == [], f"tenant-owned tables without the forced tenant policy: {unprotected}"
    assert len(names) - len(GLOBAL_TABLES_WITH_TENANT_ID) >= 17


async def test_tables_created_later_by_the_owner_are_granted_to_the_app(world: World) -> None:
    """Default privileges: a table a later migration creates is usable by the app at once
    (and gets no TRUNCATE)."""
    settings = world.runtime.settings
    table = f"later_{uuid.uuid4().hex[:8]}"
    await execute_as_owner(settings, f"CREATE TABLE {table} (id integer PRIMARY KEY)")
    try:
        async with world.runtime.database.transaction(write=True) as db:
            await db.execute(sa.text(f"INSERT INTO {table} VALUES (1)"))
            count = (await db.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()
            can_truncate = (
                await db.execute(sa.text(f"SELECT has_table_privilege(current_user, '{table}', 'TRUNCATE')"))
            ).scalar_one()
        assert (count, can_truncate) == (1, False)
    finally:
        await execute_as_owner(settings, f"DROP TABLE {table}")


async def test_granting_refuses_a_role_the_policies_would_not_bind(world: World) -> None:
    owner_url = world.runtime.settings.migration_url
    with pytest.raises(AppRoleError, match="superuser"):
        await grant_app_role_async(owner_url, "postgres")
    with pytest.raises(AppRoleError, match="does not exist"):
        await grant_app_role_async(owner_url, f"boka_missing_{uuid.uuid4().hex[:8]}")


def _migrate_step(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "boka.migrations", "--create-app-role"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180,
    )


async def test_the_deployment_migrate_step_creates_and_grants_the_app_role(
    fresh_postgres: Callable[[], str],
) -> None:
    """What docker compose's `migrate` runs: as the owner, upgrade, create the app role from
    BOKA_DATABASE_URL, grant it; again on the next deploy without complaint."""
    owner_url = fresh_postgres()
    role = f"boka_test_cli_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    app_url = make_url(owner_url).set(username=role, password=uuid.uuid4().hex).render_as_string(hide_password=False)
    env = clean_env(database_url=app_url, migration_database_url=owner_url)
    try:
        first = await asyncio.to_thread(_migrate_step, env)
        again = await asyncio.to_thread(_migrate_step, env)
        assert (first.returncode, again.returncode) == (0, 0), first.stderr + again.stderr
        assert f"Granted row access to role '{role}'" in again.stdout
        connection = await asyncpg.connect(_asyncpg_dsn(app_url))
        try:
            tenants = await connection.fetchval("SELECT count(*) FROM tenants")
            bookings = await connection.fetchval("SELECT count(*) FROM bookings")
            attributes = await connection.fetchrow(
                "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = current_user"
            )
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await connection.fetchval("SELECT count(*) FROM alembic_version")
        finally:
            await connection.close()
        assert (tenants, bookings) == (0, 0)
        assert tuple(attributes) == (False, False, False)
    finally:
        admin = await asyncpg.connect(_asyncpg_dsn(TEST_DATABASE_URL))
        try:
            database = make_url(owner_url).database
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        finally:
            await admin.close()
