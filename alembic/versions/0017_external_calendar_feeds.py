"""Busy time from staff calendars: attached iCalendar feeds (address sealed, each with the busy
spans of its last good poll) and, per staff member, the union of their calendars' busy spans
merged into blocks, read by availability next to time off.

Both tables are tenant-owned and under the tenant policy.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 22:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from frozen_rls_0014 import disable_tenant_isolation, enable_tenant_isolation

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('external_calendar_feeds',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('staff_member_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('url_hint', sa.String(length=300), nullable=False),
    sa.Column('etag', sa.String(length=500), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('last_polled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('busy_block_count', sa.Integer(), nullable=False),
    sa.Column('busy', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_external_calendar_feeds_staff_member_id_staff_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_external_calendar_feeds_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_calendar_feeds'))
    )
    op.create_index('ix_external_calendar_feeds_staff_member_id_created_at', 'external_calendar_feeds',
                    ['staff_member_id', 'created_at'], unique=False)
    op.create_table('external_busy_blocks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('staff_member_id', sa.Uuid(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('starts_at < ends_at', name=op.f('ck_external_busy_blocks_start_before_end')),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_members.id'], name=op.f('fk_external_busy_blocks_staff_member_id_staff_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_external_busy_blocks_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_busy_blocks'))
    )
    op.create_index('ix_external_busy_blocks_staff_member_id_starts_at', 'external_busy_blocks',
                    ['staff_member_id', 'starts_at'], unique=False)
    enable_tenant_isolation('external_calendar_feeds')
    enable_tenant_isolation('external_busy_blocks')


def downgrade() -> None:
    disable_tenant_isolation('external_busy_blocks')
    disable_tenant_isolation('external_calendar_feeds')
    op.drop_index('ix_external_busy_blocks_staff_member_id_starts_at', table_name='external_busy_blocks')
    op.drop_table('external_busy_blocks')
    op.drop_index('ix_external_calendar_feeds_staff_member_id_created_at', table_name='external_calendar_feeds')
    op.drop_table('external_calendar_feeds')
