"""PNG plots for report.md (matplotlib, Agg backend, imported only here; optional on devices)."""

from __future__ import annotations

from pathlib import Path

from .roles import ROLES

TOP_OP_TYPES = 8  # the rest are summed as "other ops"


def write_plots(results: list[tuple[str, dict]], rows: list[dict], folder: Path) -> str:
    """Write every plot that applies; returns the markdown that embeds them."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "_matplotlib is not installed: no plots (pip install matplotlib)._"
    written = [latency_distribution(plt, rows, folder)]
    layered = [(label, doc["layers"]) for label, doc in results if "layers" in doc]
    if layered:
        written.append(stacked(plt, layered, "by_role", list(ROLES), "breakdown_roles.png", folder))
        written.append(stacked(plt, layered, "by_op_type", top_op_types(layered), "breakdown_op_types.png", folder))
    if batch_series(rows):
        written.append(latency_vs_batch(plt, rows, folder))
    return "\n\n".join(f"### {title}\n\n![{title}]({name})" for title, name in written)


def _save(plt, fig, folder: Path, name: str) -> None:
    fig.tight_layout()
    fig.savefig(folder / name, dpi=110)
    plt.close(fig)


def latency_distribution(plt, rows: list[dict], folder: Path) -> tuple[str, str]:
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(rows) + 2), 4.5))
    ax.boxplot([r["run"]["samples_ms"] for r in rows], whis=(1, 99), showfliers=False)
    ax.set_xticks(range(1, len(rows) + 1), [r["label"] for r in rows], rotation=30, ha="right")
    ax.set_ylabel("latency per call (ms)")
    ax.set_title("latency distribution (box: p25-p75, line: p50, whiskers: p1-p99)")
    _save(plt, fig, folder, "latency.png")
    return "Latency distribution per run", "latency.png"


def top_op_types(layered: list[tuple[str, dict]]) -> list[str]:
    totals: dict[str, float] = {}
    for _, layers in layered:
        for op, ms in layers["by_op_type"].items():
            totals[op] = totals.get(op, 0.0) + ms
    return sorted(totals, key=lambda op: -totals[op])[:TOP_OP_TYPES]


def stacked(plt, layered, key: str, parts: list[str], name: str, folder: Path) -> tuple[str, str]:
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(layered) + 3), 4.5))
    labels = [label for label, _ in layered]
    bottom = [0.0] * len(layered)
    series = [(p, [layers[key].get(p, 0.0) for _, layers in layered]) for p in parts]
    rest = [layers["total_ms"] - sum(layers[key].get(p, 0.0) for p in parts) for _, layers in layered]
    for part, values in series + ([("other ops", rest)] if any(v > 1e-9 for v in rest) else []):
        ax.bar(labels, values, bottom=bottom, label=part)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel("ms per inference (sum of layer times)")
    ax.set_title(f"per-layer time {key.replace('_', ' ')}")
    ax.legend(fontsize=8, bbox_to_anchor=(1.02, 1), loc="upper left")
    ax.tick_params(axis="x", rotation=30)
    _save(plt, fig, folder, name)
    return f"Per-layer time {key.replace('_', ' ')}", name


def latency_vs_batch(plt, rows: list[dict], folder: Path) -> tuple[str, str]:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name, runs in batch_series(rows).items():
        batches = [run["batch"] for run in runs]
        left.plot(batches, [run["latency_ms"]["p50"] for run in runs], marker="o", label=name)
        right.plot(batches, [run["latency_ms"]["p50"] / run["batch"] for run in runs], marker="o", label=name)
    left.set(xlabel="batch", ylabel="p50 latency per call (ms)", title="latency vs batch")
    right.set(xlabel="batch", ylabel="p50 latency per image (ms)", title="latency per image vs batch")
    left.legend(fontsize=7)
    _save(plt, fig, folder, "batch.png")
    return "Latency vs batch", "batch.png"


def batch_series(rows: list[dict]) -> dict[str, list[dict]]:
    """Runs by series, sorted by batch; only series measured at more than one batch."""
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(row["series"], []).append(row["run"])
    return {
        name: sorted(runs, key=lambda run: run["batch"])
        for name, runs in groups.items()
        if len({run["batch"] for run in runs}) > 1
    }
