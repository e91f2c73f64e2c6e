"""Sessions with device tracking: list mine, revoke one or all others, refresh (rotate),
idle and absolute expiry, password change ending other sessions, and the cleanup."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from boka.config import Settings
from boka.identity.sessions import delete_expired_sessions
from boka.identity.tokens import token_digest
from boka.models.identity import UserSession
from boka.models.types import utcnow
from tests.conftest import settings_for
from tests.identity.security_support import VIEWER, sign_in
from tests.support import PASSWORD, GraphQLClient, World

MY_SESSIONS = """{ mySessions { edges { node { id ipAddress userAgent current mfaVerified lastSeenAt } } } }"""
REVOKE = """mutation Revoke($id: ID!) { revokeSession(input: {sessionId: $id}) {
  session { id current } errors { code } } }"""
REVOKE_OTHERS = "mutation { revokeOtherSessions { sessionsEnded errors { code } } }"
REFRESH = "mutation { refreshSession { token expiresAt errors { code } } }"
CHANGE_PASSWORD = """mutation Change($current: String!, $new: String!) {
  changePassword(input: {currentPassword: $current, newPassword: $new}) { sessionsEnded errors { field code } } }"""


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    return settings_for(postgres_url, rate_limits_enabled=False, session_idle_minutes=60)


async def _sign_in_from(app: object, ip: str, agent: str, email: str) -> str:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        result = await GraphQLClient(client)(
            "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p}) { token } }",
            {"e": email, "p": PASSWORD}, headers={"User-Agent": agent},
        )
    return result.data["signIn"]["token"]


async def _is_live(gql: GraphQLClient, token: str) -> bool:
    return (await gql(VIEWER, token=token)).data["viewer"]["user"] is not None


async def test_i_see_my_devices_and_can_sign_one_out(app: object, gql: GraphQLClient, world: World) -> None:
    await world.person(None, None, email="ivy@example.com")
    laptop = await _sign_in_from(app, "198.51.100.1", "Firefox on Linux", "ivy@example.com")
    phone = await _sign_in_from(app, "198.51.100.2", "Safari on iPhone", "ivy@example.com")

    listed = (await gql(MY_SESSIONS, token=laptop)).data["mySessions"]["edges"]
    by_agent = {e["node"]["userAgent"]: e["node"] for e in listed}
    revoked = await gql(REVOKE, {"id": by_agent["Safari on iPhone"]["id"]}, token=laptop)

    assert by_agent["Firefox on Linux"]["current"] is True and by_agent["Firefox on Linux"]["ipAddress"] == "198.51.100.1"
    assert by_agent["Safari on iPhone"]["current"] is False and by_agent["Safari on iPhone"]["ipAddress"] == "198.51.100.2"
    assert revoked.data["revokeSession"]["errors"] == []
    assert not await _is_live(gql, phone) and await _is_live(gql, laptop)
    left = (await gql(MY_SESSIONS, token=laptop)).data["mySessions"]["edges"]
    assert sorted(e["node"]["userAgent"] for e in left) == ["Firefox on Linux", "pytest"]  # world's own


async def test_i_cannot_revoke_someone_elses_session(app: object, gql: GraphQLClient, world: World) -> None:
    await world.person(None, None, email="ivy@example.com")
    await world.person(None, None, email="max@example.com")
    ivy = await _sign_in_from(app, "198.51.100.1", "A", "ivy@example.com")
    max_token = await _sign_in_from(app, "198.51.100.2", "B", "max@example.com")
    max_session = (await gql(MY_SESSIONS, token=max_token)).data["mySessions"]["edges"][0]["node"]["id"]

    attempt = await gql(REVOKE, {"id": max_session}, token=ivy)

    assert attempt.error_codes == ["NOT_FOUND"]
    assert await _is_live(gql, max_token)


async def test_revoking_all_other_sessions_keeps_this_one(app: object, gql: GraphQLClient, world: World) -> None:
    await world.person(None, None, email="ivy@example.com")
    tokens = [await _sign_in_from(app, f"198.51.100.{i}", f"device {i}", "ivy@example.com") for i in range(1, 4)]

    ended = await gql(REVOKE_OTHERS, token=tokens[0])

    assert ended.data["revokeOtherSessions"]["sessionsEnded"] == 3  # two devices and world's own session
    assert [await _is_live(gql, t) for t in tokens] == [True, False, False]


async def test_refresh_rotates_the_token(gql: GraphQLClient, world: World) -> None:
    person = await world.person(None, None, email="ivy@example.com")

    refreshed = (await gql(REFRESH, token=person.token)).data["refreshSession"]

    assert refreshed["errors"] == [] and refreshed["token"] != person.token
    assert not await _is_live(gql, person.token)
    assert await _is_live(gql, refreshed["token"])
    async with world.runtime.database.transaction() as db:
        stored = list((await db.execute(sa.select(UserSession.token_hash))).scalars())
    assert refreshed["token"] not in stored and token_digest(refreshed["token"]) in stored


async def test_changing_the_password_ends_other_sessions(app: object, gql: GraphQLClient, world: World) -> None:
    await world.person(None, None, email="ivy@example.com")
    here = await _sign_in_from(app, "198.51.100.1", "here", "ivy@example.com")
    there = await _sign_in_from(app, "198.51.100.2", "there", "ivy@example.com")

    wrong = await gql(CHANGE_PASSWORD, {"current": "not it at all", "new": "a brand new passphrase"}, token=here)
    changed = await gql(CHANGE_PASSWORD, {"current": PASSWORD, "new": "a brand new passphrase"}, token=here)

    assert wrong.data["changePassword"]["errors"] == [{"field": "currentPassword", "code": "INVALID_CREDENTIALS"}]
    assert changed.data["changePassword"]["sessionsEnded"] == 2
    assert await _is_live(gql, here) and not await _is_live(gql, there)
    assert (await sign_in(gql, "ivy@example.com"))["token"] is None
    assert (await sign_in(gql, "ivy@example.com", "a brand new passphrase"))["token"]


async def test_idle_and_expired_sessions_stop_working(gql: GraphQLClient, world: World) -> None:
    idle = await world.person(None, None, email="idle@example.com")
    old = await world.person(None, None, email="old@example.com")
    async with world.runtime.database.transaction(write=True) as db:
        await db.execute(
            sa.update(UserSession).where(UserSession.user_id == idle.user.id)
            .values(last_seen_at=utcnow() - timedelta(minutes=61))
        )
        await db.execute(
            sa.update(UserSession).where(UserSession.user_id == old.user.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    assert not await _is_live(gql, idle.token)
    assert not await _is_live(gql, old.token)


async def test_cleanup_deletes_long_ended_sessions_only(world: World) -> None:
    live = await world.person(None, None, email="live@example.com")
    gone = await world.person(None, None, email="gone@example.com")
    async with world.runtime.database.transaction(write=True) as db:
        await db.execute(
            sa.update(UserSession).where(UserSession.user_id == gone.user.id)
            .values(expires_at=utcnow() - timedelta(days=31))
        )

    async with world.runtime.database.transaction(write=True) as db:
        deleted = await delete_expired_sessions(db, now=utcnow(), idle=timedelta(hours=1))

    async with world.runtime.database.transaction() as db:
        owners = set((await db.execute(sa.select(UserSession.user_id))).scalars())
    assert deleted == 1 and owners == {live.user.id}
