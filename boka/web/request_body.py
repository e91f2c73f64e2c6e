"""Request bodies a client may send to /graphql, bounded (issue 12 item 7): at most
``BOKA_MAX_BODY_BYTES`` (413 beyond, read no further), JSON that parses as UTF-8 and nests at
most ``MAX_JSON_DEPTH`` levels (400 otherwise). A refusal is a GraphQL-shaped JSON body with
``extensions.code``, never a plain-text 500 (100,000 nested arrays made Python's parser recurse
to death)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

# GraphQL variables nest as deep as their input types; none of Boka's come near this.
MAX_JSON_DEPTH = 32


class BodyRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or BodyRefused(413) as soon as it is known to be longer than ``limit``
    (from Content-Length, or counted as it arrives)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """The body's JSON, or BodyRefused(400): not JSON, not UTF-8 (a lone surrogate included),
    or nested deeper than MAX_JSON_DEPTH."""
    try:
        data = orjson.loads(body)  # refuses invalid UTF-8 and nesting past 1024 levels itself
    except orjson.JSONDecodeError as error:
        raise BodyRefused(400, f"The body is not valid JSON: {error.msg}.") from error
    if _deeper_than(data, MAX_JSON_DEPTH):
        raise BodyRefused(400, f"The body's JSON nests deeper than {MAX_JSON_DEPTH} levels.")
    return data


def _too_large(limit: int) -> BodyRefused:
    return BodyRefused(413, f"The body is larger than {limit:,} bytes.")


def _deeper_than(value: Any, limit: int) -> bool:
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False
