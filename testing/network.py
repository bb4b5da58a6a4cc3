"""This machine as a client on its network sees it: for tests of what only loopback may do.

The kiosk screen and ``/metrics`` are refused to anyone but this machine, so their tests need
a real socket from a non-loopback address. Every machine the suite runs on (these and CI) has
one; a machine without it fails with that reason rather than skipping the refusal's test.
"""

from __future__ import annotations

from assistant import net


def lan_address() -> str:
    """This machine's address on its network (a route lookup: no packet is sent)."""
    address = net.lan_address()
    assert address, "this test needs a network address besides loopback (what is refused over it)"
    return address
