"""The runner's own metrics: mean score, standard error and a seeded bootstrap interval.

``stderr`` is the sample standard deviation (``ddof=1``) over ``sqrt(n)``; for scores of
0 and 1 that equals ``sqrt(p (1 - p) / (n - 1))``. The confidence interval is the
percentile bootstrap: ``resamples`` draws of ``n`` scores with replacement (numpy
``default_rng(seed)``), the mean of each, and their ``(1-level)/2`` and ``(1+level)/2``
quantiles. Both are ``None`` for fewer than two scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

BOOTSTRAP_RESAMPLES = 1000
CI_LEVEL = 0.95
_CHUNK_VALUES = 4_000_000  # resample this many scores at a time (memory bound)


def standard_error(scores: Sequence[float]) -> float | None:
    """Sample standard deviation (ddof=1) / sqrt(n); None for n < 2."""
    n = len(scores)
    if n < 2:
        return None
    return float(np.std(np.asarray(scores, dtype=np.float64), ddof=1) / math.sqrt(n))


def bootstrap_ci(
    scores: Sequence[float],
    *,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = CI_LEVEL,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean (seeded, so reports are reproducible)."""
    values = np.asarray(scores, dtype=np.float64)
    n = len(values)
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    means = np.empty(resamples, dtype=np.float64)
    step = max(1, _CHUNK_VALUES // n)
    for start in range(0, resamples, step):
        count = min(step, resamples - start)
        picks = rng.integers(0, n, size=(count, n))
        means[start:start + count] = values[picks].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def summarize(
    scores: Sequence[float],
    *,
    name: str = "accuracy",
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = CI_LEVEL,
) -> dict[str, Any]:
    """The score metric: name, n, mean, stderr, ci_low/ci_high/ci_level, bootstrap settings."""
    n = len(scores)
    mean = float(np.mean(np.asarray(scores, dtype=np.float64))) if n else None
    interval = bootstrap_ci(scores, seed=seed, resamples=resamples, level=level)
    return {
        "name": name,
        "n": n,
        "mean": mean,
        "stderr": standard_error(scores),
        "ci_low": interval[0] if interval else None,
        "ci_high": interval[1] if interval else None,
        "ci_level": level,
        "bootstrap_resamples": resamples,
        "bootstrap_seed": seed,
    }
