"""Small statistics shared by the evaluation and the benchmarks."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default); ``None`` for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """n, p50, p95, mean, min and max of a list of figures (0 for an empty list)."""
    if not values:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "mean": 0.0, "min": 0.0, "max": 0.0}
    return {
        "n": len(values),
        "p50": round(percentile(values, 50) or 0.0, 2),
        "p95": round(percentile(values, 95) or 0.0, 2),
        "mean": round(sum(values) / len(values), 2),
        "min": round(float(min(values)), 2),
        "max": round(float(max(values)), 2),
    }
