"""After each GraphQL operation: an API key's use goes to ``api_key_usage``, and any permission
denial to the audit trail, in one small write."""

from __future__ import annotations

from boka.db import Database
from boka.identity.api_keys import record_key_use
from boka.identity.audit import AuthEvent, log_event
from boka.identity.devices import DeviceInfo
from boka.identity.principal import Principal
from boka.models.types import utcnow


async def record_operation(
    database: Database, principal: Principal, *, operation: str | None, success: bool,
    denials: list[str], device: DeviceInfo,
) -> None:
    if principal.api_key is None and not denials:
        return
    tenant_id = principal.tenant.id if principal.tenant else None
    async with database.transaction(tenant_id, write=True) as db:
        if principal.api_key is not None and tenant_id is not None:
            await record_key_use(
                db, key_id=principal.api_key.id, tenant_id=tenant_id, operation=operation,
                success=success, ip_address=device.ip_address, now=utcnow(),
            )
        if denials:
            log_event(
                db, AuthEvent.PERMISSION_DENIED, origin=device, success=False,
                user_id=principal.actor_user_id, tenant_id=tenant_id,
                api_key_id=principal.api_key.id if principal.api_key else None,
                reason=denials[0], details={"operation": operation, "denials": denials[:10]},
            )
