"""Platform administration: tenants can be suspended, and a suspended tenant's jobs are parked.

``tenants.suspended_at`` / ``suspension_reason`` record a superadmin's suspension (null while
the tenant is active). ``parked_jobs`` holds the jobs (messages, webhook deliveries) that came
due while their tenant was suspended; reactivation enqueues them again. Tenant-owned, so it
carries the tenant policy.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 23:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

from frozen_rls_0014 import disable_tenant_isolation, enable_tenant_isolation

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('suspension_reason', sa.String(length=500), nullable=True))
    op.create_table(
        'parked_jobs',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('tenant_id', sa.Uuid(), nullable=False),
        sa.Column('function', sa.String(length=200), nullable=False),
        sa.Column('args', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
        sa.Column('queue', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_parked_jobs_tenant_id_created_at', 'parked_jobs', ['tenant_id', 'created_at'])
    enable_tenant_isolation('parked_jobs')


def downgrade() -> None:
    disable_tenant_isolation('parked_jobs')
    op.drop_index('ix_parked_jobs_tenant_id_created_at', table_name='parked_jobs')
    op.drop_table('parked_jobs')
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('suspension_reason')
        batch_op.drop_column('suspended_at')
