"""Turning a request's credentials and tenant hint into a Principal."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from boka.db import Database, scope_to_tenant
from boka.identity.api_keys import find_live_key, looks_like_api_key, principal_for_key
from boka.identity.cache import IdentityCache, api_key_key, session_key, tenant_key
from boka.identity.policy import IdentityPolicy
from boka.identity.principal import Principal
from boka.identity.sessions import (
    LAST_SEEN_RESOLUTION,
    ActiveSession,
    find_active_session,
    touch_session,
)
from boka.identity.suspension import refuse_if_suspended
from boka.identity.tenant_policy import restriction_for
from boka.identity.tokens import token_digest
from boka.models.tenancy import Tenant
from boka.models.types import utcnow
from boka.tenancy import find_tenant, find_tenant_by_domain


@dataclass(frozen=True)
class _SeenSession:
    """A live session as cached, with the last-seen time this process last wrote."""

    active: ActiveSession
    last_seen_at: datetime


async def resolve_principal(
    database: Database,
    policy: IdentityPolicy,
    *,
    credential: str | None,
    tenant_header: str | None,
    host: str | None,
    ip_address: str | None,
    cache: IdentityCache | None = None,
) -> Principal:
    """``_resolve`` (below), refused with TENANT_SUSPENDED when the tenant is suspended and the
    principal is not a superadmin (boka/identity/suspension.py). The tenant row comes from the
    identity cache, which every commit that changes a tenant clears: a suspension holds from
    the next request on, in every process."""
    def resolve() -> Awaitable[Principal]:
        return _resolve(database, policy, credential=credential, tenant_header=tenant_header,
                        host=host, ip_address=ip_address, cache=cache)

    if cache is None:
        return refuse_if_suspended(await resolve())
    # Callers with the same credentials at the same moment share one resolution.
    return refuse_if_suspended(await cache.read_once(
        ("principal", credential, tenant_header, host, ip_address), resolve))


async def _resolve(
    database: Database,
    policy: IdentityPolicy,
    *,
    credential: str | None,
    tenant_header: str | None,
    host: str | None,
    ip_address: str | None,
    cache: IdentityCache | None = None,
) -> Principal:
    """Who the request is from and which tenant it is for; anonymous if the credential is not
    live. The credential is a session token or an API key (``bkk_…``); a dead API key or one
    used for another tenant raises (UNAUTHENTICATED / FORBIDDEN on every field).

    The tenant comes from the X-Tenant header (slug, domain or id) or else the Host's name.
    Naming a tenant that does not exist in X-Tenant is remembered, so tenant-scoped operations
    can answer NOT_FOUND; an unknown host simply means "no tenant". An API key with no tenant
    named acts in its own.

    Answers come from ``cache`` where it has them (boka/identity/cache.py), else from one
    transaction for whatever it lacks.
    """
    cache = cache or IdentityCache(ttl=0)
    generation = cache.generation
    is_api_key = bool(credential) and looks_like_api_key(credential or "")
    wants_session = bool(credential) and not is_api_key
    hint = tenant_header.strip().lower() if tenant_header and tenant_header.strip() else None
    domain = host.split(":", 1)[0].strip().lower() if host and hint is None else None
    where = tenant_key("hint", hint) if hint else tenant_key("domain", domain) if domain else None

    tenant_known, tenant = cache.get(where) if where else (True, None)
    now = utcnow()
    seen: _SeenSession | None = None
    session_known = not wants_session
    if wants_session and tenant_known:
        seen, session_known = _cached_session(cache, credential or "", tenant, now, policy)
    if not (tenant_known and session_known):
        async with database.transaction() as db:
            if not tenant_known:
                tenant = await _find_tenant(db, hint, domain)
                if where:
                    cache.put(where, tenant, generation)
            if wants_session:
                seen, session_known = _cached_session(cache, credential or "", tenant, now, policy)
            if wants_session and not session_known:
                await scope_to_tenant(db, tenant.id if tenant else None)  # the membership is tenant-owned
                active = await find_active_session(
                    db, credential or "", tenant.id if tenant else None, idle=policy.session_idle
                )
                if active is not None:
                    seen = _SeenSession(active, active.session.last_seen_at)
                    cache.put(session_key(token_digest(credential or ""), tenant.id if tenant else None),
                              seen, generation)
    unknown_tenant = hint if hint and tenant is None else None
    if credential and is_api_key and unknown_tenant is None:
        return await _principal_for_api_key(database, cache, credential, tenant if hint else None)
    if seen is None:
        return Principal.build(
            user=None, session_id=None, tenant=tenant, role=None, unknown_tenant=unknown_tenant
        )
    found = seen.active
    if now - seen.last_seen_at >= LAST_SEEN_RESOLUTION:
        generation = cache.generation
        async with database.transaction(write=True) as db:
            await touch_session(db, found.session.id)
        cache.put(session_key(token_digest(credential or ""), tenant.id if tenant else None),
                  _SeenSession(found, now), generation)
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


def _cached_session(
    cache: IdentityCache, token: str, tenant: Tenant | None, now: datetime, policy: IdentityPolicy
) -> tuple[_SeenSession | None, bool]:
    """(the cached live session, whether the cache answered). Liveness in time is checked
    here, on every use: an entry whose session has since expired or idled out is dropped."""
    key = session_key(token_digest(token), tenant.id if tenant else None)
    known, seen = cache.get(key)
    if not known:
        return None, False
    if seen.active.session.expires_at <= now or seen.last_seen_at <= now - policy.session_idle:
        cache.forget(key)
        return None, False
    return seen, True


async def _find_tenant(db: AsyncSession, hint: str | None, domain: str | None) -> Tenant | None:
    if hint:
        return await find_tenant(db, hint)
    if domain:
        return await find_tenant_by_domain(db, domain)
    return None


async def _principal_for_api_key(
    database: Database, cache: IdentityCache, credential: str, requested: Tenant | None
) -> Principal:
    key = api_key_key(token_digest(credential))
    known, live = cache.get(key)
    now = utcnow()
    if not known or (live.expires_at is not None and live.expires_at <= now):
        generation = cache.generation
        # A key is found by its digest before anyone knows its tenant: authentication is the one
        # reader of api_keys that must look across tenants.
        async with database.transaction(all_tenants=True) as db:
            live = await find_live_key(db, credential, now)
        if live is not None:
            cache.put(key, live, generation)
    return principal_for_key(live, requested)

