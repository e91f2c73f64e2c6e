"""Booking policies: what a reschedule inside the cancellation window does, the fee a late
move keeps, and guest bookings that wait for their email to be proven.

- ``services.late_reschedule``: ``refuse`` (the default) or ``fee``.
- ``bookings.kept_fee_cents``: fees of late moves; a later cancellation keeps them.
- ``bookings.awaiting_email_proof``: a guest's booking under an email that may belong to an
  account; the account sees it only once the guest has used the manage link sent to that email.

Columns only (no new table), so the row level security of 0004 covers them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 19:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('services') as batch_op:
        batch_op.add_column(sa.Column(
            'late_reschedule', sa.String(length=16), nullable=False, server_default='refuse'
        ))
    with op.batch_alter_table('bookings') as batch_op:
        batch_op.add_column(sa.Column('kept_fee_cents', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column(
            'awaiting_email_proof', sa.Boolean(), nullable=False, server_default=sa.false()
        ))


def downgrade() -> None:
    with op.batch_alter_table('bookings') as batch_op:
        batch_op.drop_column('awaiting_email_proof')
        batch_op.drop_column('kept_fee_cents')
    with op.batch_alter_table('services') as batch_op:
        batch_op.drop_column('late_reschedule')
