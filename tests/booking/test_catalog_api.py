"""The catalogue over the API: services, staff members and resources. Managers and owners change
it; visitors of the tenant read its active part; nothing of one tenant is reachable from
another; a rejected change writes nothing. (Schedules and price administration have test
modules of their own.)"""

from __future__ import annotations

from typing import Any

import pytest

from boka.models.catalog import Resource, Service, ServiceResource, StaffMember, StaffService
from boka.models.pricing import DiscountCode, PricingRule
from boka.models.tenancy import Role
from tests.booking.catalog_support import (
    ADD_OVERRIDE,
    ADD_TIME_OFF,
    ASSIGN,
    CREATE_CODE,
    CREATE_RESOURCE,
    CREATE_RULE,
    CREATE_SERVICE,
    CREATE_STAFF,
    HAIRCUT,
    NODE,
    SERVICES,
    SET_SERVICE_ACTIVE,
    SET_SERVICE_RESOURCES,
    SET_WEEK,
    UPDATE_RESOURCE,
    UPDATE_SERVICE,
    UPDATE_STAFF,
    count,
    make_service,
    make_staff_member,
    open_salon,
    payload,
    user_errors,
)
from tests.support import GraphQLClient, World

STAFF_MEMBERS = """
query {
  staffMembers { edges { node {
    displayName email
    services { service { name } priceOverride { amount } }
    weeklyHours { weekday start end isBreak }
    overrides(from: "2030-06-01", to: "2030-06-30") { day dayOff start end }
    timeOff(from: "2030-01-01T00:00:00Z", to: "2031-01-01T00:00:00Z") { reason }
  } } }
}"""
RESOURCES = "{ resources { edges { node { name } } } }"
STAFF_NODE = """query N($id: ID!) { node(id: $id) { ... on StaffMember { displayName email } } }"""
TIME_OFF_OF_NODE = """query N($id: ID!) { node(id: $id) { ... on StaffMember {
  timeOff(from: "2030-01-01T00:00:00Z", to: "2030-02-01T00:00:00Z") { reason } } } }"""
PRICING = "{ pricingRules { name amount } discountCodes { edges { node { code value uses } } } }"


async def test_manager_builds_the_catalogue_and_everyone_reads_it_back(
    gql: GraphQLClient, world: World
) -> None:
    salon = await open_salon(world)
    created = payload(await salon.manage(gql, CREATE_SERVICE, HAIRCUT), "createService")
    service_id = created["service"]["id"]
    staff = payload(
        await salon.manage(
            gql, CREATE_STAFF, {"email": "STYLIST@example.com", "displayName": "Stina"}
        ),
        "createStaffMember",
    )
    staff_id = staff["staffMember"]["id"]
    link = {"staffMemberId": staff_id, "serviceId": service_id}
    assigned = payload(
        await salon.manage(
            gql, ASSIGN, {**link, "priceOverride": 5000, "durationMinutesOverride": 60}
        ),
        "assignService",
    )
    week = [
        {"weekday": 0, "start": "09:00:00", "end": "17:00:00"},
        {"weekday": 0, "start": "12:00:00", "end": "12:30:00", "isBreak": True},
        {"weekday": 2, "start": "10:00:00", "end": "14:00:00"},
    ]
    hours = payload(
        await salon.manage(gql, SET_WEEK, {"staffMemberId": staff_id, "intervals": week}),
        "setWeeklyHours",
    )
    override = {"staffMemberId": staff_id, "day": "2030-06-03", "note": "Short day"}
    override_hours = {"start": "10:00:00", "end": "13:00:00"}
    added = await salon.manage(gql, ADD_OVERRIDE, {**override, **override_hours})
    payload(added, "addScheduleOverride")
    time_off = payload(
        await salon.manage(gql, ADD_TIME_OFF, {
            "staffMemberId": staff_id, "reason": "Holiday",
            "startsAt": "2030-07-01T00:00:00+02:00", "endsAt": "2030-07-15T00:00:00+02:00",
        }),
        "addTimeOff",
    )
    chair = payload(
        await salon.manage(gql, CREATE_RESOURCE, {"name": "Chair 1", "kind": "chair"}),
        "createResource",
    )["resource"]
    sink = payload(await salon.manage(gql, CREATE_RESOURCE, {"name": "Sink"}), "createResource")
    linked = payload(
        await salon.manage(gql, SET_SERVICE_RESOURCES, {
            "serviceId": service_id, "resourceIds": [chair["id"], sink["resource"]["id"]],
        }),
        "setServiceResources",
    )
    rule = payload(
        await salon.manage(gql, CREATE_RULE, {
            "name": "Weekend surcharge", "kind": "PERCENT", "amount": 20, "weekdays": [6, 5, 5],
            "startsAt": "08:00:00", "endsAt": "12:00:00", "serviceIds": [service_id],
        }),
        "createPricingRule",
    )
    code = payload(
        await salon.manage(
            gql, CREATE_CODE, {"code": " summer-10 ", "kind": "PERCENT", "value": 10, "maxUses": 50}
        ),
        "createDiscountCode",
    )

    assert created["service"]["price"] == {"amount": 4500, "currency": "EUR"}  # tenant's currency
    assert created["service"]["cancellationPolicy"] == {
        "freeCancelHours": 24, "lateCancelRefundPercent": 0,
    }
    assert staff["staffMember"]["timeZone"] == "Europe/Stockholm"  # the tenant's zone
    assert staff["staffMember"]["email"] == "stylist@example.com"
    assert assigned == {
        "link": {
            "service": {"name": "Haircut"},
            "priceOverride": {"amount": 5000, "currency": "EUR"},
            "durationMinutesOverride": 60,
        },
        "staffMember": {"displayName": "Stina"},
        "errors": [],
    }
    assert hours["errors"] == [] and len(hours["weeklyHours"]) == 3
    assert time_off["timeOff"]["startsAt"] == "2030-06-30T22:00:00+00:00"  # stored in UTC
    assert sink["resource"]["kind"] == "room"
    assert linked["service"]["resources"] == [{"name": "Chair 1"}, {"name": "Sink"}]
    assert rule["pricingRule"]["weekdays"] == [5, 6]
    assert rule["pricingRule"]["serviceIds"] == [service_id]
    assert code["discountCode"]["code"] == "SUMMER-10"

    visitor = await gql(SERVICES, tenant="salon")  # not signed in: a visitor of the storefront
    assert visitor.data["services"]["edges"] == [{"node": {
        "id": service_id, "name": "Haircut", "active": True,
        "staff": [{"displayName": "Stina"}], "resources": [{"name": "Chair 1"}, {"name": "Sink"}],
    }}]
    staff_view = await gql(STAFF_MEMBERS, token=salon.manager.token, tenant="salon")
    assert not staff_view.errors
    assert staff_view.data["staffMembers"]["edges"][0]["node"] == {
        "displayName": "Stina",
        "email": "stylist@example.com",
        "services": [{"service": {"name": "Haircut"}, "priceOverride": {"amount": 5000}}],
        "weeklyHours": [
            {"weekday": 0, "start": "09:00:00", "end": "17:00:00", "isBreak": False},
            {"weekday": 0, "start": "12:00:00", "end": "12:30:00", "isBreak": True},
            {"weekday": 2, "start": "10:00:00", "end": "14:00:00", "isBreak": False},
        ],
        "overrides": [
            {"day": "2030-06-03", "dayOff": False, "start": "10:00:00", "end": "13:00:00"}
        ],
        "timeOff": [{"reason": "Holiday"}],
    }
    resources = await gql(RESOURCES, tenant="salon")
    assert [e["node"]["name"] for e in resources.data["resources"]["edges"]] == ["Chair 1", "Sink"]
    pricing = await gql(PRICING, token=salon.manager.token, tenant="salon")
    assert pricing.data == {
        "pricingRules": [{"name": "Weekend surcharge", "amount": 20}],
        "discountCodes": {"edges": [{"node": {"code": "SUMMER-10", "value": 10, "uses": 0}}]},
    }


async def test_visitors_see_the_active_catalogue_and_no_private_staff_details(
    gql: GraphQLClient, world: World
) -> None:
    salon = await open_salon(world)
    active_id = await make_service(gql, salon, name="Haircut")
    hidden_id = await make_service(gql, salon, name="Old perm")
    staff_id = await make_staff_member(gql, salon)
    payload(await salon.manage(gql, CREATE_RESOURCE, {"name": "Chair"}), "createResource")
    retired = await salon.manage(gql, CREATE_RESOURCE, {"name": "Old chair"})
    retired_id = payload(retired, "createResource")["resource"]["id"]
    changes = [
        (SET_SERVICE_ACTIVE, {"id": hidden_id, "active": False}, "setServiceActive"),
        (UPDATE_RESOURCE, {"id": retired_id, "active": False}, "updateResource"),
        (UPDATE_STAFF, {"id": staff_id, "displayName": "Stina S", "timeZone": "Nowhere"},
         "updateStaffMember"),
    ]
    results = [payload(await salon.manage(gql, doc, input), name) for doc, input, name in changes]
    as_customer = {"token": salon.customer.token, "tenant": "salon"}
    as_manager = {"token": salon.manager.token, "tenant": "salon"}

    visitor = await gql(SERVICES, tenant="salon")
    customer_all = await gql(SERVICES, {"all": True}, **as_customer)
    manager_all = await gql(SERVICES, {"all": True}, **as_manager)
    hidden_node = await gql(NODE, {"id": hidden_id}, tenant="salon")
    visitor_resources = await gql(RESOURCES, tenant="salon")
    manager_resources = await gql(RESOURCES, **as_manager)
    customer_staff_view = await gql(STAFF_NODE, {"id": staff_id}, **as_customer)
    customer_time_off = await gql(TIME_OFF_OF_NODE, {"id": staff_id}, **as_customer)
    retire = await salon.manage(gql, UPDATE_STAFF, {"id": staff_id, "active": False})
    payload(retire, "updateStaffMember")
    retired_staff = await gql(STAFF_NODE, {"id": staff_id}, **as_customer)

    assert [user_errors(result) for result in results] == [[], [], [("timeZone", "INVALID_INPUT")]]
    assert [e["node"]["id"] for e in visitor.data["services"]["edges"]] == [active_id]
    assert customer_all.error_codes == ["FORBIDDEN"]
    assert [e["node"]["active"] for e in manager_all.data["services"]["edges"]] == [True, False]
    assert hidden_node.data["node"] is None
    assert [e["node"]["name"] for e in visitor_resources.data["resources"]["edges"]] == ["Chair"]
    assert len(manager_resources.data["resources"]["edges"]) == 2
    assert customer_staff_view.data["node"] == {"displayName": "Stina", "email": None}
    assert customer_time_off.error_codes == ["FORBIDDEN"]
    assert retired_staff.data["node"] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"durationMinutes": 4}, "durationMinutes"),
        ({"durationMinutes": 721}, "durationMinutes"),
        ({"bufferBeforeMinutes": 361}, "bufferBeforeMinutes"),
        ({"bufferAfterMinutes": -1}, "bufferAfterMinutes"),
        ({"slotIntervalMinutes": 4}, "slotIntervalMinutes"),
        ({"slotIntervalMinutes": 241}, "slotIntervalMinutes"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 501}, "capacity"),
        ({"price": {"amount": -1}}, "price.amount"),
        ({"price": {"amount": 100, "currency": "eur"}}, "price.currency"),
        ({"minNoticeMinutes": -5}, "minNoticeMinutes"),
        ({"maxAdvanceDays": 0}, "maxAdvanceDays"),
        ({"maxAdvanceDays": 731}, "maxAdvanceDays"),
        (
            {"cancellationPolicy": {"lateCancelRefundPercent": 101}},
            "cancellationPolicy.lateCancelRefundPercent",
        ),
    ],
)
async def test_an_invalid_service_is_a_user_error_and_writes_nothing(
    gql: GraphQLClient, world: World, fields: dict[str, Any], field: str
) -> None:
    salon = await open_salon(world)

    created = await salon.manage(gql, CREATE_SERVICE, {**HAIRCUT, **fields})
    result = payload(created, "createService")

    assert result["service"] is None
    assert user_errors(result) == [(field, "INVALID_INPUT")]
    assert await count(world, Service) == 0


async def test_an_invalid_update_leaves_the_service_as_it_was(
    gql: GraphQLClient, world: World
) -> None:
    salon = await open_salon(world)
    service_id = await make_service(gql, salon)

    rejected = payload(
        await salon.manage(gql, UPDATE_SERVICE, {"id": service_id, "name": "Wash", "capacity": 0}),
        "updateService",
    )
    repriced = payload(
        await salon.manage(
            gql, UPDATE_SERVICE, {"id": service_id, "price": {"amount": 100, "currency": "SEK"}}
        ),
        "updateService",
    )

    assert user_errors(rejected) == [("capacity", "INVALID_INPUT")]
    assert repriced["service"] == {
        "id": service_id, "name": "Haircut", "price": {"amount": 100, "currency": "SEK"},
    }


@pytest.mark.parametrize("role", [Role.STAFF, Role.CUSTOMER])
async def test_staff_and_customers_cannot_change_the_catalogue(
    gql: GraphQLClient, world: World, role: Role
) -> None:
    salon = await open_salon(world)
    service_id = await make_service(gql, salon)
    staff_id = await make_staff_member(gql, salon)
    person = salon.staff if role is Role.STAFF else salon.customer
    as_person = {"token": person.token, "tenant": "salon"}
    attempts = [
        (CREATE_SERVICE, HAIRCUT),
        (UPDATE_SERVICE, {"id": service_id, "name": "Mine"}),
        (SET_SERVICE_ACTIVE, {"id": service_id, "active": False}),
        (CREATE_STAFF, {"email": salon.manager.email, "displayName": "Me"}),
        (ASSIGN, {"staffMemberId": staff_id, "serviceId": service_id}),
        (SET_WEEK, {"staffMemberId": staff_id, "intervals": []}),
        (CREATE_RESOURCE, {"name": "Chair"}),
        (CREATE_RULE, {"name": "Cheap", "kind": "PERCENT", "amount": -50}),
        (CREATE_CODE, {"code": "FREE", "kind": "PERCENT", "value": 100}),
    ]

    for document, input in attempts:
        result = await gql(document, {"input": input}, **as_person)
        assert result.error_codes == ["FORBIDDEN"], document
    rules = await gql("{ pricingRules { name } }", **as_person)
    codes = await gql("{ discountCodes { edges { node { code } } } }", **as_person)

    assert rules.error_codes == ["FORBIDDEN"]
    assert codes.error_codes == ["FORBIDDEN"]
    assert await count(world, Service) == 1
    assert await count(world, StaffMember) == 1
    for model in (StaffService, Resource, PricingRule, DiscountCode):
        assert await count(world, model) == 0
    services = await gql(SERVICES, tenant="salon")
    assert services.data["services"]["edges"][0]["node"]["name"] == "Haircut"


async def test_another_tenants_rows_are_not_found_and_never_listed(
    gql: GraphQLClient, world: World
) -> None:
    salon = await open_salon(world)
    theirs = await make_service(gql, salon, name="Salon secret")
    chair = payload(await salon.manage(gql, CREATE_RESOURCE, {"name": "Chair"}), "createResource")
    their_chair = chair["resource"]["id"]
    rival = await world.person(await world.tenant("barber"), Role.MANAGER)
    as_rival = {"token": rival.token, "tenant": "barber"}
    ours = payload(await gql(CREATE_SERVICE, {"input": HAIRCUT}, **as_rival), "createService")
    ours_id = ours["service"]["id"]
    attempts = [
        (UPDATE_SERVICE, {"id": theirs, "name": "Mine now"}),
        (SET_SERVICE_ACTIVE, {"id": theirs, "active": False}),
        (SET_SERVICE_RESOURCES, {"serviceId": ours_id, "resourceIds": [their_chair]}),
        (CREATE_RULE, {"name": "x", "kind": "FIXED", "amount": 5, "serviceIds": [theirs]}),
    ]

    for document, input in attempts:
        result = await gql(document, {"input": input}, **as_rival)
        assert result.error_codes == ["NOT_FOUND"], document
    listed = await gql(SERVICES, {"all": True}, **as_rival)
    node = await gql(NODE, {"id": theirs}, **as_rival)
    in_their_tenant = await gql(
        SET_SERVICE_ACTIVE,
        {"input": {"id": theirs, "active": False}},
        token=rival.token,
        tenant="salon",
    )

    assert [e["node"]["id"] for e in listed.data["services"]["edges"]] == [ours_id]
    assert "Salon secret" not in listed.response.text
    assert node.data["node"] is None
    assert in_their_tenant.error_codes == ["FORBIDDEN"]  # not a member of the salon at all
    assert await count(world, ServiceResource) == 0
    assert await count(world, PricingRule) == 0
    unchanged = await gql(SERVICES, tenant="salon")
    assert unchanged.data["services"]["edges"][0]["node"]["name"] == "Salon secret"


async def test_an_id_of_the_wrong_type_is_a_user_error(gql: GraphQLClient, world: World) -> None:
    salon = await open_salon(world)
    staff_id = await make_staff_member(gql, salon)

    updated = await salon.manage(gql, UPDATE_SERVICE, {"id": staff_id, "name": "x"})
    result = payload(updated, "updateService")

    assert result == {"service": None, "errors": [{"field": "id", "code": "INVALID_INPUT"}]}


async def test_staff_members_are_staff_side_members_once(gql: GraphQLClient, world: World) -> None:
    salon = await open_salon(world)
    await world.person(None, None, email="stranger@example.com")
    not_staff = ["client@example.com", "stranger@example.com", "nobody@example.com"]

    for email in not_staff:  # a customer, someone outside the tenant, no account at all
        result = payload(
            await salon.manage(gql, CREATE_STAFF, {"email": email, "displayName": "X"}),
            "createStaffMember",
        )
        assert user_errors(result) == [("email", "INVALID_INPUT")], email
    bad_zone = payload(
        await salon.manage(gql, CREATE_STAFF, {
            "email": salon.staff.email, "displayName": "X", "timeZone": "Mars/Olympus",
        }),
        "createStaffMember",
    )
    assert user_errors(bad_zone) == [("timeZone", "INVALID_INPUT")]
    assert await count(world, StaffMember) == 0

    await make_staff_member(gql, salon)
    again = payload(
        await salon.manage(gql, CREATE_STAFF, {"email": salon.staff.email, "displayName": "Y"}),
        "createStaffMember",
    )
    manager = payload(
        await salon.manage(gql, CREATE_STAFF, {
            "email": salon.manager.email, "displayName": "Boss", "timeZone": "UTC",
        }),
        "createStaffMember",
    )

    assert user_errors(again) == [("email", "DUPLICATE")]
    assert manager["staffMember"]["timeZone"] == "UTC"
    assert await count(world, StaffMember) == 2


async def test_assigning_again_updates_and_unassigning_removes(
    gql: GraphQLClient, world: World
) -> None:
    salon = await open_salon(world)
    service_id = await make_service(gql, salon)
    staff_id = await make_staff_member(gql, salon)
    link = {"staffMemberId": staff_id, "serviceId": service_id}
    unassign = """mutation U($input: UnassignServiceInput!) { unassignService(input: $input) {
      staffMember { services { service { name } } } errors { code } } }"""
    rejected = {
        "durationMinutesOverride": {**link, "durationMinutesOverride": 721},
        "priceOverride": {**link, "priceOverride": -1},
        "staffMemberId": {"staffMemberId": service_id, "serviceId": staff_id},
    }

    for field, input in rejected.items():
        result = payload(await salon.manage(gql, ASSIGN, input), "assignService")
        assert user_errors(result) == [(field, "INVALID_INPUT")]
    assert await count(world, StaffService) == 0
    payload(await salon.manage(gql, ASSIGN, {**link, "priceOverride": 100}), "assignService")
    reassigned = payload(await salon.manage(gql, ASSIGN, link), "assignService")
    assert reassigned["link"]["priceOverride"] is None
    assert await count(world, StaffService) == 1

    unassigned = payload(await salon.manage(gql, unassign, link), "unassignService")

    assert unassigned == {"staffMember": {"services": []}, "errors": []}
    assert await count(world, StaffService) == 0
