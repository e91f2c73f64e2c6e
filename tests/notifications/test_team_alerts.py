"""Team alerts: the people who run the business hear of what needs them, once."""

from __future__ import annotations

from boka.models.tenancy import Role
from boka.notifications.delivery import Outcome
from boka.notifications.team_alerts import TeamAlert, send_team_alert
from tests.notifications.servers import SmtpServer
from tests.support import World


async def test_an_alert_reaches_the_roles_it_is_for_once(world: World, smtp: SmtpServer) -> None:
    tenant = await world.tenant("salon")
    await world.person(tenant, Role.OWNER, email="olivia@example.com")
    await world.person(tenant, Role.MANAGER, email="max@example.com")
    await world.person(tenant, Role.STAFF, email="sam@example.com")
    await world.person(await world.tenant("other"), Role.OWNER, email="elsewhere@example.com")
    alert = TeamAlert(key="event-1", title="Many failed sign-ins came from one address",
                      details="From address 203.0.113.66.", roles=frozenset({Role.OWNER}))

    first = await send_team_alert(world.runtime, tenant.id, alert)
    again = await send_team_alert(world.runtime, tenant.id, alert)

    assert first == {"olivia@example.com": Outcome.SENT}
    assert again == {"olivia@example.com": Outcome.ALREADY_HANDLED}
    [mail] = smtp.sink.received
    assert mail.recipients == ["olivia@example.com"]
    assert mail.subject == "Salon: Many failed sign-ins came from one address"
    assert "203.0.113.66" in mail.text
