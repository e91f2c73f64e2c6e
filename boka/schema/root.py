"""The assembled GraphQL schema: per-domain Query and Mutation classes merged into one root."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES

from boka.config import Settings
from boka.errors import InvalidRequest
from boka.resolvers.analytics import AnalyticsQuery
from boka.resolvers.booking import BookingMutation, BookingQuery
from boka.resolvers.business import BusinessMutation, BusinessQuery
from boka.resolvers.catalog import CatalogMutation, CatalogQuery
from boka.resolvers.class_sessions import ClassSessionMutation, ClassSessionQuery
from boka.resolvers.customers import CustomerMutation, CustomerQuery
from boka.resolvers.external_calendars import ExternalCalendarMutation
from boka.resolvers.holds import HoldMutation, HoldSubscription
from boka.resolvers.identity import IdentityMutation, IdentityQuery
from boka.resolvers.jobs import JobMutation, JobQuery
from boka.resolvers.limits import LimitMutation, LimitQuery
from boka.resolvers.platform import PlatformMutation, PlatformQuery
from boka.resolvers.live import LiveSubscription
from boka.resolvers.notifications import NotificationMutation, NotificationQuery
from boka.resolvers.payments import PaymentMutation
from boka.resolvers.privacy import PrivacyMutation, PrivacyQuery
from boka.resolvers.recovery import RecoveryMutation
from boka.resolvers.security import SecurityMutation, SecurityQuery
from boka.resolvers.team import TeamMutation, TeamQuery
from boka.resolvers.series import SeriesMutation, SeriesQuery
from boka.resolvers.waitlist import WaitlistMutation, WaitlistQuery
from boka.resolvers.webhooks import WebhookMutation, WebhookQuery
from boka.schema.booking import BookingType
from boka.schema.class_sessions import ClassSessionType
from boka.schema.customers import CustomerType
from boka.schema.describe import describe
from boka.schema.disclosure import drop_suggestions, hides_schema_from
from boka.schema.errors import shape_error
from boka.schema.execution import OperationRunner
from boka.schema.extensions import schema_extensions
from boka.schema.identity import MembershipType, TenantType, UserType
from boka.schema.ids import parse_node_ids
from boka.schema.team import InvitationType
from boka.schema.series import BookingSeriesType
from boka.schema.waitlist import WaitlistEntryType, WaitlistOfferType
from boka.schema.webhooks import WebhookDeliveryType, WebhookEndpointType


MAX_NODES = 100
# Node types whose ids are not UUIDs (a failed job is named by its queue's id).
FREE_FORM_IDS = frozenset({"FailedJob"})


def _node_type(info: strawberry.Info, global_id: relay.GlobalID) -> type[relay.Node] | None:
    """The Node type a global id names, if it names one and its inner id has that type's form."""
    try:
        node_type = global_id.resolve_type(info)
    except (KeyError, ValueError, TypeError):
        return None
    if not isinstance(node_type, type) or not issubclass(node_type, relay.Node):
        return None
    if global_id.type_name not in FREE_FORM_IDS and parse_node_ids([global_id.node_id]) == [None]:
        return None
    return node_type


async def node(
    info: strawberry.Info,
    id: Annotated[relay.GlobalID, strawberry.argument(description="A global id, as any `id` field gives it.")],
) -> relay.Node | None:
    """Any object by its global ID; null when it does not exist or is not yours to see."""
    node_type = _node_type(info, id)
    if node_type is None:
        return None
    found = await node_type.resolve_nodes(info=info, node_ids=[id.node_id], required=False)
    return next(iter(found), None)


async def nodes(
    info: strawberry.Info,
    ids: Annotated[list[relay.GlobalID], strawberry.argument(
        description=f"Up to {MAX_NODES} global ids, of any types."
    )],
) -> list[relay.Node | None]:
    """Several objects by their global IDs, in the order asked, one lookup per type: null for
    one that does not exist or is not yours to see (another tenant's, say). An id that is not
    one of ours at all is the client's mistake: VALIDATION_ERROR naming its position."""
    if len(ids) > MAX_NODES:
        raise InvalidRequest(f"Ask for at most {MAX_NODES} ids at a time.", field="ids")
    by_type: dict[type[relay.Node], list[int]] = {}
    for position, global_id in enumerate(ids):
        node_type = _node_type(info, global_id)
        if node_type is None:
            raise InvalidRequest(
                f"ids[{position}] is not the id of anything in this API.", field=f"ids.{position}"
            )
        by_type.setdefault(node_type, []).append(position)
    found: list[relay.Node | None] = [None] * len(ids)
    for node_type, positions in by_type.items():
        resolved = await node_type.resolve_nodes(
            info=info, node_ids=[ids[p].node_id for p in positions], required=False
        )
        for position, value in zip(positions, resolved, strict=True):
            found[position] = value
    return found


@strawberry.type
class NodeQuery:
    node: relay.Node | None = strawberry.field(resolver=node)
    nodes: list[relay.Node | None] = strawberry.field(resolver=nodes)


Query = merge_types(
    "Query",
    (
        NodeQuery, IdentityQuery, SecurityQuery, CatalogQuery, BookingQuery, ClassSessionQuery,
        CustomerQuery, NotificationQuery, WebhookQuery, JobQuery, BusinessQuery, TeamQuery,
        AnalyticsQuery, WaitlistQuery, PrivacyQuery, PlatformQuery, SeriesQuery, LimitQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        IdentityMutation, SecurityMutation, CatalogMutation, BookingMutation,
        ClassSessionMutation, CustomerMutation, NotificationMutation, WebhookMutation,
        PaymentMutation, JobMutation, BusinessMutation, TeamMutation, RecoveryMutation,
        ExternalCalendarMutation,
        WaitlistMutation,
        SeriesMutation,
        HoldMutation,
        PrivacyMutation,
        PlatformMutation,
        LimitMutation,
    ),
)
Subscription = merge_types("Subscription", (LiveSubscription, HoldSubscription))


class BokaSchema(strawberry.Schema):
    """Queries and mutations run through boka/schema/execution.py; subscriptions through
    Strawberry's own pipeline with the extensions of boka/schema/extensions.py."""

    def __init__(self, *args: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        describe(self._schema)
        self.operations = OperationRunner(self._schema, settings)
        self.public_introspection = settings.anonymous_introspection

    async def execute(  # type: ignore[override]
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        return await self.operations.execute(
            query, variable_values=variable_values, context_value=context_value,
            root_value=root_value, operation_name=operation_name,
            allowed_operation_types=(
                DEFAULT_ALLOWED_OPERATION_TYPES if allowed_operation_types is None
                else allowed_operation_types
            ),
            operation_extensions=operation_extensions,
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Strawberry calls this for every error, whatever stage it came from (parsing,
        validation, execution, subscriptions), before the result leaves: the one place to
        shape and log them."""
        context = execution_context.context if execution_context is not None else None
        if hides_schema_from(context, self.public_introspection):
            drop_suggestions(errors)
        for error in errors:
            shape_error(error)


def build_schema(settings: Settings) -> strawberry.Schema:
    return BokaSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[
            UserType, TenantType, MembershipType, BookingType, ClassSessionType, CustomerType,
            WebhookEndpointType, WebhookDeliveryType, InvitationType, WaitlistEntryType,
            WaitlistOfferType, BookingSeriesType,
        ],
        extensions=schema_extensions(settings),
        settings=settings,
    )
