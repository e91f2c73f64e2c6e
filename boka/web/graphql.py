"""The /graphql endpoint: HTTP requests run here (one operation per request, by the GraphQL over
HTTP rules of boka/web/graphql_http.py), websockets in Strawberry's view (boka/web/live_socket.py);
both with Boka's context and auth."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from starlette.requests import HTTPConnection, Request
from graphql import GraphQLError
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from boka.errors import BokaError, ErrorCode, Forbidden
from boka.identity.authentication import resolve_principal
from boka.identity.principal import Principal
from boka.resolvers.context import Credentials, RequestContext
from boka.runtime import Runtime
from boka.schema.errors import BUSY_RETRY_AFTER_SECONDS
from boka.web.csrf import cookie_authenticated, is_cross_site
from boka.web.idempotency import HEADER as IDEMPOTENCY_HEADER
from boka.web.idempotency import Execution, IdempotentMutations, worth_keeping
from boka.web.graphql_http import (
    GET_CACHE_HEADERS,
    BadParameters,
    OperationRequest,
    asks_for_html,
    not_acceptable,
    posted_operation,
    query_string_operation,
    refusal,
    response_media_type,
    result_body,
)
from boka.web.live_socket import LiveSocketHandler
from boka.web.request_body import BodyRefused, read_body


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


# Subscriptions are not run over HTTP: they need a websocket (graphql-transport-ws). GET runs
# queries only (it must not change anything).
_POST_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})
_GET_OPERATIONS = frozenset({OperationType.QUERY})
_SUBSCRIPTIONS_NEED_A_WEBSOCKET = (
    "Subscriptions run over a websocket (graphql-transport-ws at this URL), not over HTTP."
)


def _all_busy(errors: list[GraphQLError] | None) -> bool:
    return bool(errors) and all(
        (error.extensions or {}).get("code") == ErrorCode.SERVICE_UNAVAILABLE.value for error in errors or ()
    )


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == b"application/json"
    return False


def _unknown_operation(error: CannotGetOperationTypeError) -> str:
    if error.operation_name is None:
        return ("This document holds several operations (or none): name the one to run "
                "with operationName.")
    return f"There is no operation named {error.operation_name!r} in this document."


def rate_limit_caller(principal: Principal, client_ip: str) -> str:
    """Whose allowance a request spends: its API key's, its user's (all their sessions
    together: signing in again buys no fresh allowance), or (anonymous, so made-up tokens buy
    none either) its address's."""
    if principal.api_key is not None:
        return f"api_key:{principal.api_key.id}"
    if principal.user is not None:
        return f"user:{principal.user.id}"
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
            graphql_ide="graphiql" if runtime.settings.serves_graphiql else None,
            # Strawberry refuses websocket handshakes from other origins (1008) unless listed.
            allowed_origins=sorted(runtime.settings.trusted_origin_set),
            **kwargs,
        )
        self.runtime = runtime
        self.idempotency = IdempotentMutations(runtime.database, runtime.settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """HTTP requests (one operation as a JSON POST, or a query over GET) run here, by the
        rules of boka/web/graphql_http.py; websockets go to Strawberry's view."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        if scope["method"] in ("GET", "HEAD"):
            response = await self._answer_get(request)
            response.headers.update(GET_CACHE_HEADERS)
        elif scope["method"] == "POST":
            response = await self._answer_post(request)
        else:
            response = refusal(405, "Send GraphQL operations with POST (or queries with GET).",
                               headers={"Allow": "GET, POST"})
        await response(scope, receive, send)

    async def _answer_post(self, request: Request) -> Response:
        media_type = response_media_type(request.headers.get("accept"))
        if media_type is None:
            return not_acceptable()
        if not _is_json(request.scope):
            return refusal(415, "Send the operation as JSON (Content-Type: application/json).", media_type)
        try:
            operation = posted_operation(await read_body(request, self.runtime.settings.max_body_bytes))
        except BodyRefused as refused:
            return refusal(refused.status, refused.reason, media_type)
        except BadParameters as bad:
            return refusal(400, str(bad), media_type)
        return await self._run_operation(request, operation, media_type)

    async def _answer_get(self, request: Request) -> Response:
        """A query in the URL (a persisted query's hash or its text), answered as JSON
        whatever the wildcard ``Accept``; GraphiQL only for a browser asking for HTML with no
        operation at all."""
        accept = request.headers.get("accept")
        params = request.query_params
        if (
            self.graphql_ide and "query" not in params and "extensions" not in params
            and asks_for_html(accept)
        ):
            return await self.render_graphql_ide(request)
        media_type = response_media_type(accept)
        if media_type is None:
            return not_acceptable()
        try:
            operation = query_string_operation(params)
        except BadParameters as bad:
            return refusal(400, str(bad), media_type)
        return await self._run_operation(request, operation, media_type, _GET_OPERATIONS)

    async def _run_operation(
        self, request: Request, operation: OperationRequest, media_type: str,
        allowed: frozenset[OperationType] = _POST_OPERATIONS,
    ) -> Response:
        """Run one operation; a mutation with an Idempotency-Key runs once per key
        (boka/web/idempotency.py)."""
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, sub_response)

        async def execute() -> Execution:
            return await self._execute(context, sub_response, operation, media_type, allowed)

        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is not None and request.method == "POST" and context.principal_failure is None:
            mutation = await self.schema.operations.mutation(  # type: ignore[attr-defined]
                operation.query, operation.extensions, operation.operation_name, context
            )
            if mutation is not None:
                return await self.idempotency.run(key, context.principal, mutation, operation.variables, execute)
        response, _ = await execute()
        return response

    async def _execute(
        self, context: RequestContext, sub_response: Response, operation: OperationRequest,
        media_type: str, allowed: frozenset[OperationType],
    ) -> Execution:
        """The response, and whether a retry with an idempotency key should get it back."""
        method = context.request.method
        try:
            result = await self.schema.operations.execute(  # type: ignore[attr-defined]
                operation.query, variable_values=operation.variables, context_value=context,
                root_value=None, operation_name=operation.operation_name,
                allowed_operation_types=allowed, operation_extensions=operation.extensions,
            )
        except CannotGetOperationTypeError as error:
            return refusal(400, _unknown_operation(error), media_type), False
        except InvalidOperationTypeError as error:
            if error.operation_type is OperationType.SUBSCRIPTION:
                return refusal(400, _SUBSCRIPTIONS_NEED_A_WEBSOCKET, media_type), False
            # A mutation over GET: the method is wrong, not the request (GraphQL over HTTP).
            return refusal(405, error.as_http_error_reason(method), media_type, {"Allow": "POST"}), False
        except MissingQueryError:
            return refusal(400, "No GraphQL query found in the request.", media_type), False
        body, required_status = result_body(result, media_type)
        status = required_status or sub_response.status_code or 200
        if result.data is None and _all_busy(result.errors):
            status = 503  # nothing ran: a load balancer or client may retry elsewhere or later
            sub_response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
        response = Response(orjson.dumps(body), status_code=status, media_type=media_type)
        response.headers.raw.extend(sub_response.headers.raw)
        return response, worth_keeping(result)

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
                cache=self.runtime.identity_cache,
            )
            # The general API limit. Over it, every field answers RATE_LIMITED and the
            # response is a 429 with Retry-After.
            if isinstance(request, Request):
                caller = rate_limit_caller(principal, context.client_ip)
                await context.enforce(self.runtime.rate_limits.api, caller)
                context.api_caller = caller  # charged the rest of a costly operation's cost
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
        except BokaError as refused:  # a dead API key, one for another tenant, a suspended tenant
            context.principal_failure = refused
            raise ConnectionRejectionError({"code": refused.code.value, "message": refused.message}) from refused
        if token and not principal.is_authenticated:
            raise ConnectionRejectionError()
        context.principal = principal
        context.credentials = credentials
        return UNSET
