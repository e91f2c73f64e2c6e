"""Helpers for the catalogue API tests: a salon with its people, documents, row counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from boka.models.tenancy import Role, Tenant
from tests.support import GraphQLClient, GraphQLResult, Person, World

CREATE_SERVICE = """
mutation Create($input: CreateServiceInput!) {
  createService(input: $input) {
    service {
      id name durationMinutes price { amount currency } capacity active
      cancellationPolicy { freeCancelHours lateCancelRefundPercent }
    }
    errors { field code message }
  }
}"""
UPDATE_SERVICE = """
mutation Update($input: UpdateServiceInput!) {
  updateService(input: $input) {
    service { id name price { amount currency } } errors { field code }
  }
}"""
UPDATE_STAFF = """
mutation UpdateStaff($input: UpdateStaffMemberInput!) {
  updateStaffMember(input: $input) { staffMember { displayName } errors { field code } }
}"""
UPDATE_RESOURCE = """
mutation UpdateResource($input: UpdateResourceInput!) {
  updateResource(input: $input) { resource { name active } errors { field code } }
}"""
SET_SERVICE_ACTIVE = """
mutation Active($input: SetServiceActiveInput!) {
  setServiceActive(input: $input) { service { id active } errors { field code } }
}"""
CREATE_STAFF = """
mutation Staff($input: CreateStaffMemberInput!) {
  createStaffMember(input: $input) {
    staffMember { id displayName timeZone email } errors { field code message }
  }
}"""
ASSIGN = """
mutation Assign($input: AssignServiceInput!) {
  assignService(input: $input) {
    link { service { name } priceOverride { amount currency } durationMinutesOverride }
    staffMember { displayName }
    errors { field code }
  }
}"""
SET_WEEK = """
mutation Week($input: SetWeeklyHoursInput!) {
  setWeeklyHours(input: $input) {
    weeklyHours { weekday start end isBreak } errors { field code message }
  }
}"""
ADD_OVERRIDE = """
mutation Override($input: AddScheduleOverrideInput!) {
  addScheduleOverride(input: $input) {
    scheduleOverride { id day dayOff start end note } errors { field code }
  }
}"""
ADD_TIME_OFF = """
mutation TimeOff($input: AddTimeOffInput!) {
  addTimeOff(input: $input) { timeOff { id startsAt endsAt reason } errors { field code } }
}"""
CREATE_RESOURCE = """
mutation Resource($input: CreateResourceInput!) {
  createResource(input: $input) { resource { id name kind active } errors { field code } }
}"""
SET_SERVICE_RESOURCES = """
mutation Link($input: SetServiceResourcesInput!) {
  setServiceResources(input: $input) { service { resources { name } } errors { field code } }
}"""
CREATE_RULE = """
mutation Rule($input: CreatePricingRuleInput!) {
  createPricingRule(input: $input) {
    pricingRule { id name kind amount weekdays startsAt endsAt serviceIds priority }
    errors { field code }
  }
}"""
CREATE_CODE = """
mutation Code($input: CreateDiscountCodeInput!) {
  createDiscountCode(input: $input) {
    discountCode { id code kind value maxUses oncePerCustomer active } errors { field code }
  }
}"""
SERVICES = """
query Services($all: Boolean! = false) {
  services(includeInactive: $all) {
    edges { node { id name active staff { displayName } resources { name } } }
  }
}"""
NODE = "query N($id: ID!) { node(id: $id) { id } }"
HAIRCUT = {"name": "Haircut", "durationMinutes": 45, "price": {"amount": 4500}}


@dataclass
class Salon:
    """A tenant (zone Europe/Stockholm, currency EUR) with a manager, a stylist, a client."""

    tenant: Tenant
    manager: Person
    staff: Person
    customer: Person

    async def manage(
        self, gql: GraphQLClient, document: str, input: dict[str, Any]
    ) -> GraphQLResult:
        """``document`` with ``input``, sent by the salon's manager."""
        return await gql(document, {"input": input}, token=self.manager.token, tenant="salon")


async def open_salon(world: World) -> Salon:
    tenant = await world.tenant("salon", time_zone="Europe/Stockholm")
    return Salon(
        tenant=tenant,
        manager=await world.person(tenant, Role.MANAGER),
        staff=await world.person(tenant, Role.STAFF, email="stylist@example.com"),
        customer=await world.person(tenant, Role.CUSTOMER, email="client@example.com"),
    )


async def count(world: World, model: Any) -> int:
    async with world.runtime.database.transaction(all_tenants=True) as db:  # every tenant's rows
        statement = sa.select(sa.func.count()).select_from(model)
        return (await db.execute(statement)).scalar_one()


def payload(result: GraphQLResult, name: str) -> dict[str, Any]:
    """The mutation's payload, after checking there were no GraphQL errors."""
    assert not result.errors, result.errors
    return result.data[name]


def user_errors(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(error["field"], error["code"]) for error in result["errors"]]


async def make_service(gql: GraphQLClient, salon: Salon, **fields: Any) -> str:
    created = await salon.manage(gql, CREATE_SERVICE, {**HAIRCUT, **fields})
    return payload(created, "createService")["service"]["id"]


async def make_staff_member(gql: GraphQLClient, salon: Salon) -> str:
    input = {"email": salon.staff.email, "displayName": "Stina"}
    created = payload(await salon.manage(gql, CREATE_STAFF, input), "createStaffMember")
    return created["staffMember"]["id"]
