"""Row level security on PostgreSQL: every tenant-owned table shows and accepts only the rows of
the transaction's tenant.

A transaction names its tenant with ``set_config('app.tenant_id', '<uuid>', true)`` (a
``SET LOCAL``: it ends with the transaction, so a pooled connection never carries it over), which
``Database.transaction(tenant_id)`` does. Work that must see every tenant (a superadmin listing,
the outbox relay, scheduled jobs scanning all tenants, migrations) opts in explicitly with
``app.all_tenants = 'on'`` (``Database.transaction(all_tenants=True)``), and that switch works
only for members of the group role ``boka_all_tenants`` (a policy of its own, ``TO`` that
role): the role that serves tenant requests is not one, so in its transactions the setting
changes nothing (issue 12 item 10). ``Database`` runs all-tenant transactions on a connection
of the second, background role (``BOKA_BACKGROUND_DATABASE_URL``, see boka/dbroles.py).
Anything else sees nothing and may write nothing: an unset setting reads as NULL, and once a connection has used it
and the transaction ended it reads as '' (not NULL), which must not be cast to uuid, hence the
NULLIF.

The policy is FORCEd, so it binds the tables' owner too (superusers and roles with BYPASSRLS
are never bound; the app must connect as neither). Referential integrity checks, unique and
exclusion constraints are not filtered by policies: they see every tenant's rows.

A migration that creates a tenant-owned table calls ``enable_tenant_isolation`` for it (and
``disable_tenant_isolation`` on downgrade) from the frozen copy of this SQL it was written
against, ``alembic/frozen/frozen_rls_<revision>.py`` (migrations never import boka, so editing this
module never rewrites history). The newest frozen copy must produce what
:func:`tenant_isolation_statements` does (tests/test_migrations.py): changing the policies here
takes a migration that applies them and a new frozen copy. tests/test_row_level_security.py
fails for any table with a ``tenant_id`` column that lacks the policy.
"""

from __future__ import annotations

TENANT_SETTING = "app.tenant_id"
ALL_TENANTS_SETTING = "app.all_tenants"
POLICY_NAME = "tenant_isolation"
ALL_TENANTS_POLICY_NAME = "all_tenants"
# The group role whose members' transactions may see every tenant (with the setting on). Cluster
# wide, created by the first migration that needs it; membership is granted per deployment.
ALL_TENANTS_ROLE = "boka_all_tenants"

# Tables that have a tenant_id column yet are global, each with the reason. Every other table
# with a tenant_id column must carry the policy (tests/test_row_level_security.py checks).
GLOBAL_TABLES_WITH_TENANT_ID = {
    "user_sessions": "a session is its user's; tenant_id only records where it began",
    "mfa_challenges": "a half-finished sign-in is its user's; tenant_id only records where it began",
}

# The rows a transaction may see and write: its own tenant's.
TENANT_PREDICATE = f"tenant_id = NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid"
# ... or, for members of ALL_TENANTS_ROLE only, every row with the explicit opt-in.
ALL_TENANTS_PREDICATE = f"current_setting('{ALL_TENANTS_SETTING}', true) = 'on'"

# Creates the group role if it is missing (concurrent creators tolerated) and makes the
# migrating role a member unless it is a superuser (which no policy binds anyway), so that
# migrations that touch rows of every tenant still see them.
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


# For tables whose rows may belong to no tenant (account-level entries of the audit trail):
# such rows are seen and written only by transactions scoped to no tenant, never from inside
# a tenant's transaction.
TENANT_OR_ACCOUNT_PREDICATE = (
    f"(tenant_id IS NULL AND NULLIF(current_setting('{TENANT_SETTING}', true), '') IS NULL)"
    f" OR {TENANT_PREDICATE}"
)


def tenant_isolation_statements(table: str, *, account_rows: bool = False) -> list[str]:
    """The SQL that puts the tenant policy on ``table`` (which has a ``tenant_id uuid`` column).
    ``account_rows``: rows with a NULL tenant_id exist and belong to transactions scoped to no
    tenant. Idempotent: running it twice leaves one policy."""
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


def remove_tenant_isolation_statements(table: str) -> list[str]:
    name = _quote(table)
    return [
        f"DROP POLICY IF EXISTS {ALL_TENANTS_POLICY_NAME} ON {name}",
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {name}",
        f"ALTER TABLE {name} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {name} DISABLE ROW LEVEL SECURITY",
    ]
