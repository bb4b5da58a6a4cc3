"""The language model (Ollama) and what uses it."""

# How a prompt names the language the model must write in.
LANGUAGE_NAMES = {"ja": "Japanese (やさしい日本語)", "en": "English"}
