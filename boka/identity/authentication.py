"""Turning a request's credentials and tenant hint into a Principal."""

from __future__ import annotations

from boka.db import Database, scope_to_tenant
from boka.identity.api_keys import find_live_key, looks_like_api_key, principal_for_key
from boka.identity.policy import IdentityPolicy
from boka.identity.principal import Principal
from boka.identity.sessions import find_active_session, is_last_seen_stale, touch_session
from boka.identity.tenant_policy import restriction_for
from boka.models.tenancy import Tenant
from boka.models.types import utcnow
from boka.tenancy import find_tenant, find_tenant_by_domain


async def resolve_principal(
    database: Database,
    policy: IdentityPolicy,
    *,
    credential: str | None,
    tenant_header: str | None,
    host: str | None,
    ip_address: str | None,
) -> Principal:
    """Who the request is from and which tenant it is for; anonymous if the credential is not
    live. The credential is a session token or an API key (``bkk_…``); a dead API key or one
    used for another tenant raises (UNAUTHENTICATED / FORBIDDEN on every field).

    The tenant comes from the X-Tenant header (slug, domain or id) or else the Host's name.
    Naming a tenant that does not exist in X-Tenant is remembered, so tenant-scoped operations
    can answer NOT_FOUND; an unknown host simply means "no tenant". An API key with no tenant
    named acts in its own.
    """
    is_api_key = bool(credential) and looks_like_api_key(credential or "")
    found = None
    async with database.transaction() as db:
        tenant = None
        unknown_tenant = None
        if tenant_header and tenant_header.strip():
            hint = tenant_header.strip().lower()
            tenant = await find_tenant(db, hint)
            unknown_tenant = None if tenant else hint
        elif host:
            tenant = await find_tenant_by_domain(db, host.split(":", 1)[0].strip())
        if credential and not is_api_key:
            await scope_to_tenant(db, tenant.id if tenant else None)  # the membership is tenant-owned
            found = await find_active_session(db, credential, tenant.id if tenant else None, idle=policy.session_idle)
    if credential and is_api_key and unknown_tenant is None:
        return await _principal_for_api_key(database, credential, tenant if tenant_header else None)
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
        restriction=restriction_for(
            found.role, found.security, ip_address=ip_address,
            mfa_verified=found.session.mfa_verified_at is not None,
        ),
    )


async def _principal_for_api_key(database: Database, credential: str, requested: Tenant | None) -> Principal:
    # A key is found by its digest before anyone knows its tenant: authentication is the one
    # reader of api_keys that must look across tenants.
    async with database.transaction(all_tenants=True) as db:
        live = await find_live_key(db, credential, utcnow())
    return principal_for_key(live, requested)
