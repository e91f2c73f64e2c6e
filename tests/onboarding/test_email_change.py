"""Changing an account's email: password (and a code with MFA) to ask, a single-use link to the
new address, the change only when it is used, the old address told, no enumeration, other
sessions ended, linked customer records following, every step audited. Mail goes through the
jobs to a real SMTP server."""

from __future__ import annotations

import sqlalchemy as sa

from boka.models.bookings import Customer
from boka.models.security import AuthenticationLog
from boka.models.tenancy import Role
from tests.identity.security_support import code_at, sign_in, turn_on_mfa
from tests.notifications.servers import SmtpServer
from tests.onboarding.support import VIEWER, deliver_mail, link_token
from tests.support import PASSWORD, GraphQLClient, World

CHANGE = """mutation($email: String!, $password: String!, $code: String) {
    changeMyEmail(input: {newEmail: $email, password: $password, mfaCode: $code}) {
    message errors { field code message } } }"""
CONFIRM = """mutation($token: String!) { confirmEmailChange(input: {token: $token}) {
    changed email errors { field code message } } }"""


async def _events(world: World) -> list[str]:
    async with world.runtime.database.transaction(all_tenants=True) as db:
        return list((await db.execute(
            sa.select(AuthenticationLog.event_type).order_by(AuthenticationLog.created_at))).scalars())


async def test_the_change_happens_only_with_the_link_and_tells_the_old_address(
    gql: GraphQLClient, world: World, smtp: SmtpServer
) -> None:
    salon = await world.tenant("salon")
    spa = await world.tenant("spa")
    carl = await world.person(salon, Role.CUSTOMER, email="carl@example.com")
    other_session = (await sign_in(gql, "carl@example.com", tenant="salon"))["token"]
    async with world.runtime.database.transaction(all_tenants=True, write=True) as db:
        db.add(Customer(tenant_id=salon.id, email="carl@example.com", user_id=carl.user.id))
        db.add(Customer(tenant_id=spa.id, email="carl@example.com", user_id=carl.user.id))
        db.add(Customer(tenant_id=spa.id, email="carl@new.example"))  # spa knows the new address already

    wrong = await gql(CHANGE, {"email": "carl@new.example", "password": "not my password"},
                      token=carl.token, tenant="salon")
    malformed = await gql(CHANGE, {"email": "nope", "password": PASSWORD}, token=carl.token, tenant="salon")
    anonymous = await gql(CHANGE, {"email": "carl@new.example", "password": PASSWORD}, tenant="salon")
    asked = await gql(CHANGE, {"email": "Carl@New.example", "password": PASSWORD}, token=carl.token, tenant="salon")
    await deliver_mail(world)
    token = link_token(smtp, "carl@new.example", "/confirm-email-change")
    still = await gql(VIEWER, token=carl.token, tenant="salon")
    assert still.data["viewer"]["user"]["email"] == "carl@example.com"  # nothing changed yet

    done = await gql(CONFIRM, {"token": token})
    again = await gql(CONFIRM, {"token": token})
    await deliver_mail(world)

    assert wrong.data, wrong
    assert [(e["field"], e["code"]) for e in wrong.data["changeMyEmail"]["errors"]] == [
        ("password", "INVALID_CREDENTIALS")]
    assert [(e["field"], e["code"]) for e in malformed.data["changeMyEmail"]["errors"]] == [
        ("newEmail", "INVALID_EMAIL")]
    assert anonymous.error_codes == ["UNAUTHENTICATED"]
    assert asked.data["changeMyEmail"]["errors"] == [] and asked.data["changeMyEmail"]["message"]
    assert done.data["confirmEmailChange"] == {"changed": True, "email": "carl@new.example", "errors": []}
    assert again.data["confirmEmailChange"]["errors"][0]["code"] == "INVALID_TOKEN"
    # The asking session lives on with the new address, verified; the other one ended
    me = await gql(VIEWER, token=carl.token, tenant="salon")
    assert me.data["viewer"]["user"] == {"email": "carl@new.example", "emailVerified": True}
    assert (await gql(VIEWER, token=other_session, tenant="salon")).data["viewer"]["user"] is None
    assert (await sign_in(gql, "carl@new.example"))["token"]
    # The old address was told, without a link
    notice = smtp.sink.to("carl@example.com")[-1]
    assert "changed" in notice.subject and "carl@new.example" in notice.text and "token=" not in notice.text
    # The salon's linked record followed; the spa's kept its address (the spa has a record with the new one)
    async with world.runtime.database.transaction(all_tenants=True) as db:
        rows = {(r.tenant_id, r.email, r.user_id) for r in (await db.execute(sa.select(Customer))).scalars()}
    assert rows == {(salon.id, "carl@new.example", carl.user.id), (spa.id, "carl@example.com", carl.user.id),
                    (spa.id, "carl@new.example", None)}
    events = await _events(world)
    assert events.count("email_change_failed") == 1
    assert "email_change_requested" in events and "email_changed" in events


async def test_an_address_in_use_answers_alike_and_its_holder_is_told(
    gql: GraphQLClient, world: World, smtp: SmtpServer
) -> None:
    salon = await world.tenant("salon")
    carl = await world.person(salon, Role.CUSTOMER, email="carl@example.com")
    await world.person(None, None, email="dora@example.com")

    taken = await gql(CHANGE, {"email": "dora@example.com", "password": PASSWORD}, token=carl.token, tenant="salon")
    free = await gql(CHANGE, {"email": "free@example.com", "password": PASSWORD}, token=carl.token, tenant="salon")
    await deliver_mail(world)

    assert taken.data == free.data  # the asker learns nothing
    to_dora = smtp.sink.to("dora@example.com")
    assert len(to_dora) == 1 and "token=" not in to_dora[0].text and "already belongs" in to_dora[0].text
    assert link_token(smtp, "free@example.com", "/confirm-email-change")
    me = await gql(VIEWER, token=carl.token, tenant="salon")
    assert me.data["viewer"]["user"]["email"] == "carl@example.com"


async def test_a_link_fails_when_the_address_was_taken_meanwhile_and_mfa_is_required(
    gql: GraphQLClient, world: World, smtp: SmtpServer
) -> None:
    salon = await world.tenant("salon")
    carl = await world.person(salon, Role.CUSTOMER, email="carl@example.com")
    secret, _ = await turn_on_mfa(gql, carl.token, tenant="salon")

    no_code = await gql(CHANGE, {"email": "late@example.com", "password": PASSWORD}, token=carl.token, tenant="salon")
    bad_code = await gql(CHANGE, {"email": "late@example.com", "password": PASSWORD, "code": "000000"},
                         token=carl.token, tenant="salon")
    asked = await gql(CHANGE, {"email": "late@example.com", "password": PASSWORD, "code": code_at(secret)},
                      token=carl.token, tenant="salon")
    await deliver_mail(world)
    token = link_token(smtp, "late@example.com", "/confirm-email-change")
    await world.person(None, None, email="late@example.com")  # someone registers it first
    late = await gql(CONFIRM, {"token": token})

    assert no_code.data["changeMyEmail"]["errors"][0]["code"] == "MFA_REQUIRED"
    assert bad_code.data["changeMyEmail"]["errors"][0]["field"] == "mfaCode"
    assert asked.data["changeMyEmail"]["errors"] == []
    assert late.data["confirmEmailChange"]["errors"][0]["code"] == "INVALID_TOKEN"
    me = await gql(VIEWER, token=carl.token, tenant="salon")
    assert me.data["viewer"]["user"]["email"] == "carl@example.com"
