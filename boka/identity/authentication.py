"""Turning a request's credentials and tenant hint into a Principal."""

from __future__ import annotations

from boka.db import Database, scope_to_tenant
from boka.identity.principal import Principal
from boka.identity.sessions import find_active_session, is_last_seen_stale, touch_session
from boka.tenancy import find_tenant, find_tenant_by_domain


async def resolve_principal(
    database: Database,
    *,
    token: str | None,
    tenant_header: str | None,
    host: str | None,
) -> Principal:
    """Who the request is from and which tenant it is for; anonymous if the token is not live.

    The tenant comes from the X-Tenant header (slug, domain or id) or else the Host's name.
    Naming a tenant that does not exist in X-Tenant is remembered, so tenant-scoped operations
    can answer NOT_FOUND; an unknown host simply means "no tenant".
    """
    async with database.transaction() as db:
        tenant = None
        unknown_tenant = None
        if tenant_header and tenant_header.strip():
            hint = tenant_header.strip().lower()
            tenant = await find_tenant(db, hint)
            unknown_tenant = None if tenant else hint
        elif host:
            tenant = await find_tenant_by_domain(db, host.split(":", 1)[0].strip())
        await scope_to_tenant(db, tenant.id if tenant else None)  # the membership is tenant-owned
        found = await find_active_session(db, token, tenant.id if tenant else None) if token else None
    if found is None:
        return Principal.build(
            user=None, session_id=None, tenant=tenant, role=None, unknown_tenant=unknown_tenant
        )
    if is_last_seen_stale(found.session):
        async with database.transaction(write=True) as db:
            await touch_session(db, found.session.id)
    return Principal.build(
        user=found.user,
        session_id=found.session.id,
        tenant=tenant,
        role=found.role,
        unknown_tenant=unknown_tenant,
    )
