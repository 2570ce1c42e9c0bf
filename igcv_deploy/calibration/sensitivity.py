"""Per-layer sensitivity: quantise one layer (or block) at a time, measure the output error, rank."""

from __future__ import annotations

import json
from pathlib import Path

SAMPLES = 16  # calibration images per measurement: ranking needs the order, not the last digit


def rank_layers(evaluator, amax: dict[str, float], units: dict[str, list[str]], progress: bool = True) -> list[dict]:
    """Units sorted by the output error of quantising only that unit, most sensitive first."""
    errors = evaluator.unit_errors(amax, units, SAMPLES, progress)
    ranking = [{"layer": unit, "nodes": nodes, "error": errors[unit]} for unit, nodes in units.items()]
    ranking.sort(key=lambda entry: -entry["error"])
    return [{"rank": rank, **entry} for rank, entry in enumerate(ranking, 1)]


def save_ranking(ranking: list[dict], path: Path) -> None:
    path.write_text(json.dumps(ranking, indent=2) + "\n")


def plot_ranking(ranking: list[dict], path: Path, float_layers=(), top: int = 40) -> None:
    """Horizontal bars of the `top` most sensitive units (log scale); float-kept units in grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ranking[:top][::-1]
    figure, axes = plt.subplots(figsize=(8, 1.5 + 0.22 * len(shown)))
    kept = set(float_layers)
    colors = ["#999999" if kept & set(entry["nodes"]) else "#d62728" for entry in shown]
    axes.barh([entry["layer"] for entry in shown], [max(entry["error"], 1e-12) for entry in shown], color=colors)
    axes.set_xscale("log")
    axes.set_xlabel("output error with only this layer in INT8 (sum sq. error / sum sq. FP32 output)")
    axes.set_title("INT8 sensitivity per layer (grey: kept in float)")
    axes.tick_params(axis="y", labelsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
