"""The machine's address on the local network, for links a phone can open.

Out of the box the server's links and QR codes named ``127.0.0.1``, which on a phone is the
phone itself. The address other devices reach this machine at is the source address of its
route outwards: a UDP socket ``connect``\\ ed to an outside address learns it from the kernel's
routing table without sending a packet. No route (an offline machine with only loopback) means
no LAN address, and links stay on the bound host.
"""

from __future__ import annotations

import ipaddress
import socket

# Outside addresses only asked for a route (nothing is sent): a public one, then the private
# ranges' far ends for a network with no default route.
_PROBES = ("192.0.2.1", "10.255.255.254", "172.31.255.254", "192.168.255.254")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "[::]", ""})


def lan_address() -> str | None:
    """This machine's IPv4 address on its network, or None when it has none but loopback."""
    for target in _PROBES:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((target, 9))
                address = ipaddress.ip_address(probe.getsockname()[0])
            except (OSError, ValueError):
                continue
        if not (address.is_loopback or address.is_link_local or address.is_unspecified):
            return str(address)
    return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine."""
    host = host.strip().lower()
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
