"""A business signs up through the API alone: tenant, owner, session, verification mail."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from boka.models.identity import User
from boka.models.security import AuthenticationLog
from boka.models.tenancy import Role, Tenant
from tests.conftest import settings_for
from tests.notifications.servers import SmtpServer
from tests.onboarding.support import SIGN_UP, VERIFY, VIEWER, business, link_token, sign_up
from tests.support import GraphQLClient, World


async def _count(world: World, model: Any) -> int:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        return (await db.execute(sa.select(sa.func.count()).select_from(model))).scalar_one()


async def test_a_business_signs_up_gets_a_session_and_verifies_its_email(
    gql: GraphQLClient, world: World, smtp: SmtpServer
) -> None:
    payload = await sign_up(gql, world, country="DE", locale="de-DE")

    assert payload["tenant"] == {"id": payload["tenant"]["id"], "slug": "studio-nord", "name": "Studio Nord",
                                 "timeZone": "Europe/Berlin", "currency": "EUR"}
    assert payload["viewer"]["role"] == "OWNER"
    me = await gql(VIEWER, token=payload["token"], tenant="studio-nord")
    assert me.data["viewer"] == {"user": {"email": "olivia@studio.example", "emailVerified": False},
                                 "tenant": {"slug": "studio-nord"}, "role": "OWNER"}
    [mail] = smtp.sink.to("olivia@studio.example")
    assert mail.subject == "Studio Nord: confirm your email address"
    token = link_token(smtp, "olivia@studio.example", "/verify-email")

    verified = await gql(VERIFY, {"token": token})
    again = await gql(VERIFY, {"token": token})

    assert verified.data["verifyEmail"] == {"verified": True, "errors": []}
    assert again.data["verifyEmail"]["errors"][0]["code"] == "INVALID_TOKEN"
    me = await gql(VIEWER, token=payload["token"], tenant="studio-nord")
    assert me.data["viewer"]["user"]["emailVerified"] is True
    async with world.runtime.database.transaction(all_tenants=True) as db:
        events = set((await db.execute(sa.select(AuthenticationLog.event_type))).scalars())
        tenant = (await db.execute(sa.select(Tenant))).scalar_one()
    assert {"business_signed_up", "email_verification_sent", "email_verified"} <= events
    assert tenant.settings["business"] == {"country": "DE", "locale": "de-DE"}


async def test_every_bad_field_is_reported_at_once_and_nothing_is_written(gql: GraphQLClient, world: World) -> None:
    result = await gql(SIGN_UP, {"input": business(
        "", slug="Not A Slug!", timeZone="Mars/Olympus", currency="euro", country="Germany",
        owner={"email": "not-an-email", "password": "short", "firstName": "", "lastName": "Owner"},
    )})

    errors = {(e["field"], e["code"]) for e in result.data["signUpBusiness"]["errors"]}
    assert errors == {
        ("businessName", "INVALID_INPUT"), ("slug", "INVALID_INPUT"), ("timeZone", "INVALID_INPUT"),
        ("currency", "INVALID_INPUT"), ("country", "INVALID_INPUT"), ("owner.email", "INVALID_EMAIL"),
        ("owner.password", "WEAK_PASSWORD"), ("owner.firstName", "INVALID_INPUT"),
    }
    assert result.data["signUpBusiness"]["token"] is None
    assert await _count(world, Tenant) == 0 and await _count(world, User) == 0


async def test_slugs_are_unique_reserved_names_refused_and_made_from_the_name(
    gql: GraphQLClient, world: World
) -> None:
    await world.tenant("studio-nord")
    taken = await gql(SIGN_UP, {"input": business(slug="studio-nord")})
    reserved = await gql(SIGN_UP, {"input": business(slug="admin")})
    derived = await sign_up(gql, world, name="Studio Nörd")

    assert [(e["field"], e["code"]) for e in taken.data["signUpBusiness"]["errors"]] == [("slug", "SLUG_TAKEN")]
    assert [(e["field"], e["code"]) for e in reserved.data["signUpBusiness"]["errors"]] == [("slug", "SLUG_TAKEN")]
    assert derived["tenant"]["slug"] == "studio-nord-2"


async def test_an_existing_account_signs_in_first_and_then_owns_a_second_business(
    gql: GraphQLClient, world: World
) -> None:
    first = await sign_up(gql, world)
    gql.http.cookies.clear()  # a stranger's browser
    as_stranger = await gql(SIGN_UP, {"input": business("Studio Süd")})
    second = await gql(SIGN_UP, {"input": {"businessName": "Studio Süd", "timeZone": "Europe/Berlin",
                                           "currency": "EUR"}}, token=first["token"])

    assert [(e["field"], e["code"]) for e in as_stranger.data["signUpBusiness"]["errors"]] == [
        ("owner.email", "EMAIL_TAKEN")]
    payload = second.data["signUpBusiness"]
    assert payload["errors"] == [] and payload["tenant"]["slug"] == "studio-sud"
    me = await gql(VIEWER, token=first["token"], tenant="studio-sud")
    assert me.data["viewer"]["role"] == "OWNER"
    assert await _count(world, User) == 1
    someone_else = business("Studio Ost")
    someone_else["owner"]["email"] = "oscar@studio.example"
    other_owner = await gql(SIGN_UP, {"input": someone_else}, token=first["token"])
    assert [(e["field"], e["code"]) for e in other_owner.data["signUpBusiness"]["errors"]] == [
        ("owner.email", "INVALID_INPUT")]


async def test_without_public_sign_up_only_a_superadmin_creates_businesses(
    postgres_url: str, world: World, gql: GraphQLClient
) -> None:
    assert settings_for(postgres_url).public_signup_open is False  # production default
    assert settings_for("sqlite+aiosqlite:///x.db").public_signup_open is True  # embedded default
    world.runtime.settings.public_signup = False
    admin = await world.person(None, None, superadmin=True)
    member = await world.person(await world.tenant("elsewhere"), Role.OWNER)

    anonymous = await gql(SIGN_UP, {"input": business()})
    someone = await gql(SIGN_UP, {"input": business()}, token=member.token)
    by_admin = await gql(SIGN_UP, {"input": business()}, token=admin.token)

    assert anonymous.error_codes == ["FORBIDDEN"] and someone.error_codes == ["FORBIDDEN"]
    payload = by_admin.data["signUpBusiness"]
    assert payload["errors"] == [] and payload["token"] is None  # the owner signs in themself
    assert payload["tenant"]["slug"] == "studio-nord"


async def test_sign_up_is_rate_limited_like_sign_in(gql: GraphQLClient, world: World) -> None:
    limits = world.runtime.rate_limits
    world.runtime.rate_limits = replace(limits, auth=replace(limits.auth, count=5))  # sign-in's default
    outcomes = []
    for n in range(6):
        result = await gql(SIGN_UP, {"input": business(slug="bad slug", name=f"S{n}")})
        outcomes.append(result.error_codes or [e["code"] for e in result.data["signUpBusiness"]["errors"]])
    assert outcomes[:5] == [["INVALID_INPUT"]] * 5
    assert outcomes[5] == ["RATE_LIMITED"]
