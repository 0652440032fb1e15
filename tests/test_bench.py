"""Smoke tests of the benchmarks at tiny sizes: they run, write a real index, and return sane,
non-negative figures. No timing assertions (speed targets live in ``rag bench``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import bench
from rag.answering import QuestionError
from rag.chunking import split_sentences
from rag.config import Settings
from rag.evaluation.data import questions_by_id
from tests.conftest import CORPUS, make_settings


def _texts(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.txt"))}


def test_synthetic_corpus_is_deterministic_per_seed(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert bench.make_corpus(a, 12, seed=3)["files"] == 12
    bench.make_corpus(b, 12, seed=3)
    bench.make_corpus(c, 12, seed=4)
    assert len(_texts(a)) == 12
    assert _texts(a) == _texts(b)
    assert _texts(a) != _texts(c)


def test_synthetic_prose_varies_sentences_paragraphs_and_lines() -> None:
    gen = bench.ProseGenerator(seed=1)
    docs = [gen.document(gen.rng.randint(2, 6)) for _ in range(60)]
    lengths = [len(s.text) for d in docs for s in split_sentences("x.txt", d)]
    lines = [len(line) for d in docs for line in d.splitlines()]
    assert min(lengths) < 60 and max(lengths) > 300
    assert max(lines) > 1000  # some very long lines
    assert sum(1 for n in lines if 0 < n <= 90) > 100  # and hard-wrapped or short ones
    assert all("\n\n" in d for d in docs)  # paragraphs


def test_change_files_changes_the_share_asked(tmp_path: Path) -> None:
    bench.make_corpus(tmp_path, 30, seed=0)
    before = _texts(tmp_path)
    changed = bench.change_files(tmp_path, 0.1, seed=0)
    after = _texts(tmp_path)
    assert len(changed) == 3
    assert sorted(p for p in before if before[p] != after[p]) == sorted(changed)


def test_summaries_and_targets() -> None:
    s = bench.summarize([4.0, 1.0, 3.0, 2.0])
    assert s["n"] == 4 and s["p50"] == 2.5 and s["min"] == 1.0 and s["max"] == 4.0
    assert 3.0 < s["p95"] <= 4.0
    assert bench.summarize([])["n"] == 0
    assert bench.target("r", 0.9, ">=", 0.8)["status"] == "PASS"
    assert bench.target("r", 0.7, ">=", 0.8)["status"] == "MISS"
    assert bench.target("t", 60.0, "<=", 50.0, "ms")["status"] == "MISS"
    assert bench.rss_mb() > 0


def test_bench_index_small(tmp_path: Path) -> None:
    result = bench.bench_index(
        make_settings(), files=4, changed_fraction=0.25, profile=True, workdir=tmp_path / "w"
    )
    chunks = result["chunks"]["count"]
    assert chunks > 0
    assert result["full_build"]["chunks_embedded"] == chunks
    assert result["raw_encode"]["chunks"] == chunks
    assert result["full_build"]["chunks_per_s"] > 0 and result["raw_encode"]["chunks_per_s"] > 0
    assert result["noop_build"]["seconds"] >= 0 and result["noop_build"]["wrote"] is False
    inc = result["incremental_build"]
    assert inc["files_changed"] == 1
    assert 0 < inc["chunks_embedded"] < inc["chunks_total"]
    assert {t["status"] for t in result["targets"]} <= {"PASS", "MISS"}
    assert len(result["targets"]) == 3
    assert result["pdf_conversion"]["pages"] == 10 and result["pdf_conversion"]["pages_per_s"] > 0
    assert result["profile"]["phases_s"]["embed_texts (llama-index + encoder)"] > 0
    report = bench.format_report(result)
    assert "chunks/s" in report and "no-op" in report
    json.dumps(result)


def test_bench_retrieval_writes_a_real_index(tmp_path: Path) -> None:
    from rag.index.status import index_status
    from rag.retrieval import retrieve
    from rag.sources import quote_is_exact

    work = tmp_path / "w"
    settings = make_settings()
    result = bench.bench_retrieval(
        settings, chunks=150, queries=3, basis_sentences=40, workdir=work, isolate=False
    )
    n = result["build"]["chunks"]
    assert n >= 150
    assert result["load"]["chunks_loaded"] == n
    opened = result["open"]  # in a new process: the index's own time and memory
    assert opened["chunks"] == n and opened["open_and_first_query_s"] >= opened["open_index_s"] > 0
    assert opened["peak_added_mb"] >= opened["rss_after_open_mb"] - opened["rss_before_mb"]
    assert [t["name"].split()[0] for t in result["targets"][:2]] == ["open", "peak"]
    for key in ("embed_query", "dense", "bm25", "retrieve_chunks", "select_evidence"):
        assert result["timings_ms"][key]["n"] == 3
        assert result["timings_ms"][key]["min"] >= 0
    assert any("SYNTHETIC" in note for note in result["notes"])
    assert "SYNTHETIC" in bench.format_report(result)

    # the synthetic generation is a real index: status agrees, retrieval quotes the files
    s = make_settings(corpus_dir=work / "corpus", index_dir=work / "index")
    status = index_status(s)
    assert status["exists"] and status["chunks"] == n
    assert not any(status["stale"].values())
    found = retrieve(s, "What did the regulator announce?")
    assert found.evidence
    assert all(quote_is_exact(s.corpus_dir, e, e.text) for e in found.evidence)

    again = bench.bench_retrieval(
        settings, chunks=150, queries=2, basis_sentences=40, workdir=work, isolate=False
    )
    assert again["build"].get("reused") is True


def test_bench_answer_extractive(corpus_index: Settings) -> None:
    settings = make_settings(corpus_dir=CORPUS)
    result = bench.bench_answer(
        settings,
        backends=["extractive", "ollama"],
        question_ids=["q34", "q58"],
        index_dir=corpus_index.index_dir,
    )
    assert "Ollama not reachable" in result["backends"]["ollama"]["skipped"]
    entry = result["backends"]["extractive"]
    assert [r["id"] for r in entry["questions"]] == ["q34", "q58"]
    for r in entry["questions"]:
        assert r["total_ms"] >= r["retrieval_ms"] >= 0
        assert r["first_token_ms"] >= 0
    assert entry["summary"]["total_ms"]["n"] == 2
    assert result["targets"] == []  # targets are for LLM backends
    assert "[extractive]" in bench.format_report(result)


def test_unknown_question_id_is_refused() -> None:
    with pytest.raises(QuestionError, match="q999"):
        questions_by_id(["q01", "q999"])


def test_cli_bench_index_json(tmp_path: Path) -> None:
    from rag.cli import main

    out = tmp_path / "results"
    run = CliRunner().invoke(
        main, ["bench", "index", "--files", "2", "--quiet", "--json", "--out", str(out)]
    )
    assert run.exit_code == 0, run.output
    data = json.loads(run.output)
    assert data["benchmark"] == "index"
    assert data["corpus"]["files"] == 2 + data["params"]["pdfs"]  # the text files and the PDFs
    saved = list(out.glob("index-*.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text())["benchmark"] == "index"


def test_cli_bench_answer_unknown_id_is_one_line_error() -> None:
    from rag.cli import main

    run = CliRunner().invoke(main, ["bench", "answer", "--questions", "q999", "--no-save"])
    assert run.exit_code == 1
    assert "q999" in run.output and "Traceback" not in run.output


def test_bench_embed_scores_each_split_and_the_non_english_questions() -> None:
    from rag.bench.embed import format_embed, summarise_corpus

    records = [
        {"id": "a", "split": "dev", "type": "single", "evidence_hit": True, "chunk_hit": True},
        {
            "id": "b",
            "split": "dev",
            "type": "non_english",
            "evidence_hit": False,
            "chunk_hit": True,
        },
        {"id": "c", "split": "test", "type": "multi", "evidence_hit": False, "chunk_hit": False},
        {
            "id": "d",
            "split": "test",
            "type": "non_english",
            "evidence_hit": True,
            "chunk_hit": True,
        },
    ]
    s = summarise_corpus(records)
    assert s["dev"]["evidence_recall"] == 0.5 and s["dev"]["chunk_recall"] == 1.0
    assert s["test"]["n"] == 2 and s["test"]["evidence_hits"] == 1
    assert s["dev_non_english"]["evidence_hits"] == 0 and s["test_non_english"]["n"] == 1
    assert s["non_english"]["n"] == 2 and s["all"]["n"] == 4
    corpus = {"recall": s, "build_chunks_per_s": 10.0, "raw_chunks_per_s": 11.0}
    result = {
        "models": [
            {"model": "m", "load_s": 1.0, "corpora": {"news": corpus}},
            {"model": "fasttextembed", "error": "cannot run offline"},
        ]
    }
    text = "\n".join(format_embed(result))
    assert "m " in text and "50.0%" in text and "ERROR cannot run offline" in text


def test_bench_embed_refuses_an_unknown_corpus() -> None:
    from rag.errors import EvalError

    with pytest.raises(EvalError, match="unknown corpus"):
        bench.bench_embed(make_settings(), models=["x"], corpora=["nope"])
