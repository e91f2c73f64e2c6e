"""Account lockout: failures in a row lock the account for a growing period, a locked account
answers exactly like a wrong password, and owners (or superadmins) can lift a lock."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from boka.config import Settings
from boka.models.security import AccountLockout, AuthenticationLog
from boka.models.tenancy import Role
from boka.models.types import utcnow
from tests.booking.support import gid
from tests.conftest import settings_for
from tests.identity.security_support import sign_in
from tests.support import GraphQLClient, World

UNLOCK = """mutation Unlock($user: ID!) { unlockAccount(input: {userId: $user}) { ok errors { code } } }"""


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    return settings_for(postgres_url, rate_limits_enabled=False, lockout_threshold=3)


async def _lockout(world: World, user_id: object) -> AccountLockout | None:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        return await db.get(AccountLockout, user_id)


async def _fail(gql: GraphQLClient, email: str, times: int) -> list[dict]:
    return [await sign_in(gql, email, "not the password") for _ in range(times)]


async def test_three_failures_lock_the_account_and_a_locked_account_looks_like_a_wrong_password(
    gql: GraphQLClient, world: World
) -> None:
    person = await world.person(None, None, email="ana@example.com")

    failures = await _fail(gql, "ana@example.com", 3)
    locked_with_right_password = await sign_in(gql, "ana@example.com")
    unknown_email = await sign_in(gql, "nobody@example.com", "not the password")

    assert all(f["errors"][0]["code"] == "INVALID_CREDENTIALS" for f in failures)
    assert locked_with_right_password["token"] is None
    # Same answer, word for word: nothing tells a locked account from a wrong password or
    # from an address that has no account.
    assert locked_with_right_password == failures[0] == unknown_email
    lockout = await _lockout(world, person.user.id)
    assert lockout is not None and lockout.lockout_count == 1
    assert timedelta(minutes=14) < lockout.locked_until - utcnow() <= timedelta(minutes=15)
    async with world.runtime.database.transaction(all_tenants=True) as db:
        reasons = list((await db.execute(
            sa.select(AuthenticationLog.event_type, AuthenticationLog.failure_reason)
            .where(AuthenticationLog.user_id == person.user.id).order_by(AuthenticationLog.created_at)
        )).all())
    assert ("account_locked", "3 failed sign-ins in a row") in reasons
    assert reasons[-1] == ("sign_in_failed", "account locked")


async def test_each_lock_is_twice_as_long_as_the_last(gql: GraphQLClient, world: World) -> None:
    person = await world.person(None, None, email="ana@example.com")
    await _fail(gql, "ana@example.com", 3)
    async with world.runtime.database.transaction(write=True) as db:  # let the first lock run out
        await db.execute(sa.update(AccountLockout).values(locked_until=utcnow() - timedelta(seconds=1)))

    await _fail(gql, "ana@example.com", 3)

    lockout = await _lockout(world, person.user.id)
    assert lockout.lockout_count == 2
    assert timedelta(minutes=29) < lockout.locked_until - utcnow() <= timedelta(minutes=30)


async def test_a_lock_runs_out_and_a_good_sign_in_forgives_earlier_failures(gql: GraphQLClient, world: World) -> None:
    person = await world.person(None, None, email="ana@example.com")
    await _fail(gql, "ana@example.com", 3)
    async with world.runtime.database.transaction(write=True) as db:
        await db.execute(sa.update(AccountLockout).values(locked_until=utcnow() - timedelta(seconds=1)))

    after_lock = await sign_in(gql, "ana@example.com")
    await _fail(gql, "ana@example.com", 2)
    still_open = await sign_in(gql, "ana@example.com")

    assert after_lock["token"] and still_open["token"]
    assert await _lockout(world, person.user.id) is None


async def test_an_owner_unlocks_a_member_but_not_a_stranger_and_a_manager_cannot(
    gql: GraphQLClient, world: World
) -> None:
    salon = await world.tenant("salon")
    other = await world.tenant("other")
    owner = await world.person(salon, Role.OWNER)
    manager = await world.person(salon, Role.MANAGER)
    staff = await world.person(salon, Role.STAFF, email="sam@example.com")
    stranger = await world.person(other, Role.STAFF, email="stranger@example.com")
    await _fail(gql, "sam@example.com", 3)
    await _fail(gql, "stranger@example.com", 3)

    by_manager = await gql(UNLOCK, {"user": _user_gid(staff.user.id)}, token=manager.token, tenant="salon")
    of_stranger = await gql(UNLOCK, {"user": _user_gid(stranger.user.id)}, token=owner.token, tenant="salon")
    by_owner = await gql(UNLOCK, {"user": _user_gid(staff.user.id)}, token=owner.token, tenant="salon")
    signed_in = await sign_in(gql, "sam@example.com")

    assert by_manager.error_codes == ["FORBIDDEN"]
    assert of_stranger.error_codes == ["NOT_FOUND"]
    assert by_owner.data["unlockAccount"] == {"ok": True, "errors": []}
    assert signed_in["token"]
    assert await _lockout(world, stranger.user.id) is not None


async def test_a_superadmin_unlocks_anyone(gql: GraphQLClient, world: World) -> None:
    salon = await world.tenant("salon")
    admin = await world.person(None, None, superadmin=True)
    customer = await world.person(salon, Role.CUSTOMER, email="cara@example.com")
    await _fail(gql, "cara@example.com", 3)

    unlocked = await gql(UNLOCK, {"user": _user_gid(customer.user.id)}, token=admin.token, tenant="salon")

    assert unlocked.data["unlockAccount"]["ok"] is True
    assert (await sign_in(gql, "cara@example.com"))["token"]


def _user_gid(user_id: object) -> str:
    return gid("User", user_id)
