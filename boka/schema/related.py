"""Related rows for a field: answered at once when the request's loader already holds them,
otherwise through the loader (batched with the other rows' requests).

A list resolver that knows which relations the query selects loads them for the whole page
first (``preload``); each row's relation field then completes without a coroutine or task of
its own. For a page of 100 bookings with customer, service and staff that is 300 asyncio tasks
fewer (issue 10: task creation was a fifth of a list's CPU).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

T = TypeVar("T")
Row = TypeVar("Row")


def related(loader: DataLoader[Any, Row], key: Hashable, convert: Callable[[Row], T]) -> T | Awaitable[T]:
    """``convert`` of the loader's row for ``key``: a value if already loaded, else an
    awaitable (graphql-core awaits either)."""
    loaded = loader.cache_map.get(key)
    if loaded is not None and loaded.done() and not loaded.cancelled() and loaded.exception() is None:
        # Many rows share one related row (a page of bookings, a handful of services):
        # convert each once per request.
        converted: dict[tuple[Hashable, Any], Any] = loader.__dict__.setdefault("_converted", {})
        found = converted.get((key, convert))
        if found is None:
            found = converted[(key, convert)] = convert(loaded.result())
        return found
    return _load(loader, key, convert)


async def _load(loader: DataLoader[Any, Row], key: Hashable, convert: Callable[[Row], T]) -> T:
    return convert(await loader.load(key))


async def preload(*wanted: tuple[DataLoader[Any, Any], Iterable[Hashable]]) -> None:
    """Load these keys into their loaders now, in one batch per loader."""
    await asyncio.gather(*(loader.load_many(list(dict.fromkeys(keys))) for loader, keys in wanted))


def selected_subfields(info: Any, *path: str) -> set[str]:
    """Names selected under ``path`` (e.g. "edges", "node") of the field being resolved,
    fragments included."""
    fields = info.selected_fields
    for step in path:
        fields = [
            child for field in fields for child in _children(field) if getattr(child, "name", None) == step
        ]
    return {getattr(child, "name", None) for field in fields for child in _children(field)} - {None}


def _children(field: Any) -> list[Any]:
    children = []
    for selection in getattr(field, "selections", None) or []:
        if getattr(selection, "name", None) is None:  # a fragment: look inside
            children.extend(_children(selection))
        else:
            children.append(selection)
    return children
