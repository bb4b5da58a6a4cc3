"""Audio pacing for the web chat: a page may send audio at most at real time plus a small
burst, per socket and per address, and what is over the allowance is refused, not queued."""

from __future__ import annotations

from channels.web.pacing import BYTES_PER_SECOND, AddressAllowances, AudioAllowance, AudioPacing


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_socket_may_send_real_time_plus_the_burst_and_no_more() -> None:
    clock = Clock()
    allowance = AudioAllowance(rate=1.0, burst=2.0, clock=clock)
    assert allowance.take(2.0)  # the burst at once
    assert not allowance.take(0.1)  # nothing more until time passes
    clock.now += 1.0
    assert allowance.take(1.0) and not allowance.take(0.03)
    clock.now += 60.0  # a long pause refills only up to the burst
    assert allowance.take(2.0) and not allowance.take(0.03)
    clock.now += 2.0  # a frame longer than the burst fits a full bucket, which then owes
    assert allowance.take(2.048) and not allowance.take(0.03)
    clock.now += 2.0
    assert not allowance.take(2.0) and allowance.take(1.9)


def test_time_spent_recognising_is_credited_so_a_real_time_stream_is_not_refused() -> None:
    """While the server recognised an utterance it did not read the socket; the audio the
    page sent meanwhile arrives at once afterwards and is still real time."""
    clock = Clock()
    allowance = AudioAllowance(rate=1.0, burst=2.0, clock=clock)
    assert allowance.take(2.0)
    clock.now += 5.0
    allowance.credit(5.0)
    assert allowance.take(5.0) and allowance.take(2.0)  # the backlog, then the burst
    assert not allowance.take(0.1)
    clock.now += 0.5
    assert allowance.take(0.5) and not allowance.take(0.1)  # the credit does not last


def test_sockets_from_one_address_share_its_allowance() -> None:
    clock = Clock()
    addresses = AddressAllowances(burst=2.0, streams=1.0, clock=clock)
    first = AudioPacing(addresses, "10.0.0.7", burst=2.0, clock=clock)
    second = AudioPacing(addresses, "10.0.0.7", burst=2.0, clock=clock)
    other = AudioPacing(addresses, "10.0.0.8", burst=2.0, clock=clock)
    assert first.take(int(1.5 * BYTES_PER_SECOND))
    assert not second.take(BYTES_PER_SECOND)  # its own allowance is full, the address's not
    assert other.take(2 * BYTES_PER_SECOND)  # another address has its own
    first.close()
    second.close()
    assert "10.0.0.7" not in addresses.buckets  # forgotten when its last socket goes
    other.close()


def test_refusals_are_answered_once_per_streak() -> None:
    clock = Clock()
    pacing = AudioPacing(AddressAllowances(burst=2.0, streams=1.0, clock=clock), "a", 2.0, clock)
    answered = [pacing.refused() for _ in range(50)]
    assert answered == [True] + [False] * 49
    clock.now += 10.0  # a later streak is answered again
    assert pacing.refused()
