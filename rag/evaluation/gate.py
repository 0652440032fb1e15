"""The CI gate (minimums per backend and subset), comparing runs, and reading/writing saved runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rag.evaluation.data import DEFAULT_CORPUS, THRESHOLDS_FILE, EvalError
from rag.evaluation.metrics import HEADLINE, QuestionRecord
from rag.evaluation.results import ClaimsRun, EvalFile, EvalRun

# --- gate and comparison -------------------------------------------------------------------------


def load_thresholds(path: Path | None = None) -> dict[str, Any]:
    path = Path(path or THRESHOLDS_FILE)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalError(f"no thresholds file at {path}") from None
    except json.JSONDecodeError as exc:
        raise EvalError(f"{path}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise EvalError(f"{path}: expected an object of backends")
    return data


def thresholds_for(
    thresholds: dict[str, Any], backend: str, subset: str | None, corpus: str = ""
) -> dict[str, float]:
    """The minimums for ``backend`` on ``subset`` (``full`` when the run used no subset);
    a backend's ``full`` entry is the fallback for subsets it does not list. Another corpus
    than the shipped one is looked up first as ``corpus:subset`` (``licenses:full``)."""
    entry = thresholds.get(backend)
    if not isinstance(entry, dict):
        raise EvalError(f"no thresholds for backend {backend!r}")
    key = subset or "full"
    chosen = entry.get(key, entry.get("full"))
    if corpus and corpus != DEFAULT_CORPUS:
        key = f"{corpus}:{key}"
        chosen = entry.get(key, chosen)
    if not isinstance(chosen, dict):
        raise EvalError(f"no thresholds for backend {backend!r} on subset {key!r}")
    return {k: float(v) for k, v in chosen.items() if not k.startswith("_")}


def check_gate(run: EvalRun, thresholds: dict[str, Any]) -> list[str]:
    """``metric value < minimum`` for every failing metric of ``run`` (empty: the gate passes).
    A metric that could not be measured (``None``) fails."""
    failing = []
    for name, minimum in thresholds_for(thresholds, run.backend, run.subset, run.corpus).items():
        value = run.metric(name)
        if value is None:
            failing.append(f"{name} n/a (min {minimum:.3f})")
        elif value + 1e-9 < minimum:
            failing.append(f"{name} {value:.3f} < {minimum:.3f}")
    return failing


def check_claims_gate(run: ClaimsRun, thresholds: dict[str, Any]) -> list[str]:
    """The claims gate: ``thresholds["claims"][checker mode]["balanced_accuracy"]``."""
    entry = (thresholds.get("claims") or {}).get(run.checker)
    if not isinstance(entry, dict):
        raise EvalError(f"no claims thresholds for checker {run.checker!r}")
    failing = []
    for name, minimum in entry.items():
        if name.startswith("_"):
            continue
        value = getattr(run, name, None)
        if value is None:
            failing.append(f"{name} n/a (min {float(minimum):.3f})")
        elif value + 1e-9 < float(minimum):
            failing.append(f"{name} {value:.3f} < {float(minimum):.3f}")
    return failing


def gate_line(data: EvalFile, thresholds: dict[str, Any]) -> tuple[bool, str]:
    """``(passed, one line)`` over every run and claims run of ``data``."""
    parts, passed = [], []
    for run in data.runs:
        failing = check_gate(run, thresholds)
        if failing:
            parts.append(f"{run.backend}: " + ", ".join(failing))
        passed.append(f"{run.backend} ({len(run.records)} questions)")
    for claims in data.claims:
        if "[" in claims.checker and claims.checker not in (thresholds.get("claims") or {}):
            continue  # experimental variant: measured, not gated
        failing = check_claims_gate(claims, thresholds)
        if failing:
            parts.append(f"checker {claims.checker}: " + ", ".join(failing))
        passed.append(f"checker {claims.checker}")
    if parts:
        return False, "gate failed: " + "; ".join(parts)
    return True, "gate passed: " + ", ".join(passed)


class Comparison(BaseModel):
    backend_a: str
    backend_b: str
    metrics: list[dict[str, Any]]
    changes: list[dict[str, Any]]


def _record_key(r: QuestionRecord) -> dict[str, Any]:
    return {
        "facts": r.fact_share,
        "abstained": r.abstained,
        "recall_hit": r.recall_hit,
        "citation_recall": r.citation_recall,
        "citation_precision": r.citation_precision,
        "faithfulness": r.faithfulness,
    }


def compare_runs(a: EvalRun, b: EvalRun) -> Comparison:
    """Per-metric deltas (b - a) and the questions whose outcome changed."""
    names = [*HEADLINE, "answer_complete", "chunk_recall", "citation_recall_micro"]
    metrics = []
    for name in names:
        va, vb = a.metric(name), b.metric(name)
        delta = None if va is None or vb is None else vb - va
        metrics.append({"metric": name, "a": va, "b": vb, "delta": delta})
    for stage in ("total", "generate", "check"):
        la = (a.metrics.get("latency_ms") or {}).get(stage, {}).get("p50")
        lb = (b.metrics.get("latency_ms") or {}).get(stage, {}).get("p50")
        if la is not None or lb is not None:
            delta = None if la is None or lb is None else lb - la
            metrics.append({"metric": f"latency_{stage}_p50_ms", "a": la, "b": lb, "delta": delta})
    by_a = {r.id: r for r in a.records}
    changes: list[dict[str, Any]] = []
    for rb in b.records:
        ra = by_a.get(rb.id)
        if ra is None:
            continue
        ka, kb = _record_key(ra), _record_key(rb)
        diff = {k: (ka[k], kb[k]) for k in ka if ka[k] != kb[k]}
        if diff:
            better = _record_score(rb) - _record_score(ra)
            changes.append(
                {"id": rb.id, "type": rb.type, "changed": diff, "direction": _sign(better)}
            )
    changes.sort(key=lambda c: ({"worse": 0, "mixed": 1, "better": 2}[c["direction"]], c["id"]))
    return Comparison(backend_a=a.backend, backend_b=b.backend, metrics=metrics, changes=changes)


def _record_score(r: QuestionRecord) -> float:
    base = (r.fact_share or 0.0) + 0.5 * bool(r.recall_hit) if r.answerable else 1.5 * r.abstained
    return base + 0.5 * (r.citation_recall if r.citation_recall is not None else 0.0)


def _sign(x: float) -> str:
    return "better" if x > 1e-9 else "worse" if x < -1e-9 else "mixed"


def pair_runs(a: EvalFile, b: EvalFile) -> list[tuple[EvalRun, EvalRun]]:
    """Runs of the two files to compare: same backend, or the only run of each."""
    if len(a.runs) == 1 and len(b.runs) == 1:
        return [(a.runs[0], b.runs[0])]
    by_backend = {r.backend: r for r in a.runs}
    pairs = [(by_backend[r.backend], r) for r in b.runs if r.backend in by_backend]
    if not pairs:
        raise EvalError("the two files have no backend in common to compare")
    return pairs


def read_eval_file(path: Path) -> EvalFile:
    try:
        return EvalFile.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalError(f"no saved run at {path}") from None
    except ValueError as exc:
        raise EvalError(
            f"{path} is not a saved `rag eval` run ({str(exc).splitlines()[0]})"
        ) from None


def merge_eval_files(paths: Sequence[Path]) -> EvalFile:
    """The runs and claims runs of several saved files, in order, as one file."""
    merged = EvalFile()
    for path in paths:
        data = read_eval_file(path)
        merged.runs.extend(data.runs)
        merged.claims.extend(data.claims)
        merged.questions_file = merged.questions_file or data.questions_file
    return merged


def write_eval_file(data: EvalFile, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(data.model_dump_json(indent=1), encoding="utf-8")
    tmp.replace(path)
