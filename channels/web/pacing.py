"""Audio pacing for the web chat: a page may stream audio at real time plus a small burst.

A person speaks in real time, so a page never needs to send audio faster than that for long;
a client streaming as fast as TCP allows would otherwise hand the voice activity detector and
the recogniser minutes of audio a second and starve every other user. Each socket has a token
bucket counted in seconds of audio, and so has its remote address (its sockets share it), so
opening more sockets does not buy more. Audio over either allowance is refused (dropped, not
queued); the connection answers the first refusal of a streak with one sentence.

Several instances (``redis_url``) each keep their own buckets, so an address with sockets on
two instances would get twice its streams: there the address's audio is also counted in a
window shared through Redis (``WindowCounter``), reported every ``REPORT_S`` of audio, and
refused while the address's total over ``SHARED_WINDOW_S`` exceeds its streams in real time
plus their burst.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.cluster.ports import WindowCounter
from assistant.speech.audio import SAMPLE_RATE, SAMPLE_WIDTH

BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_WIDTH  # 32,000: 16 kHz, 16-bit, mono
STREAK_GAP = 2.0  # seconds without a refusal that end a refusal streak
REPORT_S = 0.5  # audio counted here before it is added to the shared window (one request)
SHARED_WINDOW_S = 10.0  # the shared window over every instance


class AudioAllowance:
    """A token bucket in seconds of audio: ``burst`` at once, then ``rate`` per second."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self.at = clock()
        self._ceiling = burst  # above the burst only by credit (see ``credit``)

    def _refill(self) -> None:
        now = self.clock()
        self._ceiling = max(self.burst, min(self._ceiling, self.tokens))
        self.tokens = min(self._ceiling, self.tokens + (now - self.at) * self.rate)
        self.at = now

    def has(self, seconds: float) -> bool:
        """Whether ``seconds`` of audio fit now (nothing is taken). A frame longer than the
        burst fits a full bucket, and leaves it owing the rest."""
        self._refill()
        return self.tokens >= min(seconds, self.burst)

    def take(self, seconds: float) -> bool:
        """Take ``seconds`` of audio from the allowance, or refuse it whole."""
        if not self.has(seconds):
            return False
        self.tokens -= seconds
        return True

    def credit(self, seconds: float) -> None:
        """Time the server spent not reading the socket (recognising, answering): the audio
        the page went on sending meanwhile was real time, and arrives all at once after."""
        self._refill()
        self.tokens += seconds * self.rate
        self._ceiling = max(self._ceiling, self.tokens)


@dataclass
class AddressAllowances:
    """One shared allowance per remote address, forgotten when its last socket closes."""

    burst: float
    streams: float  # real-time streams one address may send at once
    clock: Callable[[], float] = time.monotonic
    shared: WindowCounter | None = None  # several instances: the address's audio in Redis
    buckets: dict[str, AudioAllowance] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)

    def join(self, remote: str) -> AudioAllowance:
        """The address's allowance, for one more socket."""
        bucket = self.buckets.get(remote)
        if bucket is None:
            bucket = AudioAllowance(self.streams, self.burst * self.streams, self.clock)
            self.buckets[remote] = bucket
        self.users[remote] = self.users.get(remote, 0) + 1
        return bucket

    def leave(self, remote: str) -> None:
        """One socket of the address closed."""
        left = self.users.get(remote, 0) - 1
        if left > 0:
            self.users[remote] = left
            return
        self.users.pop(remote, None)
        self.buckets.pop(remote, None)


class AudioPacing:
    """One socket's audio allowance and its address's, taken together."""

    def __init__(
        self,
        addresses: AddressAllowances,
        remote: str,
        burst: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.addresses = addresses
        self.remote = remote
        self.clock = clock
        self.own = AudioAllowance(1.0, burst, clock)
        self.shared = addresses.join(remote)
        self.last_refused = float("-inf")
        self._closed = False
        self._unreported = 0.0  # seconds taken here, not yet added to the shared window
        self._shared_open = True  # the shared window's last verdict

    def take(self, size: int) -> bool:
        """Take ``size`` bytes of audio from both allowances, or from neither."""
        seconds = size / BYTES_PER_SECOND
        if not (self.own.has(seconds) and self.shared.has(seconds)):
            return False
        self.own.take(seconds)
        self.shared.take(seconds)
        return True

    async def take_shared(self, size: int) -> bool:
        """Whether the address may go on by the window shared with the other instances (True
        with none): taken ``size`` bytes are counted, and added to it every ``REPORT_S``."""
        shared = self.addresses.shared
        if shared is None:
            return True
        self._unreported += size / BYTES_PER_SECOND
        # While refused, every frame asks again: the window may have moved on since.
        if self._unreported >= REPORT_S or not self._shared_open:
            amount, self._unreported = self._unreported, 0.0
            total = await shared.add(f"audio:{self.remote}", SHARED_WINDOW_S, amount)
            streams = self.addresses.streams
            self._shared_open = total <= streams * SHARED_WINDOW_S + self.addresses.burst * streams
        return self._shared_open

    def credit(self, seconds: float) -> None:
        """The server did not read this socket for ``seconds`` (see ``AudioAllowance``)."""
        self.own.credit(seconds)
        self.shared.credit(seconds)

    def refused(self) -> bool:
        """Note a refusal; True for the first of a streak, which is answered in words."""
        now = self.clock()
        first = now - self.last_refused > STREAK_GAP
        self.last_refused = now
        return first

    def close(self) -> None:
        """The socket is gone: its address's allowance loses one user."""
        if not self._closed:
            self._closed = True
            self.addresses.leave(self.remote)
