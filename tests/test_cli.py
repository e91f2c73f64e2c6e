"""``python -m boka``: the operators' command line, run as a real subprocess against the test
PostgreSQL and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from boka.migrations import PROJECT_ROOT
from boka.models.identity import User
from boka.models.security import AuthenticationLog
from boka.models.tenancy import Role, Tenant, TenantUser
from tests.conftest import TEST_REDIS_URL
from tests.notifications.servers import SmtpServer
from tests.servers import clean_env
from tests.support import World

PASSWORD = "a long enough password"


def boka(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "boka", *args], cwd=PROJECT_ROOT, env=env, input=stdin,
        capture_output=True, text=True, timeout=120,
    )


def env_for(postgres_url: str, **more: str) -> dict[str, str]:
    return clean_env(database_url=postgres_url, redis_url=TEST_REDIS_URL, **more)


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout


async def test_create_tenant_makes_the_business_and_mails_its_owner(
    app: Any, world: World, postgres_url: str, smtp: SmtpServer
) -> None:
    env = env_for(postgres_url, smtp_host=smtp.host, smtp_port=str(smtp.port), smtp_security="none",
                  email_from="Boka <ops@boka.example>", public_url="https://boka.example")
    made = boka("create-tenant", "--name", "Hair by Ana", "--slug", "hair-by-ana", "--time-zone",
                "Europe/Lisbon", "--owner-email", "Ana@Example.com", "--owner-first-name", "Ana", "--owner-last-name", "Silva",
                "--password-stdin", env=env, stdin=PASSWORD + "\n")
    taken = boka("create-tenant", "--name", "Other", "--slug", "hair-by-ana", "--owner-email",
                 "someone@example.com", "--owner-first-name", "S", "--owner-last-name", "S", "--password-stdin", env=env, stdin=PASSWORD + "\n")
    bad_email = boka("create-tenant", "--name", "Third", "--owner-email", "not-an-email",
                     "--owner-first-name", "T", "--owner-last-name", "T", "--password-stdin", env=env, stdin=PASSWORD + "\n")
    no_password = boka("create-tenant", "--name", "Fourth", "--owner-email", "x@example.com",
                       "--owner-first-name", "X", "--owner-last-name", "X", env=env, stdin="")

    assert made.returncode == 0, made.stderr
    assert "Created tenant 'hair-by-ana'" in made.stdout and "sent" in made.stdout
    assert (taken.returncode, bad_email.returncode, no_password.returncode) == (1, 2, 2)
    assert "--slug: 'hair-by-ana' is taken. (SLUG_TAKEN)" in taken.stderr
    assert "--owner-email: " in bad_email.stderr and "INVALID_EMAIL" in bad_email.stderr
    assert "--password-stdin" in no_password.stderr
    for result in (made, taken, bad_email, no_password):
        no_traceback(result)
    async with world.runtime.database.transaction(all_tenants=True) as db:
        tenant = (await db.execute(sa.select(Tenant).where(Tenant.slug == "hair-by-ana"))).scalar_one()
        role = (await db.execute(sa.select(TenantUser.role).where(TenantUser.tenant_id == tenant.id))).scalar_one()
        tenants = (await db.execute(sa.select(sa.func.count()).select_from(Tenant))).scalar_one()
        signed_up = (await db.execute(sa.select(AuthenticationLog.event_type).where(
            AuthenticationLog.tenant_id == tenant.id, AuthenticationLog.event_type == "business_signed_up"))).scalar_one()
    assert (tenant.name, tenant.time_zone, role, tenants) == ("Hair by Ana", "Europe/Lisbon", Role.OWNER, 1)
    assert signed_up == "business_signed_up"
    [mail] = smtp.sink.to("ana@example.com")
    assert "https://boka.example/" in mail.text


async def test_create_superadmin_then_sign_in_and_list_tenants(app: Any, world: World, postgres_url: str) -> None:
    env = env_for(postgres_url)
    made = boka("create-superadmin", "--email", "root@boka.example", "--password-stdin", env=env, stdin=PASSWORD + "\n")
    again = boka("create-superadmin", "--email", "root@boka.example", "--password-stdin", env=env, stdin=PASSWORD + "\n")
    weak = boka("create-superadmin", "--email", "weak@boka.example", "--password-stdin", env=env, stdin="short\n")
    tenant = await world.tenant("salon")
    await world.person(tenant, Role.OWNER, email="olga@example.com")
    promoted = boka("create-superadmin", "--email", "olga@example.com", "--promote", env=env)
    await world.tenant("barber")
    listed = boka("list-tenants", env=env)
    searched = boka("list-tenants", "--search", "BARB", env=env)
    bad_limit = boka("list-tenants", "--limit", "0", env=env)

    assert made.returncode == 0, made.stderr
    assert (again.returncode, weak.returncode, promoted.returncode) == (1, 2, 0), promoted.stderr
    assert "--promote" in again.stderr and "WEAK_PASSWORD" in weak.stderr
    async with world.runtime.database.transaction() as db:
        flags = dict((await db.execute(sa.select(User.email, User.is_superadmin))).all())
    assert flags["root@boka.example"] is True and flags["olga@example.com"] is True
    assert "weak@boka.example" not in flags
    lines = listed.stdout.splitlines()
    assert listed.returncode == 0, listed.stderr
    assert lines[0].split()[:6] == ["SLUG", "STATUS", "BOOKINGS", "CUSTOMERS", "STAFF", "MEMBERS"]
    assert [line.split()[:6] for line in lines[1:]] == [
        ["salon", "active", "0", "0", "0", "1"], ["barber", "active", "0", "0", "0", "0"]]
    assert [line.split()[0] for line in searched.stdout.splitlines()[1:]] == ["barber"]
    assert bad_limit.returncode == 2 and "usage:" in bad_limit.stderr
    for result in (made, again, weak, promoted, listed, searched, bad_limit):
        no_traceback(result)


async def test_seed_demo_is_idempotent(app: Any, world: World, postgres_url: str) -> None:
    env = env_for(postgres_url)
    first = boka("seed-demo", env=env)
    second = boka("seed-demo", env=env)
    assert first.returncode == 0 and "Created the demo tenant 'demo'" in first.stdout, first.stderr
    assert second.returncode == 0 and "exists already" in second.stdout
    async with world.runtime.database.transaction() as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Tenant))).scalar_one() == 1


async def test_send_test_email_through_smtp_and_its_failures(postgres_url: str, smtp: SmtpServer) -> None:
    env = env_for(postgres_url, smtp_host=smtp.host, smtp_port=str(smtp.port), smtp_security="none",
                  email_from="Boka <ops@boka.example>")
    sent = boka("send-test-email", "--to", "ops@example.com", env=env)
    bad_address = boka("send-test-email", "--to", "nobody", env=env)
    unconfigured = boka("send-test-email", "--to", "ops@example.com", env=env_for(postgres_url))
    unreachable = boka("send-test-email", "--to", "ops@example.com",
                       env=env_for(postgres_url, smtp_host="127.0.0.1", smtp_port="1", smtp_security="none"))
    missing = boka("send-test-email", env=env)

    assert sent.returncode == 0, sent.stderr
    [mail] = smtp.sink.to("ops@example.com")
    assert mail.subject == "Boka test email"
    assert (bad_address.returncode, unconfigured.returncode, unreachable.returncode, missing.returncode) == (2, 1, 1, 2)
    assert "INVALID_EMAIL" in bad_address.stderr
    assert "BOKA_SMTP_HOST" in unconfigured.stderr
    assert "127.0.0.1:1 did not take the message" in unreachable.stderr
    assert "--to" in missing.stderr
    for result in (sent, bad_address, unconfigured, unreachable, missing):
        no_traceback(result)


def test_an_unreachable_database_is_one_clear_line() -> None:
    env = clean_env(database_url="postgresql+asyncpg://boka:boka@127.0.0.1:1/boka")
    for args in (("list-tenants",), ("seed-demo",), ("create-superadmin", "--email", "a@example.com", "--promote")):
        result = boka(*args, env=env)
        assert result.returncode == 1, (args, result.stderr)
        assert "The database at postgresql+asyncpg://boka:***@127.0.0.1:1/boka is unreachable" in result.stderr
        no_traceback(result)


async def test_migrate_brings_an_empty_database_to_head(fresh_postgres: Callable[[], str]) -> None:
    owner_url = fresh_postgres()
    migrated = boka("migrate", env=clean_env(database_url=owner_url))
    assert migrated.returncode == 0, migrated.stderr
    assert "to head" in migrated.stdout
    engine = create_async_engine(make_url(owner_url))
    try:
        async with engine.connect() as connection:
            version = (await connection.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar_one()
            columns = {row[0] for row in await connection.execute(sa.text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'tenants'"))}
    finally:
        await engine.dispose()
    assert version and "suspended_at" in columns
