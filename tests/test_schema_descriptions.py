"""Every type, field, argument, input field and enum value a client can see has a
description (issue 14 item 5): the lint walks the schema as introspection shows it."""

from __future__ import annotations

from graphql import build_client_schema, build_schema, get_introspection_query, graphql_sync

from boka.config import Settings
from boka.schema.lint import undescribed
from boka.schema.root import build_schema as build_boka_schema


def _introspected():  # type: ignore[no-untyped-def]
    schema = build_boka_schema(Settings())._schema
    result = graphql_sync(schema, get_introspection_query(descriptions=True))
    assert result.errors is None
    return build_client_schema(result.data)


def test_every_element_of_the_introspected_schema_has_a_description() -> None:
    missing = undescribed(_introspected())
    assert missing == [], f"{len(missing)} without a description, e.g. {missing[:20]}"


def test_the_lint_finds_what_has_no_description() -> None:
    sdl = '''
    """Roots."""
    type Query {
      """Described."""
      a(x: Int): Int
      b: Color
    }
    enum Color { RED }
    '''
    assert undescribed(build_schema(sdl)) == [
        "Color", "Color.RED", "Query.a(x:)", "Query.b",
    ]
