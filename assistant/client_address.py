"""Which address a request comes from, when a reverse proxy the operator trusts stands between.

The service counts by address: new sessions, wrong continuation codes, audio streams, staff
sign-in failures; the audit log says where staff acted from, and ``/metrics`` opens to this
machine. Behind nginx every connection comes from nginx, so all users would share one budget,
one careless guesser would lock out the staff console for everyone, and the audit log would
name the proxy (issue 17, "several instances").

A proxy says who its client was in ``X-Forwarded-For``, appending the address it saw to what
the client sent. Anyone can write that header, so it is believed only from a peer named in
``trusted_proxies``, and then only as far as trusted proxies vouch for it: walking from the
right (the entry the nearest proxy appended), past addresses that are themselves trusted
proxies, the first one that is not is the client. The left-most entry is whatever the client
wrote and is never taken on its own word; only when every entry is a trusted proxy is the
left-most the furthest hop known. An entry that is not an address ends the walk at the last
address a trusted proxy vouched for, so a forged string never becomes a budget of its own.

``forwarded_client`` is the one place this happens: a middleware that gives every handler
(the websocket's upgrade, the staff console's sign-in, the audit log) a request whose
``remote`` is the client. The kiosk screen does not take this address for the kiosk machine:
its check (``channels/web/peer.py``) is a privilege, and reads the socket's own peer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]

FORWARDED_FOR = "X-Forwarded-For"


def parse_address(text: str) -> Address | None:
    """An IP address as a header writes it (``203.0.113.7``, ``2001:db8::1``, with a port
    as ``203.0.113.7:4711`` or ``[2001:db8::1]:4711``), IPv4 mapped into IPv6 as IPv4; None
    for anything else."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class TrustedProxies:
    """The proxies whose ``X-Forwarded-For`` is believed (none by default)."""

    networks: tuple[Network, ...] = ()

    def trusts(self, address: Address) -> bool:
        """Whether ``address`` is one of the trusted proxies."""
        return any(address in network for network in self.networks)

    def client(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """The client's address: ``peer`` unless it is a trusted proxy, else the right-most
        address in ``forwarded_for`` (every such header, in order) that is not one."""
        peer_address = parse_address(peer)
        if peer_address is None or not self.trusts(peer_address):
            return peer
        entries = [entry for header in forwarded_for for entry in header.split(",")]
        client = peer_address
        for entry in reversed(entries):
            address = parse_address(entry)
            if address is None:
                break  # not an address: nothing left of it can be vouched for
            client = address
            if not self.trusts(address):
                break
        return str(client)


def forwarded_client(proxies: TrustedProxies) -> Middleware:
    """A middleware giving handlers a request whose ``remote`` is the client's address
    (``TrustedProxies.client``); the outermost one, so every other middleware sees it too."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = request.remote or ""
        client = proxies.client(peer, request.headers.getall(FORWARDED_FOR, ()))
        if client != peer:
            request = request.clone(remote=client)
        return await handler(request)

    return middleware
