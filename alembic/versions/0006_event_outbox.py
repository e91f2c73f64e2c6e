"""Event outbox: domain events written with the change they announce, and per-aggregate
sequence counters.

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-27 07:48:35.039842
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('event_streams',
    sa.Column('aggregate_type', sa.String(length=32), nullable=False),
    sa.Column('aggregate_id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_event_streams_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('aggregate_type', 'aggregate_id', name=op.f('pk_event_streams'))
    )
    op.create_table('events',
    sa.Column('position', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('aggregate_type', sa.String(length=32), nullable=False),
    sa.Column('aggregate_id', sa.Uuid(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('position', name=op.f('pk_events')),
    sa.UniqueConstraint('aggregate_type', 'aggregate_id', 'sequence', name=op.f('uq_events_aggregate_type_aggregate_id_sequence')),
    sa.UniqueConstraint('id', name=op.f('uq_events_id'))
    )
    op.create_index('ix_events_published_at_position', 'events', ['published_at', 'position'], unique=False)
    op.create_index('ix_events_tenant_id_position', 'events', ['tenant_id', 'position'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_events_tenant_id_position', table_name='events')
    op.drop_index('ix_events_published_at_position', table_name='events')
    op.drop_table('events')
    op.drop_table('event_streams')
