"""Which language model the settings ask for: one of three backends, or none.

The chosen backend imports its LangChain package here, at start-up (it takes seconds, which
must not fall on a user's first request); a missing package is said once, in one line, and
the assistant carries on with templates.
"""

from __future__ import annotations

import logging
from pathlib import Path

from assistant.config import Settings
from assistant.extras import missing_extra_message
from assistant.ports import LanguageModel

_LOGGER = logging.getLogger(__name__)


def build_language_model(settings: Settings, model_file: Path) -> LanguageModel | None:
    """The configured model, or None when turned off or its packages are not installed;
    ``model_file`` is the embedded model's GGUF file (the composition root finds it)."""
    backend = settings.llm_backend
    if not settings.llm_enabled or backend == "none":
        return None
    try:
        if backend == "openai":
            from assistant.llm.openai_compatible import OpenAICompatibleModel

            return OpenAICompatibleModel(
                settings.openai_base_url,
                settings.openai_model,
                api_key=settings.openai_api_key,
                temperature=settings.llm_temperature,
                max_tokens=settings.llm_max_tokens,
                timeout=settings.llm_timeout_s,
            )
        if backend == "ollama":
            from assistant.llm.ollama import OllamaModel

            return OllamaModel(
                settings.ollama_host,
                settings.ollama_model,
                num_ctx=settings.llm_num_ctx,
                temperature=settings.llm_temperature,
                timeout=settings.llm_timeout_s,
            )
        from assistant.llm.embedded import EmbeddedModel  # "embedded", and "auto" unresolved

        return EmbeddedModel(
            model_file,
            num_ctx=settings.llm_num_ctx,
            threads=settings.llm_threads,
            temperature=settings.llm_temperature,
            max_tokens=settings.llm_max_tokens,
            timeout=settings.llm_timeout_s,
        )
    except ImportError as err:
        _LOGGER.warning(
            "templates only: %s (%s)", missing_extra_message("writing with a model", "llm"), err
        )
        return None
