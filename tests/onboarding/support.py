"""GraphQL documents and steps shared by the getting-started tests."""

from __future__ import annotations

import re
from typing import Any

from tests.notifications.servers import SmtpServer
from tests.support import GraphQLClient, World

SIGN_UP = """mutation($input: SignUpBusinessInput!) { signUpBusiness(input: $input) {
    token tenant { id slug name timeZone currency } viewer { user { email emailVerified } role }
    errors { field code message } } }"""
VERIFY = """mutation($token: String!) { verifyEmail(input: {token: $token}) {
    verified errors { field code message } } }"""
VIEWER = "{ viewer { user { email emailVerified } tenant { slug } role } }"
INVITE = """mutation($email: String!, $role: Role!) { inviteMember(input: {email: $email, role: $role}) {
    invitation { id email role status sentCount } errors { field code message } } }"""
ACCEPT = """mutation($token: String!, $password: String, $name: String! = "") {
    acceptInvitation(input: {token: $token, password: $password, fullName: $name}) {
    token viewer { user { email emailVerified } tenant { slug } role } errors { field code message } } }"""
REQUEST_RESET = """mutation($email: String!) { requestPasswordReset(input: {email: $email}) {
    message errors { field code message } } }"""
RESET = """mutation($token: String!, $password: String!, $code: String) {
    resetPassword(input: {token: $token, newPassword: $password, mfaCode: $code}) {
    passwordReset errors { field code message } } }"""
OWNER_PASSWORD = "owner's long passphrase"


def business(name: str = "Studio Nord", **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "businessName": name, "timeZone": "Europe/Berlin", "currency": "EUR",
        "owner": {"email": "olivia@studio.example", "password": OWNER_PASSWORD,
                  "firstName": "Olivia", "lastName": "Owner"},
    }
    values.update(fields)
    return values


def link_token(smtp: SmtpServer, address: str, path: str) -> str:
    """The token of the newest mailed link to ``path`` for ``address``."""
    mails = smtp.sink.to(address)
    assert mails, f"no mail to {address}"
    found = re.search(rf"https://book\.example{path}\?token=(\S+)", mails[-1].text)
    assert found, mails[-1].text
    return found.group(1)


async def deliver_mail(world: World) -> None:
    await world.runtime.jobs.drain()
    assert world.runtime.jobs.failed == []  # type: ignore[attr-defined]


async def sign_up(gql: GraphQLClient, world: World, **fields: Any) -> dict[str, Any]:
    result = await gql(SIGN_UP, {"input": business(**fields)})
    payload = result.data["signUpBusiness"]
    assert payload["errors"] == [], payload
    await deliver_mail(world)
    return payload
