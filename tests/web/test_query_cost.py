"""Queries whose estimated cost is past BOKA_QUERY_MAX_COST are refused before anything runs
(issue 12: one anonymous request could keep the server busy for minutes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.support import GraphQLClient, World

AVAILABILITY = """a{i}: availability(serviceId: "U2VydmljZTowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA=",
  from: "2030-01-01T00:00:00Z", to: "2030-03-03T00:00:00Z") {{ start end staff {{ id }} }}"""


def _nested(depth: int) -> str:
    inner = "name"
    for _ in range(depth):
        inner = f"name staff {{ displayName services {{ service {{ {inner} }} }} }}"
    return inner


async def test_thirty_aliased_long_availability_windows_are_refused_unrun(
    app: Any, gql: GraphQLClient, world: World
) -> None:
    await world.tenant("salon")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = app.state.runtime.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = await gql("{ " + " ".join(AVAILABILITY.format(i=i) for i in range(30)) + " }",
                           tenant="salon")
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert result.body["data"] is None
    assert result.error_codes == ["VALIDATION_ERROR"]
    assert "limit" in result.errors[0]["message"]
    assert not any("availability" in s or "weekly_hours" in s for s in statements)


async def test_a_nested_fan_out_is_refused_and_an_ordinary_page_is_not(gql: GraphQLClient, world: World) -> None:
    await world.tenant("salon")
    fan_out = await gql("{ " + " ".join(
        f"s{i}: services(first: 100) {{ edges {{ node {{ {_nested(2)} }} }} }}" for i in range(30)
    ) + " }", tenant="salon")
    page = await gql("""{ bookings(first: 100) { edges { node { id startTime status
        customer { email } service { name } staff { displayName } } } } }""", tenant="salon")
    one_window = await gql("{ " + AVAILABILITY.format(i=0) + " }", tenant="salon")

    assert fan_out.error_codes == ["VALIDATION_ERROR"] and "limit" in fan_out.errors[0]["message"]
    assert "limit" not in str(page.body)
    assert "limit" not in str(one_window.body)
