"""deleteMyAccount (issue 15 item 6): the holder, with their password (and a code when MFA is
on), deletes their account; every session ends and their customer records in every business
are erased, the bookings kept."""

from __future__ import annotations

import sqlalchemy as sa

from boka.models.bookings import Booking, Customer
from boka.models.identity import User, UserSession
from boka.models.tenancy import Role, TenantUser
from tests.booking.support import BookingWorld, future_day, local
from tests.identity.security_support import sign_in, turn_on_mfa
from tests.payments.support import CANCEL, CREATE
from tests.support import PASSWORD, GraphQLClient, World

DELETE = """mutation($input: DeleteMyAccountInput!) { deleteMyAccount(input: $input) {
    deleted customerRecordsErased sessionsEnded errors { field code } } }"""
VIEWER = "{ viewer { user { email } } }"


async def test_the_holder_deletes_their_account_and_their_records_in_every_business(
    gql: GraphQLClient, world: World,
) -> None:
    salon = await world.tenant("salon", time_zone="Europe/Berlin")
    spa = await world.tenant("spa", time_zone="Europe/Berlin")
    staffed = await BookingWorld(world).staffed_service(salon)
    carl = await world.person(salon, Role.CUSTOMER, email="carl@example.com")
    async with world.runtime.database.transaction(spa.id, write=True) as db:
        db.add(TenantUser(tenant_id=spa.id, user_id=carl.user.id, role=Role.CUSTOMER))
        db.add(Customer(tenant_id=spa.id, email="carl@example.com", first_name="Carl",
                        user_id=carl.user.id, user_linked_at=carl.user.created_at))
    second = await sign_in(gql, "carl@example.com", tenant="salon")  # another device
    booked = await gql(CREATE, {"input": {"serviceId": staffed.service_id,
                                          "start": local(future_day(2), 10).isoformat()}},
                       token=carl.token, tenant="salon")
    booking = booked.data["createBooking"]["booking"]

    # Upcoming bookings first; a wrong password never; with MFA on, a code too.
    refused = await gql(DELETE, {"input": {"password": PASSWORD}}, token=carl.token, tenant="salon")
    assert [e["code"] for e in refused.data["deleteMyAccount"]["errors"]] == ["FUTURE_BOOKINGS"]
    cancelled = await gql(CANCEL, {"input": {"id": booking["id"]}}, token=carl.token, tenant="salon")
    assert cancelled.data["cancelBooking"]["errors"] == []
    wrong = await gql(DELETE, {"input": {"password": "not it at all"}}, token=carl.token)
    assert wrong.data["deleteMyAccount"]["errors"] == [{"field": "password", "code": "INVALID_CREDENTIALS"}]
    _, backup_codes = await turn_on_mfa(gql, carl.token)
    no_code = await gql(DELETE, {"input": {"password": PASSWORD}}, token=carl.token)
    assert no_code.data["deleteMyAccount"]["errors"] == [{"field": "mfaCode", "code": "MFA_REQUIRED"}]
    bad_code = await gql(DELETE, {"input": {"password": PASSWORD, "mfaCode": "000000"}}, token=carl.token)
    assert bad_code.data["deleteMyAccount"]["errors"] == [{"field": "mfaCode", "code": "MFA_INVALID_CODE"}]
    assert (await gql(VIEWER, token=carl.token)).data["viewer"]["user"]["email"] == "carl@example.com"

    deleted = await gql(DELETE, {"input": {"password": PASSWORD, "mfaCode": backup_codes[0]}},
                        token=carl.token, tenant="salon")
    assert not deleted.errors, deleted.body
    payload = deleted.data["deleteMyAccount"]
    assert payload["errors"] == [], deleted.body
    assert (payload["deleted"], payload["customerRecordsErased"], payload["sessionsEnded"]) == (True, 2, 2)

    # Every session is over, and the address no longer signs in.
    for token in (carl.token, second["token"]):
        assert (await gql(VIEWER, token=token)).data["viewer"]["user"] is None  # a guest now
    assert (await sign_in(gql, "carl@example.com", tenant="salon"))["errors"][0]["code"] == "INVALID_CREDENTIALS"
    async with world.runtime.database.transaction(all_tenants=True) as db:
        user = await db.get(User, carl.user.id, populate_existing=True)
        customers = (await db.execute(sa.select(Customer).where(Customer.id.is_not(None))
                                      .execution_options(populate_existing=True))).scalars().all()
        live = (await db.execute(sa.select(sa.func.count()).select_from(UserSession).where(
            UserSession.user_id == carl.user.id, UserSession.is_active.is_(True)))).scalar_one()
        memberships = (await db.execute(sa.select(sa.func.count()).select_from(TenantUser).where(
            TenantUser.user_id == carl.user.id))).scalar_one()
        bookings = (await db.execute(sa.select(Booking))).scalars().all()
    assert user is not None
    assert (user.email, user.full_name, user.password_hash, user.is_active) == (
        f"deleted-{user.id.hex}@erased.invalid", "", None, False)
    assert (live, memberships) == (0, 0)
    assert len(customers) == 2
    assert all(c.email.endswith("@erased.invalid") and c.first_name == "" and c.user_id is None
               for c in customers)
    assert [b.status.value for b in bookings] == ["cancelled"]  # the booking stays


async def test_a_team_member_or_superadmin_cannot_delete_their_account(
    gql: GraphQLClient, world: World,
) -> None:
    salon = await world.tenant("salon", time_zone="Europe/Berlin")
    owner = await world.person(salon, Role.OWNER)
    superadmin = await world.person(None, None, superadmin=True)

    for person in (owner, superadmin):
        refused = await gql(DELETE, {"input": {"password": PASSWORD}}, token=person.token)
        assert [e["code"] for e in refused.data["deleteMyAccount"]["errors"]] == ["TEAM_MEMBER"]
        assert (await gql(VIEWER, token=person.token)).data["viewer"]["user"] is not None
