"""Email change links: account tokens get the purpose 'email_change' (the new address, kept in
``email``, is proven by opening the link) and remember the session that asked, which is the one
session that survives the change.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 23:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('account_tokens') as batch_op:
        batch_op.drop_constraint(op.f('ck_account_tokens_purpose'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_account_tokens_purpose'), "purpose IN ('verify_email', 'password_reset', 'email_change')"
        )
        batch_op.add_column(sa.Column('session_id', sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM account_tokens WHERE purpose = 'email_change'")
    with op.batch_alter_table('account_tokens') as batch_op:
        batch_op.drop_column('session_id')
        batch_op.drop_constraint(op.f('ck_account_tokens_purpose'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_account_tokens_purpose'), "purpose IN ('verify_email', 'password_reset')"
        )
