"""The assembled GraphQL schema: per-domain Query and Mutation classes merged into one root."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.tools import merge_types

from boka.config import Settings
from boka.resolvers.identity import IdentityMutation, IdentityQuery
from boka.schema.extensions import schema_extensions
from boka.schema.identity import MembershipType, TenantType, UserType


async def node(info: strawberry.Info, id: relay.GlobalID) -> relay.Node | None:
    """Any object by its global ID; null when it does not exist or is not yours to see."""
    try:
        node_type = id.resolve_type(info)
    except (KeyError, ValueError, TypeError):
        return None
    if not isinstance(node_type, type) or not issubclass(node_type, relay.Node):
        return None
    found = await node_type.resolve_nodes(info=info, node_ids=[id.node_id], required=False)
    return next(iter(found), None)


@strawberry.type
class NodeQuery:
    node: relay.Node | None = strawberry.field(resolver=node)


Query = merge_types("Query", (NodeQuery, IdentityQuery))
Mutation = merge_types("Mutation", (IdentityMutation,))


def build_schema(settings: Settings) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[UserType, TenantType, MembershipType],
        extensions=schema_extensions(settings),
    )
