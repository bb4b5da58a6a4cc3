"""Which pages may open the chat's websocket, and by which names the service may be reached.

Browsers let any page open a websocket to any address (no same-origin rule applies to
sockets), so the server must look itself: ``Origin`` says which page opened the socket,
``Host`` which name the browser resolved. Two attacks are stopped here:

* cross-site websocket hijacking: a page on another site (or a sandboxed frame, ``null``)
  scripting the kiosk's socket: its ``Origin`` is not one of ours;
* DNS rebinding: an attacker's name re-pointed at 127.0.0.1: its ``Host`` (and the page's
  ``Origin``) is a name we do not know.

Our own origins: the configured public address, the bind address and localhost, 127.0.0.1
and ``[::1]`` with the port the connection arrived on. A page served by us under an IP
address (a server bound to every interface, reached by its LAN address) is same-origin:
its ``Origin`` equals its ``Host``, and an IP literal cannot be rebound, so it is let in.

A socket without ``Origin`` is let in: every browser sends one on a websocket, so only
tools (tests, the bench, a script on the machine) arrive without, and they cannot carry a
visitor's browser. A request without ``Host`` (HTTP/1.0 tools) likewise.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")  # noqa: S104 - names of a bind address
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _bracketed(host: str) -> str:
    """An IPv6 address as it appears in a URL or a Host header."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _split(netloc: str, scheme: str = "http") -> tuple[str, int] | None:
    """``host:port`` as a lower-case host (IPv6 bracketed) and a port, or None if malformed."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port or DEFAULT_PORTS.get(scheme, 80)
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return _bracketed(parts.hostname.lower()), port


class OriginPolicy:
    """The service's own origins and names; ``refusal`` says why a socket is not ours."""

    def __init__(self, public_base_url: str, bind_host: str) -> None:
        self._public: tuple[str, str, int] | None = None
        if public_base_url:
            parts = urlsplit(public_base_url.rstrip("/"))
            split = _split(parts.netloc, parts.scheme)
            if split is not None:
                self._public = (parts.scheme.lower(), *split)
        host = bind_host.strip().lower()
        self._names = {*LOOPBACK_NAMES}
        if host not in WILDCARD_HOSTS:
            self._names.add(_bracketed(host))

    def _known_host(self, host: str, port: int) -> bool:
        """A name the service answers to, on the port the connection came in on."""
        split = _split(host)
        if split is None:
            return False
        name, asked_port = split
        if self._public is not None and name == self._public[1]:
            # behind a proxy the browser's Host leaves out the default port of the scheme
            explicit = urlsplit(f"http://{host}").port
            return explicit is None or explicit == self._public[2]
        if _is_ip_literal(name):
            return True  # nobody can re-point an address at us: not a rebinding
        return name in self._names and asked_port == port

    def _own_origin(self, origin: str, host: str | None, port: int) -> bool:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https"):
            return False
        split = _split(parts.netloc, parts.scheme)
        if split is None:
            return False
        name, origin_port = split
        if self._public is not None and (parts.scheme, name, origin_port) == self._public:
            return True
        if name in self._names and origin_port == port:
            return True
        # A page we served under the name the browser used (an IP literal, checked below).
        return host is not None and _split(host) == split and _is_ip_literal(name)

    def refusal(self, *, origin: str | None, host: str | None, port: int) -> str | None:
        """Why a websocket with these headers is refused, or None when it is ours."""
        if host is not None and not self._known_host(host, port):
            return f"unknown Host {host[:80]!r}"
        if origin is not None and not self._own_origin(origin, host, port):
            return f"foreign Origin {origin[:80]!r}"
        return None
