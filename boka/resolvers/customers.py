"""Resolvers for a tenant's customers. Thin: input → domain → type."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from boka.booking.customers import CustomerChanges, create_customer, update_customer
from boka.booking.queries import list_customers
from boka.identity.principal import Principal
from boka.models.bookings import Customer
from boka.resolvers.context import Info
from boka.schema.customers import CustomerInput, CustomerPayload, CustomerType, UpdateCustomerInput
from boka.schema.ids import row_id
from boka.schema.pagination import (
    After,
    Before,
    Connection,
    First,
    Last,
    connection_from_page,
    counted_in_read,
)
from boka.schema.transactions import read, write


async def customers(
    info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None
) -> Connection[CustomerType]:
    """The tenant's customers, oldest first: for staff, managers and owners."""
    page = await read(info, lambda db, principal: list_customers(
        db, principal, first=first, after=after, last=last, before=before))
    return connection_from_page(page, CustomerType.from_model, counted_in_read(info))


async def create_customer_mutation(info: Info, input: CustomerInput) -> CustomerPayload:
    async def work(db: AsyncSession, principal: Principal) -> Customer:
        return await create_customer(
            db, principal, email=input.email, first_name=input.first_name,
            last_name=input.last_name, phone=input.phone,
        )

    customer, errors = await write(info, work)
    return CustomerPayload(customer=CustomerType.from_model(customer) if customer else None, errors=errors)


async def update_customer_mutation(info: Info, input: UpdateCustomerInput) -> CustomerPayload:
    async def work(db: AsyncSession, principal: Principal) -> Customer:
        changes = CustomerChanges(
            email=input.email, first_name=input.first_name, last_name=input.last_name, phone=input.phone
        )
        return await update_customer(db, principal, row_id(input.id, "Customer", "id"), changes)

    customer, errors = await write(info, work)
    return CustomerPayload(customer=CustomerType.from_model(customer) if customer else None, errors=errors)


@strawberry.type
class CustomerQuery:
    customers: Connection[CustomerType] = strawberry.field(resolver=customers)


@strawberry.type
class CustomerMutation:
    create_customer: CustomerPayload = strawberry.field(resolver=create_customer_mutation)
    update_customer: CustomerPayload = strawberry.field(resolver=update_customer_mutation)
