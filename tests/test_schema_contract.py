"""schema.graphql is the API's contract: it matches the code, and a change to it breaks no
client unless the break is accepted on purpose (schema.breaking.txt)."""

from __future__ import annotations

from boka.schema.contract import SCHEMA_FILE, breaking_changes, printed_schema, unaccepted_breaking_changes


def test_the_checked_in_schema_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == printed_schema(), (
        "schema.graphql is stale: run `python -m boka.schema.contract write` and commit it"
    )


def test_the_latest_schema_change_breaks_no_client_unless_accepted() -> None:
    assert unaccepted_breaking_changes() == []


def test_a_removed_field_is_breaking_and_a_deprecated_one_is_not() -> None:
    before = "type Query { a: Int, b: String }"
    assert breaking_changes(before, "type Query { a: Int }") == ["FIELD_REMOVED: Field Query.b was removed."]
    assert breaking_changes(before, 'type Query { a: Int, b: String @deprecated(reason: "use a") }') == []
    assert breaking_changes("type Query { a(x: Int): Int }", "type Query { a(x: Int!): Int }") != []
