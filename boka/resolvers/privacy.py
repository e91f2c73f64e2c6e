"""Resolvers of customers' own data (GDPR): export, erasure, account deletion. Thin."""

from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.scalars import JSON

from boka.errors import InvalidRequest, UserInputError
from boka.identity.principal import Principal
from boka.models.types import utcnow
from boka.privacy.access import customer_in_reach, own_customer_record
from boka.privacy.account_deletion import delete_my_account
from boka.privacy.erasure import Erasure, erase_customer
from boka.privacy.export import export_customer_data
from boka.resolvers.context import Info
from boka.resolvers.payments import after_cancellation
from boka.schema.customers import CustomerType
from boka.schema.ids import row_id
from boka.schema.privacy import (
    DeleteMyAccountInput,
    DeleteMyAccountPayload,
    EraseCustomerInput,
    EraseCustomerPayload,
)
from boka.schema.rate_limits import auth_limited
from boka.schema.transactions import attempt, write


async def customer_data_export(info: Info, customer_id: relay.GlobalID | None = None) -> JSON:
    """Everything Boka holds about a customer of this business, as one JSON document: profile
    and linked account, consents, bookings with history, payments and refunds, messages sent
    and audit entries. Owners (and superadmins) for any customer; anyone signed in for their
    own record (leave customerId out). The export is audited."""
    context = info.context
    principal = context.principal
    tenant = principal.require_tenant()
    try:
        wanted = None if customer_id is None else row_id(customer_id, "Customer", "customerId")
    except UserInputError as error:
        raise InvalidRequest(error.message) from error
    async with context.runtime.database.transaction(tenant.id, write=True) as db:
        document: Any = await export_customer_data(
            db, principal, wanted, device=context.device, now=utcnow())
    return document


async def my_customer_record(info: Info) -> CustomerType | None:
    """Your own customer record in this business (null if you have none, or are not signed in)."""
    principal = info.context.principal
    if principal.user is None or principal.tenant is None:
        return None
    async with info.context.read_transaction(principal.tenant.id) as db:
        record = await own_customer_record(db, principal.tenant.id, principal.user.id)
    return CustomerType.from_model(record) if record else None


async def erase_customer_mutation(info: Info, input: EraseCustomerInput) -> EraseCustomerPayload:
    """Anonymise a customer: their name, email, phone, notes and account link are gone; their
    bookings, payments and refunds stay with their amounts. Owners, or the customer themself."""
    context = info.context

    async def work(db: AsyncSession, principal: Principal) -> Erasure:
        customer = await customer_in_reach(
            db, principal, row_id(input.id, "Customer", "id"), for_update=True)
        return await erase_customer(
            db, principal, customer, cancel_future_bookings=input.cancel_future_bookings,
            device=context.device, now=utcnow(),
        )

    erasure, errors = await write(info, work)
    if erasure is None:
        return EraseCustomerPayload(errors=errors)
    for money in erasure.cancellations:
        await after_cancellation(context.runtime, money)
    return EraseCustomerPayload(
        customer=CustomerType.from_model(erasure.customer), already_erased=erasure.already_erased,
        cancelled_bookings=len(erasure.cancelled_booking_ids),
    )


async def delete_my_account_mutation(info: Info, input: DeleteMyAccountInput) -> DeleteMyAccountPayload:
    """Delete your account: every sign-in ends, and your customer records in every business are
    erased (their bookings and payments stay, anonymised). Needs your password, and a code
    when two-factor authentication is on."""
    context = info.context
    deleted, errors = await attempt(delete_my_account(
        context.runtime.database, context.runtime.identity.mfa, context.principal,
        password=input.password, mfa_code=input.mfa_code, device=context.device, now=utcnow(),
    ))
    if deleted is None:
        return DeleteMyAccountPayload(errors=errors)
    context.forget_session()
    return DeleteMyAccountPayload(
        deleted=True, customer_records_erased=deleted.customers_erased,
        sessions_ended=deleted.sessions_ended,
    )


@strawberry.type
class PrivacyQuery:
    customer_data_export: JSON = strawberry.field(resolver=customer_data_export)
    my_customer_record: CustomerType | None = strawberry.field(resolver=my_customer_record)


@strawberry.type
class PrivacyMutation:
    erase_customer: EraseCustomerPayload = strawberry.field(resolver=erase_customer_mutation)
    delete_my_account: DeleteMyAccountPayload = strawberry.field(
        resolver=delete_my_account_mutation, extensions=auth_limited())
