"""Language models: the embedded llama.cpp model, a real Ollama server, and the one policy that
chooses which answers and which judges. Importing this package is cheap (no model runtime)."""

from __future__ import annotations

from rag.llm.base import (
    TOP_LOGPROBS,
    ChatLLM,
    Judge,
    LLMError,
    Messages,
    TokenLogprob,
    yes_no_from_text,
    yes_no_probability,
)
from rag.llm.choose import (
    BACKENDS,
    Backends,
    choose_backends,
    choose_judge,
    effective_backend,
    get_judge_llm,
    get_llm,
    wants_judge,
)
from rag.llm.embedded import EmbeddedLLM
from rag.llm.ollama import OllamaLLM, ollama_base_url, ollama_reachable

__all__ = [
    "BACKENDS",
    "TOP_LOGPROBS",
    "Backends",
    "ChatLLM",
    "EmbeddedLLM",
    "Judge",
    "LLMError",
    "Messages",
    "OllamaLLM",
    "TokenLogprob",
    "choose_backends",
    "choose_judge",
    "effective_backend",
    "get_judge_llm",
    "get_llm",
    "ollama_base_url",
    "ollama_reachable",
    "wants_judge",
    "yes_no_from_text",
    "yes_no_probability",
]
