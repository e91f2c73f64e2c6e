"""Register, sign in, sign out, and what a bad or expired token gets."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from boka.identity.tokens import token_digest
from boka.models.identity import User, UserSession
from boka.models.tenancy import Role
from boka.models.types import utcnow
from tests.support import PASSWORD, GraphQLClient, World

SIGN_IN = """
mutation SignIn($email: String!, $password: String!) {
  signIn(input: {email: $email, password: $password}) {
    token expiresAt
    viewer { user { email } role tenant { slug } }
    errors { field code message }
  }
}"""
REGISTER = """
mutation Register($email: String!, $password: String!) {
  register(input: {email: $email, password: $password, fullName: "New Person"}) {
    token
    viewer { user { email fullName } role }
    errors { field code message }
  }
}"""
VIEWER = "{ viewer { user { email } role tenant { slug } } }"
MEMBERS = "{ members { edges { node { role } } } }"


async def _count(world: World, model: type) -> int:
    async with world.runtime.database.transaction() as db:
        return (await db.execute(sa.select(sa.func.count()).select_from(model))).scalar_one()


async def test_sign_in_returns_a_working_token_and_role(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER, email="olivia@example.com")

    result = await gql(SIGN_IN, {"email": "Olivia@Example.com ", "password": PASSWORD}, tenant="salon")

    payload = result.data["signIn"]
    assert payload["errors"] == []
    assert payload["viewer"] == {
        "user": {"email": owner.email},
        "role": "OWNER",
        "tenant": {"slug": "salon"},
    }
    me = await gql(VIEWER, token=payload["token"], tenant="salon")
    assert me.data["viewer"]["user"]["email"] == "olivia@example.com"
    assert me.data["viewer"]["role"] == "OWNER"


async def test_sign_in_sets_an_httponly_samesite_cookie_that_authenticates(
    gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon")
    await world.person(tenant, Role.STAFF, email="sam@example.com")

    result = await gql(SIGN_IN, {"email": "sam@example.com", "password": PASSWORD}, tenant="salon")

    cookie = result.response.headers["set-cookie"]
    assert cookie.startswith("boka_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    # the client kept the cookie: no Authorization header needed now
    me = await gql(VIEWER, tenant="salon")
    assert me.data["viewer"]["user"]["email"] == "sam@example.com"


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    gql: GraphQLClient, world: World
) -> None:
    await world.person(None, None, email="known@example.com")
    sessions_before = await _count(world, UserSession)

    wrong_password = await gql(SIGN_IN, {"email": "known@example.com", "password": "not it at all"})
    unknown_email = await gql(SIGN_IN, {"email": "nobody@example.com", "password": PASSWORD})

    for result in (wrong_password, unknown_email):
        payload = result.data["signIn"]
        assert payload["token"] is None
        assert payload["errors"] == [
            {"field": None, "code": "INVALID_CREDENTIALS", "message": "Email or password is incorrect."}
        ]
        assert "set-cookie" not in result.response.headers
    assert await _count(world, UserSession) == sessions_before


async def test_disabled_account_cannot_sign_in(gql: GraphQLClient, world: World) -> None:
    person = await world.person(None, None, email="gone@example.com")
    async with world.runtime.database.transaction(write=True) as db:
        await db.execute(sa.update(User).where(User.id == person.user.id).values(is_active=False))

    result = await gql(SIGN_IN, {"email": "gone@example.com", "password": PASSWORD})
    assert result.data["signIn"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    # and the session it already had stops working too
    me = await gql(VIEWER, token=person.token)
    assert me.data["viewer"]["user"] is None


async def test_register_creates_an_account_and_signs_in_as_tenant_customer(
    gql: GraphQLClient, world: World
) -> None:
    await world.tenant("clinic")

    result = await gql(REGISTER, {"email": "new@example.com", "password": PASSWORD}, tenant="clinic")

    payload = result.data["register"]
    assert payload["errors"] == []
    assert payload["viewer"] == {
        "user": {"email": "new@example.com", "fullName": "New Person"},
        "role": "CUSTOMER",
    }
    me = await gql(VIEWER, token=payload["token"], tenant="clinic")
    assert me.data["viewer"]["role"] == "CUSTOMER"
    async with world.runtime.database.transaction() as db:
        stored = (await db.execute(sa.select(User.password_hash))).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_register_rejects_bad_input_and_writes_nothing(gql: GraphQLClient, world: World) -> None:
    await world.person(None, None, email="taken@example.com")
    users_before = await _count(world, User)

    cases = {
        ("TAKEN@example.com", PASSWORD): ("EMAIL_TAKEN", "email"),
        ("not-an-email", PASSWORD): ("INVALID_EMAIL", "email"),
        ("short@example.com", "short"): ("WEAK_PASSWORD", "password"),
    }
    for (email, password), (code, field) in cases.items():
        result = await gql(REGISTER, {"email": email, "password": password})
        payload = result.data["register"]
        assert payload["token"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], email

    assert await _count(world, User) == users_before


async def test_bad_token_is_anonymous_and_protected_fields_need_sign_in(
    gql: GraphQLClient, world: World
) -> None:
    await world.tenant("salon")

    me = await gql(VIEWER, token="bks_not-a-real-token", tenant="salon")
    assert me.data["viewer"] == {"user": None, "role": None, "tenant": {"slug": "salon"}}
    members = await gql(MEMBERS, token="bks_not-a-real-token", tenant="salon")
    assert members.error_codes == ["UNAUTHENTICATED"]


async def test_expired_session_no_longer_authenticates(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    async with world.runtime.database.transaction(write=True) as db:
        await db.execute(
            sa.update(UserSession)
            .where(UserSession.token_hash == token_digest(owner.token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    members = await gql(MEMBERS, token=owner.token, tenant="salon")
    assert members.error_codes == ["UNAUTHENTICATED"]


async def test_sign_out_ends_the_session(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)

    result = await gql("mutation { signOut { signedOut errors { code } } }", token=owner.token)
    assert result.data["signOut"] == {"signedOut": True, "errors": []}

    me = await gql(VIEWER, token=owner.token, tenant="salon")
    assert me.data["viewer"]["user"] is None
    again = await gql("mutation { signOut { signedOut } }", token=owner.token)
    assert again.data["signOut"]["signedOut"] is False


async def test_session_tokens_are_stored_only_as_digests(gql: GraphQLClient, world: World) -> None:
    owner = await world.person(None, None)
    async with world.runtime.database.transaction() as db:
        stored = list((await db.execute(sa.select(UserSession.token_hash))).scalars())
    assert owner.token not in stored
    assert token_digest(owner.token) in stored
