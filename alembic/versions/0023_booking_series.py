"""Booking series: ``booking_series`` holds the rule a recurring booking was made with (its
zone, frequency, interval, count or end date); each occurrence is a normal booking pointing
back to it (``bookings.series_id``, with its position ``series_index``). The new table gets the
tenant policy.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 02:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frozen_rls_0014 import disable_tenant_isolation, enable_tenant_isolation

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('booking_series',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('staff_id', sa.Uuid(), nullable=True),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('frequency', sa.String(length=24), nullable=False),
    sa.Column('interval', sa.Integer(), nullable=False),
    sa.Column('week_of_month', sa.Integer(), nullable=True),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('occurrence_count', sa.Integer(), nullable=False),
    sa.Column('first_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("frequency IN ('daily', 'weekly', 'monthly_by_weekday')", name=op.f('ck_booking_series_frequency')),
    sa.CheckConstraint('interval >= 1', name=op.f('ck_booking_series_interval_positive')),
    sa.CheckConstraint('occurrence_count >= 1', name=op.f('ck_booking_series_count_positive')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_booking_series_created_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_booking_series_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_booking_series_service_id_services'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_members.id'], name=op.f('fk_booking_series_staff_id_staff_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_booking_series_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_series'))
    )
    op.create_index('ix_booking_series_customer_id', 'booking_series', ['customer_id'], unique=False)
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('series_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('series_index', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_bookings_series_id'), ['series_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_bookings_series_id_booking_series'), 'booking_series', ['series_id'], ['id'], ondelete='SET NULL')
    enable_tenant_isolation('booking_series')


def downgrade() -> None:
    disable_tenant_isolation('booking_series')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_bookings_series_id_booking_series'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_bookings_series_id'))
        batch_op.drop_column('series_index')
        batch_op.drop_column('series_id')
    op.drop_index('ix_booking_series_customer_id', table_name='booking_series')
    op.drop_table('booking_series')
