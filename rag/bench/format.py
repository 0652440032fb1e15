"""Benchmark results as text (figures, ratios and their targets) and as saved JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from rag.bench.embed import format_embed
from rag.bench.run import RESULTS_DIR

# --- output ---------------------------------------------------------------------------------


def _fmt_summary(name: str, s: dict[str, float], unit: str = "ms") -> str:
    if not s.get("n"):
        return f"  {name:<28} -"
    return (
        f"  {name:<28} p50 {s['p50']:>9.1f}  p95 {s['p95']:>9.1f}  mean {s['mean']:>9.1f} "
        f"{unit}  (n={s['n']})"
    )


def format_report(result: dict[str, Any]) -> str:
    """The human-readable report of one benchmark result."""
    kind = result.get("benchmark", "?")
    m = result.get("machine", {})
    lines = [
        f"rag bench {kind}  ({result.get('started_at', '')}, {m.get('cpus')} CPUs, load "
        f"{m.get('load_avg')} -> {m.get('load_avg_end')}, {result.get('seconds', 0):.0f} s)"
    ]
    if kind == "index":
        c, ch = result["corpus"], result["chunks"]
        full, raw = result["full_build"], result["raw_encode"]
        noop, inc = result["noop_build"], result["incremental_build"]
        lines += [
            f"  corpus        {c['files']} files, {c['bytes'] / 1e6:.1f} MB (seed {c['seed']}); "
            f"{ch['count']} chunks, {ch['chars_mean']} chars / {ch['tokens_mean']} tokens mean",
            f"  model load    {result['model_load_s']:.1f} s (excluded below)",
            f"  full build    {full['seconds']:.1f} s  = {full['chunks_per_s']:.1f} chunks/s "
            f"({full['cpu_s']:.1f} CPU s)",
            f"  raw encode    {raw['seconds']:.1f} s  = {raw['chunks_per_s']:.1f} chunks/s "
            f"({raw['cpu_s']:.1f} CPU s, batch {raw['batch_size']})",
            f"  ratio by CPU time (raw CPU s / build CPU s, steadier under load): "
            f"{result['ratio_by_cpu_time']:.3f}",
            f"  no-op index   {noop['seconds']:.3f} s",
            *(
                [
                    f"  PDF convert   {pdf['pages']} pages of {pdf['pdfs']} PDFs in "
                    f"{pdf['seconds']:.2f} s = {pdf['pages_per_s']:.0f} pages/s (in the full build)"
                ]
                if (pdf := result.get("pdf_conversion"))
                else []
            ),
            f"  incremental   {inc['seconds']:.1f} s after changing {inc['files_changed']} files "
            f"({inc['chunks_embedded']} chunks embedded, {inc['ratio_to_full']:.2f} of full build)",
        ]
        for key, what in (
            ("profile", "one more full build"),
            ("profile_incremental", "one more incremental build"),
        ):
            if key not in result:
                continue
            p = result[key]
            lines.append(f"  profile of {what} ({p['total_s']:.1f} s under cProfile):")
            for label, secs in p["phases_s"].items():
                share = 100 * secs / p["total_s"] if p["total_s"] else 0
                lines.append(f"    {label:<42} {secs:8.2f} s  {share:5.1f}%")
    elif kind == "answer":
        ix = result["index"]
        built = "reused" if ix["reused"] else f"built in {ix['seconds']:.1f} s"
        lines.append(
            f"  index         {ix['chunks']} chunks, {built}, opened in {ix['open_s']:.1f} s"
        )
        for backend, entry in result["backends"].items():
            if "skipped" in entry:
                lines.append(f"  [{backend}] skipped: {entry['skipped']}")
                continue
            load = ""
            if "model_load_s" in entry:
                load = f"model load {entry['model_load_s']:.1f} s, "
            lines.append(
                f"  [{backend}] {entry.get('model', '')}: {load}warm-up question "
                f"{entry['warmup_s']:.1f} s"
            )
            s = entry["summary"]
            if "system_prompt_tokens" in entry:
                lines.append(
                    f"  system prompt {entry['system_prompt_tokens']} tokens (of the prompt tokens below)"
                )
            lines += [
                _fmt_summary("retrieval (retrieve+evidence)", s["retrieval_ms"]),
                _fmt_summary("evidence -> first token", s["prefill_ms"]),
                _fmt_summary("first token", s["first_token_ms"]),
                _fmt_summary("generate", s["generate_ms"]),
                _fmt_summary("check", s["check_ms"]),
                _fmt_summary("whole answer", s["total_ms"]),
                _fmt_summary("check / (total - check)", s["check_ratio"], "x"),
                _fmt_summary("check per sentence", s["check_per_sentence_ms"]),
                _fmt_summary("prompt tokens", s["prompt_tokens"], "tok"),
                f"  {'abstained':<28} {s['abstained']} of {len(entry['questions'])}",
            ]
            for r in entry["questions"]:
                lines.append(
                    f"    {r['id']} {r['type']:<12} total {r.get('total_ms', 0):>8.0f} ms  "
                    f"first token {r.get('first_token_ms', 0):>7.0f}  check "
                    f"{r.get('check_ms', 0):>7.0f}  sentences {r['sentences']}"
                    f"{'  (abstained)' if r['abstained'] else ''}"
                )
    elif kind == "embed":
        lines += format_embed(result)
    elif kind == "retrieval":
        b, ld, op = result["build"], result["load"], result["open"]
        lines += [
            f"  synthetic index {b['chunks']:,} chunks from {b['files']:,} files"
            + (" (reused)" if b.get("reused") else "")
            + f": chunking {b['chunking_s']:.0f} s, vectors {b['vectors_s']:.0f} s, "
            f"Chroma {b['chroma_s']:.0f} s, chunks.jsonl+BM25 {b['store_s']:.0f} s",
            f"  new process   open_index {op['open_index_s']:.2f} s + first dense query "
            f"{op['first_dense_query_s']:.2f} s + first BM25 {op['first_bm25_query_s']:.3f} s; "
            f"memory {op['rss_before_mb']:.0f} -> {op['rss_after_open_mb']:.0f} -> "
            f"{op['rss_after_first_query_mb']:.0f} MiB, peak +{op['peak_added_mb']:.0f} MiB"
            + ("" if op.get("peak_exact") else " (peak since the process started)"),
            f"  this process  open_index {ld['open_index_s']:.2f} s; first dense query "
            f"{ld['first_dense_query_s']:.2f} s (HNSW load); first BM25 {ld['first_bm25_query_s']:.3f} s",
            f"  memory        {ld['index_rss_mb']:.0f} MiB RSS for the loaded index "
            f"({ld['rss_before_mb']:.0f} -> {ld['rss_after_first_query_mb']:.0f} MiB)",
        ]
        for key, label in (
            ("embed_query", "query embedding"),
            ("dense", "dense (Chroma HNSW)"),
            ("bm25", "BM25 (bm25s)"),
            ("retrieve_chunks", "retrieve_chunks"),
            ("retrieve", "embedding + retrieve_chunks"),
            ("select_evidence", "select_evidence"),
        ):
            lines.append(_fmt_summary(label, result["timings_ms"][key]))
    elif kind == "serve":
        ld = result["load"]
        lines += [
            _fmt_summary("rag ask, no server (cold)", result["cold_ms"]),
            f"  server ready  {result['server_ready_s']:.1f} s after `rag serve` started",
            _fmt_summary("rag ask, warm server", result["warm_ms"]),
            f"  load          {ld['questions']} questions in {ld['seconds']:.1f} s = "
            f"{ld['questions_per_s']:.1f} questions/s, {ld['errors']} errors",
            _fmt_summary("load: latency", ld["latency_ms"]),
        ]
        lines += [f"    error: {e}" for e in ld.get("error_examples", [])]
    if result.get("targets"):
        lines.append("  targets:")
        for t in result["targets"]:
            unit = f" {t['unit']}" if t["unit"] else ""
            lines.append(
                f"    {t['status']:<4}  {t['name']}: {t['value']:.3f}{unit} "
                f"(target {t['op']} {t['target']}{unit})"
            )
    if kind == "soak":
        p, b = result["params"], result["builds"]
        lines += [
            f"  {p['readers']} readers for {p['seconds']:.0f} s; builds: {b['rebuild']} rebuilds, "
            f"{b['incremental']} incremental, {b['failed']} failed",
            f"  asks done          {result['asks_done']}",
            f"  asks failed        {result['asks_failed']}  (target 0)",
            f"  citations checked  {result['citations_checked']}",
            f"  citations invalid  {result['citations_invalid']}  (target 0)",
            f"  generations left   {result['generations_left']}",
        ]
        lines += [f"  error x{n}: {e}" for e, n in sorted(result["errors"].items())][:5]
        lines += [f"  build error: {e}" for e in result["build_errors"]]
    for note in result.get("notes", []):
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def save_result(result: dict[str, Any], folder: Path | None = None) -> Path:
    """Write ``result`` as JSON to ``folder`` (default ``bench/results/``); the path."""
    folder = folder or RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dt%H%M%S")
    path = folder / f"{result.get('benchmark', 'bench')}-{stamp}.json"
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def output(
    result: dict[str, Any], *, as_json: bool = False, save: bool = True, out: Path | None = None
) -> str:
    """What ``rag bench`` prints: the report (or JSON), after saving the result when asked."""
    path = save_result(result, out) if save else None
    if as_json:
        return json.dumps(result, indent=2, ensure_ascii=False)
    return format_report(result) + (f"\n  saved to {path}" if path else "")
