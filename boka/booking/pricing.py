"""The final price of a booking: base price, time-based rules, then a discount code.

Pure domain code: no I/O, no GraphQL, no database. Money is an integer number of minor units
(cents, öre) next to an ISO 4217 currency code; nothing here ever becomes a float.

Order of computation (see `quote_price`):
1. Every rule that applies to the booking's service and local start adds one line, in
   (priority, rule_id) order. A percent rule is a percentage of the *base* price, so two
   -10 % rules take 20 % off, not 19 %. A fixed rule adds its signed amount.
2. subtotal = max(0, base + sum of the rule lines).
3. A discount code takes a percentage of the subtotal, or a fixed amount capped at the subtotal.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum

_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


class AdjustmentKind(str, Enum):
    PERCENT = "percent"
    FIXED = "fixed"


def _require_int(name: str, value: object) -> int:
    """Money and percentages are plain ints: reject floats, Decimals and bools outright."""
    if type(value) is not int:
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class PriceRule:
    """A time-based adjustment, e.g. an off-peak discount or a weekend surcharge.

    `amount` is whole percent for PERCENT (negative = discount, -20 is 20 % off) and signed
    minor units for FIXED. Empty `weekdays` (0=Mon..6=Sun) or `service_ids` mean "all". The
    time-of-day window is [starts_at, ends_at) in local wall-clock time and may wrap midnight
    (22:00-06:00); if only one bound is set the window runs to the end / from the start of the
    day. Validity dates are inclusive local dates.
    """

    rule_id: uuid.UUID
    name: str
    kind: AdjustmentKind
    amount: int
    weekdays: frozenset[int] = frozenset()
    starts_at: time | None = None
    ends_at: time | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    service_ids: frozenset[uuid.UUID] = frozenset()
    priority: int = 0

    def __post_init__(self) -> None:
        # Normalise what a database row naturally holds ("percent", lists, UUID strings).
        object.__setattr__(self, "kind", AdjustmentKind(self.kind))
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        object.__setattr__(
            self, "service_ids", frozenset(uuid.UUID(str(s)) for s in self.service_ids)
        )
        _require_int("amount", self.amount)
        _require_int("priority", self.priority)
        if not all(type(day) is int and 0 <= day <= 6 for day in self.weekdays):
            raise ValueError("weekdays must be ints from 0 (Monday) to 6 (Sunday)")
        for bound in (self.starts_at, self.ends_at):
            if bound is not None and bound.tzinfo is not None:
                raise ValueError("starts_at/ends_at are local wall-clock times without tzinfo")
        if self.starts_at is not None and self.starts_at == self.ends_at:
            raise ValueError("starts_at and ends_at are equal: the window would be ambiguous")
        if (
            self.valid_from is not None
            and self.valid_until is not None
            and self.valid_from > self.valid_until
        ):
            raise ValueError("valid_from is after valid_until")


@dataclass(frozen=True)
class DiscountCode:
    """A code the caller has already checked is usable (validity window, uses left)."""

    code: str
    kind: AdjustmentKind
    value: int  # PERCENT: 1..100; FIXED: minor units > 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", AdjustmentKind(self.kind))
        _require_int("value", self.value)
        if self.kind is AdjustmentKind.PERCENT and not 1 <= self.value <= 100:
            raise ValueError("a percent discount code must be between 1 and 100")
        if self.kind is AdjustmentKind.FIXED and self.value <= 0:
            raise ValueError("a fixed discount code must be more than 0 minor units")


@dataclass(frozen=True)
class PriceLine:
    """One adjustment as the customer sees it; `amount` is signed minor units."""

    label: str
    amount: int


@dataclass(frozen=True)
class Quote:
    """The breakdown of a price. `lines` has one line per applied rule, then one for the code.

    The rule lines are the adjustments as computed; when they would take the price below zero
    the subtotal is floored at 0, so base + rule lines can be less than `subtotal`.
    """

    currency: str
    base: int
    lines: tuple[PriceLine, ...]
    subtotal: int  # base + rule adjustments, floored at 0
    discount: int  # minor units the code takes off, 0 <= discount <= subtotal
    total: int  # subtotal - discount, >= 0


def percent_of(amount: int, percent: int) -> int:
    """`percent` % of `amount` in integer minor units, rounding half away from zero.

    >>> percent_of(1001, 15), percent_of(5, 50), percent_of(-5, 50)
    (150, 3, -3)
    """
    product = _require_int("amount", amount) * _require_int("percent", percent)
    whole, remainder = divmod(abs(product), 100)
    if remainder * 2 >= 100:
        whole += 1
    return -whole if product < 0 else whole


def _time_in_window(moment: time, starts_at: time | None, ends_at: time | None) -> bool:
    if starts_at is None:
        return ends_at is None or moment < ends_at
    if ends_at is None:
        return moment >= starts_at
    if starts_at < ends_at:
        return starts_at <= moment < ends_at
    return moment >= starts_at or moment < ends_at  # the window wraps midnight


def rule_applies(rule: PriceRule, *, service_id: uuid.UUID, local_start: datetime) -> bool:
    """Whether `rule` adjusts a booking of `service_id` starting at `local_start`.

    `local_start` is in the tenant's local time; naive or aware, only its wall clock counts.
    """
    if not isinstance(local_start, datetime):
        raise TypeError("local_start must be a datetime")
    if rule.service_ids and service_id not in rule.service_ids:
        return False
    if rule.weekdays and local_start.weekday() not in rule.weekdays:
        return False
    local_date = local_start.date()
    if rule.valid_from is not None and local_date < rule.valid_from:
        return False
    if rule.valid_until is not None and local_date > rule.valid_until:
        return False
    return _time_in_window(local_start.time(), rule.starts_at, rule.ends_at)


def _rule_adjustment(rule: PriceRule, base: int) -> int:
    """A percent rule is a share of the base price (rules never compound); fixed is as-is."""
    if rule.kind is AdjustmentKind.PERCENT:
        return percent_of(base, rule.amount)
    return rule.amount


def quote_price(
    *,
    base: int,
    currency: str,
    service_id: uuid.UUID,
    local_start: datetime,
    rules: Iterable[PriceRule],
    discount: DiscountCode | None = None,
) -> Quote:
    """Price a booking of `service_id` at `local_start` (tenant-local) from its `base` price.

    The order of `rules` does not matter; applicable rules apply in (priority, rule_id) order.
    Raises ValueError for a negative base or a currency that is not three upper-case letters.
    """
    if _require_int("base", base) < 0:
        raise ValueError("base must not be negative")
    if not isinstance(currency, str) or _CURRENCY_CODE.fullmatch(currency) is None:
        raise ValueError("currency must be an ISO 4217 code of three upper-case letters")

    applicable = sorted(
        (r for r in rules if rule_applies(r, service_id=service_id, local_start=local_start)),
        key=lambda rule: (rule.priority, rule.rule_id),
    )
    lines = [PriceLine(rule.name, _rule_adjustment(rule, base)) for rule in applicable]
    subtotal = max(0, base + sum(line.amount for line in lines))

    taken_off = 0
    if discount is not None:
        if discount.kind is AdjustmentKind.PERCENT:
            taken_off = percent_of(subtotal, discount.value)
        else:
            taken_off = min(discount.value, subtotal)
        lines.append(PriceLine(f"Code {discount.code}", -taken_off))

    return Quote(
        currency=currency,
        base=base,
        lines=tuple(lines),
        subtotal=subtotal,
        discount=taken_off,
        total=subtotal - taken_off,
    )
