"""Fakes and helpers for tests/ and scripts/ (Ollama, Telegram Bot API, audio, walks): never imported by the product."""
