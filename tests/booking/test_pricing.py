"""Pricing: time-based rules and discount codes, in integer minor units."""

from __future__ import annotations

import ast
import inspect
import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boka.booking import pricing
from boka.booking.pricing import (
    AdjustmentKind,
    DiscountCode,
    PriceLine,
    PriceRule,
    Quote,
    percent_of,
    quote_price,
    rule_applies,
)

PERCENT, FIXED = AdjustmentKind.PERCENT, AdjustmentKind.FIXED
HAIRCUT = uuid.uuid4()
COLOURING = uuid.uuid4()

# January 2025: the 13th is a Monday, the 15th a Wednesday, the 18th a Saturday.
MONDAY, WEDNESDAY, SATURDAY = 13, 15, 18


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 1, day, hour, minute)


def make_rule(
    kind: AdjustmentKind, amount: int, name: str = "rule", **fields: object
) -> PriceRule:
    fields.update(rule_id=uuid.uuid4(), name=name, kind=kind, amount=amount)
    return PriceRule(**fields)  # type: ignore[arg-type]


def quote(
    base: int, rules: list[PriceRule], code: DiscountCode | None = None, **kw: object
) -> Quote:
    return quote_price(
        base=base,
        currency=str(kw.get("currency", "SEK")),
        service_id=kw.get("service_id", HAIRCUT),  # type: ignore[arg-type]
        local_start=kw.get("local_start", at(WEDNESDAY, 11)),  # type: ignore[arg-type]
        rules=rules,
        discount=code,
    )


OFF_PEAK = make_rule(
    PERCENT, -20, "Off-peak", weekdays=frozenset({1, 2, 3}), starts_at=time(10), ends_at=time(14)
)
WEEKEND = make_rule(FIXED, 500, "Weekend", weekdays=frozenset({5, 6}))
NIGHT = make_rule(FIXED, 1000, "Night", starts_at=time(22), ends_at=time(6))


# --- Examples a salon owner would recognise -------------------------------------------------


def test_off_peak_applies_midweek_late_morning_only() -> None:
    assert rule_applies(OFF_PEAK, service_id=HAIRCUT, local_start=at(WEDNESDAY, 11))
    assert rule_applies(OFF_PEAK, service_id=HAIRCUT, local_start=at(WEDNESDAY, 10))
    assert not rule_applies(OFF_PEAK, service_id=HAIRCUT, local_start=at(WEDNESDAY, 14))
    assert not rule_applies(OFF_PEAK, service_id=HAIRCUT, local_start=at(MONDAY, 11))

    priced = quote(50000, [OFF_PEAK, WEEKEND])
    assert priced.lines == (PriceLine("Off-peak", -10000),)
    assert (priced.subtotal, priced.discount, priced.total) == (40000, 0, 40000)


def test_weekend_surcharge_on_saturday() -> None:
    priced = quote(4000, [OFF_PEAK, WEEKEND], local_start=at(SATURDAY, 11))
    assert priced.lines == (PriceLine("Weekend", 500),)
    assert priced.total == 4500


def test_night_window_wraps_midnight() -> None:
    def applies(moment: datetime) -> bool:
        return rule_applies(NIGHT, service_id=HAIRCUT, local_start=moment)

    assert applies(at(WEDNESDAY, 23, 30))
    assert applies(at(WEDNESDAY, 22))
    assert applies(at(WEDNESDAY, 5, 59))
    assert applies(datetime(2025, 1, 15, 5, 59, 59, 999999))
    assert not applies(at(WEDNESDAY, 6))
    assert not applies(at(WEDNESDAY, 21, 59))
    assert not applies(at(WEDNESDAY, 12))


def test_half_open_windows() -> None:
    from_evening = make_rule(FIXED, 100, starts_at=time(18))
    until_nine = make_rule(FIXED, 100, ends_at=time(9))
    assert rule_applies(from_evening, service_id=HAIRCUT, local_start=at(MONDAY, 23, 59))
    assert not rule_applies(from_evening, service_id=HAIRCUT, local_start=at(MONDAY, 17, 59))
    assert rule_applies(until_nine, service_id=HAIRCUT, local_start=at(MONDAY, 0))
    assert not rule_applies(until_nine, service_id=HAIRCUT, local_start=at(MONDAY, 9))


def test_rule_for_another_service_does_not_apply() -> None:
    colouring_only = make_rule(PERCENT, -50, "Colour week", service_ids=frozenset({COLOURING}))
    assert not rule_applies(colouring_only, service_id=HAIRCUT, local_start=at(WEDNESDAY, 11))
    assert rule_applies(colouring_only, service_id=COLOURING, local_start=at(WEDNESDAY, 11))
    assert quote(10000, [colouring_only]).total == 10000


def test_validity_dates_are_inclusive() -> None:
    sale = make_rule(
        PERCENT, -10, "Sale", valid_from=date(2025, 1, 14), valid_until=date(2025, 1, 15)
    )

    def applies(moment: datetime) -> bool:
        return rule_applies(sale, service_id=HAIRCUT, local_start=moment)

    assert not applies(datetime(2025, 1, 13, 23, 59, 59))
    assert applies(at(14, 0))
    assert applies(datetime(2025, 1, 15, 23, 59, 59))
    assert not applies(at(16, 0))


def test_aware_start_uses_its_local_wall_clock() -> None:
    # 11:00 in Stockholm is 10:00 UTC; and 23:30 on Tuesday in New York is Wednesday in UTC.
    stockholm = datetime(2025, 1, 15, 11, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
    assert rule_applies(OFF_PEAK, service_id=HAIRCUT, local_start=stockholm)
    new_york = datetime(2025, 1, 14, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    tuesday_only = make_rule(FIXED, 100, weekdays=frozenset({1}))
    assert rule_applies(tuesday_only, service_id=HAIRCUT, local_start=new_york)


def test_percent_rules_do_not_compound() -> None:
    ten_off = make_rule(PERCENT, -10, "Loyalty")
    other_ten_off = make_rule(PERCENT, -10, "Student")
    priced = quote(10000, [ten_off, other_ten_off])
    assert [line.amount for line in priced.lines] == [-1000, -1000]
    assert priced.total == 8000


def test_rules_apply_in_priority_then_id_order() -> None:
    low_id, high_id = sorted([uuid.uuid4(), uuid.uuid4()])
    first = PriceRule(rule_id=high_id, name="first", kind=FIXED, amount=1, priority=-5)
    second = PriceRule(rule_id=low_id, name="second", kind=FIXED, amount=2)
    third = PriceRule(rule_id=high_id, name="third", kind=FIXED, amount=3)
    assert [line.label for line in quote(100, [third, second, first]).lines] == [
        "first",
        "second",
        "third",
    ]


def test_percent_code_applies_after_rules() -> None:
    code = DiscountCode("SPRING15", PERCENT, 15)
    priced = quote(10000, [OFF_PEAK], code)
    assert priced.subtotal == 8000
    assert priced.discount == 1200
    assert priced.total == 6800
    assert priced.lines[-1] == PriceLine("Code SPRING15", -1200)


def test_fixed_code_larger_than_subtotal_gives_zero() -> None:
    priced = quote(3000, [], DiscountCode("GIFT", FIXED, 5000))
    assert (priced.subtotal, priced.discount, priced.total) == (3000, 3000, 0)


def test_rules_cannot_take_the_subtotal_below_zero() -> None:
    priced = quote(1000, [make_rule(FIXED, -2500, "Voucher")], DiscountCode("X", FIXED, 100))
    assert priced.lines == (PriceLine("Voucher", -2500), PriceLine("Code X", 0))
    assert (priced.subtotal, priced.discount, priced.total) == (0, 0, 0)


def test_rounding_is_half_away_from_zero() -> None:
    assert percent_of(1001, 15) == 150  # 150.15
    assert percent_of(5, 50) == 3  # 2.5
    assert percent_of(-5, 50) == -3
    assert percent_of(5, -50) == -3
    assert percent_of(7, 50) == 4  # 3.5
    assert percent_of(1049, 10) == 105  # 104.9
    assert percent_of(1044, 10) == 104  # 104.4
    assert percent_of(0, 37) == 0
    assert quote(999, [make_rule(PERCENT, -50)]).subtotal == 499  # 999 - 499.5 -> 999 - 500


def test_database_shaped_values_are_normalised() -> None:
    rule = PriceRule(
        rule_id=uuid.uuid4(),
        name="Off-peak",
        kind="percent",  # type: ignore[arg-type]
        amount=-20,
        weekdays=[1, 2],  # type: ignore[arg-type]
        service_ids=[str(HAIRCUT)],  # type: ignore[arg-type]
    )
    assert rule.kind is PERCENT
    assert rule.weekdays == frozenset({1, 2})
    assert rule.service_ids == frozenset({HAIRCUT})
    assert DiscountCode("A", "fixed", 100).kind is FIXED  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["usd", "EURO", "EU", "EU1", "ÅÄÖ", "", "SEK\n"])
def test_currency_must_be_three_upper_case_letters(currency: str) -> None:
    with pytest.raises(ValueError):
        quote(100, [], currency=currency)


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ValueError):
        quote(-1, [])
    with pytest.raises(TypeError):
        quote(10.0, [])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        percent_of(100, 12.5)  # type: ignore[arg-type]
    for kind, value in [(PERCENT, 0), (PERCENT, 101), (PERCENT, -10), (FIXED, 0), (FIXED, -1)]:
        with pytest.raises(ValueError):
            DiscountCode("BAD", kind, value)
    with pytest.raises(ValueError):
        DiscountCode("BAD", "bogus", 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        make_rule(FIXED, 1, weekdays=frozenset({7}))
    with pytest.raises(ValueError):
        make_rule(FIXED, 1, starts_at=time(9), ends_at=time(9))
    with pytest.raises(ValueError):
        make_rule(FIXED, 1, valid_from=date(2025, 2, 1), valid_until=date(2025, 1, 1))
    with pytest.raises(TypeError):
        make_rule(FIXED, 1.5)  # type: ignore[arg-type]


def test_module_has_no_float_arithmetic_and_no_io_imports() -> None:
    tree = ast.parse(inspect.getsource(pricing))
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)), "true division"
        assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), "float"
        assert not (isinstance(node, ast.Name) and node.id == "float"), "float()"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [alias.name for alias in node.names] + [getattr(node, "module", "") or ""]
            for module in modules:
                assert module.split(".")[0] not in {"strawberry", "sqlalchemy", "sqlmodel", "boka"}


# --- Properties ------------------------------------------------------------------------------

starts = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))
services = st.sampled_from([HAIRCUT, COLOURING])


@st.composite
def windows(draw: st.DrawFn) -> tuple[time | None, time | None]:
    starts_at = draw(st.none() | st.times())
    ends_at = draw(st.none() | st.times().filter(lambda t: t != starts_at))
    return starts_at, ends_at


@st.composite
def price_rules(draw: st.DrawFn) -> PriceRule:
    kind = draw(st.sampled_from(AdjustmentKind))
    amount = draw(
        st.integers(-150, 150) if kind is PERCENT else st.integers(-1_000_000, 1_000_000)
    )
    starts_at, ends_at = draw(windows())
    valid_from = draw(st.none() | st.dates(date(2000, 1, 1), date(2100, 1, 1)))
    valid_until = draw(
        st.none() | st.dates(valid_from or date(2000, 1, 1), date(2100, 1, 1))
    )
    return PriceRule(
        rule_id=draw(st.uuids()),
        name=draw(st.text(max_size=10)),
        kind=kind,
        amount=amount,
        weekdays=draw(st.frozensets(st.integers(0, 6))),
        starts_at=starts_at,
        ends_at=ends_at,
        valid_from=valid_from,
        valid_until=valid_until,
        service_ids=draw(st.frozensets(services, max_size=1)),
        priority=draw(st.integers(-3, 3)),
    )


rule_lists = st.lists(price_rules(), max_size=8, unique_by=lambda rule: rule.rule_id)
codes = st.none() | st.builds(
    DiscountCode, code=st.text(max_size=8), kind=st.just(PERCENT), value=st.integers(1, 100)
) | st.builds(DiscountCode, code=st.text(max_size=8), kind=st.just(FIXED), value=st.integers(1))
bases = st.integers(0, 10_000_000)


@given(base=bases, rules=rule_lists, code=codes, service_id=services, start=starts)
def test_amounts_are_ints_and_total_is_within_bounds(
    base: int, rules: list[PriceRule], code: DiscountCode | None, service_id: uuid.UUID,
    start: datetime,
) -> None:
    priced = quote_price(
        base=base, currency="EUR", service_id=service_id, local_start=start, rules=rules,
        discount=code,
    )
    for amount in (priced.base, priced.subtotal, priced.discount, priced.total):
        assert type(amount) is int
    assert all(type(line.amount) is int for line in priced.lines)
    assert 0 <= priced.total <= priced.subtotal
    assert 0 <= priced.discount <= priced.subtotal


@given(base=bases, service_id=services, start=starts)
def test_no_rules_and_no_code_is_the_base_price(
    base: int, service_id: uuid.UUID, start: datetime
) -> None:
    priced = quote_price(
        base=base, currency="EUR", service_id=service_id, local_start=start, rules=[]
    )
    assert priced == Quote("EUR", base, (), base, 0, base)


@given(base=bases, rules=rule_lists, code=codes, start=starts, data=st.data())
def test_order_of_input_rules_does_not_matter(
    base: int, rules: list[PriceRule], code: DiscountCode | None, start: datetime,
    data: st.DataObject,
) -> None:
    shuffled = data.draw(st.permutations(rules))
    first, second = (
        quote_price(
            base=base, currency="EUR", service_id=HAIRCUT, local_start=start, rules=given_rules,
            discount=code,
        )
        for given_rules in (rules, shuffled)
    )
    assert first == second


@given(base=bases, rules=rule_lists, start=starts)
def test_a_hundred_percent_code_is_free(
    base: int, rules: list[PriceRule], start: datetime
) -> None:
    priced = quote_price(
        base=base, currency="EUR", service_id=HAIRCUT, local_start=start, rules=rules,
        discount=DiscountCode("FREE", PERCENT, 100),
    )
    assert priced.total == 0
    assert priced.discount == priced.subtotal


@given(base=bases, rules=rule_lists, code=codes, start=starts)
def test_lines_add_up(
    base: int, rules: list[PriceRule], code: DiscountCode | None, start: datetime
) -> None:
    priced = quote_price(
        base=base, currency="EUR", service_id=HAIRCUT, local_start=start, rules=rules,
        discount=code,
    )
    applied = [r for r in rules if rule_applies(r, service_id=HAIRCUT, local_start=start)]
    rule_lines = priced.lines[: len(applied)]
    assert len(priced.lines) == len(applied) + (code is not None)
    assert max(0, base + sum(line.amount for line in rule_lines)) == priced.subtotal
    code_line_amount = priced.lines[-1].amount if code is not None else 0
    assert priced.subtotal + code_line_amount == priced.total
    assert priced.subtotal - priced.discount == priced.total


@given(start=starts, window=st.tuples(st.times(), st.times()).filter(lambda w: w[0] != w[1]))
def test_a_window_and_its_complement_split_the_day(
    start: datetime, window: tuple[time, time]
) -> None:
    starts_at, ends_at = window
    inside = make_rule(FIXED, 1, starts_at=starts_at, ends_at=ends_at)
    outside = make_rule(FIXED, 1, starts_at=ends_at, ends_at=starts_at)
    assert rule_applies(inside, service_id=HAIRCUT, local_start=start) != rule_applies(
        outside, service_id=HAIRCUT, local_start=start
    )
