"""The permission table follows the seed's authorization matrix, and membership management
respects it."""

from __future__ import annotations

import pytest

from boka.identity.rbac import ROLE_GRANTS, Action, Scope, grants_for
from boka.models.tenancy import Role
from tests.support import GraphQLClient, World

ADD_MEMBER = """
mutation Add($email: String!, $role: Role!) {
  addMember(input: {email: $email, role: $role}) {
    membership { role user { email } }
    errors { field code message }
  }
}"""
MEMBERS = "{ members { edges { node { role user { email } } } } }"

# The seed's matrix, cell by cell ("-" = no access).
SEED_MATRIX = {
    Role.CUSTOMER: {"create": Scope.OWN, "view": Scope.OWN, "users": Scope.OWN, "services": None},
    Role.STAFF: {"create": Scope.TENANT, "view": Scope.ASSIGNED, "users": Scope.OWN, "services": None},
    Role.MANAGER: {"create": Scope.TENANT, "view": Scope.TENANT, "users": Scope.TENANT_STAFF, "services": Scope.TENANT},
    Role.OWNER: {"create": Scope.TENANT, "view": Scope.TENANT, "users": Scope.TENANT, "services": Scope.TENANT},
}


@pytest.mark.parametrize("role", list(Role))
def test_permission_table_matches_the_seed_matrix(role: Role) -> None:
    grants = ROLE_GRANTS[role]
    expected = SEED_MATRIX[role]
    assert grants.get(Action.BOOKING_CREATE) == expected["create"]
    assert grants.get(Action.BOOKING_VIEW) == expected["view"]
    assert grants.get(Action.USER_MANAGE) == expected["users"]
    assert grants.get(Action.SERVICE_MANAGE) == expected["services"]
    # everyone who belongs to a tenant can see what it sells ("View only" for staff)
    assert grants.get(Action.SERVICE_VIEW) == Scope.TENANT
    assert (Action.ANALYTICS_VIEW in grants) == (role is not Role.CUSTOMER)


def test_superadmin_reaches_every_tenant_for_every_action() -> None:
    assert set(grants_for(None, is_superadmin=True).values()) == {Scope.SYSTEM}
    assert set(grants_for(None, is_superadmin=True)) == set(Action)


async def test_viewer_lists_its_grants(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staff = await world.person(tenant, Role.STAFF)
    result = await gql("{ viewer { grants { action scope } } }", token=staff.token, tenant="salon")
    grants = {g["action"]: g["scope"] for g in result.data["viewer"]["grants"]}
    assert grants["BOOKING_VIEW"] == "ASSIGNED"
    assert "SERVICE_MANAGE" not in grants


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.STAFF])
async def test_customers_and_staff_cannot_list_or_add_members(
    gql: GraphQLClient, world: World, role: Role
) -> None:
    tenant = await world.tenant("salon")
    person = await world.person(tenant, role)
    await world.person(None, None, email="candidate@example.com")

    listed = await gql(MEMBERS, token=person.token, tenant="salon")
    added = await gql(ADD_MEMBER, {"email": "candidate@example.com", "role": "STAFF"}, token=person.token, tenant="salon")

    assert listed.error_codes == ["FORBIDDEN"]
    assert added.error_codes == ["FORBIDDEN"]
    owner_view = await gql(MEMBERS, token=(await world.person(tenant, Role.OWNER)).token, tenant="salon")
    emails = [e["node"]["user"]["email"] for e in owner_view.data["members"]["edges"]]
    assert "candidate@example.com" not in emails


async def test_manager_adds_staff_but_cannot_grant_manager_or_owner(
    gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon")
    manager = await world.person(tenant, Role.MANAGER)
    await world.person(None, None, email="new.staff@example.com")
    await world.person(None, None, email="would.be.owner@example.com")

    staff = await gql(ADD_MEMBER, {"email": "new.staff@example.com", "role": "STAFF"}, token=manager.token, tenant="salon")
    owner = await gql(ADD_MEMBER, {"email": "would.be.owner@example.com", "role": "OWNER"}, token=manager.token, tenant="salon")

    assert staff.data["addMember"] == {
        "membership": {"role": "STAFF", "user": {"email": "new.staff@example.com"}},
        "errors": [],
    }
    assert owner.error_codes == ["FORBIDDEN"]


async def test_owner_can_grant_manager_and_adding_twice_is_a_user_error(
    gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    await world.person(None, None, email="max@example.com")
    variables = {"email": "max@example.com", "role": "MANAGER"}

    first = await gql(ADD_MEMBER, variables, token=owner.token, tenant="salon")
    second = await gql(ADD_MEMBER, variables, token=owner.token, tenant="salon")
    unknown = await gql(ADD_MEMBER, {"email": "nobody@example.com", "role": "STAFF"}, token=owner.token, tenant="salon")

    assert first.data["addMember"]["membership"]["role"] == "MANAGER"
    assert [e["code"] for e in second.data["addMember"]["errors"]] == ["ALREADY_MEMBER"]
    assert [e["field"] for e in unknown.data["addMember"]["errors"]] == ["email"]


async def test_members_are_paginated_with_cursors(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    for _ in range(4):
        await world.person(tenant, Role.STAFF)
    query = """query Page($after: String) { members(first: 2, after: $after) {
        edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""

    seen: list[str] = []
    after = None
    for _ in range(3):
        result = await gql(query, {"after": after}, token=owner.token, tenant="salon")
        connection = result.data["members"]
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        after = connection["pageInfo"]["endCursor"]
        assert connection["pageInfo"]["hasPreviousPage"] == (len(seen) > 2)
    assert len(seen) == len(set(seen)) == 5
    assert connection["pageInfo"]["hasNextPage"] is False

    bad = await gql(query, {"after": "garbage!"}, token=owner.token, tenant="salon")
    assert bad.error_codes == ["VALIDATION_ERROR"]
