"""Row level security as migrations 0004 to 0013 applied it (boka/rls.py at 751fb6b, before
migration 0014): one tenant policy per table whose predicate also admits every row when the
transaction sets ``app.all_tenants = 'on'``.

Frozen: migrations are history, so they must not change when boka/rls.py does. Never edit this
module; a later change to the policies is a new migration (with a frozen module of its own if it
needs one, as 0014 has). Loaded by migrations through ``prepend_sys_path`` in alembic.ini.
"""

from __future__ import annotations

from alembic import op

POLICY_NAME = "tenant_isolation"
TENANT_PREDICATE = (
    "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
    " OR current_setting('app.all_tenants', true) = 'on'"
)
TENANT_OR_ACCOUNT_PREDICATE = (
    "(tenant_id IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') IS NULL)"
    f" OR {TENANT_PREDICATE}"
)


def _quote(table: str) -> str:
    return '"' + table.replace('"', '""') + '"'


def enable_tenant_isolation(*tables: str, account_rows: bool = False) -> None:
    """Put the tenant policy on each of ``tables`` (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    predicate = TENANT_OR_ACCOUNT_PREDICATE if account_rows else TENANT_PREDICATE
    for table in tables:
        name = _quote(table)
        op.execute(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY")
        op.execute(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {name}")
        op.execute(f"CREATE POLICY {POLICY_NAME} ON {name} AS PERMISSIVE FOR ALL "
                   f"USING ({predicate}) WITH CHECK ({predicate})")


def disable_tenant_isolation(*tables: str) -> None:
    """Take the tenant policy off each of ``tables`` (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        name = _quote(table)
        op.execute(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {name}")
        op.execute(f"ALTER TABLE {name} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {name} DISABLE ROW LEVEL SECURITY")
