"""A steady overall rate of turns from many users, and what the turns took, for the load
benchmarks (``scripts/bench_web.py`` against one server, ``scripts/bench_cluster.py`` through
nginx to a cluster).

Each user sends one turn per ``interval`` (users ÷ rate seconds), and the users' first turns
are spread evenly over one interval, so the sum is the rate without bursts. A user that falls
behind (a slow reply, a reconnect) sends at once until it is back on its own schedule, as
bench_web always did. Turns per second are counted over the turns' own window (the first
answer sent to the last reply received), not the wait for generation after them.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Pace:
    """When each user sends: the loop time of user ``number``'s first turn, then every
    ``interval`` seconds."""

    start_at: float
    interval: float
    users: int

    @classmethod
    def steady(cls, users: int, rate: float, start_at: float) -> Pace:
        """``users`` together at ``rate`` turns per second, from loop time ``start_at``."""
        return cls(start_at=start_at, interval=users / rate, users=users)

    def first_turn_at(self, number: int) -> float:
        """User ``number``'s first turn, its place in the first interval."""
        return self.start_at + self.interval * number / self.users


@dataclass
class TurnTimes:
    """Every turn's latency (sent → its replies) and every confirm → delivery, in seconds."""

    turns: list[float] = field(default_factory=list)
    sent: list[float] = field(default_factory=list)  # when each of ``turns`` was sent
    deliveries: list[float] = field(default_factory=list)
    first_sent: float = float("inf")  # the window of turns: first answer sent...
    last_reply: float = float("-inf")  # ...to the last reply received

    def answered(self, sent: float, received: float) -> None:
        """One turn: sent at ``sent``, its replies at ``received`` (loop times)."""
        self.turns.append(received - sent)
        self.sent.append(sent)
        self.first_sent = min(self.first_sent, sent)
        self.last_reply = max(self.last_reply, received)

    def p99_ms(self, since: float = float("-inf"), until: float = float("inf")) -> float:
        """p99 (ms) of the turns sent in ``[since, until)`` (loop times): one phase of a run."""
        chosen = [
            took for took, at in zip(self.turns, self.sent, strict=True) if since <= at < until
        ]
        if len(chosen) < 2:
            return float("nan")
        return statistics.quantiles(chosen, n=100, method="inclusive")[98] * 1000

    def figures(self) -> dict[str, float]:
        """Turns, turns per second, latency p50/p99/max and delivery p50 (ms)."""
        turns, nan = self.turns, float("nan")
        elapsed = self.last_reply - self.first_sent
        return {
            "turns": len(turns),
            "turns_per_second": len(turns) / elapsed if turns and elapsed > 0 else nan,
            "p50_ms": statistics.median(turns) * 1000 if turns else nan,
            "p99_ms": statistics.quantiles(turns, n=100, method="inclusive")[98] * 1000
            if len(turns) > 1
            else nan,
            "max_ms": max(turns) * 1000 if turns else nan,
            "delivery_p50_ms": statistics.median(self.deliveries) * 1000
            if self.deliveries
            else nan,
        }
