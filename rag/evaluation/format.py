"""Evaluation runs as text for the terminal."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rag.evaluation.gate import Comparison
from rag.evaluation.metrics import CLAIMS_TARGET, HEADLINE, LABELS, QuestionRecord
from rag.evaluation.results import ClaimsRun, EvalRun

# --- text output -----------------------------------------------------------------------------


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def format_run(run: EvalRun) -> str:
    """The figures of one run as plain text (what ``rag eval`` prints)."""
    m, c = run.metrics, run.metrics.get("counts", {})
    head = (
        f"backend {run.backend} ({run.model}), checker {run.checker}, "
        f"{c.get('questions', 0)} questions"
        + (f" [subset {run.subset}]" if run.subset else "")
        + f", {run.seconds:.0f} s"
        + (" (stopped at the time limit)" if run.stopped_early else "")
    )
    k = run.settings.get("evidence_k", "k")
    extra = {
        "retrieval_recall": f"{c.get('retrieval_hits', 0)}/{c.get('retrieval_measured', 0)}; "
        f"chunks@{run.settings.get('top_k', '')} {pct(m.get('chunk_recall'))}, "
        f"gold lines {pct(m.get('retrieval_gold_coverage'))}",
        "answer_correctness": f"{c.get('key_facts_found', 0)}/{c.get('key_facts', 0)} facts; "
        f"complete answers {pct(m.get('answer_complete'))}",
        "citation_validity": f"{c.get('citations', 0) - c.get('invalid_citations', 0)}"
        f"/{c.get('citations', 0)} citations exact",
        "citation_recall": f"per sentence {pct(m.get('citation_recall_micro'))}",
        "citation_precision": f"per citation {pct(m.get('citation_precision_micro'))}",
        "faithfulness": f"{c.get('claim_sentences', 0) - c.get('unsupported_sentences', 0) - c.get('uncited_sentences', 0)}"
        f"/{c.get('claim_sentences', 0)} claim sentences; "
        f"{c.get('answers_without_claims', 0)} answers without claims",
        "unanswerable_declined": f"of {c.get('unanswerable', 0)}",
        "answerable_answered": f"{c.get('abstained', 0)} abstentions in all "
        f"(answerer {c.get('abstained_by_answerer', 0)}, checker {c.get('abstained_by_checker', 0)}, "
        f"no evidence {c.get('abstained_no_evidence', 0)})",
    }
    lines = [head]
    by_split = m.get("by_split") or {}
    if by_split:
        lines.append(
            "  by split       n  evidence  chunks  facts  declined  false abst.  cit.rec  cit.prec"
            "  valid"
        )
        for split, v in by_split.items():
            lines.append(
                f"    {split + (' (headline)' if split == 'test' else ''):<12}{v['n']:>3}"
                f"  {pct(v['retrieval_recall']):>8} {pct(v.get('chunk_recall')):>7}"
                f" {pct(v['answer_correctness']):>6} {pct(v['unanswerable_declined']):>9}"
                f" {pct(v.get('false_abstention_rate')):>12} {pct(v['citation_recall']):>8}"
                f" {pct(v['citation_precision']):>9} {pct(v.get('citation_validity')):>6}"
            )
        lines.append("  all questions:")
    for name in HEADLINE:
        label = LABELS[name].replace("@k", f"@{k}")
        lines.append(f"  {label:<30} {pct(m.get(name)):>7}   {extra.get(name, '')}")
    if m.get("answered_in_question_language") is not None:
        label = LABELS["answered_in_question_language"]
        lines.append(f"  {label:<30} {pct(m['answered_in_question_language']):>7}")
    lat = m.get("latency_ms") or {}
    if lat:
        lines.append("  latency ms" + " " * 21 + "    p50      p95")
        for stage, v in lat.items():
            lines.append(f"    {stage:<28} {v['p50']:>7.0f}  {v['p95']:>7.0f}")
    by_type = m.get("by_type") or {}
    if by_type:
        lines.append("  by type          n  recall  facts  cit.rec  cit.prec  abstained")
        for t, v in by_type.items():
            lines.append(
                f"    {t:<13} {v['n']:>3}  {pct(v['retrieval_recall']):>6} "
                f"{pct(v['answer_correctness']):>6} {pct(v['citation_recall']):>8} "
                f"{pct(v['citation_precision']):>9}  {v['abstained']:>5}"
            )
    for n in run.notices:
        lines.append(f"  note: {n}")
    return "\n".join(lines)


def worst_records(run: EvalRun, n: int = 10) -> list[QuestionRecord]:
    """The records with failures, worst first."""
    bad = [r for r in run.records if r.failures]
    return sorted(bad, key=lambda r: (-r.severity, r.id))[:n]


def format_failures(run: EvalRun, n: int = 10) -> str:
    worst = worst_records(run, n)
    if not worst:
        return "  no failures"
    return "\n".join(f"  {r.id} ({r.type}): {'; '.join(r.failures)}" for r in worst)


def format_claims(run: ClaimsRun) -> str:
    corpora = sorted({r.corpus for r in run.records if r.corpus})
    lines = [
        f"checker {run.checker}"
        + (f" (judge {run.model})" if run.model != "none" else "")
        + f" on {len(run.records)} claims"
        + (f" ({', '.join(corpora)})" if corpora else "")
        + f", {run.seconds:.0f} s",
    ]
    for split, v in (run.by_split or {"all": {}}).items():
        f = v or {
            "n": len(run.records),
            "balanced_accuracy": run.balanced_accuracy,
            "true_positive_rate": run.true_positive_rate,
            "true_negative_rate": run.true_negative_rate,
            "contradicted_recognised": None,
            "per_kind": run.per_kind,
        }
        lines.append(
            f"  {split}{' (headline)' if split == 'test' else ''}: {f['n']} claims, "
            f"balanced accuracy {pct(f['balanced_accuracy'])} (target {pct(CLAIMS_TARGET)}), "
            f"supported kept {pct(f['true_positive_rate'])}, unsupported caught "
            f"{pct(f['true_negative_rate'])}, contradicted recognised "
            f"{pct(f.get('contradicted_recognised'))}"
        )
        if f.get("sure_supported") is not None:
            lines.append(
                f"    sure marks (not tentative): {pct(f['sure_supported'])} of supported claims, "
                f"{pct(f.get('sure_unsupported'))} of unsupported ones"
            )
        lines.append("    per kind:")
        for kind, k in f["per_kind"].items():
            side = "supported" if k["label_supported"] else "unsupported"
            extra = (
                f"  contradicted {pct(k.get('contradicted'))}" if not k["label_supported"] else ""
            )
            lines.append(
                f"      {kind:<20} {side:<12} {pct(k['accuracy']):>7}  (n={k['n']:.0f}){extra}"
            )
    stages = Counter((r.stage, r.correct) for r in run.records)
    lines.append(
        "  decided by: "
        + ", ".join(
            f"{s} {stages[(s, True)] + stages[(s, False)]} ({stages[(s, False)]} wrong)"
            for s in ("rules", "alignment", "coverage", "judge")
            if stages[(s, True)] + stages[(s, False)]
        )
    )
    splits = dict.fromkeys(s.get("split", "all") for s in run.sweep)
    for split in splits:
        rows = [s for s in run.sweep if s.get("split", "all") == split]
        lines.append(
            f"  judge threshold sweep ({split}), balanced accuracy: "
            + ", ".join(f"{s['threshold']:g}→{pct(s['balanced_accuracy'])}" for s in rows)
        )
    wrong = [r for r in run.records if not r.correct and r.split != "test"]
    if wrong:
        lines.append("  wrong (dev; test claims are not listed, so that nobody tunes on them):")
        for r in wrong:
            lines.append(f"    {r.id} {r.kind:<18} {r.score:.2f} {r.reason[:60]}")
    return "\n".join(lines)


def format_comparison(cmp: Comparison) -> str:
    lines = [f"compare {cmp.backend_a} (A) -> {cmp.backend_b} (B)"]
    lines.append(f"  {'metric':<32} {'A':>8} {'B':>8} {'delta':>8}")
    for row in cmp.metrics:
        name = row["metric"]
        if name.startswith("latency"):
            a = "n/a" if row["a"] is None else f"{row['a']:.0f}"
            b = "n/a" if row["b"] is None else f"{row['b']:.0f}"
            d = "" if row["delta"] is None else f"{row['delta']:+.0f}"
        else:
            a, b = pct(row["a"]), pct(row["b"])
            d = "" if row["delta"] is None else f"{100 * row['delta']:+.1f}"
        lines.append(f"  {LABELS.get(name, name):<32} {a:>8} {b:>8} {d:>8}")
    if cmp.changes:
        lines.append(f"  {len(cmp.changes)} question(s) changed:")
        for ch in cmp.changes:
            what = ", ".join(f"{k} {_fmt(v[0])}→{_fmt(v[1])}" for k, v in ch["changed"].items())
            lines.append(f"    {ch['direction']:<6} {ch['id']} ({ch['type']}): {what}")
    else:
        lines.append("  no question changed")
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)
