"""95 % bootstrap intervals: every share and accuracy in an evaluation comes with the range luck alone allows.

A figure from 24 replies moves by ±10 points between runs; the interval says so. Percentile bootstrap with a
fixed seed, so the same samples give the same interval.
"""

from collections.abc import Callable, Sequence

import numpy as np

RESAMPLES = 2000


def interval(
    values: Sequence[float], statistic: Callable[[np.ndarray], float] = np.mean, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """The percentile bootstrap interval of `statistic` over `values` (a share: values of 0 and 1)."""
    data = np.asarray(values, dtype=float)
    if len(data) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(data), size=(RESAMPLES, len(data)))
    estimates = np.array([statistic(data[row]) for row in picks])
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return float(low), float(high)


def share(flags: Sequence[bool], seed: int = 0) -> dict:
    """{"value", "low", "high"}: the share of true flags and its interval."""
    values = [float(flag) for flag in flags]
    low, high = interval(values, seed=seed)
    return {"value": float(np.mean(values)) if values else float("nan"), "low": low, "high": high, "n": len(values)}


def paired_interval(
    first: Sequence[float], second: Sequence[float], statistic: Callable, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """The interval of a statistic of two samples (an AUC of positives against negatives), each resampled."""
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    rng = np.random.default_rng(seed)
    estimates = [
        statistic(a[rng.integers(0, len(a), len(a))], b[rng.integers(0, len(b), len(b))])
        for _ in range(RESAMPLES // 4)
    ]
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return float(low), float(high)
