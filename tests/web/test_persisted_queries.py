"""Persisted queries: Apollo's automatic persisted queries (a hash instead of the text, shared
by every app process through Redis), and an allowlist mode that runs registered operations only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from boka.persisted_queries import query_hash
from boka.web.app import create_app
from tests.conftest import settings_for

QUERY = "query Who { viewer { user { email } } }"
OTHER = "{ tenant { slug } }"


def _persisted(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def _post(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    return (await client.post("/graphql", json=body)).json()


async def _client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_a_hash_alone_works_once_the_text_was_sent_with_it(app: Any, postgres_url: str) -> None:
    digest = query_hash(QUERY)
    async with await _client_for(app) as client:
        unknown = await _post(client, {"extensions": _persisted(digest)})
        registered = await _post(client, {"query": QUERY, "extensions": _persisted(digest)})
        by_hash = await _post(client, {"extensions": _persisted(digest)})
        wrong = await _post(client, {"query": OTHER, "extensions": _persisted(digest)})

    # Apollo's clients retry with the text when they see exactly this
    assert unknown["errors"][0]["message"] == "PersistedQueryNotFound"
    assert unknown["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert registered == by_hash == {"data": {"viewer": {"user": None}}}
    assert wrong["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"

    # A second app process (same Redis) knows the hash already.
    second = create_app(settings_for(postgres_url))
    async with second.router.lifespan_context(second), await _client_for(second) as client:
        assert await _post(client, {"extensions": _persisted(digest)}) == by_hash


async def test_the_allowlist_runs_registered_operations_only(postgres_url: str, tmp_path: Path) -> None:
    manifest = tmp_path / "operations.json"
    manifest.write_text(json.dumps({
        "format": "apollo-persisted-query-manifest", "version": 1,
        "operations": [{"id": query_hash(QUERY), "name": "Who", "type": "query", "body": QUERY}],
    }))
    app = create_app(settings_for(postgres_url, persisted_queries="allowlist", persisted_queries_file=str(manifest)))
    async with app.router.lifespan_context(app), await _client_for(app) as client:
        by_hash = await _post(client, {"extensions": _persisted(query_hash(QUERY))})
        by_text = await _post(client, {"query": QUERY})
        other = await _post(client, {"query": OTHER})
        unknown_hash = await _post(client, {"query": OTHER, "extensions": _persisted(query_hash(OTHER))})

    assert by_hash == by_text == {"data": {"viewer": {"user": None}}}
    assert other["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    assert unknown_hash["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


async def test_only_documents_that_validate_are_kept_and_huge_ones_are_refused(app: Any) -> None:
    junk = "{ nothingLikeThis }"
    huge = "{ __typename }" + " " * 100_001
    async with await _client_for(app) as client:
        invalid = await _post(client, {"query": junk, "extensions": _persisted(query_hash(junk))})
        junk_by_hash = await _post(client, {"extensions": _persisted(query_hash(junk))})
        too_big = await _post(client, {"query": huge, "extensions": _persisted(query_hash(huge))})

    assert invalid["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert junk_by_hash["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert too_big["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert "at most" in too_big["errors"][0]["message"]
