"""Latency statistics (numpy only): percentiles, spread, stability flag, throughput.

Percentiles use numpy's default linear interpolation between order statistics. The standard
deviation is the sample one (ddof=1). A run is flagged `unstable` when its coefficient of
variation (std / mean) exceeds UNSTABLE_CV: its percentiles are then not trustworthy to the
precision they are printed with, and the run should be repeated on a quieter machine.
"""

from __future__ import annotations

import numpy as np

UNSTABLE_CV = 0.10
PERCENTILES = (50, 90, 95, 99)


def latency_summary(samples_ms) -> dict:
    """{p50, p90, p95, p99, mean, std, min, max} of per-iteration latencies in milliseconds."""
    data = np.asarray(samples_ms, dtype=np.float64)
    if data.ndim != 1 or data.size == 0:
        raise ValueError("latency statistics need a non-empty 1-D list of samples")
    summary = {f"p{p}": float(v) for p, v in zip(PERCENTILES, np.percentile(data, PERCENTILES))}
    summary.update(
        mean=float(data.mean()),
        std=float(data.std(ddof=1)) if data.size > 1 else 0.0,
        min=float(data.min()),
        max=float(data.max()),
    )
    return summary


def coefficient_of_variation(summary: dict) -> float:
    return summary["std"] / summary["mean"] if summary["mean"] > 0 else float("inf")


def throughput_fps(summary: dict, batch: int) -> float:
    """Images per second of back-to-back synchronous calls: batch / mean latency."""
    return batch * 1e3 / summary["mean"] if summary["mean"] > 0 else 0.0


def summarize(samples_ms, batch: int = 1) -> dict:
    """Everything the result schema derives from one run's samples."""
    summary = latency_summary(samples_ms)
    cv = coefficient_of_variation(summary)
    return {
        "latency_ms": summary,
        "cv": cv,
        "unstable": bool(cv > UNSTABLE_CV),
        "throughput_fps": throughput_fps(summary, batch),
    }
