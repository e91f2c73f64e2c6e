"""TOTP multi-factor authentication through GraphQL: enrolment, two-step sign-in, replay,
backup codes, blocking after wrong codes, disabling, and a tenant requiring it for its team."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from boka.config import Settings
from boka.identity.secret_box import SecretBox
from boka.models.security import AuthenticationLog, MfaBackupCode, MultiFactorAuth
from boka.models.tenancy import Role
from tests.conftest import TEST_SECRET_KEY, settings_for
from tests.identity.security_support import (
    COMPLETE,
    DISABLE,
    ENABLE,
    ENROLL,
    MFA_STATUS,
    VIEWER,
    code_at,
    sign_in,
    turn_on_mfa,
)
from tests.support import GraphQLClient, World


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    # Several sign-ins per test from one address: the 5/minute limit has tests of its own.
    return settings_for(postgres_url, rate_limits_enabled=False)


async def _events(world: World, user_id: object) -> list[str]:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        rows = await db.execute(
            sa.select(AuthenticationLog.event_type)
            .where(AuthenticationLog.user_id == user_id)
            .order_by(AuthenticationLog.created_at)
        )
        return list(rows.scalars())


async def test_enrolment_gives_a_secret_and_a_qr_uri_and_a_first_code_turns_it_on(
    gql: GraphQLClient, world: World
) -> None:
    person = await world.person(None, None, email="mia@example.com")

    enrolled = (await gql(ENROLL, token=person.token)).data["enrollMfa"]
    before = (await gql(MFA_STATUS, token=person.token)).data["mfaStatus"]
    wrong = (await gql(ENABLE, {"code": "000000"}, token=person.token)).data["enableMfa"]
    right = (await gql(ENABLE, {"code": code_at(enrolled["secret"])}, token=person.token)).data["enableMfa"]
    after = (await gql(MFA_STATUS, token=person.token)).data["mfaStatus"]

    assert enrolled["otpauthUri"].startswith("otpauth://totp/")
    assert "mia%40example.com" in enrolled["otpauthUri"] and f"secret={enrolled['secret']}" in enrolled["otpauthUri"]
    assert before == {"enabled": False, "backupCodesRemaining": 0}
    assert wrong["errors"][0]["code"] == "MFA_INVALID_CODE" and wrong["backupCodes"] is None
    assert right["errors"] == [] and len(set(right["backupCodes"])) == 10
    assert after == {"enabled": True, "backupCodesRemaining": 10}
    again = (await gql(ENROLL, token=person.token)).data["enrollMfa"]
    assert again["errors"][0]["code"] == "MFA_ALREADY_ENABLED"


async def test_sign_in_with_mfa_takes_a_code_and_a_replayed_code_is_rejected(
    gql: GraphQLClient, world: World
) -> None:
    person = await world.person(None, None, email="mia@example.com")
    secret, _ = await turn_on_mfa(gql, person.token)

    first = await sign_in(gql, "mia@example.com")
    code = code_at(secret)
    completed = (await gql(COMPLETE, {"challenge": first["mfaChallenge"]["token"], "code": code})).data["completeMfaSignIn"]
    second = await sign_in(gql, "mia@example.com")
    replayed = (await gql(COMPLETE, {"challenge": second["mfaChallenge"]["token"], "code": code})).data["completeMfaSignIn"]
    next_step = (
        await gql(COMPLETE, {"challenge": second["mfaChallenge"]["token"], "code": code_at(secret, 1)})
    ).data["completeMfaSignIn"]

    assert first["token"] is None and first["viewer"] is None and first["mfaChallenge"]["token"]
    assert completed["errors"] == [] and completed["viewer"]["user"]["email"] == "mia@example.com"
    viewer = await gql(VIEWER, token=completed["token"])
    assert viewer.data["viewer"]["user"]["email"] == "mia@example.com"
    assert replayed["token"] is None and replayed["errors"][0]["code"] == "MFA_INVALID_CODE"
    assert next_step["errors"] == [] and next_step["token"]


async def test_a_challenge_is_single_use_and_a_made_up_one_is_refused(gql: GraphQLClient, world: World) -> None:
    person = await world.person(None, None, email="mia@example.com")
    secret, _ = await turn_on_mfa(gql, person.token)
    challenge = (await sign_in(gql, "mia@example.com"))["mfaChallenge"]["token"]

    used = (await gql(COMPLETE, {"challenge": challenge, "code": code_at(secret)})).data["completeMfaSignIn"]
    reused = (await gql(COMPLETE, {"challenge": challenge, "code": code_at(secret, 1)})).data["completeMfaSignIn"]
    made_up = (await gql(COMPLETE, {"challenge": "bkc_nonsense", "code": "123456"})).data["completeMfaSignIn"]

    assert used["token"]
    assert reused["token"] is None and reused["errors"][0]["code"] == "MFA_CHALLENGE_EXPIRED"
    assert made_up["errors"][0]["code"] == "MFA_CHALLENGE_EXPIRED"


async def test_a_backup_code_works_once(gql: GraphQLClient, world: World) -> None:
    person = await world.person(None, None, email="mia@example.com")
    _, backup_codes = await turn_on_mfa(gql, person.token)
    code = backup_codes[3].upper()  # read off paper: case and dashes do not matter

    once = (await gql(COMPLETE, {"challenge": (await sign_in(gql, "mia@example.com"))["mfaChallenge"]["token"], "code": code})).data["completeMfaSignIn"]
    twice = (await gql(COMPLETE, {"challenge": (await sign_in(gql, "mia@example.com"))["mfaChallenge"]["token"], "code": code})).data["completeMfaSignIn"]
    status = (await gql(MFA_STATUS, token=once["token"])).data["mfaStatus"]

    assert once["errors"] == [] and once["token"]
    assert twice["token"] is None and twice["errors"][0]["code"] == "MFA_INVALID_CODE"
    assert status == {"enabled": True, "backupCodesRemaining": 9}
    assert "backup_code_used" in await _events(world, person.user.id)


async def test_secret_and_backup_codes_are_not_stored_in_clear(gql: GraphQLClient, world: World) -> None:
    person = await world.person(None, None, email="mia@example.com")
    secret, backup_codes = await turn_on_mfa(gql, person.token)

    async with world.runtime.database.transaction(all_tenants=True) as db:
        factor = (await db.execute(sa.select(MultiFactorAuth))).scalar_one()
        stored_codes = list((await db.execute(sa.select(MfaBackupCode.code_hash))).scalars())

    assert secret not in factor.secret_encrypted
    assert SecretBox.from_settings(settings_for("sqlite://", secret_key=TEST_SECRET_KEY)).open(factor.secret_encrypted) == secret
    assert len(stored_codes) == 10
    assert not any(code.replace("-", "") in stored for code in backup_codes for stored in stored_codes)


async def test_wrong_codes_block_mfa_for_a_while_even_for_the_right_code(gql: GraphQLClient, world: World) -> None:
    person = await world.person(None, None, email="mia@example.com")
    secret, _ = await turn_on_mfa(gql, person.token)
    challenge = (await sign_in(gql, "mia@example.com"))["mfaChallenge"]["token"]

    answers = [
        (await gql(COMPLETE, {"challenge": challenge, "code": "000000"})).data["completeMfaSignIn"]["errors"][0]["code"]
        for _ in range(5)
    ]
    right_code = (await gql(COMPLETE, {"challenge": challenge, "code": code_at(secret)})).data["completeMfaSignIn"]

    assert answers == ["MFA_INVALID_CODE"] * 4 + ["MFA_BLOCKED"]
    assert right_code["token"] is None and right_code["errors"][0]["code"] == "MFA_BLOCKED"
    async with world.runtime.database.transaction(all_tenants=True) as db:
        factor = (await db.execute(sa.select(MultiFactorAuth))).scalar_one()
    assert factor.blocked_until is not None and factor.blocked_until - factor.last_used_at > timedelta(minutes=14)
    events = await _events(world, person.user.id)
    assert events.count("mfa_failed") == 6 and "mfa_blocked" in events


async def test_turning_mfa_off_takes_a_fresh_code(gql: GraphQLClient, world: World) -> None:
    person = await world.person(None, None, email="mia@example.com")
    secret, _ = await turn_on_mfa(gql, person.token)

    refused = (await gql(DISABLE, {"code": "123456"}, token=person.token)).data["disableMfa"]
    still_on = (await gql(MFA_STATUS, token=person.token)).data["mfaStatus"]["enabled"]
    done = (await gql(DISABLE, {"code": code_at(secret)}, token=person.token)).data["disableMfa"]
    plain_sign_in = await sign_in(gql, "mia@example.com")

    assert refused["ok"] is False and refused["errors"][0]["code"] == "MFA_INVALID_CODE"
    assert still_on is True
    assert done == {"ok": True, "errors": []}
    assert plain_sign_in["token"] and plain_sign_in["mfaChallenge"] is None
    assert {"mfa_enabled", "mfa_disabled"} <= set(await _events(world, person.user.id))


UPDATE_POLICY = """mutation Policy($mfa: Boolean, $ips: [String!]) {
  updateSecuritySettings(input: {requireMfaForStaff: $mfa, staffIpAllowlist: $ips}) {
    securitySettings { requireMfaForStaff staffIpAllowlist } errors { field code message } } }"""
ADD_CUSTOMER = """mutation { createCustomer(input: {email: "walk.in@example.com", firstName: "Walk"}) {
  customer { email } errors { code } } }"""


async def test_an_owner_can_require_mfa_of_the_team(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    staff = await world.person(tenant, Role.STAFF)
    customer = await world.person(tenant, Role.CUSTOMER)

    policy = await gql(UPDATE_POLICY, {"mfa": True}, token=owner.token, tenant="salon")
    refused = await gql(ADD_CUSTOMER, token=staff.token, tenant="salon")
    viewer = (await gql(VIEWER, token=staff.token, tenant="salon")).data["viewer"]
    customer_view = await gql(VIEWER, token=customer.token, tenant="salon")
    await turn_on_mfa(gql, staff.token, tenant="salon")  # this session proves the factor
    allowed = await gql(ADD_CUSTOMER, token=staff.token, tenant="salon")

    assert policy.data["updateSecuritySettings"]["securitySettings"]["requireMfaForStaff"] is True
    assert refused.error_codes == ["FORBIDDEN"]
    assert refused.errors[0]["extensions"]["reason"] == "MFA_REQUIRED"
    assert viewer["role"] == "STAFF" and viewer["restriction"] == "MFA_REQUIRED"
    assert customer_view.data["viewer"]["restriction"] is None  # customers are not the team
    assert allowed.errors == [] and allowed.data["createCustomer"]["customer"]["email"] == "walk.in@example.com"
    fresh = await sign_in(gql, staff.email, tenant="salon")
    assert fresh["token"] is None and fresh["mfaChallenge"]  # from now on, with a code


async def test_one_code_sent_twice_at_once_signs_in_once(gql: GraphQLClient, world: World) -> None:
    person = await world.person(None, None, email="mia@example.com")
    secret, _ = await turn_on_mfa(gql, person.token)
    challenges = [(await sign_in(gql, "mia@example.com"))["mfaChallenge"]["token"] for _ in range(2)]
    code = code_at(secret)

    results = await asyncio.gather(*(
        gql(COMPLETE, {"challenge": challenge, "code": code}) for challenge in challenges
    ))

    outcomes = sorted(bool(r.data["completeMfaSignIn"]["token"]) for r in results)
    assert outcomes == [False, True]
