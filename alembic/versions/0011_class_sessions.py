"""Class sessions: a group service is sold as scheduled sessions with their own seats.

``class_sessions`` holds each session (instructor, optional room, time, capacity, seats taken,
with a check constraint that refuses an oversell); ``bookings.class_session_id`` ties a booking
to the session whose seats it holds. On PostgreSQL, exclusion constraints keep two scheduled
sessions of one instructor, or of one room, from overlapping; the new table gets the tenant
policy like every tenant-owned table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 19:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frozen_rls_0004 import disable_tenant_isolation, enable_tenant_isolation

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('class_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('staff_id', sa.Uuid(), nullable=False),
    sa.Column('resource_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('block_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('block_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('seats_taken', sa.Integer(), nullable=False),
    sa.Column('cancellation_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('scheduled', 'cancelled')", name=op.f('ck_class_sessions_status')),
    sa.CheckConstraint('start_time < end_time', name=op.f('ck_class_sessions_start_before_end')),
    sa.CheckConstraint('block_start <= start_time AND end_time <= block_end', name=op.f('ck_class_sessions_block_covers')),
    sa.CheckConstraint('capacity >= 1', name=op.f('ck_class_sessions_capacity_positive')),
    sa.CheckConstraint('seats_taken >= 0 AND seats_taken <= capacity', name=op.f('ck_class_sessions_within_capacity')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_class_sessions_resource_id_resources'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_class_sessions_service_id_services'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_members.id'], name=op.f('fk_class_sessions_staff_id_staff_members'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_class_sessions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_class_sessions'))
    )
    op.create_index('ix_class_sessions_service_id_start_time', 'class_sessions', ['service_id', 'start_time'], unique=False)
    op.create_index('ix_class_sessions_staff_id_block_start', 'class_sessions', ['staff_id', 'block_start'], unique=False)
    op.create_index('ix_class_sessions_resource_id_block_start', 'class_sessions', ['resource_id', 'block_start'], unique=False)
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('class_session_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_bookings_class_session_id'), ['class_session_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_bookings_class_session_id_class_sessions'), 'class_sessions', ['class_session_id'], ['id'], ondelete='RESTRICT')
    enable_tenant_isolation('class_sessions')
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE class_sessions ADD CONSTRAINT ex_class_sessions_staff_overlap "
            "EXCLUDE USING gist (staff_id WITH =, tstzrange(block_start, block_end, '[)') WITH &&) "
            "WHERE (status = 'scheduled')"
        )
        op.execute(
            "ALTER TABLE class_sessions ADD CONSTRAINT ex_class_sessions_room_overlap "
            "EXCLUDE USING gist (resource_id WITH =, tstzrange(block_start, block_end, '[)') WITH &&) "
            "WHERE (status = 'scheduled' AND resource_id IS NOT NULL)"
        )


def downgrade() -> None:
    disable_tenant_isolation('class_sessions')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_bookings_class_session_id_class_sessions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_bookings_class_session_id'))
        batch_op.drop_column('class_session_id')
    op.drop_index('ix_class_sessions_resource_id_block_start', table_name='class_sessions')
    op.drop_index('ix_class_sessions_staff_id_block_start', table_name='class_sessions')
    op.drop_index('ix_class_sessions_service_id_start_time', table_name='class_sessions')
    op.drop_table('class_sessions')
