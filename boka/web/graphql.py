"""The /graphql endpoint: Strawberry's ASGI view with Boka's context and auth."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from boka.errors import BokaError, Forbidden
from boka.identity.authentication import resolve_principal
from boka.identity.principal import Principal
from boka.resolvers.context import Credentials, RequestContext
from boka.runtime import Runtime
from boka.web.csrf import cookie_authenticated, is_cross_site
from boka.web.live_socket import LiveSocketHandler


def bearer_token(connection: HTTPConnection, cookie_name: str) -> str | None:
    """The credential: ``Authorization: Bearer`` (a session token or an API key), else
    ``X-API-Key``, else the session cookie."""
    authorization = connection.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    api_key = connection.headers.get("x-api-key", "").strip()
    if api_key:
        return api_key
    return connection.cookies.get(cookie_name) or None


def rate_limit_caller(principal: Principal, client_ip: str) -> str:
    """Whose allowance a request spends: its API key's, its session's, or (anonymous, so
    made-up tokens buy no fresh allowance) its address's."""
    if principal.api_key is not None:
        return f"api_key:{principal.api_key.id}"
    if principal.session_id is not None:
        return f"session:{principal.session_id}"
    return f"ip:{client_ip}"


class BokaGraphQL(GraphQL):
    # graphql-transport-ws connections that can run live subscriptions in the fan-out
    graphql_transport_ws_handler_class = LiveSocketHandler

    def __init__(self, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=20,
            keep_alive=True,
            keep_alive_interval=15,
            graphql_ide="graphiql" if runtime.settings.graphiql else None,
            # Strawberry refuses websocket handshakes from other origins (1008) unless listed.
            allowed_origins=sorted(runtime.settings.trusted_origin_set),
            **kwargs,
        )
        self.runtime = runtime

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        context = RequestContext(
            request=request, response=response, runtime=self.runtime, resolved_principal=None
        )
        settings = self.runtime.settings
        try:
            if cookie_authenticated(request, settings.session_cookie_name) and is_cross_site(
                request, settings.trusted_origin_set
            ):
                raise Forbidden("Cross-site request refused: send the token as a Bearer header.")
            principal = await resolve_principal(
                self.runtime.database,
                self.runtime.identity,
                credential=bearer_token(request, self.runtime.settings.session_cookie_name),
                tenant_header=request.headers.get("x-tenant"),
                host=request.headers.get("host"),
                ip_address=context.client_ip,
            )
            # The general API limit. Over it, every field answers RATE_LIMITED and the
            # response is a 429 with Retry-After.
            if isinstance(request, Request):
                await context.enforce(
                    self.runtime.rate_limits.api, rate_limit_caller(principal, context.client_ip)
                )
            context.principal = principal
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
        credentials = Credentials(
            token=token, tenant=str(tenant) if tenant else None,
            host=context.request.headers.get("host"),
        )
        try:
            principal = await context.resolve_from(credentials)
        except BokaError as refused:  # a dead API key, or one for another tenant
            raise ConnectionRejectionError({"code": refused.code.value, "message": refused.message}) from refused
        if token and not principal.is_authenticated:
            raise ConnectionRejectionError()
        context.principal = principal
        context.credentials = credentials
        return UNSET
