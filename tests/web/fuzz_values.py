"""What the schema fuzzer puts in arguments: Hypothesis strategies of GraphQL value nodes for
every scalar of Boka's schema, mixed with the hostile inputs an attacker sends (issue 12 item 7):
NUL bytes, lone surrogates, 1 MB strings, the largest 32-bit ints, years 1 and 9999, 10,000-
character time zones, ids that do not decode or are a raw UUID — and real ids of the salon, so
generated operations also reach the code behind the id checks."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable

from hypothesis import strategies as st
from hypothesis_graphql import nodes

HOSTILE_STRINGS = (
    "",
    " ",
    "\x00",
    "Anna\x00Stylist",
    "\ud800",
    "bad \udfff surrogate",
    "x" * 100_000,  # 1 MB strings cost a second each to parse: test_schema_fuzz sends those aside
    "y" * 101,
    "z" * 256,
    "Z" * 10_000,
    "Europe/Berlin",
    "UTC",
    "Not/AZone",
    "../../../etc/passwd",
    "ZZZ",
    "EUR",
    "eur",
    "+4915112345678",
    "¹²³⁴⁵⁶",  # digits to str.isdigit(), not to hmac.compare_digest
    "bkm_AAAAAAAAAAAAAAAAAAAAAA.¹",
    "12345",
    "not-an-email",
    "anna@example.com",
    "'; DROP TABLE bookings; --",
    "%s%s%s%n",
    "{{ 7 * 7 }}",
    "<script>alert(1)</script>",
    "\u202e\u0000\uffff",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
)
HOSTILE_INTS = (0, 1, -1, 2, 8, 60, 100, 2_147_483_647, -2_147_483_648, 1_000_000, 999_999_999)
DATETIMES = (
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-12:00",
    "4546-06-01T10:00:00Z",
    "2026-12-01T10:00:00Z",
    "2027-01-15T09:30:00+01:00",
    "2026-12-01T10:00:00",
    "2026-02-30T10:00:00Z",
    "yesterday",
    "",
    "\x00",
    "2026-12-01T10:00:00Z" + "0" * 10_000,
)
DATES = ("0001-01-01", "9999-12-31", "2026-12-01", "2027-02-29", "2026-13-01", "", "\x00")
TIMES = ("00:00", "09:00", "17:00", "23:59:59", "24:00", "25:61", "", "\x00", "9")
JSON_VALUES = ("{}", "[]", "null", "1", "[[[[[[[[[[]]]]]]]]]]")


def _text() -> st.SearchStrategy[str]:
    return st.text(max_size=30)


def strings() -> st.SearchStrategy[object]:
    return st.one_of(st.sampled_from(HOSTILE_STRINGS), _text()).map(nodes.String)


def ints() -> st.SearchStrategy[object]:
    return st.one_of(
        st.sampled_from(HOSTILE_INTS), st.integers(min_value=-(2**31), max_value=2**31 - 1)
    ).map(nodes.Int)


def ids(real_ids: Iterable[str]) -> st.SearchStrategy[object]:
    """Real global ids most of the time (so mutations act on things that exist), and every way
    an id can be wrong: garbage, a raw UUID, padding stripped, another type's name, not base64."""
    real = list(real_ids)
    broken = [
        "garbage", "", "\x00", "x" * 10_000, str(uuid.uuid4()),
        base64.b64encode(b"Service:not-a-uuid").decode(),
        base64.b64encode(b"NoSuchType:" + str(uuid.uuid4()).encode()).decode(),
        base64.b64encode(f"Service:{uuid.uuid4()}".encode()).decode(),
        base64.b64encode(b"\xff\xfe\x00").decode(),
        *(value.rstrip("=") for value in real),
    ]
    return st.one_of(st.sampled_from(real), st.sampled_from(broken), _text()).map(nodes.String)


def custom_scalars(real_ids: Iterable[str]) -> dict[str, st.SearchStrategy[object]]:
    """Strategies for every scalar Boka's schema has (the built-in ones overridden too, so the
    hostile values reach every argument)."""
    return {
        "String": strings(),
        "ID": ids(real_ids),
        "Int": ints(),
        "DateTime": st.one_of(
            st.sampled_from(DATETIMES),
            st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
        ).map(nodes.String),
        "Date": st.one_of(st.sampled_from(DATES), st.dates().map(str)).map(nodes.String),
        "Time": st.one_of(st.sampled_from(TIMES), st.times().map(str)).map(nodes.String),
        "JSON": st.sampled_from(JSON_VALUES).map(nodes.String),
    }
