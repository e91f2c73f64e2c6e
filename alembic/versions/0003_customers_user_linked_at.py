"""customers.user_linked_at: an account sees only the bookings made after it was linked.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 06:35:52.163899
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_linked_at', sa.DateTime(timezone=True), nullable=True))
    # Records linked before this column existed keep seeing their bookings.
    op.execute("UPDATE customers SET user_linked_at = created_at WHERE user_id IS NOT NULL")



def downgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('user_linked_at')

