"""Who is at the other end of a socket: its own address, never what a header claims.

The kiosk screen shows the current person's code and QR code; only the kiosk machine itself
(or a screen given the configured token) may watch it. A proxy's ``X-Forwarded-For`` or a
``Forwarded`` header is written by whoever sends the request, so only the transport's peer
counts, and a request that came through a proxy is not local at all. That holds behind a
trusted proxy too (``trusted_proxies``): the address it forwards counts for limits and the
audit log (``assistant/client_address.py``), but watching people's codes is a privilege, and
a privilege never rests on a header.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web

# Headers a reverse proxy adds: behind one on the same machine every client's connection
# comes from 127.0.0.1, so such a request is never taken for the kiosk machine itself.
_PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def peer_host(request: web.Request) -> str:
    """The address of the client connected to us ("" when unknown, or when a proxy forwarded
    the request: then the connection is the proxy's, not the client's). A header can only
    make a request less trusted, never more."""
    if any(name in request.headers for name in _PROXY_HEADERS):
        return ""
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return ""


def is_loopback(address: str) -> bool:
    """Whether ``address`` is this machine (127.0.0.0/8, ::1, or IPv4 mapped into IPv6)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback
