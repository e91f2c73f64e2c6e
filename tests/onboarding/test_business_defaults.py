"""A business's defaults (weekly hours, booking policy) fill in what createService and
createStaffMember leave out; explicit values win; bad defaults are typed errors that change
nothing; existing services and staff keep what they have."""

from __future__ import annotations

from boka.models.tenancy import Role
from tests.support import GraphQLClient, World

UPDATE = """mutation($input: UpdateBusinessSettingsInput!) { updateBusinessSettings(input: $input) {
    settings { name defaults { weeklyHours { weekday start end isBreak } minNoticeMinutes maxAdvanceDays
      freeCancelHours lateCancelRefundPercent lateReschedule } }
    errors { field code message } } }"""
READ = """{ businessSettings { defaults { weeklyHours { weekday start end isBreak } minNoticeMinutes
    maxAdvanceDays freeCancelHours lateCancelRefundPercent lateReschedule } } }"""
CREATE_SERVICE = """mutation($input: CreateServiceInput!) { createService(input: $input) {
    service { name minNoticeMinutes maxAdvanceDays cancellationPolicy { freeCancelHours
      lateCancelRefundPercent lateReschedule } } errors { field code } } }"""
CREATE_STAFF = """mutation($input: CreateStaffMemberInput!) { createStaffMember(input: $input) {
    staffMember { displayName weeklyHours { weekday start end isBreak } } errors { field code } } }"""

WEEK = [
    {"weekday": 0, "start": "09:00:00", "end": "17:00:00", "isBreak": False},
    {"weekday": 0, "start": "12:00:00", "end": "12:30:00", "isBreak": True},
    {"weekday": 4, "start": "10:00:00", "end": "14:00:00", "isBreak": False},
]
DEFAULTS = {"weeklyHours": WEEK, "minNoticeMinutes": 120, "maxAdvanceDays": 30, "freeCancelHours": 48,
            "lateCancelRefundPercent": 50, "lateReschedule": "FEE"}


def _service(name: str, **extra: object) -> dict[str, object]:
    return {"name": name, "durationMinutes": 30, "price": {"amount": 3000, "currency": "EUR"}, **extra}


async def test_defaults_fill_in_what_a_new_service_or_staff_member_leaves_out(
    gql: GraphQLClient, world: World
) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    manager = await world.person(tenant, Role.MANAGER)
    stylist = await world.person(tenant, Role.STAFF)
    other = await world.person(tenant, Role.STAFF)
    before = await gql(CREATE_SERVICE, {"input": _service("Before")}, token=owner.token, tenant="salon")
    old_staff = await gql(CREATE_STAFF, {"input": {"email": other.email, "displayName": "Old"}},
                          token=owner.token, tenant="salon")

    set_ = await gql(UPDATE, {"input": {"defaults": DEFAULTS}}, token=owner.token, tenant="salon")
    read = await gql(READ, token=manager.token, tenant="salon")
    plain = await gql(CREATE_SERVICE, {"input": _service("Cut")}, token=manager.token, tenant="salon")
    explicit = await gql(CREATE_SERVICE, {"input": _service(
        "Colour", minNoticeMinutes=0, cancellationPolicy={"freeCancelHours": 2})},
        token=manager.token, tenant="salon")
    staff = await gql(CREATE_STAFF, {"input": {"email": stylist.email, "displayName": "Lina"}},
                      token=manager.token, tenant="salon")
    services = await gql("{ services(first: 10) { edges { node { name minNoticeMinutes } } } }",
                         token=owner.token, tenant="salon")

    expected = {**DEFAULTS, "weeklyHours": sorted(WEEK, key=lambda w: (w["weekday"], w["start"]))}
    got = set_.data["updateBusinessSettings"]
    assert got["errors"] == []
    got_defaults = got["settings"]["defaults"]
    got_defaults["weeklyHours"].sort(key=lambda w: (w["weekday"], w["start"]))
    assert got_defaults == expected
    read_defaults = read.data["businessSettings"]["defaults"]
    read_defaults["weeklyHours"].sort(key=lambda w: (w["weekday"], w["start"]))
    assert read_defaults == expected
    assert plain.data["createService"]["service"] == {
        "name": "Cut", "minNoticeMinutes": 120, "maxAdvanceDays": 30,
        "cancellationPolicy": {"freeCancelHours": 48, "lateCancelRefundPercent": 50, "lateReschedule": "FEE"}}
    assert explicit.data["createService"]["service"] == {
        "name": "Colour", "minNoticeMinutes": 0, "maxAdvanceDays": 30,
        "cancellationPolicy": {"freeCancelHours": 2, "lateCancelRefundPercent": 50, "lateReschedule": "FEE"}}
    week = staff.data["createStaffMember"]["staffMember"]["weeklyHours"]
    assert sorted(week, key=lambda w: (w["weekday"], w["start"])) == expected["weeklyHours"]
    # What existed before the defaults keeps its own values
    assert before.data["createService"]["service"]["minNoticeMinutes"] == 0
    assert before.data["createService"]["service"]["cancellationPolicy"]["freeCancelHours"] == 24
    assert old_staff.data["createStaffMember"]["staffMember"]["weeklyHours"] == []
    names = {e["node"]["name"]: e["node"]["minNoticeMinutes"] for e in services.data["services"]["edges"]}
    assert names["Before"] == 0

    # weeklyHours: [] removes the default week; the policy defaults stay
    cleared = await gql(UPDATE, {"input": {"defaults": {"weeklyHours": []}}}, token=owner.token, tenant="salon")
    assert cleared.data["updateBusinessSettings"]["settings"]["defaults"]["weeklyHours"] == []
    assert cleared.data["updateBusinessSettings"]["settings"]["defaults"]["minNoticeMinutes"] == 120


async def test_bad_defaults_are_typed_errors_and_change_nothing(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    owner = await world.person(tenant, Role.OWNER)
    manager = await world.person(tenant, Role.MANAGER)
    await gql(UPDATE, {"input": {"defaults": {"minNoticeMinutes": 60}}}, token=owner.token, tenant="salon")

    bad = await gql(UPDATE, {"input": {"name": "Renamed", "defaults": {
        "minNoticeMinutes": -1, "maxAdvanceDays": 0, "freeCancelHours": 100000,
        "lateCancelRefundPercent": 101,
        "weeklyHours": [{"weekday": 0, "start": "17:00:00", "end": "09:00:00"}],
    }}}, token=owner.token, tenant="salon")
    overlap = await gql(UPDATE, {"input": {"defaults": {"weeklyHours": [
        {"weekday": 1, "start": "09:00:00", "end": "13:00:00"},
        {"weekday": 1, "start": "12:00:00", "end": "18:00:00"}]}}}, token=owner.token, tenant="salon")
    by_manager = await gql(UPDATE, {"input": {"defaults": {"minNoticeMinutes": 5}}},
                           token=manager.token, tenant="salon")
    after = await gql("{ businessSettings { name defaults { minNoticeMinutes weeklyHours { weekday } } } }",
                      token=owner.token, tenant="salon")

    assert {(e["field"], e["code"]) for e in bad.data["updateBusinessSettings"]["errors"]} == {
        ("defaults.minNoticeMinutes", "INVALID_INPUT"), ("defaults.maxAdvanceDays", "INVALID_INPUT"),
        ("defaults.freeCancelHours", "INVALID_INPUT"), ("defaults.lateCancelRefundPercent", "INVALID_INPUT"),
        ("defaults.weeklyHours.0.end", "INVALID_INPUT")}
    assert [(e["field"], e["code"]) for e in overlap.data["updateBusinessSettings"]["errors"]] == [
        ("defaults.weeklyHours.1", "INVALID_INPUT")]
    assert by_manager.error_codes == ["FORBIDDEN"]
    assert after.data["businessSettings"]["name"] != "Renamed"
    assert after.data["businessSettings"]["defaults"] == {"minNoticeMinutes": 60, "weeklyHours": []}
