"""The /graphql endpoint: Strawberry's ASGI view with Boka's context and auth."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from graphql import GraphQLError
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from boka.errors import RateLimited
from boka.identity.authentication import resolve_principal
from boka.identity.rate_limits import rate_limit_headers
from boka.identity.tokens import token_digest
from boka.resolvers.context import RequestContext
from boka.runtime import Runtime
from boka.schema.errors import shape_error


def caller_key(connection: HTTPConnection, runtime: Runtime) -> str:
    """Whom the general API limit counts: the session (by its token's digest, so no lookup is
    needed) or, for anonymous callers, the client's address."""
    token = bearer_token(connection, runtime.settings.session_cookie_name)
    if token:
        return "token:" + token_digest(token)[:32]
    return "ip:" + (connection.client.host if connection.client else "unknown")


def bearer_token(connection: HTTPConnection, cookie_name: str) -> str | None:
    """The session token from ``Authorization: Bearer``, else from the session cookie."""
    authorization = connection.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return connection.cookies.get(cookie_name) or None


class BokaGraphQL(GraphQL):
    def __init__(self, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=20,
            keep_alive=True,
            keep_alive_interval=15,
            graphql_ide="graphiql" if runtime.settings.graphiql else None,
            **kwargs,
        )
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The general API limit, counted per caller before any work is done: over it, the
        request is answered 429 at once; under it, the response carries the RateLimit headers
        (unless a field's own, stricter limit already set them)."""
        limits = self.runtime.rate_limits
        if scope["type"] != "http" or not limits.enabled:
            await super().__call__(scope, receive, send)
            return
        request = Request(scope)
        decision = await self.runtime.rate_limiter.hit(limits.api, caller_key(request, self.runtime))
        headers = rate_limit_headers(decision)
        if not decision.allowed:
            error = GraphQLError(
                "Too many requests.",
                original_error=RateLimited("Too many requests.", retry_after=decision.retry_after_seconds),
            )
            shape_error(error)
            body = {"data": None, "errors": [error.formatted]}
            await JSONResponse(body, status_code=429, headers=headers)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in headers.items():
                    response_headers.setdefault(name, value)
            await send(message)

        await super().__call__(scope, receive, send_with_headers)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        context = RequestContext(
            request=request, response=response, runtime=self.runtime, resolved_principal=None
        )
        try:
            context.principal = await resolve_principal(
                self.runtime.database,
                token=bearer_token(request, self.runtime.settings.session_cookie_name),
                tenant_header=request.headers.get("x-tenant"),
                host=request.headers.get("host"),
            )
        except Exception as exc:  # reported per field, see RequestContext.principal_failure
            context.principal_failure = exc
        return context

    async def on_ws_connect(self, context: RequestContext) -> UnsetType:  # type: ignore[override]
        """Authenticate a websocket from its connection_init payload.

        ``{"authorization": "Bearer <token>", "tenant": "<slug>"}``; either may be left out, and
        the handshake's cookie and headers count instead. A token that is given but not live
        closes the connection with 4403 Forbidden, so a client never silently runs anonymous.
        """
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        authorization = str(params.get("authorization") or "")
        scheme, _, credentials = authorization.partition(" ")
        token = credentials.strip() if scheme.lower() == "bearer" else None
        token = token or bearer_token(context.request, self.runtime.settings.session_cookie_name)
        tenant = params.get("tenant") or context.request.headers.get("x-tenant")
        principal = await resolve_principal(
            self.runtime.database,
            token=token,
            tenant_header=str(tenant) if tenant else None,
            host=context.request.headers.get("host"),
        )
        if token and not principal.is_authenticated:
            raise ConnectionRejectionError()
        context.principal = principal
        return UNSET
