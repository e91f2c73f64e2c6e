"""The /graphql endpoint: Strawberry's ASGI view with Boka's context and auth."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from starlette.requests import HTTPConnection, Request
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from boka.errors import BokaError, ErrorCode, Forbidden
from boka.identity.authentication import resolve_principal
from boka.identity.principal import Principal
from boka.resolvers.context import Credentials, RequestContext
from boka.runtime import Runtime
from boka.schema.errors import BUSY_RETRY_AFTER_SECONDS, shape_error
from boka.web.csrf import cookie_authenticated, is_cross_site
from boka.web.idempotency import HEADER as IDEMPOTENCY_HEADER
from boka.web.idempotency import Execution, IdempotentMutations, unsupported, worth_keeping
from boka.web.live_socket import LiveSocketHandler
from boka.web.request_body import BodyRefused, parse_json, read_body


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


# Subscriptions are not run over POST: they need a websocket (graphql-transport-ws).
_POST_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})


def _all_busy(errors: list[GraphQLError] | None) -> bool:
    return bool(errors) and all(
        (error.extensions or {}).get("code") == ErrorCode.SERVICE_UNAVAILABLE.value for error in errors or ()
    )


def http_refusal(status: int, reason: str, method: str) -> Response:
    """A request refused before any operation ran (bad body, wrong method or content type):
    still a GraphQL response, with ``extensions.code`` and the request id, so clients handle
    it like every other error. A mutation over GET is 405 (GraphQL over HTTP), a body that is
    not JSON 415."""
    if method == "GET" and reason.startswith("mutations are not allowed"):
        status = 405
    elif reason == "Unsupported content type":
        status = 415
    error = GraphQLError(reason)
    shape_error(error)
    response = Response(orjson.dumps({"errors": [error.formatted]}), status_code=status,
                        media_type="application/json")
    if status == 405:
        response.headers["Allow"] = "POST"
    return response


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == b"application/json"
    return False


def _has_idempotency_key(scope: Scope) -> bool:
    return any(name == b"idempotency-key" for name, _ in scope["headers"])


def _single_operation(
    data: Any,
) -> tuple[str | None, dict[str, Any] | None, str | None, dict[str, Any] | None] | None:
    """(query, variables, operationName, extensions) of a well-formed single operation; None
    for anything else, which Strawberry's view then answers (batches, bad types)."""
    if not isinstance(data, dict):
        return None
    query, variables = data.get("query"), data.get("variables")
    name, extensions = data.get("operationName"), data.get("extensions")
    if not (
        isinstance(query, str | None) and isinstance(variables, dict | None)
        and isinstance(name, str | None) and isinstance(extensions, dict | None)
    ):
        return None
    return query, variables, name, extensions


def _replay(body: bytes) -> Receive:
    """A receive that hands the already-read body to the next reader, then waits for the
    client's disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


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
        self.idempotency = IdempotentMutations(runtime.database, runtime.settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Plain JSON POSTs, nearly every request, take the short path below; everything else
        (GET, GraphiQL, multipart, streaming, batches, websockets) Strawberry's view."""
        if scope["type"] == "http" and scope["method"] == "POST":
            # Every body read here first, bounded; a JSON one parsed once, bounded too.
            request = Request(scope, receive)
            try:
                body = await read_body(request, self.runtime.settings.max_body_bytes)
                data = parse_json(body) if _is_json(scope) else None
            except BodyRefused as refused:
                await http_refusal(refused.status, refused.reason, "POST")(scope, receive, send)
                return
            operation = _single_operation(data)
            if operation is not None:
                response = await self._run_posted(Request(scope, _replay(body)), *operation)
                await response(scope, receive, send)
                return
            receive = _replay(body)
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if scope["method"] == "POST" and _has_idempotency_key(scope):
            # A batch or multipart would run without the protection the client asked for.
            await unsupported()(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except HTTPException as refused:
            response = http_refusal(refused.status_code, refused.reason, scope["method"])
        await response(scope, receive, send)

    async def _run_posted(
        self, request: Request, query: str | None, variables: dict[str, Any] | None,
        operation_name: str | None, extensions: dict[str, Any] | None,
    ) -> Response:
        """What Strawberry's view does for one operation POSTed as JSON, minus its generality;
        a mutation with an Idempotency-Key runs once per key (boka/web/idempotency.py)."""
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, sub_response)

        async def execute() -> Execution:
            return await self._execute(context, sub_response, query, variables, operation_name, extensions)

        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is not None and context.principal_failure is None:
            mutation = await self.schema.operations.mutation(  # type: ignore[attr-defined]
                query, extensions, operation_name, context
            )
            if mutation is not None:
                return await self.idempotency.run(key, context.principal, mutation, variables, execute)
        response, _ = await execute()
        return response

    async def _execute(
        self, context: RequestContext, sub_response: Response, query: str | None,
        variables: dict[str, Any] | None, operation_name: str | None,
        extensions: dict[str, Any] | None,
    ) -> Execution:
        """The response, and whether a retry with an idempotency key should get it back."""
        try:
            result = await self.schema.operations.execute(  # type: ignore[attr-defined]
                query, variable_values=variables, context_value=context, root_value=None,
                operation_name=operation_name, allowed_operation_types=_POST_OPERATIONS,
                operation_extensions=extensions,
            )
        except CannotGetOperationTypeError as error:
            return http_refusal(400, error.as_http_error_reason(), "POST"), False
        except InvalidOperationTypeError as error:
            return http_refusal(400, error.as_http_error_reason("POST"), "POST"), False
        except MissingQueryError:
            return http_refusal(400, "No GraphQL query found in the request", "POST"), False
        status = sub_response.status_code or 200
        if result.data is None and _all_busy(result.errors):
            status = 503  # nothing ran: a load balancer or client may retry elsewhere or later
            sub_response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
        response = Response(
            orjson.dumps(process_result(result)), status_code=status, media_type="application/json",
        )
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
