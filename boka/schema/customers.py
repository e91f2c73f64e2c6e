"""GraphQL types of a tenant's customers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from boka.booking.queries import visible_customers
from boka.models.bookings import Customer
from boka.schema.errors import UserError
from boka.schema.transactions import resolve_visible_nodes


@strawberry.type(name="Customer")
class CustomerType(relay.Node):
    id: relay.NodeID[str]
    email: str
    first_name: str
    last_name: str
    phone: str | None
    created_at: datetime

    @classmethod
    def from_model(cls, customer: Customer) -> CustomerType:
        return cls(
            id=str(customer.id), email=customer.email, first_name=customer.first_name,
            last_name=customer.last_name, phone=customer.phone, created_at=customer.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Any, node_ids: Iterable[str], required: bool = False
    ) -> list[CustomerType | None]:
        return await resolve_visible_nodes(info, node_ids, visible_customers, cls.from_model)


@strawberry.input
class CustomerInput:
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str | None = None


@strawberry.input(description="Fields left out (or null) stay as they are.")
class UpdateCustomerInput:
    id: relay.GlobalID
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


@strawberry.type
class CustomerPayload:
    customer: CustomerType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
