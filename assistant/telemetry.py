"""The telemetry port: what the service counts and times, told as it happens.

The core (the dialog manager, the generation queue, recognition, the language model) and the
channels report through this small protocol and never see how it is kept: the composition
root hands in ``ServiceMetrics`` (``assistant/metrics.py``, Prometheus), tests and tools that
want nothing counted get ``NO_TELEMETRY``. Every method is cheap and never raises, so a
measurement can sit on a hot path (one call per turn) without a guard around it.
"""

from __future__ import annotations

from typing import Protocol

from assistant.errors import AssistantError

UNEXPECTED = "internal"  # the code counted for an exception that carries none


class Telemetry(Protocol):
    """Where measurements go; labels are small fixed vocabularies (channels, states, codes)."""

    def turn(self, channel: str, state: str, seconds: float) -> None:
        """One turn applied: its channel, the state it was taken in, and how long it took."""
        ...

    def generation(self, outcome: str, code: str, seconds: float) -> None:
        """One generation task ended: ``delivered``, ``failed`` (with its error code) or
        ``discarded`` (cancelled while built), and how long it was built for."""
        ...

    def recognition(self, engine: str, language: str, confidence: float, seconds: float) -> None:
        """One utterance recognised: by which engine, in which language, how sure, how fast."""
        ...

    def model_call(
        self, model: str, outcome: str, seconds: float, prompt_tokens: int, output_tokens: int
    ) -> None:
        """One language model call: ``ok`` or its error code, its time and its tokens."""
        ...

    def connections(self, channel: str, change: int) -> None:
        """A channel's open sockets went up or down by ``change``."""
        ...

    def error(self, code: str) -> None:
        """An error with a stable code happened (``errors.py``), whatever part saw it."""
        ...


class NoTelemetry:
    """Counts nothing: the default where no service wired a registry."""

    def turn(self, channel: str, state: str, seconds: float) -> None:
        """Nothing is kept."""

    def generation(self, outcome: str, code: str, seconds: float) -> None:
        """Nothing is kept."""

    def recognition(self, engine: str, language: str, confidence: float, seconds: float) -> None:
        """Nothing is kept."""

    def model_call(
        self, model: str, outcome: str, seconds: float, prompt_tokens: int, output_tokens: int
    ) -> None:
        """Nothing is kept."""

    def connections(self, channel: str, change: int) -> None:
        """Nothing is kept."""

    def error(self, code: str) -> None:
        """Nothing is kept."""


NO_TELEMETRY: Telemetry = NoTelemetry()


def error_code(err: BaseException) -> str:
    """The stable code of an error (``internal`` for one raised by accident)."""
    return err.code if isinstance(err, AssistantError) else UNEXPECTED
