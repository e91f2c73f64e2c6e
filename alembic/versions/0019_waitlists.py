"""Waitlists: customers in line for a service's time, and the offers made when time frees up.

``waitlist_entries`` holds each customer's place in line (service, optional staff member,
class session and time range); ``waitlist_offers`` the time held for an entry (a pending
booking) until the offer expires. An entry gets at most one offer (unique ``entry_id``), a
booking backs at most one offer. Both tables get the tenant policy.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 22:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frozen_rls_0014 import disable_tenant_isolation, enable_tenant_isolation

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('waitlist_entries',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('staff_id', sa.Uuid(), nullable=True),
    sa.Column('class_session_id', sa.Uuid(), nullable=True),
    sa.Column('earliest', sa.DateTime(timezone=True), nullable=True),
    sa.Column('latest', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('waiting', 'offered', 'booked', 'left', 'passed')", name=op.f('ck_waitlist_entries_status')),
    sa.CheckConstraint('earliest IS NULL OR latest IS NULL OR earliest < latest', name=op.f('ck_waitlist_entries_range_ordered')),
    sa.CheckConstraint('seats >= 1', name=op.f('ck_waitlist_entries_seats_positive')),
    sa.ForeignKeyConstraint(['class_session_id'], ['class_sessions.id'], name=op.f('fk_waitlist_entries_class_session_id_class_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_waitlist_entries_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_waitlist_entries_service_id_services'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_members.id'], name=op.f('fk_waitlist_entries_staff_id_staff_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_waitlist_entries_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entries'))
    )
    op.create_index('ix_waitlist_entries_line', 'waitlist_entries', ['tenant_id', 'service_id', 'status', 'created_at', 'id'], unique=False)
    op.create_index('ix_waitlist_entries_customer_id', 'waitlist_entries', ['customer_id'], unique=False)
    op.create_table('waitlist_offers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('entry_id', sa.Uuid(), nullable=False),
    sa.Column('booking_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'claimed', 'declined', 'expired')", name=op.f('ck_waitlist_offers_status')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_waitlist_offers_booking_id_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entry_id'], ['waitlist_entries.id'], name=op.f('fk_waitlist_offers_entry_id_waitlist_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_waitlist_offers_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_offers')),
    sa.UniqueConstraint('booking_id', name=op.f('uq_waitlist_offers_booking_id')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_waitlist_offers_entry_id'))
    )
    op.create_index('ix_waitlist_offers_status_expires_at', 'waitlist_offers', ['status', 'expires_at'], unique=False)
    enable_tenant_isolation('waitlist_entries', 'waitlist_offers')


def downgrade() -> None:
    disable_tenant_isolation('waitlist_entries', 'waitlist_offers')
    op.drop_index('ix_waitlist_offers_status_expires_at', table_name='waitlist_offers')
    op.drop_table('waitlist_offers')
    op.drop_index('ix_waitlist_entries_customer_id', table_name='waitlist_entries')
    op.drop_index('ix_waitlist_entries_line', table_name='waitlist_entries')
    op.drop_table('waitlist_entries')
