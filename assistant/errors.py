"""Errors with stable codes.

Every failure the service can explain carries a machine-readable ``code`` (logged, sent over
the wire, stored in manifests) and a message meant for a person: staff for configuration and
job files, users only through the dialog's own phrases.
"""

from __future__ import annotations

from typing import Any


class AssistantError(Exception):
    """Base of every error the service raises on purpose."""

    code = "assistant_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_wire(self) -> dict[str, str]:
        """The form sent to channels and written to logs and manifests."""
        return {"code": self.code, "message": self.message}


class ConfigError(AssistantError):
    """A configuration value is missing, unknown or out of range; the message names the key."""

    code = "config_invalid"


class JobDefinitionError(AssistantError):
    """A job file in ``dialogs/jobs`` is broken; names the file, the field and the reason."""

    code = "job_invalid"

    def __init__(self, file: str, field: str, reason: str) -> None:
        super().__init__(f"{file}: {field}: {reason}")
        self.file = file
        self.field = field
        self.reason = reason


class LocaleError(AssistantError):
    """A phrase file in ``dialogs/locales`` is broken or lacks a phrase in one language."""

    code = "locale_invalid"


class InputError(AssistantError):
    """A turn or message from a channel cannot be used as it is (empty, too long, wrong type)."""

    code = "input_invalid"


class StoreError(AssistantError):
    """The session store could not read or write."""

    code = "store_failed"


class GenerationError(AssistantError):
    """An artifact could not be made; the user hears a plain sentence, staff read this.

    ``details`` (for example the checks that ran) goes into the failed artifact's manifest.
    """

    code = "generation_failed"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.details = details or {}


class LanguageModelError(AssistantError):
    """The language model could not help: ``code`` is unavailable, model_missing, timeout,
    invalid_output or failed. Never shown to a user as is: they hear one plain sentence and
    get the template result."""

    code = "llm_failed"
