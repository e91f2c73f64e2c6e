"""Row level security (PostgreSQL): each tenant-owned table shows and accepts only the rows of
the transaction's tenant (``app.tenant_id``), or of all tenants with the explicit opt-in
``app.all_tenants = 'on'``; with neither set, nothing. ENABLEd and FORCEd, so the policy binds
the tables' owner too (only superusers and BYPASSRLS roles escape it: the app connects as
neither). See boka/rls.py for what the policies are now.

Not under RLS, on purpose, because they are global rather than tenant-owned:
- ``tenants``: the tenant registry itself (looked up by slug/domain before a tenant is known);
- ``users``: an account is one person across every tenant they belong to;
- ``user_sessions``: a session belongs to its user; its tenant_id only records where it began
  and a session is resolved from its token before the tenant is trusted.

SQLite (embedded mode) is unchanged: there, the application's own tenant filters apply.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from frozen_rls_0004 import disable_tenant_isolation, enable_tenant_isolation

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table with a tenant_id column as of 0003, except user_sessions (see above).
TENANT_OWNED_TABLES = (
    "tenant_users",
    "services",
    "staff_members",
    "staff_services",
    "resources",
    "service_resources",
    "weekly_hours",
    "schedule_overrides",
    "time_off",
    "customers",
    "bookings",
    "booking_resources",
    "class_seats",
    "booking_history",
    "pricing_rules",
    "discount_codes",
    "discount_redemptions",
)


def upgrade() -> None:
    enable_tenant_isolation(*TENANT_OWNED_TABLES)


def downgrade() -> None:
    disable_tenant_isolation(*TENANT_OWNED_TABLES)
