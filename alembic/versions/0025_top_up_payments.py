"""Top-up payments: a move to a dearer time asks the difference of what was paid up front as a
payment of kind 'top_up'. A booking may collect several over its moves, so the one-payment-per-
kind rule becomes a partial unique index that leaves top-ups out.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01 02:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_PER_BOOKING = sa.text("kind <> 'top_up'")


def upgrade() -> None:
    with op.batch_alter_table('payments') as batch_op:
        batch_op.drop_constraint(op.f('uq_payments_booking_id_kind'), type_='unique')
        batch_op.drop_constraint(op.f('ck_payments_kind'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_payments_kind'), "kind IN ('booking', 'no_show_fee', 'top_up')"
        )
    op.create_index(
        'uq_payments_booking_id_kind', 'payments', ['booking_id', 'kind'], unique=True,
        postgresql_where=ONE_PER_BOOKING, sqlite_where=ONE_PER_BOOKING,
    )


def downgrade() -> None:
    op.execute("DELETE FROM payments WHERE kind = 'top_up'")
    op.drop_index('uq_payments_booking_id_kind', table_name='payments')
    with op.batch_alter_table('payments') as batch_op:
        batch_op.drop_constraint(op.f('ck_payments_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payments_kind'), "kind IN ('booking', 'no_show_fee')")
        batch_op.create_unique_constraint(op.f('uq_payments_booking_id_kind'), ['booking_id', 'kind'])
