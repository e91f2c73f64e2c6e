"""Row level security as migration 0014 and the migrations after it apply it (boka/rls.py at
63eea0c): the tenant policy admits the transaction's own tenant only, and a second policy,
``TO boka_all_tenants``, admits every row to members of that group role when the transaction
sets ``app.all_tenants = 'on'``. The group role is created (and the migrating role made a member
unless it is a superuser) by the first migration that needs it.

Frozen: migrations are history, so they must not change when boka/rls.py does. Never edit this
module; a later change to the policies is a new migration with a frozen module of its own.
Loaded by migrations through ``prepend_sys_path`` in alembic.ini.
"""

from __future__ import annotations

from alembic import op

POLICY_NAME = "tenant_isolation"
ALL_TENANTS_POLICY_NAME = "all_tenants"
ALL_TENANTS_ROLE = "boka_all_tenants"
TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
ALL_TENANTS_PREDICATE = "current_setting('app.all_tenants', true) = 'on'"
TENANT_OR_ACCOUNT_PREDICATE = (
    "(tenant_id IS NULL AND NULLIF(current_setting('app.tenant_id', true), '') IS NULL)"
    f" OR {TENANT_PREDICATE}"
)

ENSURE_ALL_TENANTS_ROLE = f"""
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ALL_TENANTS_ROLE}') THEN
    BEGIN
      CREATE ROLE {ALL_TENANTS_ROLE} NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND NOT pg_has_role(current_user, '{ALL_TENANTS_ROLE}', 'MEMBER') THEN
    EXECUTE format('GRANT {ALL_TENANTS_ROLE} TO %I', current_user);
  END IF;
END
$$"""


def _quote(table: str) -> str:
    return '"' + table.replace('"', '""') + '"'


def tenant_isolation_statements(table: str, *, account_rows: bool = False) -> list[str]:
    """The SQL that puts both policies on ``table``. Idempotent."""
    name = _quote(table)
    predicate = TENANT_OR_ACCOUNT_PREDICATE if account_rows else TENANT_PREDICATE
    return [
        ENSURE_ALL_TENANTS_ROLE,
        f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {name}",
        f"CREATE POLICY {POLICY_NAME} ON {name} AS PERMISSIVE FOR ALL "
        f"USING ({predicate}) WITH CHECK ({predicate})",
        f"DROP POLICY IF EXISTS {ALL_TENANTS_POLICY_NAME} ON {name}",
        f"CREATE POLICY {ALL_TENANTS_POLICY_NAME} ON {name} AS PERMISSIVE FOR ALL TO {ALL_TENANTS_ROLE} "
        f"USING ({ALL_TENANTS_PREDICATE}) WITH CHECK ({ALL_TENANTS_PREDICATE})",
    ]


def enable_tenant_isolation(*tables: str, account_rows: bool = False) -> None:
    """Put both policies on each of ``tables`` (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        for statement in tenant_isolation_statements(table, account_rows=account_rows):
            op.execute(statement)


def disable_tenant_isolation(*tables: str) -> None:
    """Take both policies off each of ``tables`` (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        name = _quote(table)
        op.execute(f"DROP POLICY IF EXISTS {ALL_TENANTS_POLICY_NAME} ON {name}")
        op.execute(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {name}")
        op.execute(f"ALTER TABLE {name} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {name} DISABLE ROW LEVEL SECURITY")
