"""Webhook signing secrets are stored sealed (Fernet), which is longer than the plain secret:
webhook_endpoints.secret becomes TEXT. Existing plain secrets (whsec_...) keep working and are
sealed when rotated. A downgrade needs every secret to be plain again (rotate first).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 09:20:17.743303
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.alter_column('secret',
               existing_type=sa.VARCHAR(length=100),
               type_=sa.Text(),
               existing_nullable=False)



def downgrade() -> None:
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.alter_column('secret',
               existing_type=sa.Text(),
               type_=sa.VARCHAR(length=100),
               existing_nullable=False)

