"""This machine as a client on its network sees it: for tests of what only loopback may do.

The kiosk screen and ``/metrics`` are refused to anyone but this machine, so their tests need
a real socket from a non-loopback address. Every machine the suite runs on (these and CI) has
one; a machine without it fails with that reason rather than skipping the refusal's test.
"""

from __future__ import annotations

import socket


def lan_address() -> str:
    """This machine's address on its network (a route lookup: no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            address = str(probe.getsockname()[0])
        except OSError:
            address = ""
    assert address and not address.startswith("127.") and address != "0.0.0.0", (
        "this test needs a network address besides loopback (what is refused over it)"
    )
    return address
