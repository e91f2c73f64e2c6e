"""Tenant resolution and isolation: nobody sees into a tenant they do not belong to."""

from __future__ import annotations

import base64

from boka.models.tenancy import Role
from tests.support import GraphQLClient, World

VIEWER = "{ viewer { user { email } role tenant { slug } } }"
MEMBERS = "{ members { edges { node { id role user { email } } } } }"


async def test_owner_of_one_tenant_is_forbidden_in_another(gql: GraphQLClient, world: World) -> None:
    tenant_a = await world.tenant("alpha")
    tenant_b = await world.tenant("beta")
    owner_a = await world.person(tenant_a, Role.OWNER)
    await world.person(tenant_b, Role.OWNER, email="owner.b@example.com")

    viewer = await gql(VIEWER, token=owner_a.token, tenant="beta")
    members = await gql(MEMBERS, token=owner_a.token, tenant="beta")

    assert viewer.data["viewer"] == {
        "user": {"email": owner_a.email},
        "role": None,
        "tenant": {"slug": "beta"},
    }
    assert members.error_codes == ["FORBIDDEN"]
    assert "owner.b@example.com" not in members.response.text


async def test_members_lists_only_the_request_tenant(gql: GraphQLClient, world: World) -> None:
    tenant_a = await world.tenant("alpha")
    tenant_b = await world.tenant("beta")
    owner_a = await world.person(tenant_a, Role.OWNER, email="owner.a@example.com")
    await world.person(tenant_b, Role.STAFF, email="staff.b@example.com")

    result = await gql(MEMBERS, token=owner_a.token, tenant="alpha")

    emails = [edge["node"]["user"]["email"] for edge in result.data["members"]["edges"]]
    assert emails == ["owner.a@example.com"]


async def test_node_of_another_tenants_membership_is_null(gql: GraphQLClient, world: World) -> None:
    tenant_a = await world.tenant("alpha")
    tenant_b = await world.tenant("beta")
    owner_a = await world.person(tenant_a, Role.OWNER)
    owner_b = await world.person(tenant_b, Role.OWNER)
    theirs = await gql(MEMBERS, token=owner_b.token, tenant="beta")
    membership_id = theirs.data["members"]["edges"][0]["node"]["id"]
    query = "query N($id: ID!) { node(id: $id) { id ... on Membership { role } } }"

    from_outside = await gql(query, {"id": membership_id}, token=owner_a.token, tenant="alpha")
    from_inside = await gql(query, {"id": membership_id}, token=owner_b.token, tenant="beta")

    assert from_outside.data["node"] is None
    assert from_inside.data["node"] == {"id": membership_id, "role": "OWNER"}


async def test_user_node_shows_only_yourself(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("alpha")
    owner = await world.person(tenant, Role.OWNER)
    other = await world.person(tenant, Role.STAFF)
    query = "query N($id: ID!) { node(id: $id) { ... on User { email } } }"

    def global_id(user_id: object) -> str:
        return base64.b64encode(f"User:{user_id}".encode()).decode()

    mine = await gql(query, {"id": global_id(owner.user.id)}, token=owner.token, tenant="alpha")
    theirs = await gql(query, {"id": global_id(other.user.id)}, token=owner.token, tenant="alpha")
    assert mine.data["node"] == {"email": owner.email}
    assert theirs.data["node"] is None


async def test_unknown_tenant_header_is_not_found(gql: GraphQLClient, world: World) -> None:
    owner = await world.person(await world.tenant("alpha"), Role.OWNER)
    result = await gql(MEMBERS, token=owner.token, tenant="no-such-tenant")
    assert result.error_codes == ["NOT_FOUND"]


async def test_no_tenant_at_all_asks_for_the_header(gql: GraphQLClient, world: World) -> None:
    owner = await world.person(await world.tenant("alpha"), Role.OWNER)
    result = await gql(MEMBERS, token=owner.token)
    assert result.error_codes == ["VALIDATION_ERROR"]
    assert "X-Tenant" in result.errors[0]["message"]


async def test_tenant_is_found_by_host_domain(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("alpha", domain="book.alpha.example")
    owner = await world.person(tenant, Role.OWNER)

    result = await gql(VIEWER, token=owner.token, headers={"Host": "book.alpha.example:443"})

    assert result.data["viewer"]["role"] == "OWNER"
    assert result.data["viewer"]["tenant"] == {"slug": "alpha"}


async def test_tenant_header_accepts_slug_domain_and_id(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("alpha", domain="alpha.example")
    for hint in ("alpha", "ALPHA", "alpha.example", str(tenant.id)):
        result = await gql("{ tenant { slug } }", tenant=hint)
        assert result.data["tenant"] == {"slug": "alpha"}, hint
