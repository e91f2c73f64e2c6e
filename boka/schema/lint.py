"""The schema's description lint: every type, field, argument, input field and enum value a
client can see says what it is (issue 14 item 5). Walks the graphql-core schema Strawberry
builds, as introspection shows it.

    python -m boka.schema.lint      # lists what has no description; exits 1 if anything
"""

from __future__ import annotations

import sys

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
)


def undescribed(schema: GraphQLSchema) -> list[str]:
    """Coordinates (``Type``, ``Type.field``, ``Type.field(arg:)``, ``Enum.VALUE``) of every
    schema element without a description; introspection's own types aside."""
    missing: list[str] = []

    def check(coordinate: str, description: str | None) -> None:
        if not (description or "").strip():
            missing.append(coordinate)

    for name, named in sorted(schema.type_map.items()):
        if name.startswith("__"):
            continue
        check(name, named.description)
        if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in named.fields.items():
                check(f"{name}.{field_name}", field.description)
                for arg_name, arg in field.args.items():
                    check(f"{name}.{field_name}({arg_name}:)", arg.description)
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                check(f"{name}.{field_name}", input_field.description)
        elif isinstance(named, GraphQLEnumType):
            for value_name, value in named.values.items():
                check(f"{name}.{value_name}", value.description)
        elif isinstance(named, GraphQLUnionType):
            pass
    for directive in schema.directives:
        if directive.name in {"skip", "include", "deprecated", "specifiedBy", "oneOf"}:
            continue
        check(f"@{directive.name}", directive.description)
        for arg_name, arg in directive.args.items():
            check(f"@{directive.name}({arg_name}:)", arg.description)
    return missing


def main() -> int:
    from boka.config import Settings
    from boka.schema.root import build_schema

    missing = undescribed(build_schema(Settings())._schema)
    for coordinate in missing:
        print(coordinate)
    print(f"{len(missing)} without a description", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
