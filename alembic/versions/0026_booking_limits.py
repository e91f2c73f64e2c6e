"""Booking limits (issue 16 item 3): ``services.booking_limits`` and
``staff_members.booking_limits``, each a JSON list of {period, max_bookings, max_minutes}
(boka/booking/limits.py), empty by default; and an index of a service's bookings by start, which
counting a service's bookings in a period reads.

Columns and an index only (no new table), so the row level security of 0004 covers them.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01 02:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ('services', 'staff_members'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column(
                'booking_limits', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False, server_default=sa.text("'[]'")
            ))
    op.create_index('ix_bookings_service_id_start_time', 'bookings', ['service_id', 'start_time'])


def downgrade() -> None:
    op.drop_index('ix_bookings_service_id_start_time', table_name='bookings')
    for table in ('staff_members', 'services'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('booking_limits')
