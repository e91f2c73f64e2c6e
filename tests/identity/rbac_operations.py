"""The operations of the RBAC matrix test (tests/identity/test_rbac_matrix.py): the GraphQL
documents, the shared salon they run in, and one function per matrix row that performs it as a
principal and returns the outcome it observed (allowed, an error code, hidden, or which
reference bookings a list showed). A refused mutation must also have written nothing."""

from __future__ import annotations

import base64
import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from boka.models.bookings import Booking, BookingStatus, Customer
from boka.models.holds import SlotHold
from boka.models.catalog import Service
from boka.models.series import BookingSeries
from boka.models.catalog import Service, StaffMember
from boka.models.security import ApiKey, SecuritySettings
from boka.identity.account_tokens import new_link_token
from boka.identity.tokens import token_digest
from boka.models.identity import User
from boka.models.onboarding import Invitation
from boka.models.tenancy import Role, Tenant, TenantUser
from boka.models.waitlist import WaitlistEntry
from boka.models.types import utcnow
from tests.booking.support import local
from tests.support import GraphQLClient, GraphQLResult, World

# --- outcomes ------------------------------------------------------------------------------
OK = "allowed"  # data returned / the mutation succeeded and wrote
DENY = "FORBIDDEN"  # error code, nothing written
LOGIN = "UNAUTHENTICATED"  # error code: sign in first
HIDE = "hidden"  # not yours to see: null node, NOT_FOUND, never FORBIDDEN (would confirm the id)
NAME = "INVALID_INPUT on customer"  # a user error: say who the booking is for
TOKEN = "INVALID_TOKEN on token"  # a user error: the single-use link is not (or no longer) valid
PWD = "INVALID_CREDENTIALS on password"  # a user error: the account's password is needed
# which reference bookings a list shows
OWN, ASSIGNED, ALL, NONE = "own", "assigned", "all", "none"


SALON = "matrix-salon"
OTHER = "matrix-other"
OTHER_KEY_NAME = "matrix-other's integration"

# --- GraphQL -------------------------------------------------------------------------------
CREATE_BOOKING = """mutation($input: CreateBookingInput!) { createBooking(input: $input) {
    booking { id status customer { id } } errors { field code } } }"""
BOOKINGS = """query($from: DateTime!, $before: DateTime!) {
    bookings(first: 100, filter: {startsFrom: $from, startsBefore: $before}) {
    edges { node { id } } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
CANCEL = """mutation($id: ID!) { cancelBooking(input: {id: $id}) {
    booking { status } errors { field code } } }"""
CONFIRM = """mutation($id: ID!) { confirmBooking(input: {id: $id}) {
    booking { status } errors { field code } } }"""
CUSTOMERS = "{ customers(first: 5) { edges { node { id } } } }"
CREATE_CUSTOMER = """mutation($email: String!) { createCustomer(input: {email: $email}) {
    customer { id } errors { field code } } }"""
UPDATE_CUSTOMER = """mutation($id: ID!, $phone: String!) {
    updateCustomer(input: {id: $id, phone: $phone}) { customer { phone } errors { field code } } }"""
MEMBERS = "{ members(first: 5) { edges { node { id role } } } }"
ADD_MEMBER = """mutation($email: String!, $role: Role!) { addMember(input: {email: $email, role: $role}) {
    membership { role } errors { field code } } }"""
CREATE_SERVICE = """mutation($name: String!) {
    createService(input: {name: $name, durationMinutes: 30, price: {amount: 1000}}) {
    service { id } errors { field code } } }"""
UPDATE_SERVICE = """mutation($id: ID!, $text: String!) {
    updateService(input: {id: $id, description: $text}) { service { description } errors { field code } } }"""
SERVICES = """query($all: Boolean!) { services(first: 20, includeInactive: $all) {
    edges { node { id } } } }"""
CREATE_API_KEY = """mutation($name: String!, $scopes: [String!]!) {
    createApiKey(input: {name: $name, scopes: $scopes}) { key errors { field code } } }"""
AUTH_LOGS = "{ authenticationLogs(first: 5) { edges { node { eventType } } } }"
AUTH_LOGS_OF = """query($types: [String!]) { authenticationLogs(first: 100, eventTypes: $types) {
    edges { node { details } } } }"""
UPDATE_SECURITY = """mutation { updateSecuritySettings(input: {requireMfaForStaff: false, staffIpAllowlist: []}) {
    securitySettings { requireMfaForStaff } errors { field code } } }"""
SIGN_UP_BUSINESS = """mutation($input: SignUpBusinessInput!) { signUpBusiness(input: $input) {
    tenant { slug } errors { field code } } }"""
BUSINESS_PAGE = """query($slug: String!) { business(slug: $slug) { name services { name }
    payments { online stripePublishableKey } } }"""
BUSINESS_SETTINGS = "{ businessSettings { name currency } }"
UPDATE_BUSINESS = """mutation($title: String!) { updateBusinessSettings(input: {bookingPageTitle: $title}) {
    settings { bookingPageTitle } errors { field code } } }"""
INVITATIONS = "{ invitations(first: 5) { edges { node { id } } } }"
INVITE_MEMBER = """mutation($email: String!, $role: Role!) { inviteMember(input: {email: $email, role: $role}) {
    invitation { id } errors { field code } } }"""
RESEND_INVITATION = """mutation($id: ID!) { resendInvitation(input: {id: $id}) {
    invitation { sentCount } errors { field code } } }"""
REVOKE_INVITATION = """mutation($id: ID!) { revokeInvitation(input: {id: $id}) {
    invitation { status } errors { field code } } }"""
ACCEPT_INVITATION = """mutation($token: String!) { acceptInvitation(input: {token: $token,
    password: "a fine new passphrase"}) { token errors { field code } } }"""
CHANGE_ROLE = """mutation($id: ID!, $role: Role!) { changeMemberRole(input: {id: $id, role: $role}) {
    membership { role } errors { field code } } }"""
REMOVE_MEMBER = """mutation($id: ID!) { removeMember(input: {id: $id}) { removed errors { field code } } }"""
REQUEST_RESET = """mutation($email: String!) { requestPasswordReset(input: {email: $email}) {
    message errors { field code } } }"""
RESET_PASSWORD = """mutation { resetPassword(input: {token: "bkl_used-or-never-issued",
    newPassword: "a fine new passphrase"}) { passwordReset errors { field code } } }"""
VERIFY_EMAIL = """mutation { verifyEmail(input: {token: "bkl_used-or-never-issued"}) {
    verified errors { field code } } }"""
INVITATION_BY_TOKEN = """query { invitationByToken(token: "bkl_used-or-never-issued") {
    businessName role } }"""
RESEND_VERIFICATION = "mutation { resendVerificationEmail { sent errors { field code } } }"
CUSTOMER_EXPORT = "query($id: ID) { customerDataExport(customerId: $id) }"
MY_CUSTOMER_RECORD = "{ myCustomerRecord { id } }"
ERASE_CUSTOMER = """mutation($id: ID!) { eraseCustomer(input: {id: $id}) {
    customer { email } errors { field code } } }"""
CHANGE_MY_EMAIL = """mutation { changeMyEmail(input: {newEmail: "somewhere@new.example",
    password: "not the password"}) { message errors { field code } } }"""
CONFIRM_EMAIL_CHANGE = """mutation { confirmEmailChange(input: {token: "bkl_used-or-never-issued"}) {
    changed errors { field code } } }"""
UPDATE_DEFAULTS = """mutation($notice: Int!) { updateBusinessSettings(input: {defaults: {minNoticeMinutes: $notice}}) {
    settings { defaults { minNoticeMinutes } } errors { field code } } }"""
JOIN_WAITLIST = """mutation($input: JoinWaitlistInput!) { joinWaitlist(input: $input) {
    entry { id status } errors { field code } } }"""
CREATE_SERIES = """mutation($input: CreateBookingSeriesInput!) { createBookingSeries(input: $input) {
    series { id } occurrences { booking { id } } errors { field code } } }"""
PREVIEW_SERIES = """query($input: PreviewBookingSeriesInput!) { previewBookingSeries(input: $input) {
    preview { bookableCount } errors { field code } } }"""
CANCEL_SERIES = """mutation($id: ID!) { cancelBookingSeries(input: {seriesId: $id}) {
    cancelled { id } errors { field code } } }"""
MOVE_SERIES = """mutation($id: ID!, $start: DateTime!) {
    rescheduleBookingSeries(input: {seriesId: $id, start: $start}) {
    rescheduled { id } errors { field code } } }"""
HOLD_SLOT = """mutation($input: HoldSlotInput!) { holdSlot(input: $input) {
    hold { holdId } errors { field code } } }"""
RELEASE_HOLD = """mutation($holdId: String!) { releaseHold(input: {holdId: $holdId}) {
    hold { status } errors { field code } } }"""
SET_SERVICE_LIMITS = """mutation($id: ID!, $most: Int!) { setServiceBookingLimits(input: {serviceId: $id,
    limits: [{period: MONTH, maxBookings: $most}]}) { service { id } errors { field code } } }"""
SET_STAFF_LIMITS = """mutation($id: ID!, $most: Int!) { setStaffBookingLimits(input: {staffMemberId: $id,
    limits: [{period: MONTH, maxBookings: $most}]}) { staffMember { id } errors { field code } } }"""
SET_CUSTOMER_RULES = """mutation($most: Int!) { setCustomerBookingRules(input: {maxFutureBookings: $most}) {
    rules { maxFutureBookings } errors { field code } } }"""
CUSTOMER_RULES = "{ customerBookingRules { maxFutureBookings minGapMinutes } }"
DELETE_MY_ACCOUNT = """mutation { deleteMyAccount(input: {password: "not the password"}) {
    deleted errors { field code } } }"""


def outcome_of(result: GraphQLResult, payload: str | None = None) -> str:
    """What a response amounts to: an access error's code, a user error, or allowed."""
    assert result.response.status_code == 200, result.body
    if result.errors:
        codes = result.error_codes
        if codes == ["NOT_FOUND"]:
            return HIDE
        return codes[0] if len(set(codes)) == 1 else f"errors {codes}"
    if payload is not None:
        errors = result.data[payload]["errors"]
        if errors:
            return "; ".join(f"{e['code']} on {e['field']}" for e in errors)
    return OK


def row_id(global_id: str) -> uuid.UUID:
    return uuid.UUID(base64.b64decode(global_id).decode().split(":", 1)[1])


@dataclass(frozen=True)
class Caller:
    token: str | None
    tenant: str | None  # the X-Tenant header; None lets an API key act in its own tenant


@dataclass
class Salon:
    """The shared world every cell runs against."""

    gql: GraphQLClient
    world: World
    callers: dict[str, Caller]
    service_id: str
    staff_a: str
    reference: dict[str, str]  # label -> booking id
    reference_day: date
    other_booking: str
    customer_ids: dict[str, str]  # "carl" / "dana" -> Customer id
    tenant_id: uuid.UUID
    _names: itertools.count = field(default_factory=itertools.count)
    _slots: itertools.count = field(default_factory=itertools.count)

    @property
    def owner(self) -> Caller:
        return self.callers["owner"]

    async def call(
        self, who: Caller, query: str, variables: dict[str, Any] | None = None
    ) -> GraphQLResult:
        return await self.gql(query, variables, token=who.token, tenant=who.tenant)

    def unique(self, stem: str) -> str:
        return f"{stem}-{next(self._names)}"

    def fresh_start(self) -> str:
        """A start no other booking in the salon has: a distinct hour from the day after the
        reference day on, so the cells never compete for time."""
        n = next(self._slots)
        day = self.reference_day + timedelta(days=1 + n // 8)
        return local(day, 9 + n % 8).isoformat()

    async def book(self, whose: str) -> str:
        """A new booking with staff A: carl books it himself, or the owner books it for dana."""
        variables: dict[str, Any] = {"serviceId": self.service_id, "staffId": self.staff_a,
                                     "start": self.fresh_start()}
        if whose == "carl":
            by = self.callers["customer"]
        else:
            by = self.owner
            variables["customer"] = {"email": "dana@example.com"}
        made = await self.call(by, CREATE_BOOKING, {"input": variables})
        assert outcome_of(made, "createBooking") == OK, made.body
        booking = made.data["createBooking"]["booking"]
        assert booking["status"] == "PENDING"
        return booking["id"]

    async def scalar(self, statement: sa.Select[Any]) -> Any:
        """One value, read as the app reads: in the salon (row level security applies)."""
        async with self.world.runtime.database.transaction(self.tenant_id) as db:
            return (await db.execute(statement)).scalar_one_or_none()

    async def count(self, model: Any) -> int:
        return await self.scalar(sa.select(sa.func.count()).select_from(model))


def wrote(outcome: str, happened: bool) -> str:
    """A mutation writes exactly when it is allowed."""
    assert happened == (outcome == OK), f"outcome {outcome!r}, but written: {happened}"
    return outcome


# --- the operations: each returns the outcome it observed ------------------------------------
Operation = Callable[[Salon, Caller], Awaitable[str]]


Variables = Callable[[Salon], Awaitable[dict[str, Any]]]


def creates(model: Any, mutation: str, payload: str, variables: Variables) -> Operation:
    """A mutation that adds one ``model`` row when allowed, none when refused."""

    async def run(salon: Salon, who: Caller) -> str:
        values = await variables(salon)
        before = await salon.count(model)
        outcome = outcome_of(await salon.call(who, mutation, values), payload)
        return wrote(outcome, await salon.count(model) == before + 1)

    return run


def query(text: str, variables: dict[str, Any] | None = None) -> Operation:
    async def run(salon: Salon, who: Caller) -> str:
        return outcome_of(await salon.call(who, text, variables))

    return run


async def _named_customer(salon: Salon) -> dict[str, Any]:
    return {"input": {"serviceId": salon.service_id, "start": salon.fresh_start(),
                      "customer": {"email": salon.unique("walk-in") + "@example.com"}}}


async def _nobody_named(salon: Salon) -> dict[str, Any]:
    return {"input": {"serviceId": salon.service_id, "start": salon.fresh_start()}}


async def _named_waiter(salon: Salon) -> dict[str, Any]:
    """A place in line for the salon's service on a day, for a guest of this cell's own."""
    return {"input": {"serviceId": salon.service_id, "earliest": salon.fresh_start(),
                      "customer": {"email": salon.unique("waiter") + "@example.com"}}}


async def _nobody_waiting(salon: Salon) -> dict[str, Any]:
    return {"input": {"serviceId": salon.service_id, "earliest": salon.fresh_start()}}


async def _new_customer(salon: Salon) -> dict[str, Any]:
    return {"email": salon.unique("new-customer") + "@example.com"}


def _candidate(role: str) -> Variables:
    async def make(salon: Salon) -> dict[str, Any]:
        email = salon.unique("candidate") + "@example.com"
        person = await salon.world.person(None, None, email=email)
        return {"email": person.email, "role": role}

    return make


async def _new_service(salon: Salon) -> dict[str, Any]:
    return {"name": salon.unique("Massage")}


async def _new_key(salon: Salon) -> dict[str, Any]:
    return {"name": salon.unique("integration"), "scopes": ["bookings:read"]}


async def list_bookings(salon: Salon, who: Caller) -> str:
    day = salon.reference_day
    window = {"from": local(day, 0).isoformat(),
              "before": local(day + timedelta(days=1), 0).isoformat()}
    result = await salon.call(who, BOOKINGS, window)
    if result.errors:
        return outcome_of(result)
    ids = {edge["node"]["id"] for edge in result.data["bookings"]["edges"]}
    return sees({label for label, booking in salon.reference.items() if booking in ids})


def sees(labels: set[str]) -> str:
    return "sees " + (", ".join(sorted(labels)) or "nothing")


def view(which: str, *, in_tenant: str | None = None) -> Operation:
    """node(id) of a booking; ``in_tenant`` sends the caller's credential to that tenant."""

    async def run(salon: Salon, who: Caller) -> str:
        booking = salon.other_booking if which == "other tenant" else salon.reference[which]
        who = Caller(who.token, in_tenant) if in_tenant else who
        result = await salon.call(who, NODE, {"id": booking})
        if result.errors:
            return outcome_of(result)
        found = result.data["node"]
        assert found is None or found["id"] == booking
        return HIDE if found is None else OK

    return run


async def other_tenants_log(salon: Salon, who: Caller) -> str:
    """Whether the trail shows the other tenant's key being made: only to a superadmin."""
    result = await salon.call(who, AUTH_LOGS_OF, {"types": ["api_key_created"]})
    if result.errors:
        return outcome_of(result)
    edges = result.data["authenticationLogs"]["edges"]
    names = [edge["node"]["details"].get("name") for edge in edges]
    assert "matrix" in names  # the salon's own keys are there: the trail is not just empty
    return OK if OTHER_KEY_NAME in names else HIDE


async def _status(salon: Salon, booking: str) -> BookingStatus:
    return await salon.scalar(sa.select(Booking.status).where(Booking.id == row_id(booking)))


def cancel(whose: str) -> Operation:
    async def run(salon: Salon, who: Caller) -> str:
        booking = await salon.book(whose)
        outcome = outcome_of(await salon.call(who, CANCEL, {"id": booking}), "cancelBooking")
        return wrote(outcome, await _status(salon, booking) == BookingStatus.CANCELLED)

    return run


async def confirm(salon: Salon, who: Caller) -> str:
    booking = await salon.book("carl")
    outcome = outcome_of(await salon.call(who, CONFIRM, {"id": booking}), "confirmBooking")
    return wrote(outcome, await _status(salon, booking) == BookingStatus.CONFIRMED)


async def _hold_vars(salon: Salon) -> dict[str, Any]:
    return {"input": {"serviceId": salon.service_id, "start": salon.fresh_start()}}


async def _held(salon: Salon) -> tuple[str, uuid.UUID]:
    """A hold of a fresh start, made in the salon by a guest of its own (so no holder's cap
    fills up): its secret id and its row id."""
    from boka.booking.holds import HoldRequest, hold_slot
    from boka.identity.principal import Principal

    start = datetime.fromisoformat(salon.fresh_start())
    async with salon.world.runtime.database.transaction(salon.tenant_id, write=True) as db:
        tenant = await db.get(Tenant, salon.tenant_id)
        made = await hold_slot(
            db, Principal(tenant=tenant), HoldRequest(service_id=row_id(salon.service_id), start=start),
            holder=salon.unique("ip:matrix-guest"), minutes=10, max_open=1, now=utcnow(),
        )
    return made.hold_id, made.hold.id


async def release_hold(salon: Salon, who: Caller) -> str:
    hold_id, row = await _held(salon)
    outcome = outcome_of(await salon.call(who, RELEASE_HOLD, {"holdId": hold_id}), "releaseHold")
    status = await salon.scalar(sa.select(SlotHold.status).where(SlotHold.id == row))
    return wrote(outcome, status == "released")


async def book_hold(salon: Salon, who: Caller) -> str:
    """createBooking of a held time, naming a customer (as a guest or staff would)."""
    hold_id, row = await _held(salon)
    variables = {"input": {"holdId": hold_id,
                           "customer": {"email": salon.unique("holder") + "@example.com"}}}
    outcome = outcome_of(await salon.call(who, CREATE_BOOKING, variables), "createBooking")
    status = await salon.scalar(sa.select(SlotHold.status).where(SlotHold.id == row))
    return wrote(outcome, status == "converted")


def update_customer(whose: str) -> Operation:
    async def run(salon: Salon, who: Caller) -> str:
        customer = salon.customer_ids[whose]
        phone = "+49 30 " + salon.unique("555").replace("-", "")
        result = await salon.call(who, UPDATE_CUSTOMER, {"id": customer, "phone": phone})
        outcome = outcome_of(result, "updateCustomer")
        stored = await salon.scalar(
            sa.select(Customer.phone).where(Customer.id == row_id(customer))
        )
        return wrote(outcome, stored == phone.replace(" ", ""))  # stored in E.164

    return run


async def update_service(salon: Salon, who: Caller) -> str:
    text = salon.unique("Now with hot towels")
    result = await salon.call(who, UPDATE_SERVICE, {"id": salon.service_id, "text": text})
    outcome = outcome_of(result, "updateService")
    stored = await salon.scalar(
        sa.select(Service.description).where(Service.id == row_id(salon.service_id))
    )
    return wrote(outcome, stored == text)


async def update_security(salon: Salon, who: Caller) -> str:
    def changed_at() -> sa.Select[Any]:
        settings = SecuritySettings
        return sa.select(settings.updated_at).where(settings.tenant_id == salon.tenant_id)

    before = await salon.scalar(changed_at())
    outcome = outcome_of(await salon.call(who, UPDATE_SECURITY), "updateSecuritySettings")
    return wrote(outcome, await salon.scalar(changed_at()) != before)


async def _new_business(salon: Salon) -> dict[str, Any]:
    name = salon.unique("matrix-business")
    return {"input": {"businessName": name, "slug": name, "timeZone": "Europe/Berlin", "currency": "EUR",
                      "owner": {"email": f"{name}@example.com", "password": "a fine new passphrase",
                                "firstName": "New", "lastName": "Owner"}}}


async def _invitee(salon: Salon) -> dict[str, Any]:
    return {"email": salon.unique("invitee") + "@example.com", "role": "STAFF"}


def _invitee_as(role: str) -> Variables:
    async def make(salon: Salon) -> dict[str, Any]:
        return {"email": salon.unique("invitee") + "@example.com", "role": role}

    return make


async def _staff_invitation(salon: Salon) -> tuple[uuid.UUID, str]:
    """A staff invitation the owner made for this cell: its row id and its link's token."""
    now = utcnow()
    token = new_link_token()
    invitation = Invitation(tenant_id=salon.tenant_id, email=salon.unique("invitee") + "@example.com",
                            role=Role.STAFF, token_hash=token_digest(token), expires_at=now + timedelta(days=1))
    async with salon.world.runtime.database.transaction(salon.tenant_id, write=True) as db:
        db.add(invitation)
    return invitation.id, token


def invitation_change(mutation: str, payload: str, changed: Callable[[Invitation], bool]) -> Operation:
    async def run(salon: Salon, who: Caller) -> str:
        invitation_id, _ = await _staff_invitation(salon)
        global_id = base64.b64encode(f"Invitation:{invitation_id}".encode()).decode()
        outcome = outcome_of(await salon.call(who, mutation, {"id": global_id}), payload)
        async with salon.world.runtime.database.transaction(salon.tenant_id) as db:
            row = await db.get(Invitation, invitation_id)
        assert row is not None
        return wrote(outcome, changed(row))

    return run


async def accept_invitation(salon: Salon, who: Caller) -> str:
    _, token = await _staff_invitation(salon)
    before = await salon.count(TenantUser)
    result = await salon.call(who, ACCEPT_INVITATION, {"token": token})
    salon.gql.http.cookies.clear()  # accepting signs the browser in; the next cell is someone else
    outcome = outcome_of(result, "acceptInvitation")
    return wrote(outcome, await salon.count(TenantUser) == before + 1)


async def _member(salon: Salon, role: Role) -> uuid.UUID:
    """A member made for this cell alone (no password: nobody signs in as them)."""
    async with salon.world.runtime.database.transaction(salon.tenant_id, write=True) as db:
        user = User(email=salon.unique("member") + "@example.com")
        db.add(user)
        await db.flush()
        membership = TenantUser(tenant_id=salon.tenant_id, user_id=user.id, role=role)
        db.add(membership)
    return membership.id


def _membership_gid(membership_id: uuid.UUID) -> str:
    return base64.b64encode(f"Membership:{membership_id}".encode()).decode()


async def promote_customer(salon: Salon, who: Caller) -> str:
    membership_id = await _member(salon, Role.CUSTOMER)
    result = await salon.call(who, CHANGE_ROLE, {"id": _membership_gid(membership_id), "role": "STAFF"})
    outcome = outcome_of(result, "changeMemberRole")
    role = await salon.scalar(sa.select(TenantUser.role).where(TenantUser.id == membership_id))
    return wrote(outcome, role == Role.STAFF)


async def demote_an_owner(salon: Salon, who: Caller) -> str:
    """An owner made for this cell (so the salon never runs out of owners; the last owner's
    protection has tests of its own in tests/onboarding/test_team.py)."""
    membership_id = await _member(salon, Role.OWNER)
    result = await salon.call(who, CHANGE_ROLE, {"id": _membership_gid(membership_id), "role": "MANAGER"})
    outcome = outcome_of(result, "changeMemberRole")
    role = await salon.scalar(sa.select(TenantUser.role).where(TenantUser.id == membership_id))
    return wrote(outcome, role == Role.MANAGER)


async def remove_customer(salon: Salon, who: Caller) -> str:
    membership_id = await _member(salon, Role.CUSTOMER)
    outcome = outcome_of(await salon.call(who, REMOVE_MEMBER, {"id": _membership_gid(membership_id)}),
                         "removeMember")
    gone = await salon.scalar(sa.select(TenantUser.id).where(TenantUser.id == membership_id)) is None
    return wrote(outcome, gone)


async def update_business(salon: Salon, who: Caller) -> str:
    title = salon.unique("Book with us")
    outcome = outcome_of(await salon.call(who, UPDATE_BUSINESS, {"title": title}), "updateBusinessSettings")
    async with salon.world.runtime.database.transaction() as db:
        tenant = await db.get(Tenant, salon.tenant_id, populate_existing=True)
    assert tenant is not None
    return wrote(outcome, tenant.settings.get("business", {}).get("booking_page_title") == title)


async def update_defaults(salon: Salon, who: Caller) -> str:
    notice = int(salon.unique("n").rsplit("-", 1)[1]) + 1  # a value no earlier call wrote
    outcome = outcome_of(await salon.call(who, UPDATE_DEFAULTS, {"notice": notice}), "updateBusinessSettings")
    async with salon.world.runtime.database.transaction() as db:
        tenant = await db.get(Tenant, salon.tenant_id, populate_existing=True)
    assert tenant is not None
    return wrote(outcome, tenant.settings.get("defaults", {}).get("min_notice_minutes") == notice)


def set_limits(kind: str) -> Operation:
    """setServiceBookingLimits (the salon's service), setStaffBookingLimits (staff A) or
    setCustomerBookingRules: a monthly limit far above anything the other cells book, its
    number new to this cell, so "written" means exactly this call wrote it."""

    async def run(salon: Salon, who: Caller) -> str:
        most = 1000 + int(salon.unique("most").rsplit("-", 1)[1])
        if kind == "service":
            payload, variables = "setServiceBookingLimits", {"id": salon.service_id, "most": most}
            result = await salon.call(who, SET_SERVICE_LIMITS, variables)
            stored = await salon.scalar(sa.select(Service.booking_limits).where(Service.id == row_id(salon.service_id)))
        elif kind == "staff":
            payload, variables = "setStaffBookingLimits", {"id": salon.staff_a, "most": most}
            result = await salon.call(who, SET_STAFF_LIMITS, variables)
            stored = await salon.scalar(sa.select(StaffMember.booking_limits).where(StaffMember.id == row_id(salon.staff_a)))
        else:
            payload = "setCustomerBookingRules"
            result = await salon.call(who, SET_CUSTOMER_RULES, {"most": most})
            settings = await salon.scalar(sa.select(Tenant.settings).where(Tenant.id == salon.tenant_id))
            stored = [{"max_bookings": (settings or {}).get("customer_max_future_bookings")}]
        return wrote(outcome_of(result, payload), any(limit["max_bookings"] == most for limit in stored or ()))

    return run


def export_customer(whose: str) -> Operation:
    """customerDataExport of carl's or dana's record: allowed means the document is theirs."""

    async def run(salon: Salon, who: Caller) -> str:
        customer = salon.customer_ids[whose]
        result = await salon.call(who, CUSTOMER_EXPORT, {"id": customer})
        outcome = outcome_of(result)
        if outcome == OK:
            assert result.data["customerDataExport"]["customer"]["id"] == str(row_id(customer))
        return outcome

    return run


PLATFORM_TENANTS = "{ platformTenants(first: 5) { edges { node { slug counts { members } } } } }"
SUSPEND_TENANT = """mutation($id: ID!) { suspendTenant(input: {id: $id, reason: "matrix"}) {
    tenant { status } errors { field code } } }"""
REACTIVATE_TENANT = """mutation($id: ID!) { reactivateTenant(input: {id: $id, reason: "matrix"}) {
    tenant { status } errors { field code } } }"""


def change_tenant_status(suspend: bool) -> Operation:
    """Suspend a tenant made for this cell (or reactivate one made suspended): written exactly
    when allowed. Never the salon itself, which every other cell needs open."""

    async def run(salon: Salon, who: Caller) -> str:
        tenant = await salon.world.tenant(salon.unique("matrix-closing"))
        if not suspend:
            async with salon.world.runtime.database.transaction(write=True) as db:
                row = await db.get(Tenant, tenant.id)
                assert row is not None
                row.suspended_at, row.suspension_reason = utcnow(), "set up"
        gid = base64.b64encode(f"PlatformTenant:{tenant.id}".encode()).decode()
        mutation, payload = (SUSPEND_TENANT, "suspendTenant") if suspend else (REACTIVATE_TENANT, "reactivateTenant")
        outcome = outcome_of(await salon.call(who, mutation, {"id": gid}), payload)
        async with salon.world.runtime.database.transaction() as db:
            after = await db.get(Tenant, tenant.id, populate_existing=True)
        assert after is not None
        return wrote(outcome, (after.suspended_at is not None) == suspend)

    return run


async def erase_a_customer(salon: Salon, who: Caller) -> str:
    """eraseCustomer of a customer made for this cell (no bookings: nobody else's cell needs it)."""
    async with salon.world.runtime.database.transaction(salon.tenant_id, write=True) as db:
        customer = Customer(tenant_id=salon.tenant_id, email=salon.unique("erasable") + "@example.com",
                            first_name="Erin")
        db.add(customer)
    global_id = base64.b64encode(f"Customer:{customer.id}".encode()).decode()
    outcome = outcome_of(await salon.call(who, ERASE_CUSTOMER, {"id": global_id}), "eraseCustomer")
    name = await salon.scalar(sa.select(Customer.first_name).where(Customer.id == customer.id))
    return wrote(outcome, name == "")


# A series of two, eight weeks apart: its second occurrence lands on no other cell's fresh time.
SERIES_RULE = {"frequency": "WEEKLY", "interval": 8, "count": 2}


def _series_input(salon: Salon, customer: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {"serviceId": salon.service_id, "staffId": salon.staff_a,
                              "start": salon.fresh_start(), "recurrence": SERIES_RULE,
                              "mode": "ALL_OR_NOTHING"}
    if customer is not None:
        values["customer"] = {"email": customer}
    return {"input": values}


async def _series_for_someone(salon: Salon) -> dict[str, Any]:
    return _series_input(salon, salon.unique("walk-in") + "@example.com")


async def _series_for_nobody(salon: Salon) -> dict[str, Any]:
    return _series_input(salon, None)


async def preview_series(salon: Salon, who: Caller) -> str:
    values = _series_input(salon, None)["input"]
    del values["mode"]
    result = await salon.call(who, PREVIEW_SERIES, {"input": values})
    outcome = outcome_of(result, "previewBookingSeries")
    if outcome == OK:
        assert result.data["previewBookingSeries"]["preview"]["bookableCount"] == 2
    return outcome


async def _book_series(salon: Salon, whose: str) -> tuple[str, list[str]]:
    """A series of two with staff A: carl books it himself, or the owner books it for dana."""
    by = salon.callers["customer"] if whose == "carl" else salon.owner
    made = await salon.call(by, CREATE_SERIES, _series_input(
        salon, None if whose == "carl" else "dana@example.com"))
    assert outcome_of(made, "createBookingSeries") == OK, made.body
    payload = made.data["createBookingSeries"]
    return payload["series"]["id"], [o["booking"]["id"] for o in payload["occurrences"]]


def cancel_series(whose: str) -> Operation:
    async def run(salon: Salon, who: Caller) -> str:
        series, bookings = await _book_series(salon, whose)
        outcome = outcome_of(await salon.call(who, CANCEL_SERIES, {"id": series}), "cancelBookingSeries")
        statuses = {await _status(salon, booking) for booking in bookings}
        assert len(statuses) == 1  # all or none
        return wrote(outcome, statuses == {BookingStatus.CANCELLED})

    return run


def move_series(whose: str) -> Operation:
    async def run(salon: Salon, who: Caller) -> str:
        series, bookings = await _book_series(salon, whose)
        before = await salon.scalar(sa.select(Booking.start_time).where(Booking.id == row_id(bookings[0])))
        outcome = outcome_of(
            await salon.call(who, MOVE_SERIES, {"id": series, "start": salon.fresh_start()}),
            "rescheduleBookingSeries",
        )
        after = await salon.scalar(sa.select(Booking.start_time).where(Booking.id == row_id(bookings[0])))
        return wrote(outcome, after != before)

    return run


def payload_of(text: str, payload: str, variables: dict[str, Any] | None = None) -> Operation:
    async def run(salon: Salon, who: Caller) -> str:
        return outcome_of(await salon.call(who, text, variables), payload)

    return run


OPERATIONS: dict[str, Operation] = {
    "createBooking for a named customer":
        creates(Booking, CREATE_BOOKING, "createBooking", _named_customer),
    "createBooking naming nobody":
        creates(Booking, CREATE_BOOKING, "createBooking", _nobody_named),
    "holdSlot": creates(SlotHold, HOLD_SLOT, "holdSlot", _hold_vars),
    "createBooking of a hold, naming a customer": book_hold,
    "releaseHold (with its holdId)": release_hold,
    "bookings (list)": list_bookings,
    "node: carl's booking with staff A": view("carl/A"),
    "node: dana's booking with staff A": view("dana/A"),
    "node: another tenant's booking": view("other tenant"),
    "node: same, asking in its tenant": view("other tenant", in_tenant=OTHER),
    "cancelBooking: carl's, staff A": cancel("carl"),
    "cancelBooking: dana's, staff A": cancel("dana"),
    "confirmBooking: carl's, staff A": confirm,
    "customers (list)": query(CUSTOMERS),
    "createCustomer": creates(Customer, CREATE_CUSTOMER, "createCustomer", _new_customer),
    "updateCustomer: carl's record": update_customer("carl"),
    "updateCustomer: dana's record": update_customer("dana"),
    "members (list)": query(MEMBERS),
    "addMember as STAFF": creates(TenantUser, ADD_MEMBER, "addMember", _candidate("STAFF")),
    "addMember as MANAGER": creates(TenantUser, ADD_MEMBER, "addMember", _candidate("MANAGER")),
    "addMember as OWNER": creates(TenantUser, ADD_MEMBER, "addMember", _candidate("OWNER")),
    "createService": creates(Service, CREATE_SERVICE, "createService", _new_service),
    "updateService": update_service,
    "services (list, active)": query(SERVICES, {"all": False}),
    "services (list, includeInactive)": query(SERVICES, {"all": True}),
    "createApiKey": creates(ApiKey, CREATE_API_KEY, "createApiKey", _new_key),
    "authenticationLogs": query(AUTH_LOGS),
    "authenticationLogs: other tenant's": other_tenants_log,
    "updateSecuritySettings": update_security,
    "signUpBusiness": creates(Tenant, SIGN_UP_BUSINESS, "signUpBusiness", _new_business),
    "business (public page)": query(BUSINESS_PAGE, {"slug": SALON}),
    "businessSettings": query(BUSINESS_SETTINGS),
    "updateBusinessSettings": update_business,
    "invitations (list)": query(INVITATIONS),
    "inviteMember as STAFF": creates(Invitation, INVITE_MEMBER, "inviteMember", _invitee_as("STAFF")),
    "inviteMember as MANAGER": creates(Invitation, INVITE_MEMBER, "inviteMember", _invitee_as("MANAGER")),
    "resendInvitation: staff invite":
        invitation_change(RESEND_INVITATION, "resendInvitation", lambda row: row.sent_count == 2),
    "revokeInvitation: staff invite":
        invitation_change(REVOKE_INVITATION, "revokeInvitation", lambda row: row.revoked_at is not None),
    "acceptInvitation: staff invite": accept_invitation,
    "changeMemberRole: customer": promote_customer,
    "changeMemberRole: an owner": demote_an_owner,
    "removeMember: a customer": remove_customer,
    "requestPasswordReset": payload_of(REQUEST_RESET, "requestPasswordReset", {"email": "carl@example.com"}),
    "resetPassword: a used link": payload_of(RESET_PASSWORD, "resetPassword"),
    "verifyEmail: a used link": payload_of(VERIFY_EMAIL, "verifyEmail"),
    "invitationByToken: a used link": query(INVITATION_BY_TOKEN),
    "resendVerificationEmail": payload_of(RESEND_VERIFICATION, "resendVerificationEmail"),
    "customerDataExport: carl's record": export_customer("carl"),
    "customerDataExport: dana's record": export_customer("dana"),
    "myCustomerRecord": query(MY_CUSTOMER_RECORD),
    "eraseCustomer: another customer": erase_a_customer,
    "deleteMyAccount: a wrong password": payload_of(DELETE_MY_ACCOUNT, "deleteMyAccount"),
    "platformTenants": query(PLATFORM_TENANTS),
    "suspendTenant: a fresh tenant": change_tenant_status(suspend=True),
    "reactivateTenant: a suspended one": change_tenant_status(suspend=False),
    "updateBusinessSettings: defaults": update_defaults,
    "changeMyEmail: a wrong password": payload_of(CHANGE_MY_EMAIL, "changeMyEmail"),
    "confirmEmailChange: a used link": payload_of(CONFIRM_EMAIL_CHANGE, "confirmEmailChange"),
    "joinWaitlist for a named customer":
        creates(WaitlistEntry, JOIN_WAITLIST, "joinWaitlist", _named_waiter),
    "joinWaitlist naming nobody":
        creates(WaitlistEntry, JOIN_WAITLIST, "joinWaitlist", _nobody_waiting),
    "previewBookingSeries": preview_series,
    "createBookingSeries for a named customer":
        creates(BookingSeries, CREATE_SERIES, "createBookingSeries", _series_for_someone),
    "createBookingSeries naming nobody":
        creates(BookingSeries, CREATE_SERIES, "createBookingSeries", _series_for_nobody),
    "cancelBookingSeries: carl's, staff A": cancel_series("carl"),
    "cancelBookingSeries: dana's, staff A": cancel_series("dana"),
    "rescheduleBookingSeries: carl's, staff A": move_series("carl"),
    "rescheduleBookingSeries: dana's, staff A": move_series("dana"),
    "setServiceBookingLimits": set_limits("service"),
    "setStaffBookingLimits": set_limits("staff"),
    "setCustomerBookingRules": set_limits("customer"),
    "customerBookingRules": query(CUSTOMER_RULES),
}
