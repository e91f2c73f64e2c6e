"""The last line before the database: no row is flushed with text longer than its column, on
either dialect (PostgreSQL refused such a value with an INTERNAL; SQLite stored it whole). The
domain's own checks (boka/validation.py) come first and name the input precisely; this catches
whatever a new field forgets, as an ``INVALID_INPUT`` user error named after the column."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from boka.errors import UserErrorCode, UserInputError


@functools.cache
def _limited_columns(model: type) -> tuple[tuple[str, int, str], ...]:
    """(attribute, length, camelCase field name) of the model's String(n) columns."""
    limited = []
    for attribute in inspect(model).column_attrs:
        for column in attribute.columns:
            length = getattr(column.type, "length", None)
            if isinstance(column.type, sa.String) and length:
                head, *rest = attribute.key.split("_")
                limited.append((attribute.key, length, head + "".join(w.title() for w in rest)))
    return tuple(limited)


def check_column_lengths(session: Session, _context: Any = None, _instances: Any = None) -> None:
    """A ``before_flush`` listener: every new or changed row's text fits its columns."""
    for row in (*session.new, *session.dirty):
        for key, length, field in _limited_columns(type(row)):
            value = row.__dict__.get(key)
            if isinstance(value, str) and len(value) > length:
                raise UserInputError(
                    UserErrorCode.INVALID_INPUT, f"Use at most {length} characters.", field
                )
