"""Role based access control: the seed's authorization matrix as data, checked in one place.

| Role       | Booking Create | Booking View | User Manage  | Service Manage | Analytics |
|------------|----------------|--------------|--------------|----------------|-----------|
| Customer   | Own only       | Own only     | Own profile  | no             | no        |
| Staff      | yes (tenant)   | Assigned     | Own profile  | View only      | Basic     |
| Manager    | yes (tenant)   | All tenant   | Tenant users | yes            | Advanced  |
| Owner      | yes (tenant)   | All tenant   | All tenant   | yes            | Full      |
| SuperAdmin | yes            | All system   | All system   | All system     | Full      |

Each cell becomes a ``Scope``: how far a role's reach goes for that action. Whether a
particular row is inside that reach (is this booking the customer's own? assigned to this staff
member?) is decided by the domain query that applies the scope. The analytics levels (basic,
advanced, full) will become scopes of their own when analytics exists.
"""

from __future__ import annotations

import enum

from boka.models.tenancy import Role


class Action(str, enum.Enum):
    BOOKING_CREATE = "booking:create"
    BOOKING_VIEW = "booking:view"
    USER_MANAGE = "user:manage"
    SERVICE_VIEW = "service:view"
    SERVICE_MANAGE = "service:manage"
    ANALYTICS_VIEW = "analytics:view"
    WEBHOOK_MANAGE = "webhook:manage"


class Scope(enum.IntEnum):
    """How far a grant reaches; a larger scope includes every smaller one."""

    OWN = 1  # rows about the principal themself (their bookings, their profile)
    ASSIGNED = 2  # rows assigned to the principal (a staff member's bookings)
    TENANT_STAFF = 3  # the tenant's customers and staff (a manager managing users)
    TENANT = 4  # everything in the tenant
    SYSTEM = 5  # every tenant (superadmin)


ROLE_GRANTS: dict[Role, dict[Action, Scope]] = {
    Role.CUSTOMER: {
        Action.BOOKING_CREATE: Scope.OWN,
        Action.BOOKING_VIEW: Scope.OWN,
        Action.USER_MANAGE: Scope.OWN,
        Action.SERVICE_VIEW: Scope.TENANT,
    },
    Role.STAFF: {
        Action.BOOKING_CREATE: Scope.TENANT,
        Action.BOOKING_VIEW: Scope.ASSIGNED,
        Action.USER_MANAGE: Scope.OWN,
        Action.SERVICE_VIEW: Scope.TENANT,
        Action.ANALYTICS_VIEW: Scope.ASSIGNED,
    },
    Role.MANAGER: {
        Action.BOOKING_CREATE: Scope.TENANT,
        Action.BOOKING_VIEW: Scope.TENANT,
        Action.USER_MANAGE: Scope.TENANT_STAFF,
        Action.SERVICE_VIEW: Scope.TENANT,
        Action.SERVICE_MANAGE: Scope.TENANT,
        Action.ANALYTICS_VIEW: Scope.TENANT,
        Action.WEBHOOK_MANAGE: Scope.TENANT,
    },
    Role.OWNER: {
        Action.BOOKING_CREATE: Scope.TENANT,
        Action.BOOKING_VIEW: Scope.TENANT,
        Action.USER_MANAGE: Scope.TENANT,
        Action.SERVICE_VIEW: Scope.TENANT,
        Action.SERVICE_MANAGE: Scope.TENANT,
        Action.ANALYTICS_VIEW: Scope.TENANT,
        Action.WEBHOOK_MANAGE: Scope.TENANT,
    },
}

SUPERADMIN_GRANTS: dict[Action, Scope] = {action: Scope.SYSTEM for action in Action}

# Which memberships a role may create or change (User Manage: "Tenant users" vs "All tenant").
MANAGEABLE_ROLES: dict[Scope, frozenset[Role]] = {
    Scope.TENANT_STAFF: frozenset({Role.CUSTOMER, Role.STAFF}),
    Scope.TENANT: frozenset(Role),
    Scope.SYSTEM: frozenset(Role),
}


def grants_for(role: Role | None, *, is_superadmin: bool = False) -> dict[Action, Scope]:
    if is_superadmin:
        return SUPERADMIN_GRANTS
    if role is None:
        return {}
    return ROLE_GRANTS[role]


# What an integrator's API key may do, by scope. A key acts in its own tenant only; write
# scopes include reading what they write. Customers are managed under bookings:write, as the
# staff who book walk-ins do.
API_KEY_SCOPES: dict[str, dict[Action, Scope]] = {
    "bookings:read": {Action.BOOKING_VIEW: Scope.TENANT},
    "bookings:write": {Action.BOOKING_VIEW: Scope.TENANT, Action.BOOKING_CREATE: Scope.TENANT},
    "services:read": {Action.SERVICE_VIEW: Scope.TENANT},
    "services:write": {Action.SERVICE_VIEW: Scope.TENANT, Action.SERVICE_MANAGE: Scope.TENANT},
}


def grants_for_key_scopes(scopes: tuple[str, ...] | list[str]) -> dict[Action, Scope]:
    grants: dict[Action, Scope] = {}
    for name in scopes:
        for action, scope in API_KEY_SCOPES.get(name, {}).items():
            grants[action] = max(scope, grants.get(action, scope))
    return grants
