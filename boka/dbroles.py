"""The PostgreSQL roles the app connects as, so that row level security really binds them.

Three roles: the *owner* runs migrations (``BOKA_MIGRATION_DATABASE_URL``) and owns every table;
the *app role* (the user in ``BOKA_DATABASE_URL``) may only read and write rows, of one tenant
at a time; the *background role* (``BOKA_BACKGROUND_DATABASE_URL``) is the app role's equal
plus membership of ``boka_all_tenants``, which alone lets ``app.all_tenants = 'on'`` show every
tenant (boka/rls.py). Without a background URL the app role is made the member (one role for
both, as before: then a request's transaction could switch to every tenant). The app role
must not be a superuser, must not have BYPASSRLS and must own no table, or the tenant policies
would not apply to it. It gets SELECT/INSERT/UPDATE/DELETE on the tables (never TRUNCATE,
which ignores row level security) and USAGE on sequences; default privileges extend that to
every table and sequence the owner creates later, and ``grant_app_role`` is re-run after every
upgrade (``python -m boka.migrations``) so nothing created by a migration is ever missed.
"""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.engine import make_url

from boka.config import Settings
from boka.rls import ALL_TENANTS_ROLE

TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
SEQUENCE_PRIVILEGES = "USAGE, SELECT"


class AppRoleError(RuntimeError):
    """The app role is missing or would not be bound by row level security."""


def app_role_of(settings: Settings) -> str | None:
    """The role the app connects as, when it is not the migrations' role (PostgreSQL only)."""
    if settings.is_sqlite:
        return None
    app_user = make_url(settings.database_url).username
    owner_user = make_url(settings.migration_url).username
    if not app_user or app_user == owner_user:
        return None
    return app_user


def background_role_of(settings: Settings) -> str | None:
    """The role all-tenant work connects as, when it has a URL of its own (PostgreSQL only)."""
    if settings.is_sqlite or not settings.background_database_url:
        return None
    background_user = make_url(settings.background_database_url).username
    if not background_user or background_user == make_url(settings.migration_url).username:
        return None
    return background_user


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def grant_app_role_async(
    owner_url: str, role: str, *, password: str | None = None, all_tenants: bool = True
) -> None:
    """As the owner (``owner_url``): create ``role`` if it is missing and ``password`` is given,
    check that row level security binds it, and grant it row access to every table and
    sequence in the current schema, now and (default privileges) created later by the owner.
    ``all_tenants``: make it a member of boka_all_tenants, or (False) make sure it is not."""
    connection = await asyncpg.connect(_asyncpg_dsn(owner_url))
    try:
        async with connection.transaction():
            await _ensure_role(connection, role, password)
            await _check_role(connection, role)
            await _grant(connection, role)
            await _set_all_tenants_membership(connection, role, all_tenants)
    finally:
        await connection.close()


def grant_app_role(owner_url: str, role: str, *, password: str | None = None, all_tenants: bool = True) -> None:
    """``grant_app_role_async`` for callers without a running event loop."""
    asyncio.run(grant_app_role_async(owner_url, role, password=password, all_tenants=all_tenants))


async def _set_all_tenants_membership(connection: asyncpg.Connection, role: str, member: bool) -> None:
    if not await connection.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", ALL_TENANTS_ROLE):
        return  # the schema predates it (boka/rls.py creates it with the policies)
    is_member = await connection.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles r ON r.oid = m.member WHERE g.rolname = $1 AND r.rolname = $2)",
        ALL_TENANTS_ROLE, role,
    )
    if member == is_member:
        return
    template = "GRANT %I TO %I" if member else "REVOKE %I FROM %I"
    await connection.execute(
        await connection.fetchval("SELECT format($1::text, $2::text, $3::text)", template, ALL_TENANTS_ROLE, role)
    )


async def _ensure_role(connection: asyncpg.Connection, role: str, password: str | None) -> None:
    exists = await connection.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    if exists:
        return
    if password is None:
        raise AppRoleError(
            f"The app's database role {role!r} does not exist. Create it (see README, "
            f"'Database roles') or run `python -m boka.migrations --create-app-role`."
        )
    await connection.execute(
        await connection.fetchval(
            "SELECT format('CREATE ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOBYPASSRLS "
            "NOCREATEDB NOCREATEROLE', $1::text, $2::text)",
            role,
            password,
        )
    )


async def _check_role(connection: asyncpg.Connection, role: str) -> None:
    attributes = await connection.fetchrow(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", role
    )
    if attributes["rolsuper"] or attributes["rolbypassrls"]:
        raise AppRoleError(
            f"The app's database role {role!r} is a superuser or has BYPASSRLS, so row level "
            f"security would not apply to it: ALTER ROLE {role} NOSUPERUSER NOBYPASSRLS."
        )
    # Owning a table (or being a member of its owner) would let the app switch the policy off.
    owners = await connection.fetch(
        "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = current_schema() "
        "AND pg_has_role($1, tableowner, 'MEMBER')",
        role,
    )
    if owners:
        raise AppRoleError(
            f"The app's database role {role!r} owns tables or is a member of their owner "
            f"({', '.join(r['tableowner'] for r in owners)}); only the migrations' role may own them."
        )


async def _grant(connection: asyncpg.Connection, role: str) -> None:
    statements = [
        "GRANT CONNECT ON DATABASE %I TO %I",
        "GRANT USAGE ON SCHEMA %I TO %I",
        f"GRANT {TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA %I TO %I",
        f"GRANT {SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA %I TO %I",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT {TABLE_PRIVILEGES} ON TABLES TO %I",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT {SEQUENCE_PRIVILEGES} ON SEQUENCES TO %I",
    ]
    database, schema = await connection.fetchrow("SELECT current_database(), current_schema()")
    for index, template in enumerate(statements):
        target = database if index == 0 else schema
        sql = await connection.fetchval("SELECT format($1::text, $2::text, $3::text)", template, target, role)
        await connection.execute(sql)
    # Alembic's bookkeeping is the owner's business alone.
    if await connection.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL"):
        await connection.execute(
            await connection.fetchval("SELECT format('REVOKE ALL ON alembic_version FROM %I', $1::text)", role)
        )
