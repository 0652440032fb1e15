"""The evaluation report: ``report.md`` (or ``report.html``) with PNG plots beside it.

``write_report(data, out_dir)`` takes what ``rag eval`` measured (:class:`rag.evaluation.EvalFile`)
and writes:

- ``metrics.png``: the headline metrics per backend, with the project targets and ALCE anchors;
- ``by_type.png``: retrieval recall and answer correctness per question type and backend;
- ``latency.png``: per-stage latency box plots, and ``latency_hist.png``: total latency histogram;
- ``claims.png``: per-kind accuracy of the checker (when the claims set was run), and
  ``claims_threshold.png``: what a stricter or looser judge threshold would keep and catch;
- the report itself: figures, anchors, the gate result, the worst failures with their answers,
  and a per-question table with failures first.

Plots use matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rag.evaluation import (
    ANCHORS,
    CLAIMS_CAUGHT_TARGET,
    CLAIMS_KEPT_TARGET,
    CLAIMS_TARGET,
    HEADLINE,
    LABELS,
    STAGES,
    TARGETS,
    ClaimRecord,
    ClaimsRun,
    EvalFile,
    EvalRun,
    QuestionRecord,
    claim_figures,
    pct,
    threshold_sweep,
    worst_records,
)

Format = Literal["md", "html"]
_COLORS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860"]


# --- document blocks, rendered to Markdown or HTML ------------------------------------------------


@dataclass
class Doc:
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def h(self, level: int, text: str) -> None:
        self.blocks.append(("h", (level, text)))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def bullets(self, items: Sequence[str]) -> None:
        self.blocks.append(("ul", list(items)))

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.blocks.append(("table", (list(header), [[str(c) for c in r] for r in rows])))

    def image(self, path: str, alt: str) -> None:
        self.blocks.append(("img", (path, alt)))

    def code(self, text: str) -> None:
        self.blocks.append(("code", text))

    def markdown(self) -> str:
        out: list[str] = []
        for kind, v in self.blocks:
            if kind == "h":
                out.append("#" * v[0] + " " + v[1])
            elif kind == "p":
                out.append(v)
            elif kind == "ul":
                out.append("\n".join(f"- {x}" for x in v))
            elif kind == "table":
                header, rows = v
                out.append("| " + " | ".join(header) + " |")
                out[-1] += "\n|" + "|".join("---" for _ in header) + "|"
                for r in rows:
                    out[-1] += "\n| " + " | ".join(_md_cell(c) for c in r) + " |"
            elif kind == "img":
                out.append(f"![{v[1]}]({v[0]})")
            elif kind == "code":
                out.append("```\n" + v + "\n```")
        return "\n\n".join(out) + "\n"

    def html(self, title: str) -> str:
        e = html.escape
        out = [
            "<!doctype html><html><head><meta charset='utf-8'>",
            f"<title>{e(title)}</title><style>",
            "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}",
            "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
            "padding:3px 6px;vertical-align:top}th{background:#f3f3f3}img{max-width:100%}"
            "pre{background:#f6f6f6;padding:8px;white-space:pre-wrap}",
            "</style></head><body>",
        ]
        for kind, v in self.blocks:
            if kind == "h":
                out.append(f"<h{v[0]}>{e(v[1])}</h{v[0]}>")
            elif kind == "p":
                out.append(f"<p>{e(v)}</p>")
            elif kind == "ul":
                out.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in v) + "</ul>")
            elif kind == "table":
                header, rows = v
                out.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
                for r in rows:
                    out.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>")
                out.append("</table>")
            elif kind == "img":
                out.append(f"<p><img src='{e(v[0])}' alt='{e(v[1])}'></p>")
            elif kind == "code":
                out.append(f"<pre>{e(v)}</pre>")
        out.append("</body></html>")
        return "\n".join(out) + "\n"


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


# --- plots ----------------------------------------------------------------------------------


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_metrics(runs: Sequence[EvalRun], path: Path) -> Path:
    """Horizontal grouped bars: headline metrics per backend, targets as red ticks."""
    plt = _plt()
    names = list(HEADLINE)
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(names) * max(1, len(runs)) + 1.5))
    height = 0.8 / max(1, len(runs))
    for j, run in enumerate(runs):
        ys = [i + j * height for i in range(len(names))]
        vals = [100 * (run.metric(n) or 0.0) for n in names]
        bars = ax.barh(ys, vals, height=height, color=_COLORS[j % len(_COLORS)], label=_name(run))
        for bar, n in zip(bars, names, strict=True):
            v = run.metric(n)
            ax.text(
                bar.get_width() + 0.5,
                bar.get_y() + bar.get_height() / 2,
                "n/a" if v is None else f"{100 * v:.0f}",
                va="center",
                fontsize=8,
            )
    centre = (len(runs) - 1) * height / 2
    for i, n in enumerate(names):
        if n in TARGETS:
            ax.plot(
                [100 * TARGETS[n]] * 2,
                [i - height / 2, i + len(runs) * height - height / 2],
                color="red",
                lw=2,
            )
    for k, (label, values) in enumerate(ANCHORS.items()):
        for n, v in values.items():
            i = names.index(n)
            ax.plot(
                [100 * v] * 2,
                [i - height / 2, i + len(runs) * height - height / 2],
                color="gray",
                ls="--" if k == 0 else ":",
                lw=1.5,
                label=label if n == "citation_recall" else None,
            )
    ax.plot([], [], color="red", lw=2, label="target (embedded)")
    ax.set_yticks([i + centre for i in range(len(names))])
    ax.set_yticklabels([LABELS[n] for n in names])
    ax.invert_yaxis()
    ax.set_xlim(0, 110)
    ax.set_xlabel("%")
    ax.set_title("Evaluation metrics per backend")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_by_type(runs: Sequence[EvalRun], path: Path) -> Path:
    """Retrieval recall and answer correctness per question type, per backend."""
    plt = _plt()
    types = sorted({t for r in runs for t in (r.metrics.get("by_type") or {})})
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    width = 0.8 / max(1, len(runs))
    for ax, metric in zip(axes, ("retrieval_recall", "answer_correctness"), strict=True):
        for j, run in enumerate(runs):
            by_type = run.metrics.get("by_type") or {}
            vals = [100 * ((by_type.get(t) or {}).get(metric) or 0.0) for t in types]
            ax.bar(
                [i + j * width for i in range(len(types))],
                vals,
                width=width,
                color=_COLORS[j % len(_COLORS)],
                label=_name(run),
            )
        ax.set_xticks([i + (len(runs) - 1) * width / 2 for i in range(len(types))])
        ax.set_xticklabels(types, rotation=20)
        ax.set_title(LABELS[metric])
        ax.set_ylim(0, 105)
    axes[0].set_ylabel("%")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _stage_values(run: EvalRun, stage: str) -> list[float]:
    return [r.timings_ms[stage] / 1000 for r in run.records if stage in r.timings_ms]


def plot_latency(runs: Sequence[EvalRun], path: Path) -> Path:
    """Box plots of each stage's latency (seconds, log scale), one panel per backend."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 3.8), squeeze=False)
    for ax, run in zip(axes[0], runs, strict=True):
        stages = [s for s in STAGES if _stage_values(run, s)]
        data = [[max(v, 1e-3) for v in _stage_values(run, s)] for s in stages]
        if data:
            ax.boxplot(data, orientation="horizontal", tick_labels=stages, showfliers=True)
            ax.set_xscale("log")
        ax.set_xlabel("seconds (log)")
        ax.set_title(f"latency per stage: {_name(run)}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_latency_hist(runs: Sequence[EvalRun], path: Path) -> Path:
    """Histogram of the total time per question, per backend."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for j, run in enumerate(runs):
        vals = _stage_values(run, "total")
        if vals:
            ax.hist(vals, bins=20, alpha=0.6, color=_COLORS[j % len(_COLORS)], label=_name(run))
    ax.set_xlabel("total seconds per question")
    ax.set_ylabel("questions")
    ax.set_title("Answer latency")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_claims(claims: Sequence[ClaimsRun], path: Path) -> Path:
    """Per-kind accuracy of each checker mode on the claims set."""
    plt = _plt()
    kinds = ordered_kinds(claims[0])
    n_supported = sum(claims[0].per_kind[k]["label_supported"] > 0 for k in kinds)
    fig, ax = plt.subplots(figsize=(10, 4.2))
    width = 0.8 / len(claims)
    for j, run in enumerate(claims):
        vals = [100 * run.per_kind.get(k, {}).get("accuracy", 0.0) for k in kinds]
        label = f"{run.checker} (balanced {pct(run.balanced_accuracy)})"
        ax.bar(
            [i + j * width for i in range(len(kinds))],
            vals,
            width=width,
            color=_COLORS[j % len(_COLORS)],
            label=label,
        )
    ax.set_xticks([i + (len(claims) - 1) * width / 2 for i in range(len(kinds))])
    ax.set_xticklabels(kinds, rotation=25, ha="right")
    ax.set_ylim(0, 105)
    ax.set_ylabel("accuracy %")
    ax.axvline(n_supported - 0.5 + (len(claims) - 1) * width / 2, color="gray", ls=":")
    ax.set_title("Checker accuracy per claim kind (left: supported claims, right: unsupported)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def judge_run(claims: Sequence[ClaimsRun]) -> ClaimsRun | None:
    """The claims run whose verdicts a judge threshold moves (the first with judge scores)."""
    return next((c for c in claims if any(r.stage == "judge" for r in c.records)), None)


def plot_threshold(run: ClaimsRun, path: Path) -> Path:
    """Supported kept and unsupported caught against the judge threshold, test solid and dev
    dashed, the run's threshold marked: the price of a stricter green mark, read at a glance."""
    plt = _plt()
    sweep = threshold_sweep(run.records)
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for split, style in (("test", "-"), ("dev", "--"), ("all", ":")):
        rows = [s for s in sweep if s["split"] == split]
        if not rows or (split == "all" and len(sweep) > len(rows)):
            continue
        xs = [s["threshold"] for s in rows]
        for key, color, name in (
            ("supported_kept", _COLORS[0], "supported kept"),
            ("unsupported_caught", _COLORS[1], "unsupported caught"),
        ):
            ax.plot(xs, [100 * s[key] for s in rows], style, color=color, marker="o", ms=3,
                    label=f"{name} ({split})")  # fmt: skip
    ax.axvline(run.threshold, color="gray", ls=":", lw=1)
    ax.text(run.threshold, 3, f" in use: {run.threshold:g}", color="gray", fontsize=8)
    ax.axhline(100 * CLAIMS_KEPT_TARGET, color=_COLORS[0], lw=0.6, alpha=0.5)
    ax.axhline(100 * CLAIMS_CAUGHT_TARGET, color=_COLORS[1], lw=0.6, alpha=0.5)
    ax.set_ylim(0, 102)
    ax.set_xlabel("judge threshold (RAG_SUPPORT_THRESHOLD)")
    ax.set_ylabel("%")
    ax.set_title("A stricter green mark: claims kept and caught by judge threshold")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


MARK_COLORS = ("#55A868", "#E1C340", "#C9C4B8")
"""✓ sure, ≈ tentative, not supported."""


def mark_shares(records: Sequence[ClaimRecord]) -> tuple[float, float, float]:
    """Shares of ``records`` marked ✓ sure, ≈ tentative, and not supported."""
    n = len(records) or 1
    supported = [r for r in records if r.predicted == "supported"]
    sure = sum(not r.tentative for r in supported)
    return sure / n, (len(supported) - sure) / n, 1 - len(supported) / n


def plot_marks(claims: Sequence[ClaimsRun], path: Path) -> Path:
    """For each checker and split, how the true and the false claims were marked: ✓ sure,
    ≈ tentative, not supported. The green bar of the false claims is what a writer must not
    trust."""
    plt = _plt()
    rows: list[tuple[str, tuple[float, float, float]]] = []
    for c in claims:
        for split in ("test", "dev"):
            group = [r for r in c.records if r.split == split]
            for label, name in (("supported", "true"), ("unsupported", "false")):
                chosen = [r for r in group if (r.label == "supported") == (label == "supported")]
                if chosen:
                    rows.append((f"{c.checker}, {split}, {name} claims", mark_shares(chosen)))
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.2))
    for i, (_, shares) in enumerate(rows):
        left = 0.0
        for share, color in zip(shares, MARK_COLORS, strict=True):
            ax.barh(i, 100 * share, left=100 * left, color=color, height=0.7)
            if share >= 0.06:
                ax.text(100 * (left + share / 2), i, f"{100 * share:.0f}%", ha="center",
                        va="center", fontsize=7)  # fmt: skip
            left += share
    ax.set_yticks(range(len(rows)), [name for name, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of the claims")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in MARK_COLORS]
    ax.legend(handles, ["✓ sure", "≈ tentative", "not supported"], fontsize=7, ncol=3,
              loc="upper center", bbox_to_anchor=(0.5, -0.18))  # fmt: skip
    ax.set_title("How true and false claims are marked")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ordered_kinds(run: ClaimsRun) -> list[str]:
    """Claim kinds, supported ones first."""
    return sorted(run.per_kind, key=lambda k: (-run.per_kind[k]["label_supported"], k))


def _name(run: EvalRun) -> str:
    """The column a run gets: its backend and checker, and its corpus when it recorded one."""
    corpus = f", {run.corpus}" if run.corpus else ""
    return f"{run.backend} ({run.checker}{corpus})"


# --- the document -----------------------------------------------------------------------------


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _mark(x: bool | None) -> str:
    return "–" if x is None else ("yes" if x else "NO")


def question_rows(runs: Sequence[EvalRun]) -> list[list[str]]:
    """One row per (backend, question), failures first (worst first), then the rest by id."""
    rows: list[tuple[float, str, list[str]]] = []
    for run in runs:
        for r in run.records:
            facts = (
                f"{len(r.facts_found)}/{len(r.facts_found) + len(r.facts_missing)}"
                if r.answerable
                else "–"
            )
            rows.append(
                (
                    -r.severity if r.failures else 1.0,
                    r.id,
                    [
                        r.id,
                        r.type,
                        run.backend,
                        facts,
                        _mark(r.recall_hit),
                        _fmt(r.citation_recall),
                        _fmt(r.citation_precision),
                        _fmt(r.faithfulness),
                        "yes" if r.abstained else "",
                        f"{r.timings_ms.get('total', 0) / 1000:.1f}",
                        "; ".join(r.failures) or "ok",
                    ],
                )
            )
    rows.sort(key=lambda t: (t[0], t[1]))
    return [r for _, _, r in rows]


def calibration_rows(runs: Sequence[EvalRun]) -> list[list[str]]:
    """min/median/max of the best evidence score for answered, wrongly declined and
    unanswerable questions, per run."""
    rows = []
    for run in runs:
        groups = {
            "answerable, answered": [
                r.top_score for r in run.records if r.answerable and not r.abstained
            ],
            "answerable, declined": [
                r.top_score for r in run.records if r.answerable and r.abstained
            ],
            "unanswerable, declined": [
                r.top_score for r in run.records if not r.answerable and r.abstained
            ],
            "unanswerable, answered": [
                r.top_score for r in run.records if not r.answerable and not r.abstained
            ],
        }
        for name, values in groups.items():
            vals = sorted(v for v in values if v is not None)
            if vals:
                mid = vals[len(vals) // 2]
                rows.append(
                    [
                        run.backend,
                        name,
                        str(len(vals)),
                        f"{vals[0]:.3f}",
                        f"{mid:.3f}",
                        f"{vals[-1]:.3f}",
                    ]
                )
    return rows


def _answer_detail(r: QuestionRecord) -> str:
    lines = [f"Q: {r.question}", f"A: {' '.join(r.answer.split())}"]
    if r.facts_missing:
        lines.append("missing facts: " + ", ".join(r.facts_missing))
    for i, s in enumerate(r.sentences, 1):
        prec = "".join("✓" if p else "✗" for p in s.precise)
        lines.append(
            f"  #{i} {s.verdict} ({s.score:.2f}, {s.reason}); ALCE "
            f"{'supported' if s.alce_supported else 'unsupported'}, precise {prec or '–'}"
        )
    if r.evidence:
        lines.append("evidence (* = gold): " + ", ".join(r.evidence))
    for n in r.notices:
        lines.append(f"note: {n}")
    return "\n".join(lines)


def build_doc(data: EvalFile, images: dict[str, str], gate: str | None = None) -> Doc:
    doc = Doc()
    doc.h(1, "rag evaluation report")
    doc.p(f"Created {data.created}. Questions: {data.questions_file or 'eval/questions.jsonl'}.")
    if data.runs:
        doc.h(2, "Headline figures")
        header = ["metric", *[_name(r) for r in data.runs], "target (embedded)"]
        rows = []
        for n in HEADLINE:
            target = TARGETS.get(n)
            rows.append(
                [LABELS[n], *[pct(r.metric(n)) for r in data.runs], pct(target) if target else ""]
            )
        for n in (
            "chunk_recall",
            "answer_complete",
            "citation_recall_micro",
            "answered_in_question_language",
        ):
            rows.append([LABELS[n], *[pct(r.metric(n)) for r in data.runs], ""])
        doc.table(header, rows)
        doc.p(
            "Anchors for the citation figures (ALCE, Gao et al. 2023, ASQA): ChatGPT "
            "73.6 recall / 72.5 precision; best system 84.8 / 81.6. Project targets (embedded): "
            "citation recall 90, precision 90, answer correctness 85%, unanswerable declined "
            "100%, citation validity 100%."
        )
        if gate:
            doc.p(gate)
        doc.bullets([_run_line(r) for r in data.runs])
        if "metrics" in images:
            doc.image(images["metrics"], "metrics per backend")
        if "by_type" in images:
            doc.image(images["by_type"], "metrics per question type")
        doc.h(2, "Latency (ms)")
        lat_rows = []
        for run in data.runs:
            for stage, v in (run.metrics.get("latency_ms") or {}).items():
                lat_rows.append(
                    [run.backend, stage, f"{v['p50']:.0f}", f"{v['p95']:.0f}", f"{v['mean']:.0f}"]
                )
        doc.table(["backend", "stage", "p50", "p95", "mean"], lat_rows)
        for key in ("latency", "latency_hist"):
            if key in images:
                doc.image(images[key], key)
        calib = calibration_rows(data.runs)
        if calib:
            doc.h(2, "Abstention calibration (best evidence score)")
            doc.p(
                "Retrieval score of the best evidence sentence per question: a score floor for "
                "abstaining separates the groups only where their ranges do not overlap."
            )
            doc.table(["backend", "group", "n", "min", "median", "max"], calib)
        doc.h(2, "Worst failures")
        for run in data.runs:
            worst = worst_records(run, 10)
            doc.h(3, f"{_name(run)}: {len([r for r in run.records if r.failures])} questions "
                  f"with a failure")  # fmt: skip
            for r in worst:
                doc.p(f"{r.id} ({r.type}): {'; '.join(r.failures)}")
                doc.code(_answer_detail(r))
        doc.h(2, "Per question (failures first)")
        doc.table(
            [
                "id", "type", "backend", "facts", "retrieved", "cit.rec", "cit.prec",
                "faithful", "abstained", "s", "failures",
            ],
            question_rows(data.runs),
        )  # fmt: skip
    if data.claims:
        doc.h(2, "Checker on the claims set")
        doc.table(
            ["checker", "judge", "balanced acc.", "supported kept", "unsupported rejected", "s"],
            [
                [
                    c.checker,
                    c.model,
                    pct(c.balanced_accuracy),
                    pct(c.true_positive_rate),
                    pct(c.true_negative_rate),
                    f"{c.seconds:.0f}",
                ]
                for c in data.claims
            ],
        )
        doc.p(f"Target: {pct(CLAIMS_TARGET)} balanced accuracy with the embedded judge.")
        kinds = ordered_kinds(data.claims[0])
        doc.table(
            ["kind", "label", *[c.checker for c in data.claims]],
            [
                [
                    k,
                    "supported" if data.claims[0].per_kind[k]["label_supported"] else "unsupported",
                    *[pct(c.per_kind.get(k, {}).get("accuracy")) for c in data.claims],
                ]
                for k in kinds
            ],
        )
        if "claims" in images:
            doc.image(images["claims"], "checker accuracy per kind")
        judged = judge_run(data.claims)
        if judged is not None:
            sweep = threshold_sweep(judged.records)
            doc.h(3, "The judge threshold: what a stricter green mark costs")
            doc.p(
                f"`RAG_SUPPORT_THRESHOLD` (in use: {judged.threshold:g}) is the judge's P(yes) a "
                "claim needs. Raising it catches more unsupported claims and keeps fewer true "
                "ones; claims the rules decide do not move. Choose on dev; test is the measure."
            )
            doc.table(
                ["threshold", *[f"{s}: kept / caught / balanced" for s in
                                dict.fromkeys(x["split"] for x in sweep)]],
                [
                    [
                        f"{t:g}",
                        *[
                            f"{pct(x['supported_kept'])} / {pct(x['unsupported_caught'])} / "
                            f"{pct(x['balanced_accuracy'])}"
                            for x in sweep
                            if x["threshold"] == t
                        ],
                    ]
                    for t in dict.fromkeys(x["threshold"] for x in sweep)
                ],
            )  # fmt: skip
            if "claims_threshold" in images:
                doc.image(images["claims_threshold"], "kept and caught by judge threshold")
        doc.h(3, "Sure marks: what a green mark is worth")
        doc.p(
            "A supported sentence is marked sure (✓) unless it passed on a close call: a judge "
            "P(yes) under `RAG_SURE_THRESHOLD`, or matching words alone without a judge; those "
            "are marked tentative (≈, read the quote). The share of unsupported claims marked "
            "sure is the share of false claims a writer would see under a green mark."
        )
        doc.table(
            ["checker", "split", "supported marked sure", "unsupported marked sure"],
            [
                [
                    c.checker,
                    split,
                    pct(f.get("sure_supported")),
                    pct(f.get("sure_unsupported")),
                ]
                for c in data.claims
                for split, f in (c.by_split or {"all": claim_figures(c.records)}).items()
            ],
        )
        if "claims_marks" in images:
            doc.image(images["claims_marks"], "how true and false claims are marked")
        for c in data.claims:
            wrong = [r for r in c.records if not r.correct]
            if wrong:
                doc.h(3, f"{c.checker}: {len(wrong)} wrong")
                doc.table(
                    ["id", "kind", "label", "score", "decided by", "reason", "claim"],
                    [
                        [r.id, r.kind, r.label, f"{r.score:.2f}", r.stage, r.reason, r.claim]
                        for r in wrong
                    ],
                )
    return doc


def _run_line(run: EvalRun) -> str:
    c = run.metrics.get("counts", {})
    return (
        f"{_name(run)}, model {run.model}: {c.get('questions', 0)} questions"
        + (f" (subset {run.subset})" if run.subset else "")
        + f" in {run.seconds:.0f} s"
        + ("; stopped at the time limit" if run.stopped_early else "")
        + f"; evidence_k {run.settings.get('evidence_k')}, top_k {run.settings.get('top_k')}, "
        f"index {run.settings.get('index_generation')}"
    )


def write_report(
    data: EvalFile, out_dir: Path, fmt: Format = "md", gate: str | None = None
) -> Path:
    """Write the plots and ``report.md`` (or ``report.html``) into ``out_dir``; return the
    report's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images: dict[str, str] = {}
    if data.runs:
        images["metrics"] = plot_metrics(data.runs, out_dir / "metrics.png").name
        images["by_type"] = plot_by_type(data.runs, out_dir / "by_type.png").name
        if any(r.timings_ms for run in data.runs for r in run.records):
            images["latency"] = plot_latency(data.runs, out_dir / "latency.png").name
            images["latency_hist"] = plot_latency_hist(data.runs, out_dir / "latency_hist.png").name
    if data.claims:
        images["claims"] = plot_claims(data.claims, out_dir / "claims.png").name
        if any(r.split in ("test", "dev") for c in data.claims for r in c.records):
            images["claims_marks"] = plot_marks(data.claims, out_dir / "claims_marks.png").name
        judged = judge_run(data.claims)
        if judged is not None:
            images["claims_threshold"] = plot_threshold(
                judged, out_dir / "claims_threshold.png"
            ).name
    doc = build_doc(data, images, gate)
    path = out_dir / f"report.{fmt}"
    text = doc.html("rag evaluation report") if fmt == "html" else doc.markdown()
    path.write_text(text, encoding="utf-8")
    return path
