"""The authentication audit trail and what it surfaces: owners read their tenant's trail,
superadmins everyone's; new devices and failure bursts become security alerts; a tenant's
staff IP allowlist keeps its team to known networks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from boka.config import Settings
from boka.models.events import Event
from boka.models.tenancy import Role
from tests.conftest import settings_for
from tests.support import PASSWORD, GraphQLClient, World

LOGS = """query Logs($first: Int, $after: String, $types: [String!]) {
  authenticationLogs(first: $first, after: $after, eventTypes: $types) {
    edges { node { eventType success reason ipAddress user { email } } }
    pageInfo { hasNextPage endCursor } } }"""
ALERTS = "{ securityAlerts { edges { node { eventType ipAddress reason user { email } } } } }"
POLICY = """mutation Policy($ips: [String!]) { updateSecuritySettings(input: {staffIpAllowlist: $ips}) {
  securitySettings { staffIpAllowlist } errors { field code message } } }"""
ADD_CUSTOMER = """mutation { createCustomer(input: {email: "walk.in@example.com"}) { customer { email } errors { code } } }"""
SIGN_IN = """mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p}) { token errors { code } } }"""


@pytest.fixture
def settings(postgres_url: str) -> Settings:
    return settings_for(postgres_url, rate_limits_enabled=False, suspicious_failure_burst=3)


def _from(app: Any, ip: str, agent: str = "pytest") -> GraphQLClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return GraphQLClient(httpx.AsyncClient(transport=transport, base_url="http://t", headers={"User-Agent": agent}))


async def _sign_in(client: GraphQLClient, email: str, password: str = PASSWORD, tenant: str = "salon") -> str | None:
    result = await client(SIGN_IN, {"e": email, "p": password}, tenant=tenant)
    return result.data["signIn"]["token"]


async def test_owners_read_their_tenants_trail_page_by_page(app: Any, gql: GraphQLClient, world: World) -> None:
    salon, other = await world.tenant("salon"), await world.tenant("other")
    owner = await world.person(salon, Role.OWNER)
    staff = await world.person(salon, Role.STAFF, email="sam@example.com")
    await world.person(other, Role.STAFF, email="olga@example.com")
    client = _from(app, "198.51.100.7")
    await _sign_in(client, "sam@example.com")
    await _sign_in(client, "sam@example.com", "wrong password!")
    await _sign_in(client, "olga@example.com", tenant="other")
    await gql("{ members { edges { node { role } } } }", token=staff.token, tenant="salon")

    first = (await gql(LOGS, {"first": 2}, token=owner.token, tenant="salon")).data["authenticationLogs"]
    rest = (await gql(LOGS, {"first": 10, "after": first["pageInfo"]["endCursor"]}, token=owner.token, tenant="salon")).data["authenticationLogs"]
    by_staff = await gql(LOGS, token=staff.token, tenant="salon")

    entries = [e["node"] for e in first["edges"] + rest["edges"]]
    assert [e["eventType"] for e in entries] == ["permission_denied", "sign_in_failed", "sign_in"]  # newest first
    assert first["pageInfo"]["hasNextPage"] is True and rest["pageInfo"]["hasNextPage"] is False
    assert entries[1] == {"eventType": "sign_in_failed", "success": False, "reason": "wrong password",
                          "ipAddress": "198.51.100.7", "user": {"email": "sam@example.com"}}
    assert "You do not have permission" in entries[0]["reason"]
    assert all(e["user"]["email"] != "olga@example.com" for e in entries)  # another tenant's
    assert by_staff.error_codes == ["FORBIDDEN"]


async def test_superadmins_read_every_tenants_trail(app: Any, gql: GraphQLClient, world: World) -> None:
    salon, other = await world.tenant("salon"), await world.tenant("other")
    admin = await world.person(None, None, superadmin=True)
    await world.person(salon, Role.STAFF, email="sam@example.com")
    await world.person(other, Role.STAFF, email="olga@example.com")
    client = _from(app, "198.51.100.7")
    await _sign_in(client, "sam@example.com")
    await _sign_in(client, "olga@example.com", tenant="other")

    logs = (await gql(LOGS, {"types": ["sign_in"]}, token=admin.token, tenant="salon")).data["authenticationLogs"]

    assert {e["node"]["user"]["email"] for e in logs["edges"]} == {"sam@example.com", "olga@example.com"}


async def test_a_sign_in_from_a_new_device_is_an_alert_but_the_first_ever_is_not(app: Any, gql: GraphQLClient, world: World) -> None:
    salon = await world.tenant("salon")
    owner = await world.person(salon, Role.OWNER)
    await world.person(salon, Role.STAFF, email="sam@example.com")  # world signs in as "pytest"

    await _sign_in(_from(app, "198.51.100.7", "pytest"), "sam@example.com")  # a known device
    await _sign_in(_from(app, "192.0.2.44", "Unknown Browser 1.0"), "sam@example.com")

    alerts = [e["node"] for e in (await gql(ALERTS, token=owner.token, tenant="salon")).data["securityAlerts"]["edges"]]
    assert alerts == [{"eventType": "new_device", "ipAddress": "192.0.2.44", "reason": None, "user": {"email": "sam@example.com"}}]


async def test_failures_across_accounts_from_one_address_raise_one_alert(app: Any, gql: GraphQLClient, world: World) -> None:
    salon = await world.tenant("salon")
    await world.tenant("other")
    owner = await world.person(salon, Role.OWNER)
    attacker, neighbour = _from(app, "203.0.113.66"), _from(app, "203.0.113.67")
    await _sign_in(attacker, "x@example.com", "guessing123", tenant="other")  # counts too
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        await _sign_in(attacker, email, "guessing123")
    await _sign_in(neighbour, "a@example.com", "typo typo typo")
    await _sign_in(neighbour, "b@example.com", "typo typo typo")

    alerts = [e["node"] for e in (await gql(ALERTS, token=owner.token, tenant="salon")).data["securityAlerts"]["edges"]]
    # the third distinct account (the first two here, one at another business) raised it
    assert [(a["eventType"], a["ipAddress"]) for a in alerts] == [("failure_burst", "203.0.113.66")]


async def test_a_staff_ip_allowlist_keeps_the_team_to_known_networks(app: Any, world: World) -> None:
    salon = await world.tenant("salon")
    owner = await world.person(salon, Role.OWNER)
    staff = await world.person(salon, Role.STAFF)
    office, cafe = _from(app, "203.0.113.10"), _from(app, "198.51.100.99")

    locks_me_out = await cafe(POLICY, {"ips": ["203.0.113.0/24"]}, token=owner.token, tenant="salon")
    bad_entry = await office(POLICY, {"ips": ["not-an-ip"]}, token=owner.token, tenant="salon")
    set_policy = await office(POLICY, {"ips": ["203.0.113.0/24", "2001:db8::1"]}, token=owner.token, tenant="salon")
    from_office = await office(ADD_CUSTOMER, token=staff.token, tenant="salon")
    from_cafe = await cafe(ADD_CUSTOMER, token=staff.token, tenant="salon")

    assert locks_me_out.data["updateSecuritySettings"]["errors"][0]["code"] == "INVALID_INPUT"
    assert bad_entry.data["updateSecuritySettings"]["errors"][0]["field"] == "staffIpAllowlist"
    assert set_policy.data["updateSecuritySettings"]["securitySettings"]["staffIpAllowlist"] == ["2001:db8::1/128", "203.0.113.0/24"]
    assert from_office.errors == []
    assert from_cafe.error_codes == ["FORBIDDEN"] and from_cafe.errors[0]["extensions"]["reason"] == "IP_NOT_ALLOWED"


async def test_an_alert_at_a_business_goes_out_as_an_event(app: Any, world: World) -> None:
    salon = await world.tenant("salon")
    await world.person(salon, Role.STAFF, email="sam@example.com")

    await _sign_in(_from(app, "192.0.2.44", "Unknown Browser 1.0"), "sam@example.com")

    async with world.runtime.database.transaction(all_tenants=True) as db:
        events = (await db.execute(sa.select(Event).where(Event.type == "security.alert"))).scalars().all()
    assert [(e.tenant_id, e.payload["kind"], e.payload["ip_address"]) for e in events] == [
        (salon.id, "new_device", "192.0.2.44")
    ]
