"""Where webhooks may go. An endpoint URL is chosen by a tenant, so without a check Boka could
be made to POST into its own network (the database's admin port, a cloud metadata service).
Unless BOKA_WEBHOOK_ALLOW_PRIVATE_TARGETS is on, every address the host resolves to must be
a public one, checked right before each delivery (and for IP literals when the endpoint is
saved). A name that resolves differently between the check and the connection (DNS
rebinding) is not covered; pinning the checked address in the transport would close that."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


def _non_public(address: str) -> bool:
    return not ipaddress.ip_address(address.split("%", 1)[0]).is_global


def literal_private_host(url: str) -> bool:
    """True if the URL's host is an IP literal outside the public internet."""
    host = urlsplit(url).hostname or ""
    try:
        return _non_public(host)
    except ValueError:
        return False  # a name: checked when delivering


async def refused_target(url: str, *, allow_private: bool) -> str | None:
    """Why Boka will not POST to ``url`` now, or None if it may."""
    if allow_private:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        return f"cannot resolve {host}: {error}"
    if not infos or any(_non_public(str(info[4][0])) for info in infos):
        return f"refused: {host} resolves to a non-public address"
    return None
