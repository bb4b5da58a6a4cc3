"""The language model (Ollama) and what uses it."""
