"""Customers: managers and owners keep the tenant's list, staff see the customers of their
bookings; a customer keeps their own record."""

from __future__ import annotations

import sqlalchemy as sa

from boka.models.bookings import Customer
from boka.models.tenancy import Role
from tests.booking.support import BookingWorld, future_day, gid, local
from tests.support import GraphQLClient, World

CREATE = """mutation C($input: CustomerInput!) {
  createCustomer(input: $input) { customer { id email firstName } errors { field code } } }"""
UPDATE = """mutation U($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { customer { email firstName phone } errors { field code } } }"""
LIST = "{ customers { edges { node { email } } } }"


BOOK = """mutation B($input: CreateBookingInput!) { createBooking(input: $input) {
  booking { customer { id } } errors { code } } }"""


async def _book_with(gql: GraphQLClient, staffed, index: int, email: str, hour: int, token: str) -> str:  # type: ignore[no-untyped-def]
    booked = await gql(BOOK, {"input": {
        "serviceId": staffed.service_id, "staffId": gid("StaffMember", staffed.staff[index].id),
        "start": local(future_day(), hour).isoformat(), "customer": {"email": email}}},
        token=token, tenant="salon")
    assert booked.data["createBooking"]["errors"] == [], booked.body
    return booked.data["createBooking"]["booking"]["customer"]["id"]


async def test_staff_add_walk_ins_and_list_only_the_customers_of_their_bookings(
    gql: GraphQLClient, world: World
) -> None:
    """Issue 12 item 9: the seed's matrix gives staff their own profile for user management,
    not the customer list: they add walk-ins and see the customers of their bookings."""
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant, staff_count=2)
    ann, ben = staffed.people[0], staffed.people[1]
    manager = await world.person(tenant, Role.MANAGER)
    made = await gql(CREATE, {"input": {"email": "Walk.In@Example.com", "firstName": "Wally"}}, token=ann.token, tenant="salon")
    again = await gql(CREATE, {"input": {"email": "walk.in@example.com"}}, token=ann.token, tenant="salon")
    await _book_with(gql, staffed, 0, "walk.in@example.com", 10, ann.token)
    await gql(CREATE, {"input": {"email": "not.booked@example.com"}}, token=ann.token, tenant="salon")
    bens = await _book_with(gql, staffed, 1, "bea@example.com", 11, ben.token)

    listed_by_ann = await gql(LIST, token=ann.token, tenant="salon")
    listed_by_manager = await gql(LIST, token=manager.token, tenant="salon")
    bea_by_ann = await gql(UPDATE, {"input": {"id": bens, "firstName": "B"}}, token=ann.token, tenant="salon")
    bea_node = await gql("query N($id: ID!) { node(id: $id) { id } }", {"id": bens}, token=ann.token, tenant="salon")

    assert made.data["createCustomer"]["customer"]["email"] == "walk.in@example.com"
    assert again.data["createCustomer"]["errors"] == [{"field": "email", "code": "DUPLICATE"}]
    assert [e["node"]["email"] for e in listed_by_ann.data["customers"]["edges"]] == ["walk.in@example.com"]
    assert {e["node"]["email"] for e in listed_by_manager.data["customers"]["edges"]} == {
        "walk.in@example.com", "not.booked@example.com", "bea@example.com"}
    assert bea_by_ann.error_codes == ["NOT_FOUND"]
    assert bea_node.data["node"] is None


async def test_customers_cannot_list_others_but_can_update_themselves(gql: GraphQLClient, world: World) -> None:
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant)
    carl = await world.person(tenant, Role.CUSTOMER, email="carl@example.com")
    owner = await world.person(tenant, Role.OWNER)
    await gql(CREATE, {"input": {"email": "dana@example.com"}}, token=owner.token, tenant="salon")
    booked = await gql(
        """mutation B($input: CreateBookingInput!) { createBooking(input: $input) {
             booking { customer { id } } errors { code } } }""",
        {"input": {"serviceId": staffed.service_id, "start": local(future_day(), 10).isoformat()}},
        token=carl.token, tenant="salon",
    )
    carl_id = booked.data["createBooking"]["booking"]["customer"]["id"]
    async with world.runtime.database.transaction(all_tenants=True) as db:
        dana_id = gid("Customer", (await db.execute(sa.select(Customer.id).where(Customer.email == "dana@example.com"))).scalar_one())

    listed = await gql(LIST, token=carl.token, tenant="salon")
    mine = await gql(UPDATE, {"input": {"id": carl_id, "phone": "+46 70 123 45 67"}}, token=carl.token, tenant="salon")
    theirs = await gql(UPDATE, {"input": {"id": dana_id, "phone": "+1"}}, token=carl.token, tenant="salon")
    too_long = await gql(UPDATE, {"input": {"id": carl_id, "firstName": "x" * 101}}, token=carl.token, tenant="salon")

    assert listed.error_codes == ["FORBIDDEN"]
    assert mine.data["updateCustomer"]["customer"]["phone"] == "+46701234567"  # stored in E.164
    assert theirs.error_codes == ["NOT_FOUND"]
    assert too_long.data["updateCustomer"]["errors"] == [{"field": "firstName", "code": "INVALID_INPUT"}]


async def test_staff_edit_a_customers_name_and_number_but_only_managers_move_their_email(
    gql: GraphQLClient, world: World
) -> None:
    """Issue 12 item 9: a staff member who changed a customer's email cut the customer's account
    off from its bookings; the seed's matrix gives staff "own profile" for user management."""
    tenant = await world.tenant("salon")
    staffed = await BookingWorld(world).staffed_service(tenant)
    staff = staffed.people[0]
    manager = await world.person(tenant, Role.MANAGER)
    carl = await _book_with(gql, staffed, 0, "carl@example.com", 10, staff.token)  # their customer

    renamed = await gql(UPDATE, {"input": {"id": carl, "firstName": "Carl"}}, token=staff.token, tenant="salon")
    moved_by_staff = await gql(UPDATE, {"input": {"id": carl, "email": "other@example.com"}},
                               token=staff.token, tenant="salon")
    moved_by_manager = await gql(UPDATE, {"input": {"id": carl, "email": "carl@work.example"}},
                                 token=manager.token, tenant="salon")

    assert renamed.data["updateCustomer"]["customer"]["firstName"] == "Carl"
    assert moved_by_staff.error_codes == ["FORBIDDEN"]
    assert moved_by_manager.data["updateCustomer"]["customer"]["email"] == "carl@work.example"
