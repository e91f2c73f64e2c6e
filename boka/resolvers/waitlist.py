"""Resolvers for waitlists: join, leave, list; claim or decline an offer; the business's
offer time. Thin: input → boka/booking/waitlist*.py → types."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from boka.booking.engine import CustomerDetails
from boka.booking.links import manage_token
from boka.booking.waitlist import (
    WaitlistRequest,
    join_waitlist,
    leave_waitlist,
    list_entries,
    offer_minutes,
    set_offer_minutes,
)
from boka.booking.waitlist_offers import (
    LockedOffer,
    OfferRef,
    claim_offer,
    decline_offer,
    load_offer,
    offer_ref,
)
from boka.errors import InvalidRequest, UserInputError
from boka.identity.principal import Principal
from boka.models.types import utcnow
from boka.models.waitlist import WaitlistEntry, WaitlistStatus
from boka.resolvers.booking import aware
from boka.resolvers.context import Info
from boka.schema.booking import BookingType
from boka.schema.ids import optional_row_id, row_id
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
from boka.schema.waitlist import (
    JoinWaitlistInput,
    LeaveWaitlistInput,
    UpdateWaitlistSettingsInput,
    WaitlistEntryPayload,
    WaitlistEntryType,
    WaitlistOfferActionInput,
    WaitlistOfferPayload,
    WaitlistOfferType,
    WaitlistSettingsPayload,
    WaitlistSettingsType,
    WaitlistStatusEnum,
)


async def join_waitlist_mutation(info: Info, input: JoinWaitlistInput) -> WaitlistEntryPayload:
    async def work(db: AsyncSession, principal: Principal) -> WaitlistEntry:
        request = WaitlistRequest(
            service_id=row_id(input.service_id, "Service", "serviceId"),
            staff_id=optional_row_id(input.staff_id, "StaffMember", "staffId"),
            class_session_id=optional_row_id(input.class_session_id, "ClassSession", "classSessionId"),
            earliest=aware(input.earliest, "earliest") if input.earliest else None,
            latest=aware(input.latest, "latest") if input.latest else None,
            seats=input.seats,
            customer=CustomerDetails(
                email=input.customer.email, first_name=input.customer.first_name,
                last_name=input.customer.last_name, phone=input.customer.phone,
            ) if input.customer else None,
        )
        return await join_waitlist(db, principal, request, now=utcnow())

    entry, errors = await write(info, work)
    return WaitlistEntryPayload(entry=WaitlistEntryType.from_model(entry) if entry else None, errors=errors)


async def leave_waitlist_mutation(info: Info, input: LeaveWaitlistInput) -> WaitlistEntryPayload:
    async def work(db: AsyncSession, principal: Principal) -> WaitlistEntry:
        entry_id = row_id(input.id, "WaitlistEntry", "id")
        return await leave_waitlist(db, principal, entry_id, now=utcnow())

    entry, errors = await write(info, work)
    return WaitlistEntryPayload(entry=WaitlistEntryType.from_model(entry) if entry else None, errors=errors)


def _ref(info: Info, input: WaitlistOfferActionInput) -> OfferRef:
    return offer_ref(
        optional_row_id(input.id, "WaitlistOffer", "id"), input.token,
        info.context.runtime.settings.secret_key,
    )


async def claim_waitlist_offer(info: Info, input: WaitlistOfferActionInput) -> WaitlistOfferPayload:
    """Book the held time (signed in, or with the emailed link's token)."""
    held, errors = await write(
        info, lambda db, principal: claim_offer(db, principal, _ref(info, input), now=utcnow())
    )
    return _offer_payload(info, held, errors, with_manage_token=True)


async def decline_waitlist_offer(info: Info, input: WaitlistOfferActionInput) -> WaitlistOfferPayload:
    """Pass the held time on to the next in line."""
    held, errors = await write(
        info, lambda db, principal: decline_offer(db, principal, _ref(info, input), now=utcnow())
    )
    return _offer_payload(info, held, errors, with_manage_token=False)


def _offer_payload(
    info: Info, held: LockedOffer | None, errors: list, with_manage_token: bool,  # type: ignore[type-arg]
) -> WaitlistOfferPayload:
    if held is None:
        return WaitlistOfferPayload(errors=errors)
    return WaitlistOfferPayload(
        offer=WaitlistOfferType.from_model(held.offer),
        booking=BookingType.from_model(held.booking),
        manage_token=manage_token(info.context.runtime.settings.secret_key, held.booking.id)
        if with_manage_token else None,
    )


async def waitlist_entries(
    info: Info, first: First = None, after: After = None, last: Last = None, before: Before = None,
    service_id: Annotated[relay.GlobalID | None, strawberry.argument(
        description="Only the line for this Service.")] = None,
    statuses: Annotated[list[WaitlistStatusEnum] | None, strawberry.argument(  # type: ignore[valid-type]
        description="Only entries in these states; all when left out.")] = None,
) -> Connection[WaitlistEntryType]:
    """The line, first come first: a customer's own entries; the business's for its team."""
    try:
        service_row_id = optional_row_id(service_id, "Service", "serviceId")
    except UserInputError as error:
        raise InvalidRequest(error.message, field=error.field) from error
    page = await read(info, lambda db, principal: list_entries(
        db, principal, service_id=service_row_id,
        statuses=tuple(WaitlistStatus(s) for s in statuses or ()), first=first, after=after,
        last=last, before=before,
    ))
    return connection_from_page(page, WaitlistEntryType.from_model, counted_in_read(info))


async def waitlist_offer_by_link(info: Info, token: str) -> WaitlistOfferType:
    """The offer a claim link is for: what the customer sees when they open it."""
    ref = offer_ref(None, token, info.context.runtime.settings.secret_key)
    offer = await read(info, lambda db, principal: load_offer(db, principal, ref))
    return WaitlistOfferType.from_model(offer)


async def waitlist_settings(info: Info) -> WaitlistSettingsType:
    minutes = await read(info, lambda db, principal: offer_minutes(db, principal.require_tenant().id))
    return WaitlistSettingsType(offer_minutes=minutes)


async def update_waitlist_settings(
    info: Info, input: UpdateWaitlistSettingsInput
) -> WaitlistSettingsPayload:
    """Managers and owners: how long an offer holds its time."""
    minutes, errors = await write(
        info, lambda db, principal: set_offer_minutes(db, principal, minutes=input.offer_minutes)
    )
    if minutes is None:
        return WaitlistSettingsPayload(errors=errors)
    return WaitlistSettingsPayload(settings=WaitlistSettingsType(offer_minutes=minutes))


@strawberry.type
class WaitlistQuery:
    waitlist_entries: Connection[WaitlistEntryType] = strawberry.field(resolver=waitlist_entries)
    waitlist_offer_by_link: WaitlistOfferType = strawberry.field(resolver=waitlist_offer_by_link)
    waitlist_settings: WaitlistSettingsType = strawberry.field(resolver=waitlist_settings)


@strawberry.type
class WaitlistMutation:
    join_waitlist: WaitlistEntryPayload = strawberry.field(resolver=join_waitlist_mutation)
    leave_waitlist: WaitlistEntryPayload = strawberry.field(resolver=leave_waitlist_mutation)
    claim_waitlist_offer: WaitlistOfferPayload = strawberry.field(resolver=claim_waitlist_offer)
    decline_waitlist_offer: WaitlistOfferPayload = strawberry.field(resolver=decline_waitlist_offer)
    update_waitlist_settings: WaitlistSettingsPayload = strawberry.field(resolver=update_waitlist_settings)
