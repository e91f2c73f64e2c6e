"""Shared GraphQL documents and steps for the account-security tests."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from boka.identity.totp import code_for
from boka.models.types import utcnow
from tests.support import PASSWORD, GraphQLClient

SIGN_IN = """
mutation SignIn($email: String!, $password: String!) {
  signIn(input: {email: $email, password: $password}) {
    token mfaChallenge { token expiresAt }
    viewer { user { email } role restriction }
    errors { field code message }
  }
}"""
COMPLETE = """
mutation Complete($challenge: String!, $code: String!) {
  completeMfaSignIn(input: {challenge: $challenge, code: $code}) {
    token viewer { user { email } }
    errors { field code message }
  }
}"""
ENROLL = "mutation { enrollMfa { secret otpauthUri errors { code message } } }"
ENABLE = """mutation Enable($code: String!) {
  enableMfa(input: {code: $code}) { backupCodes errors { field code message } } }"""
DISABLE = """mutation Disable($code: String!) {
  disableMfa(input: {code: $code}) { ok errors { field code message } } }"""
MFA_STATUS = "{ mfaStatus { enabled backupCodesRemaining } }"
VIEWER = "{ viewer { user { email } role restriction grants { action scope } } }"


def code_at(secret: str, offset_steps: int = 0) -> str:
    """The code for the current 30-second step plus ``offset_steps`` (within the ±1 drift)."""
    return code_for(secret, utcnow() + timedelta(seconds=30 * offset_steps))


async def turn_on_mfa(gql: GraphQLClient, token: str, **headers: Any) -> tuple[str, list[str]]:
    """Enrol and enable with the previous step's code, leaving the current and next steps
    free for the test. Returns (secret, backup codes).

    Starts early in a 30-second step, so that the test's codes (previous, current, next) are
    not computed on one side of a step boundary and checked on the other."""
    into_step = time.time() % 30
    if into_step > 20:
        await asyncio.sleep(30 - into_step + 0.1)
    enrolled = await gql(ENROLL, token=token, **headers)
    secret = enrolled.data["enrollMfa"]["secret"]
    enabled = await gql(ENABLE, {"code": code_at(secret, -1)}, token=token, **headers)
    assert enabled.data["enableMfa"]["errors"] == []
    return secret, enabled.data["enableMfa"]["backupCodes"]


async def sign_in(gql: GraphQLClient, email: str, password: str = PASSWORD, **headers: Any) -> dict[str, Any]:
    return (await gql(SIGN_IN, {"email": email, "password": password}, **headers)).data["signIn"]
