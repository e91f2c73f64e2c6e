"""The trace of the request that wrote an event: ``events.trace``, a W3C traceparent (NULL when
tracing is off), so the relay's consumers and the jobs they enqueue continue that trace.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 23:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: adding it rewrites nothing (a catalog change only).
    op.add_column('events', sa.Column('trace', sa.String(length=55), nullable=True))


def downgrade() -> None:
    op.drop_column('events', 'trace')
