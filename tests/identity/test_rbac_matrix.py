"""The seed's authorization matrix, cell by cell, through the real GraphQL API.

| Role       | Booking Create | Booking View | User Manage  | Service Manage | Analytics |
|------------|----------------|--------------|--------------|----------------|-----------|
| Customer   | Own only       | Own only     | Own profile  | no             | no        |
| Staff      | yes (tenant)   | Assigned     | Own profile  | View only      | Basic     |
| Manager    | yes (tenant)   | All tenant   | Tenant users | yes            | Advanced  |
| Owner      | yes (tenant)   | All tenant   | All tenant   | yes            | Full      |
| SuperAdmin | yes            | All system   | All system   | All system     | Full      |

Plus API keys: a key acts only in its own tenant and only within its scopes (bookings:read,
bookings:write, services:read, services:write; write implies read); it makes no keys and
manages no people.

``MATRIX`` below has one row per concrete GraphQL operation and one column per principal; each
test is one cell: it performs the operation as that principal against one shared salon and
compares what happened with the cell. Mutations work on rows made for that cell alone, and a
refused mutation must also have written nothing (checked in the database). Analytics has no API
yet, so its column has no rows here.

The salon ("matrix-salon", one service that needs confirmation, performed by staff A and B):
  reference bookings on one day: carl/A (carl's, with staff A), carl/B (carl's, with staff B)
  and dana/A (dana's, a customer without an account, with staff A); "staff" is staff A and
  "other staff" is staff B. A second tenant ("matrix-other") has a booking and an API key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis

from boka.models.tenancy import Role
from boka.web.app import create_app
from tests.booking.support import ZONE, BookingWorld, future_day, local
from tests.conftest import TEST_REDIS_URL, _truncate_all, settings_for
from tests.identity.rbac_operations import (
    ALL,
    ASSIGNED,
    CREATE_API_KEY,
    CREATE_BOOKING,
    DENY,
    HIDE,
    LOGIN,
    NAME,
    NONE,
    OK,
    PWD,
    OPERATIONS,
    OTHER,
    OTHER_KEY_NAME,
    OWN,
    SALON,
    TOKEN,
    Caller,
    Salon,
    sees,
)
from tests.support import GraphQLClient, World

PRINCIPALS = (
    "anonymous", "customer", "staff", "other_staff", "manager", "owner", "superadmin",
    "key_bookings_read", "key_bookings_write", "key_services_read", "key_services_write",
    "key_of_other_tenant",
)

# fmt: off
MATRIX: dict[str, tuple[str, ...]] = {
    #                                       anonymous customer  staff A   staff B   manager   owner     super-    key       key       key       key       key of
    #                                                 (carl)              (other)                       admin     bk:read   bk:write  sv:read   sv:write  other
    #                                                                                                                                                     tenant
    "createBooking for a named customer":  (OK,       DENY,     OK,       OK,       OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "createBooking naming nobody":         (NAME,     OK,       NAME,     NAME,     NAME,     NAME,     NAME,     DENY,     NAME,     DENY,     DENY,     DENY),
    "holdSlot":                            (OK,       OK,       OK,       OK,       OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "createBooking of a hold, naming a customer":
                                           (OK,       DENY,     OK,       OK,       OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "releaseHold (with its holdId)":       (OK,       OK,       OK,       OK,       OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "bookings (list)":                     (NONE,     OWN,      ASSIGNED, ASSIGNED, ALL,      ALL,      ALL,      ALL,      ALL,      NONE,     NONE,     DENY),
    "node: carl's booking with staff A":   (HIDE,     OK,       OK,       HIDE,     OK,       OK,       OK,       OK,       OK,       HIDE,     HIDE,     DENY),
    "node: dana's booking with staff A":   (HIDE,     HIDE,     OK,       HIDE,     OK,       OK,       OK,       OK,       OK,       HIDE,     HIDE,     DENY),
    "node: another tenant's booking":      (HIDE,     HIDE,     HIDE,     HIDE,     HIDE,     HIDE,     HIDE,     HIDE,     HIDE,     HIDE,     HIDE,     DENY),
    "node: same, asking in its tenant":     (HIDE,     HIDE,     HIDE,     HIDE,     HIDE,     HIDE,     OK,       DENY,     DENY,     DENY,     DENY,     OK),
    "cancelBooking: carl's, staff A":      (LOGIN,    OK,       OK,       HIDE,     OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "cancelBooking: dana's, staff A":      (LOGIN,    HIDE,     OK,       HIDE,     OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "confirmBooking: carl's, staff A":     (LOGIN,    DENY,     OK,       HIDE,     OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "customers (list)":                    (LOGIN,    DENY,     OK,       OK,       OK,       OK,       OK,       OK,       OK,       DENY,     DENY,     DENY),
    "createCustomer":                      (LOGIN,    DENY,     OK,       OK,       OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "updateCustomer: carl's record":       (LOGIN,    OK,       OK,       OK,       OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "updateCustomer: dana's record":       (LOGIN,    HIDE,     OK,       HIDE,     OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "members (list)":                      (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "addMember as STAFF":                  (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "addMember as MANAGER":                (LOGIN,    DENY,     DENY,     DENY,     DENY,     OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "addMember as OWNER":                  (LOGIN,    DENY,     DENY,     DENY,     DENY,     OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "createService":                       (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     OK,       DENY),
    "updateService":                       (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     OK,       DENY),
    "services (list, active)":             (OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       DENY),
    "services (list, includeInactive)":    (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     OK,       DENY),
    "createApiKey":                        (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "authenticationLogs":                  (LOGIN,    DENY,     DENY,     DENY,     DENY,     OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "authenticationLogs: other tenant's":  (LOGIN,    DENY,     DENY,     DENY,     DENY,     HIDE,     OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "updateSecuritySettings":              (LOGIN,    DENY,     DENY,     DENY,     DENY,     OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "signUpBusiness":                      (DENY,     DENY,     DENY,     DENY,     DENY,     DENY,     OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "business (public page)":              (OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       DENY),
    "businessSettings":                    (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "updateBusinessSettings":              (LOGIN,    DENY,     DENY,     DENY,     DENY,     OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "invitations (list)":                  (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "inviteMember as STAFF":               (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "inviteMember as MANAGER":             (LOGIN,    DENY,     DENY,     DENY,     DENY,     OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "resendInvitation: staff invite":      (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "revokeInvitation: staff invite":      (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "acceptInvitation: staff invite":      (OK,       TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    DENY,     DENY,     DENY,     DENY,     DENY),
    "changeMemberRole: customer":          (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "changeMemberRole: an owner":          (LOGIN,    DENY,     DENY,     DENY,     DENY,     OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "removeMember: a customer":            (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "requestPasswordReset":                (OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       DENY),
    "resetPassword: a used link":          (TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    DENY),
    "verifyEmail: a used link":            (TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    DENY),
    "invitationByToken: a used link":      (OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       DENY),
    "resendVerificationEmail":             (LOGIN,    OK,       OK,       OK,       OK,       OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "customerDataExport: carl's record":   (LOGIN,    OK,       DENY,     DENY,     DENY,     OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "customerDataExport: dana's record":   (LOGIN,    HIDE,     DENY,     HIDE,     DENY,     OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "myCustomerRecord":                    (OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       DENY),
    "eraseCustomer: another customer":     (LOGIN,    HIDE,     HIDE,     HIDE,     DENY,     OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "deleteMyAccount: a wrong password":   (LOGIN,    PWD,      PWD,      PWD,      PWD,      PWD,      PWD,      DENY,     DENY,     DENY,     DENY,     DENY),
    "platformTenants":                     (LOGIN,    DENY,     DENY,     DENY,     DENY,     DENY,     OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "suspendTenant: a fresh tenant":       (LOGIN,    DENY,     DENY,     DENY,     DENY,     DENY,     OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "reactivateTenant: a suspended one":   (LOGIN,    DENY,     DENY,     DENY,     DENY,     DENY,     OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "updateBusinessSettings: defaults":    (LOGIN,    DENY,     DENY,     DENY,     DENY,     OK,       OK,       DENY,     DENY,     DENY,     DENY,     DENY),
    "changeMyEmail: a wrong password":     (LOGIN,    PWD,      PWD,      PWD,      PWD,      PWD,      PWD,      DENY,     DENY,     DENY,     DENY,     DENY),
    "confirmEmailChange: a used link":     (TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    TOKEN,    DENY),
    "joinWaitlist for a named customer":   (OK,       DENY,     OK,       OK,       OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "joinWaitlist naming nobody":          (NAME,     OK,       NAME,     NAME,     NAME,     NAME,     NAME,     DENY,     NAME,     DENY,     DENY,     DENY),
    # a series follows createBooking, cancelBooking and rescheduleBooking, occurrence by occurrence
    "previewBookingSeries":                (OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       DENY),
    "createBookingSeries for a named customer": (OK,  DENY,     OK,       OK,       OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "createBookingSeries naming nobody":   (NAME,     OK,       NAME,     NAME,     NAME,     NAME,     NAME,     DENY,     NAME,     DENY,     DENY,     DENY),
    "cancelBookingSeries: carl's, staff A": (LOGIN,   OK,       OK,       HIDE,     OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "cancelBookingSeries: dana's, staff A": (LOGIN,   HIDE,     OK,       HIDE,     OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "rescheduleBookingSeries: carl's, staff A": (LOGIN, OK,     OK,       HIDE,     OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "rescheduleBookingSeries: dana's, staff A": (LOGIN, HIDE,   OK,       HIDE,     OK,       OK,       OK,       DENY,     OK,       DENY,     DENY,     DENY),
    "setServiceBookingLimits":             (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     OK,       DENY),
    "setStaffBookingLimits":               (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     OK,       DENY),
    "setCustomerBookingRules":             (LOGIN,    DENY,     DENY,     DENY,     OK,       OK,       OK,       DENY,     DENY,     DENY,     OK,       DENY),
    "customerBookingRules":                (OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       OK,       DENY),
}
# fmt: on
# Where the seed is silent, the cells record the contract the app keeps:
# - a guest (anonymous) books by naming themself, so "named customer" is allowed for them;
#   everyone who books on others' behalf (staff and up, a bookings:write key) must name the
#   customer, and only a signed-in customer books for "themself" without naming anybody;
# - the active catalogue is public (guests book from it): listing it needs no grant;
# - an API key sent to another tenant (X-Tenant) is refused outright, on every operation, even
#   on what a guest could see there: the integration hears that it is misconfigured;
# - staff see every customer of the tenant and may correct their details (they book walk-ins
#   for the whole tenant); a customer changes only their own record;
# - a list shows the rows the principal's scope reaches (possibly none) rather than an error;
# - each request acts in one tenant: a superadmin ("All system") reaches another tenant's
#   booking by naming that tenant, and until then it is hidden like everyone else's view;
# - the authentication log and the security policy belong to owners ("User Manage: All tenant");
#   so do the business's settings, which managers ("Tenant users") may read;
# - invitations follow addMember: managers invite and manage customers and staff, owners anyone;
#   only owners change an owner's role (a business always keeps one: tests/onboarding);
# - signing a business up is closed to the public on PostgreSQL (BOKA_PUBLIC_SIGNUP is off in
#   production): only a superadmin may; the public booking page (business) is anyone's;
# - the account's own operations (password reset, verification) need no grant: the mailed link
#   is the authority, so a used or unknown link is a user error whoever sends it; accepting an
#   invitation signed in as another address is one too, and an API key is never a person;
# - customers' own data (GDPR): owners and superadmins export and erase any customer; managers
#   ("Tenant users") may not: the export carries the owner-only authentication trail and erasure
#   cannot be undone; staff are refused a customer they can see and see no other; a customer
#   exports (and erases) only their own record, others' are hidden; no API key scope covers
#   people's personal data; deleting an account is its holder's alone, with the password.
# - a place on a waitlist follows createBooking (the booking page offers it when a day is full):
#   a guest joins by naming themself, a signed-in customer only as themself, the team and a
#   bookings:write key for whoever they name;
# - platform administration (platformTenants, suspendTenant, reactivateTenant) is the
#   superadmin's alone, whatever tenant the request names; owners included, everyone else is
#   refused (an API key is never a person).
# - booking limits (of a service, of a staff member, of each customer's bookings) are catalogue
#   settings: managers, owners and a services:write key set them, as they edit services; the
#   customer rules are anyone's to read (a customer hears of them when refused anyway).

# Which reference bookings a list cell means, per principal.
REFERENCE = ("carl/A", "carl/B", "dana/A")
REACH = {
    OWN: {"customer": {"carl/A", "carl/B"}},
    ASSIGNED: {"staff": {"carl/A", "dana/A"}, "other_staff": {"carl/B"}},
}

# --- the shared world ----------------------------------------------------------------------
@pytest.fixture(scope="module")
async def salon(postgres_url: str) -> AsyncIterator[Salon]:
    """One app and one salon for the whole matrix (built once: the cells only read it or
    change rows made for them). Rate limits are off: the matrix makes hundreds of calls as a
    handful of people, and the limits have tests of their own."""
    settings = settings_for(postgres_url, rate_limits_enabled=False)
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    application = create_app(settings)
    try:
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                yield await _build(GraphQLClient(http), World(application.state.runtime))
    finally:
        await _truncate_all(settings)


async def _build(gql: GraphQLClient, world: World) -> Salon:
    tenant = await world.tenant(SALON, time_zone=ZONE)
    other = await world.tenant(OTHER, time_zone=ZONE)
    builder = BookingWorld(world)
    staffed = await builder.staffed_service(tenant, requires_confirmation=True)
    await builder.add_staff(tenant, staffed)
    staff_a, staff_b = staffed.people
    owner = await world.person(tenant, Role.OWNER)
    manager = await world.person(tenant, Role.MANAGER)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    superadmin = await world.person(None, None, superadmin=True)
    other_owner = await world.person(other, Role.OWNER)
    other_service = (await builder.staffed_service(other)).service_id

    async def key(token: str, tenant_slug: str, scopes: list[str], name: str = "matrix") -> str:
        made = await gql(CREATE_API_KEY, {"name": name, "scopes": scopes},
                         token=token, tenant=tenant_slug)
        assert made.data["createApiKey"]["errors"] == [], made.body
        return made.data["createApiKey"]["key"]

    callers = {
        "anonymous": Caller(None, SALON),
        "customer": Caller(carl.token, SALON),
        "staff": Caller(staff_a.token, SALON),
        "other_staff": Caller(staff_b.token, SALON),
        "manager": Caller(manager.token, SALON),
        "owner": Caller(owner.token, SALON),
        "superadmin": Caller(superadmin.token, SALON),
        **{
            f"key_{scope.replace(':', '_')}": Caller(await key(owner.token, SALON, [scope]), None)
            for scope in ("bookings:read", "bookings:write", "services:read", "services:write")
        },
        # the other tenant's most capable key, sent to this salon
        "key_of_other_tenant": Caller(
            await key(other_owner.token, OTHER, ["bookings:write", "services:write"],
                      OTHER_KEY_NAME),
            SALON,
        ),
    }
    assert set(callers) == set(PRINCIPALS)

    day = future_day(2)
    reference: dict[str, str] = {}
    customer_ids: dict[str, str] = {}
    for label, by, staff_index, hour in (
        ("carl/A", callers["customer"], 0, 10),
        ("carl/B", callers["customer"], 1, 14),  # not at 10: one customer, one place at a time
        ("dana/A", callers["owner"], 0, 12),
    ):
        variables: dict[str, Any] = {"serviceId": staffed.service_id,
                                     "staffId": staffed.staff_id(staff_index),
                                     "start": local(day, hour).isoformat()}
        if label.startswith("dana"):
            variables["customer"] = {"email": "dana@example.com"}
        made = await gql(CREATE_BOOKING, {"input": variables}, token=by.token, tenant=SALON)
        assert made.data["createBooking"]["errors"] == [], made.body
        booking = made.data["createBooking"]["booking"]
        reference[label] = booking["id"]
        customer_ids[label.split("/")[0]] = booking["customer"]["id"]
    elsewhere = await gql(CREATE_BOOKING, {"input": {
        "serviceId": other_service, "start": local(day, 10).isoformat(),
        "customer": {"email": "olga@example.com"}}}, token=other_owner.token, tenant=OTHER)
    assert elsewhere.data["createBooking"]["errors"] == [], elsewhere.body

    return Salon(
        gql=gql, world=world, callers=callers, service_id=staffed.service_id,
        staff_a=staffed.staff_id(0), reference=reference, reference_day=day,
        other_booking=elsewhere.data["createBooking"]["booking"]["id"],
        customer_ids=customer_ids, tenant_id=tenant.id,
    )


# --- the tests -----------------------------------------------------------------------------
def expected(cell: str, principal: str) -> str:
    if cell in (OWN, ASSIGNED):
        return sees(REACH[cell][principal])
    if cell == ALL:
        return sees(set(REFERENCE))
    if cell == NONE:
        return sees(set())
    return cell


def _cells() -> list[Any]:
    cells = []
    for operation, row in MATRIX.items():
        for principal, cell in zip(PRINCIPALS, row, strict=True):
            cells.append(pytest.param(operation, principal, cell, id=f"{operation} | {principal}"))
    return cells


def test_every_operation_in_the_matrix_is_exercised() -> None:
    assert list(OPERATIONS) == list(MATRIX)
    assert all(len(row) == len(PRINCIPALS) for row in MATRIX.values())


@pytest.mark.parametrize(("operation", "principal", "cell"), _cells())
async def test_matrix_cell(salon: Salon, operation: str, principal: str, cell: str) -> None:
    observed = await OPERATIONS[operation](salon, salon.callers[principal])
    assert observed == expected(cell, principal)
