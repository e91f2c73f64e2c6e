"""Only members of the group role ``boka_all_tenants`` may switch a transaction to every
tenant (``app.all_tenants = 'on'``): the tenant policy loses its all-tenants branch, which
moves into a policy of its own ``TO boka_all_tenants`` (issue 12 item 10: the role serving
tenant requests could see every tenant with one ``SET LOCAL``). PostgreSQL only.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 20:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frozen_rls_0014 import (
    ALL_TENANTS_POLICY_NAME,
    ALL_TENANTS_PREDICATE,
    POLICY_NAME,
    TENANT_OR_ACCOUNT_PREDICATE,
    TENANT_PREDICATE,
    tenant_isolation_statements,
)

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _policed_tables() -> list[tuple[str, bool]]:
    """(table, has account rows) of every table carrying the tenant policy."""
    rows = op.get_bind().execute(
        sa.text("SELECT tablename, qual FROM pg_policies WHERE schemaname = current_schema() AND policyname = :name"),
        {"name": POLICY_NAME},
    )
    return [(table, "IS NULL" in (qual or "")) for table, qual in rows]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, account_rows in _policed_tables():
        for statement in tenant_isolation_statements(table, account_rows=account_rows):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, account_rows in _policed_tables():
        predicate = TENANT_OR_ACCOUNT_PREDICATE if account_rows else TENANT_PREDICATE
        predicate = f"{predicate} OR {ALL_TENANTS_PREDICATE}"
        op.execute(f'DROP POLICY IF EXISTS {ALL_TENANTS_POLICY_NAME} ON "{table}"')
        op.execute(f'DROP POLICY IF EXISTS {POLICY_NAME} ON "{table}"')
        op.execute(f'CREATE POLICY {POLICY_NAME} ON "{table}" AS PERMISSIVE FOR ALL '
                   f"USING ({predicate}) WITH CHECK ({predicate})")
