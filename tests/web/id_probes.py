"""Operations built from the live schema that send a malformed id to every argument (and input
field) of type ID: the other arguments get the least valid value of their type."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

INTROSPECTION = """{ __schema { queryType { name } mutationType { name } types { name kind
  fields { name args { name type { ...T } } type { ...T } }
  inputFields { name type { ...T } } enumValues { name } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"""

SCALARS: dict[str, Any] = {
    "String": "x", "Int": 1, "Float": 1.0, "Boolean": True, "DateTime": "2030-01-01T10:00:00Z",
    "Date": "2030-01-01", "Time": "10:00:00",
}


class _Enum(str):
    """An enum value: written without quotes."""


class IdProbes:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.types = {t["name"]: t for t in schema["types"]}

    def operations(self, bad_id: str) -> Iterator[tuple[str, str]]:
        """(field name, operation) for every root field that takes an id somewhere."""
        for root, keyword in ((self.schema["queryType"], "query"), (self.schema["mutationType"], "mutation")):
            for field in self.types[root["name"]]["fields"]:
                if not any(self._holds_id(arg["type"]) for arg in field["args"]):
                    continue
                arguments = ", ".join(
                    f"{arg['name']}: {_literal(self._value(arg['type'], bad_id))}"
                    for arg in field["args"]
                    if arg["type"]["kind"] == "NON_NULL" or self._holds_id(arg["type"])
                )
                yield field["name"], f"{keyword} {{ {field['name']}({arguments}) {self._selection(field['type'])} }}"

    def _named(self, kind: dict[str, Any]) -> dict[str, Any]:
        while kind["kind"] in ("LIST", "NON_NULL"):
            kind = kind["ofType"]
        return kind

    def _holds_id(self, kind: dict[str, Any], seen: tuple[str, ...] = ()) -> bool:
        named = self._named(kind)
        if named["name"] == "ID":
            return True
        input_type = self.types.get(named["name"])
        if input_type and input_type["kind"] == "INPUT_OBJECT" and named["name"] not in seen:
            return any(self._holds_id(f["type"], (*seen, named["name"])) for f in input_type["inputFields"])
        return False

    def _value(self, kind: dict[str, Any], bad_id: str, depth: int = 0) -> Any:
        if kind["kind"] == "NON_NULL":
            kind = kind["ofType"]
        if kind["kind"] == "LIST":
            return [self._value(kind["ofType"], bad_id, depth)]
        if kind["name"] == "ID":
            return bad_id
        named = self.types.get(kind["name"]) or {}
        if named.get("kind") == "ENUM":
            return _Enum(named["enumValues"][0]["name"])
        if named.get("kind") == "INPUT_OBJECT" and depth < 4:
            return {
                f["name"]: self._value(f["type"], bad_id, depth + 1)
                for f in named["inputFields"]
                if f["type"]["kind"] == "NON_NULL" or self._holds_id(f["type"])
            }
        return SCALARS.get(kind["name"], "x")

    def _selection(self, kind: dict[str, Any]) -> str:
        return "" if self._named(kind)["kind"] in ("SCALAR", "ENUM") else "{ __typename }"


def _literal(value: Any) -> str:
    if isinstance(value, _Enum):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_literal(inner)}" for key, inner in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(inner) for inner in value) + "]"
    return json.dumps(value)
