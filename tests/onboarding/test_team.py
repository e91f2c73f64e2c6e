"""The team: invitations by mail, accepting them, changing roles, removing members."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from boka.models.bookings import Booking, BookingStatus
from boka.models.catalog import StaffMember
from boka.models.onboarding import Invitation
from boka.models.tenancy import Role, TenantUser
from boka.models.types import utcnow
from tests.booking.support import BookingWorld, future_day, gid, local
from tests.notifications.servers import SmtpServer
from tests.onboarding.support import ACCEPT, INVITE, VIEWER, deliver_mail, link_token
from tests.support import GraphQLClient, World

RESEND = """mutation($id: ID!) { resendInvitation(input: {id: $id}) {
    invitation { status sentCount } errors { field code } } }"""
REVOKE = """mutation($id: ID!) { revokeInvitation(input: {id: $id}) {
    invitation { status } errors { field code } } }"""
INVITATIONS = "{ invitations(pendingOnly: false) { edges { node { email role status } } } }"
CHANGE_ROLE = """mutation($id: ID!, $role: Role!) { changeMemberRole(input: {id: $id, role: $role}) {
    membership { role } errors { field code message } } }"""
REMOVE = """mutation($id: ID!, $choice: FutureBookingsChoice, $to: ID) {
    removeMember(input: {id: $id, futureBookings: $choice, reassignTo: $to}) {
    removed affectedBookings { id status staff { id } } errors { field code message } } }"""
PREVIEW = """query($token: String!) { invitationByToken(token: $token) {
    businessName role email hasAccount } }"""
BOOK = """mutation($input: CreateBookingInput!) { createBooking(input: $input) {
    booking { id } errors { code message } } }"""


async def _membership_id(world: World, tenant_id: object, user_id: object) -> str:
    async with world.runtime.database.transaction(tenant_id, write=True) as db:  # type: ignore[arg-type]
        row = (await db.execute(sa.select(TenantUser.id).where(TenantUser.user_id == user_id))).scalar_one()
    return gid("Membership", row)


async def test_an_invited_person_joins_from_the_mailed_link_once(
    gql: GraphQLClient, world: World, smtp: SmtpServer
) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    manager = await world.person(tenant, Role.MANAGER)

    invited = await gql(INVITE, {"email": "Sam@Example.com", "role": "STAFF"}, token=manager.token, tenant="salon")
    above_manager = await gql(INVITE, {"email": "max@example.com", "role": "MANAGER"},
                              token=manager.token, tenant="salon")
    await deliver_mail(world)
    [mail] = smtp.sink.to("sam@example.com")
    token = link_token(smtp, "sam@example.com", "/accept-invitation")
    preview = await gql(PREVIEW, {"token": token})
    no_password = await gql(ACCEPT, {"token": token})
    joined = await gql(ACCEPT, {"token": token, "password": "sam's new passphrase", "name": "Sam"})
    again = await gql(ACCEPT, {"token": token, "password": "sam's new passphrase"})
    preview_after = await gql(PREVIEW, {"token": token})
    listed = await gql(INVITATIONS, token=owner.token, tenant="salon")

    assert invited.data["inviteMember"]["invitation"]["status"] == "PENDING"
    assert above_manager.error_codes == ["FORBIDDEN"]
    assert mail.subject == "You are invited to join Salon on Boka" and "as staff" in mail.text
    assert preview.data["invitationByToken"] == {
        "businessName": "Salon", "role": "STAFF", "email": "sam@example.com", "hasAccount": False}
    assert preview_after.data == {"invitationByToken": None}  # used: the page says so
    assert no_password.data["acceptInvitation"]["errors"][0]["field"] == "password"
    payload = joined.data["acceptInvitation"]
    assert payload["errors"] == [] and payload["viewer"]["role"] == "STAFF"
    assert payload["viewer"]["user"] == {"email": "sam@example.com", "emailVerified": True}
    me = await gql(VIEWER, token=payload["token"], tenant="salon")
    assert me.data["viewer"]["role"] == "STAFF"
    assert again.data["acceptInvitation"]["errors"][0]["code"] == "INVALID_TOKEN"
    assert [e["node"]["status"] for e in listed.data["invitations"]["edges"]] == ["ACCEPTED"]


async def test_resent_revoked_and_expired_links_stop_working_and_accounts_sign_in_first(
    gql: GraphQLClient, world: World, smtp: SmtpServer
) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    existing = await world.person(None, None, email="max@example.com")

    first = await gql(INVITE, {"email": "max@example.com", "role": "MANAGER"}, token=owner.token, tenant="salon")
    await deliver_mail(world)
    old_token = link_token(smtp, "max@example.com", "/accept-invitation")
    invitation_id = first.data["inviteMember"]["invitation"]["id"]
    resent = await gql(RESEND, {"id": invitation_id}, token=owner.token, tenant="salon")
    await deliver_mail(world)
    new_token = link_token(smtp, "max@example.com", "/accept-invitation")
    previews = [(await gql(PREVIEW, {"token": t})).data["invitationByToken"] for t in (old_token, new_token)]
    with_old = await gql(ACCEPT, {"token": old_token})
    signed_out = await gql(ACCEPT, {"token": new_token, "password": "another passphrase"})
    gql.http.cookies.clear()
    signed_in = await gql(ACCEPT, {"token": new_token}, token=existing.token)

    assert resent.data["resendInvitation"]["invitation"] == {"status": "PENDING", "sentCount": 2}
    assert previews[0] is None and previews[1]["hasAccount"] is True  # the page asks to sign in first
    assert with_old.data["acceptInvitation"]["errors"][0]["code"] == "INVALID_TOKEN"
    assert signed_out.data["acceptInvitation"]["errors"][0]["code"] == "EMAIL_TAKEN"
    assert signed_in.data["acceptInvitation"]["viewer"]["role"] == "MANAGER"

    revoked = await gql(INVITE, {"email": "rita@example.com", "role": "STAFF"}, token=owner.token, tenant="salon")
    expired = await gql(INVITE, {"email": "eve@example.com", "role": "STAFF"}, token=owner.token, tenant="salon")
    await deliver_mail(world)
    await gql(REVOKE, {"id": revoked.data["inviteMember"]["invitation"]["id"]}, token=owner.token, tenant="salon")
    async with world.runtime.database.transaction(tenant.id, write=True) as db:
        await db.execute(sa.update(Invitation).where(Invitation.email == "eve@example.com")
                         .values(expires_at=utcnow() - timedelta(seconds=1)))
    for address in ("rita@example.com", "eve@example.com"):
        token = link_token(smtp, address, "/accept-invitation")
        result = await gql(ACCEPT, {"token": token, "password": "a fine passphrase"})
        assert result.data["acceptInvitation"]["errors"][0]["code"] == "INVALID_TOKEN", address
        assert (await gql(PREVIEW, {"token": token})).data == {"invitationByToken": None}, address
    assert expired.data["inviteMember"]["errors"] == []

    customer = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    as_staff = await gql(INVITE, {"email": "carl@example.com", "role": "STAFF"}, token=owner.token, tenant="salon")
    team_member = await gql(INVITE, {"email": "max@example.com", "role": "STAFF"}, token=owner.token, tenant="salon")
    await deliver_mail(world)
    gql.http.cookies.clear()
    joined = await gql(ACCEPT, {"token": link_token(smtp, "carl@example.com", "/accept-invitation")},
                       token=customer.token)
    assert as_staff.data["inviteMember"]["errors"] == []  # a customer may join the team
    assert joined.data["acceptInvitation"]["viewer"]["role"] == "STAFF"
    assert [e["code"] for e in team_member.data["inviteMember"]["errors"]] == ["ALREADY_MEMBER"]


async def test_roles_change_within_the_matrix_and_a_business_keeps_an_owner(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    manager = await world.person(tenant, Role.MANAGER)
    staff = await world.person(tenant, Role.STAFF)
    owner_id = await _membership_id(world, tenant.id, owner.user.id)
    staff_id = await _membership_id(world, tenant.id, staff.user.id)

    demote_self = await gql(CHANGE_ROLE, {"id": owner_id, "role": "MANAGER"}, token=owner.token, tenant="salon")
    remove_self = await gql(REMOVE, {"id": owner_id}, token=owner.token, tenant="salon")
    manager_on_owner = await gql(CHANGE_ROLE, {"id": owner_id, "role": "STAFF"}, token=manager.token, tenant="salon")
    manager_promotes = await gql(CHANGE_ROLE, {"id": staff_id, "role": "MANAGER"}, token=manager.token, tenant="salon")
    owner_promotes = await gql(CHANGE_ROLE, {"id": staff_id, "role": "OWNER"}, token=owner.token, tenant="salon")
    now_demotable = await gql(CHANGE_ROLE, {"id": owner_id, "role": "MANAGER"}, token=owner.token, tenant="salon")

    assert demote_self.data["changeMemberRole"]["errors"][0]["code"] == "LAST_OWNER"
    assert remove_self.data["removeMember"]["errors"][0]["code"] == "LAST_OWNER"
    assert manager_on_owner.error_codes == ["FORBIDDEN"] and manager_promotes.error_codes == ["FORBIDDEN"]
    assert owner_promotes.data["changeMemberRole"]["membership"] == {"role": "OWNER"}
    assert now_demotable.data["changeMemberRole"]["membership"] == {"role": "MANAGER"}


async def test_removing_staff_with_bookings_to_come_needs_a_choice(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon", time_zone="Europe/Berlin")
    owner = await world.person(tenant, Role.OWNER)
    staffed = await BookingWorld(world).staffed_service(tenant, staff_count=3)
    leaving, colleague, _ = staffed.people  # the third stays: someone is left to be active
    bookings = []
    for hour in (10, 12):
        made = await gql(BOOK, {"input": {"serviceId": staffed.service_id, "staffId": staffed.staff_id(0),
                                          "start": local(future_day(3), hour).isoformat(),
                                          "customer": {"email": f"c{hour}@example.com"}}},
                         token=owner.token, tenant="salon")
        assert made.data["createBooking"]["errors"] == [], made.body
        bookings.append(made.data["createBooking"]["booking"]["id"])
    leaving_id = await _membership_id(world, tenant.id, leaving.user.id)

    asked = await gql(REMOVE, {"id": leaving_id}, token=owner.token, tenant="salon")
    no_target = await gql(REMOVE, {"id": leaving_id, "choice": "REASSIGN"}, token=owner.token, tenant="salon")
    reassigned = await gql(REMOVE, {"id": leaving_id, "choice": "REASSIGN", "to": staffed.staff_id(1)},
                           token=owner.token, tenant="salon")

    payload = asked.data["removeMember"]
    assert payload["removed"] is False and [e["code"] for e in payload["errors"]] == ["FUTURE_BOOKINGS"]
    assert [b["id"] for b in payload["affectedBookings"]] == bookings
    assert no_target.data["removeMember"]["errors"][0]["field"] == "reassignTo"
    assert reassigned.data["removeMember"]["removed"] is True, reassigned.body
    assert {b["staff"]["id"] for b in reassigned.data["removeMember"]["affectedBookings"]} == {staffed.staff_id(1)}
    me = await gql(VIEWER, token=leaving.token, tenant="salon")
    assert me.data["viewer"]["role"] is None

    # the colleague, now with both bookings, leaves too: cancelled this time
    colleague_id = await _membership_id(world, tenant.id, colleague.user.id)
    cancelled = await gql(REMOVE, {"id": colleague_id, "choice": "CANCEL"}, token=owner.token, tenant="salon")
    assert {b["status"] for b in cancelled.data["removeMember"]["affectedBookings"]} == {"CANCELLED"}
    async with world.runtime.database.transaction(tenant.id) as db:
        statuses = set((await db.execute(sa.select(Booking.status))).scalars())
        active_staff = set((await db.execute(sa.select(StaffMember.active))).scalars())
    assert statuses == {BookingStatus.CANCELLED} and active_staff == {False, True}
