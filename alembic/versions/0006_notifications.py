"""Notifications: tenant template overrides, the at-most-once notification log, staff ICS feeds.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 07:48:51.355739
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frozen_rls_0004 import disable_tenant_isolation, enable_tenant_isolation


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('notification_templates',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_notification_templates_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_templates')),
    sa.UniqueConstraint('tenant_id', 'kind', 'channel', 'language', name=op.f('uq_notification_templates_tenant_id_kind_channel_language'))
    )
    op.create_table('staff_calendar_feeds',
    sa.Column('staff_member_id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_staff_calendar_feeds_staff_member_id_staff_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_staff_calendar_feeds_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_member_id', name=op.f('pk_staff_calendar_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_calendar_feeds_token_hash'))
    )
    op.create_table('notification_log',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('booking_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('provider_message_id', sa.String(length=200), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('sending', 'sent', 'failed')", name=op.f('ck_notification_log_status')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_notification_log_booking_id_bookings'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_notification_log_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_log')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notification_log_dedupe_key'))
    )
    op.create_index('ix_notification_log_booking_id', 'notification_log', ['booking_id'], unique=False)
    op.create_index('ix_notification_log_tenant_id_created_at', 'notification_log', ['tenant_id', 'created_at'], unique=False)
    enable_tenant_isolation('notification_templates', 'staff_calendar_feeds', 'notification_log')



def downgrade() -> None:
    disable_tenant_isolation('notification_templates', 'staff_calendar_feeds', 'notification_log')

    op.drop_index('ix_notification_log_tenant_id_created_at', table_name='notification_log')
    op.drop_index('ix_notification_log_booking_id', table_name='notification_log')
    op.drop_table('notification_log')
    op.drop_table('staff_calendar_feeds')
    op.drop_table('notification_templates')

