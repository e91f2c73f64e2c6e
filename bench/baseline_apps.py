"""Same-run baselines for the HTTP benchmarks, each an ASGI app for uvicorn:

- ``graphql_core_app``: graphql-core behind a bare Starlette route, with a document cache
  (parse + validate once per distinct query text), the floor any Python GraphQL server stands on;
- ``strawberry_app``: plain Strawberry's ASGI view over a one-field schema, no extensions.
"""

from __future__ import annotations

import json
from functools import lru_cache

import strawberry
from graphql import (
    DocumentNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    execute,
    parse,
    validate,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

_SCHEMA = GraphQLSchema(
    query=GraphQLObjectType("Query", {"hello": GraphQLField(GraphQLString, resolve=lambda *_: "world")})
)


@lru_cache(maxsize=1024)
def _document(query: str) -> DocumentNode:
    document = parse(query)
    errors = validate(_SCHEMA, document)
    if errors:
        raise ValueError(errors[0].message)
    return document


async def _graphql(request: Request) -> Response:
    body = json.loads(await request.body())
    result = execute(_SCHEMA, _document(body["query"]), variable_values=body.get("variables"))
    return JSONResponse({"data": result.data})


async def _health(_: Request) -> Response:
    return Response("ok")


graphql_core_app = Starlette(routes=[Route("/graphql", _graphql, methods=["POST"]),
                                     Route("/healthz", _health)])


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


strawberry_app = Starlette(routes=[
    Route("/graphql", GraphQL(strawberry.Schema(query=Query), graphql_ide=None)),
    Route("/healthz", _health),
])
