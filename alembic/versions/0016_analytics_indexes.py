"""Analytics: what a booking was listed at before adjustments, and the indexes the figures need.

``bookings.list_price_cents`` is the base price (seat price times seats) before pricing rules
and a discount code, so revenue can be reported as gross, discounts and net. Rows written
before this column existed get their charged price (no known discount).

Indexes: a staff member's bookings by start (a staff member's own analytics), refunds by
booking (refunds of the bookings in a period), the group-class bookings by start (each session's
time once, for utilisation), and on PostgreSQL status and tenant_id in the (customer, start)
index, so "had this customer booked before?" is answered from the index alone.

Revision ID: 0016
Revises: 0014
Create Date: 2026-11-30 19:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('list_price_cents', sa.Integer(), nullable=True))
    op.execute("UPDATE bookings SET list_price_cents = price_cents")
    op.create_index('ix_bookings_staff_id_start_time', 'bookings', ['staff_id', 'start_time'])
    op.create_index('ix_refunds_booking_id', 'refunds', ['booking_id'])
    op.create_index('ix_bookings_class_sessions', 'bookings', ['tenant_id', 'start_time'],
                    postgresql_where=sa.text("slot_key LIKE '%:%'"),
                    sqlite_where=sa.text("slot_key LIKE '%:%'"))
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_bookings_customer_id_start_time', table_name='bookings')
        op.create_index('ix_bookings_customer_id_start_time', 'bookings',
                        ['customer_id', 'start_time'], postgresql_include=['status', 'tenant_id'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_bookings_customer_id_start_time', table_name='bookings')
        op.create_index('ix_bookings_customer_id_start_time', 'bookings',
                        ['customer_id', 'start_time'])
    op.drop_index('ix_bookings_class_sessions', table_name='bookings')
    op.drop_index('ix_refunds_booking_id', table_name='refunds')
    op.drop_index('ix_bookings_staff_id_start_time', table_name='bookings')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('list_price_cents')
