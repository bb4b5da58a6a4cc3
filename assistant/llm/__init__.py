"""The language model through LangChain: embedded llama.cpp, Ollama or an OpenAI-compatible
server behind one port, and the versioned prompts it is asked with."""

from assistant.llm.prompts import LANGUAGE_NAMES

__all__ = ["LANGUAGE_NAMES"]
