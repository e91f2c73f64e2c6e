"""GraphQL over HTTP, as the spec (and graphql-http's audit) asks: which media type an answer
takes, its status, the request's parameters, refusals, and the headers a GET answer carries.

- ``Accept: application/graphql-response+json`` is answered in that type; a request that never
  executed (a syntax, validation or variable error, an unknown persisted query) is then a 400
  without ``data``. ``application/json`` (or no ``Accept``, or a wildcard) keeps the legacy
  rule: 200 for every well-formed request. Neither acceptable: 406.
- Every refusal at the HTTP level is a GraphQL response too: ``errors[0].extensions.code``
  and ``request_id``, so a client handles it like any other error.
- GET answers are personal (they depend on the credential and the tenant), so never stored by
  a shared cache: ``Cache-Control: private, no-store`` and ``Vary`` on what changes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.responses import Response
from strawberry.types import ExecutionResult

from boka.errors import InvalidRequest
from boka.schema.errors import shape_error
from boka.web.request_body import parse_json

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
_JSON_ALIASES = frozenset({JSON, "application/*", "*/*"})

# What a GET answer depends on besides its URL: the answer's media type, the credential
# (bearer token, API key or session cookie) and the tenant named by header. (The Host, the
# other way to choose a tenant, is part of every cache's key already.)
GET_CACHE_HEADERS = {
    "Cache-Control": "private, no-store",
    "Vary": "Accept, Authorization, Cookie, X-API-Key, X-Tenant",
}


def response_media_type(accept: str | None) -> str | None:
    """The media type to answer in, from the request's ``Accept``; None when it accepts
    neither GraphQL's nor plain JSON (a 406)."""
    if accept is None or not accept.strip():
        return JSON
    graphql_q = json_q = 0.0
    for entry in accept.split(","):
        media, *parameters = (part.strip() for part in entry.split(";"))
        media = media.lower()
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media == GRAPHQL_RESPONSE_JSON:
            graphql_q = max(graphql_q, quality)
        elif media in _JSON_ALIASES:
            json_q = max(json_q, quality)
    if graphql_q <= 0 and json_q <= 0:
        return None
    return GRAPHQL_RESPONSE_JSON if graphql_q >= json_q else JSON


def asks_for_html(accept: str | None) -> bool:
    """A browser navigating to the endpoint (GraphiQL's cue), not a client with a wildcard."""
    return accept is not None and "text/html" in accept.lower()


def refusal(
    status: int, error: str | Exception, media_type: str = JSON, headers: Mapping[str, str] | None = None
) -> Response:
    """A request refused before any operation ran, as a GraphQL response: the error carries
    ``extensions.code`` (VALIDATION_ERROR unless ``error`` is a BokaError) and the request id."""
    if isinstance(error, str):
        error = InvalidRequest(error)
    graphql_error = GraphQLError(getattr(error, "message", str(error)), original_error=error)
    shape_error(graphql_error)
    response = Response(
        orjson.dumps({"errors": [graphql_error.formatted]}), status_code=status, media_type=media_type
    )
    response.headers.update(headers or {})
    retry_after = (graphql_error.extensions or {}).get("retry_after")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def not_acceptable() -> Response:
    return refusal(
        406, f"Accept must allow {GRAPHQL_RESPONSE_JSON} or {JSON}: this endpoint answers nothing else."
    )


def never_executed(result: ExecutionResult) -> bool:
    """No field ran: every error came before execution (syntax, validation, variables, an
    unknown persisted query); such errors have no path."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


def result_body(result: ExecutionResult, media_type: str) -> tuple[dict[str, Any], int | None]:
    """The response body for ``result`` and the status it requires (None: the usual one).
    In ``application/graphql-response+json`` a request that never executed is a 400 without
    ``data``; in ``application/json`` every well-formed request answers 200."""
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        body["extensions"] = result.extensions
    if media_type == GRAPHQL_RESPONSE_JSON and never_executed(result):
        del body["data"]
        return body, 400
    return body, None


@dataclass(frozen=True)
class OperationRequest:
    """One operation's parameters, from a JSON body or a GET's query string."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


class BadParameters(Exception):
    """The request's parameters are malformed: answered 400 before anything runs."""


def posted_operation(body: bytes) -> OperationRequest:
    """The operation in a JSON body; BodyRefused for a body that is not JSON (or nests too
    deep), BadParameters for anything else (a batch, parameters of the wrong type)."""
    data = parse_json(body)
    if isinstance(data, list):
        raise BadParameters("Batching is not enabled: send one operation per request.")
    if not isinstance(data, dict):
        raise BadParameters("The body must be a JSON object with a query.")
    return _checked(data.get("query"), data.get("variables"), data.get("operationName"), data.get("extensions"))


def query_string_operation(params: Mapping[str, str]) -> OperationRequest:
    """The operation in a GET's query string, where variables and extensions are JSON text."""
    return _checked(
        params.get("query"), _json_param(params, "variables"), params.get("operationName"),
        _json_param(params, "extensions"),
    )


def _json_param(params: Mapping[str, str], name: str) -> Any:
    text = params.get(name)
    if text is None or text == "":
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise BadParameters(f"The {name} parameter must be a JSON object.") from exc


def _checked(query: Any, variables: Any, name: Any, extensions: Any) -> OperationRequest:
    for parameter, value, kind, expected in (
        ("query", query, str, "a string"),
        ("variables", variables, dict, "a JSON object"),
        ("operationName", name, str, "a string"),
        ("extensions", extensions, dict, "a JSON object"),
    ):
        if value is not None and not isinstance(value, kind):
            raise BadParameters(f"The {parameter} parameter must be {expected}.")
    return OperationRequest(query, variables, name, extensions)
