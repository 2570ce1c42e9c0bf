"""PNG plots for RESULTS.md, per ISA class (latency-<class>.png, ratios-<class>.png): latency bars with their spread,
and the headline ratios against the goals."""

from __future__ import annotations

from pathlib import Path

import matrix
import numpy as np
import timing
from goals import GOAL_PERM, GOAL_RATIO, GOAL_RATIO_RUNTIMES, RATIO_COLUMNS, ratio


def write_plots(results: dict, settings, out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    isa_class = results["machine"]["isa_class"]
    written = [latency_bars(plt, results, settings, out, isa_class), ratio_bars(plt, results, settings, out, isa_class)]
    return "\n\n".join(f"![{title}]({name})" for title, name in written)


def _grouped_bars(plt, ax, labels: list[str], series: dict[str, list[tuple[float, float, float] | None]]) -> None:
    """Bars per group with error bars from low to high; series {name: [(median, low, high) or None per group]}."""
    width = 0.8 / len(series)
    x = np.arange(len(labels))
    for i, (name, values) in enumerate(series.items()):
        mid = np.array([v[0] if v else np.nan for v in values])
        err = np.array([[v[0] - v[1], v[2] - v[0]] if v else [0, 0] for v in values]).T
        ax.bar(x + (i - (len(series) - 1) / 2) * width, mid, width, yerr=err, capsize=3, label=name)
    ax.set_xticks(x, labels, rotation=20, ha="right")
    ax.legend(fontsize=8)


def _save(plt, fig, out: Path, name: str) -> str:
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name


def latency_bars(plt, results: dict, settings, out: Path, isa_class: str) -> tuple[str, str]:
    series = {}
    for subject in matrix.SUBJECTS:
        values = []
        for setting in settings:
            records = results["timings"].get(matrix.config_key(subject, setting))
            s = timing.summary(records) if records else None
            values.append((s["median_ms"], s["min_ms"], s["max_ms"]) if s else None)
        series[subject.label] = values
    fig, ax = plt.subplots(figsize=(11, 5))
    _grouped_bars(plt, ax, [s.label for s in settings], series)
    ax.set_ylabel("latency, ms (median of rounds; bars: min-max)")
    ax.set_title(
        f"{results['machine']['cpu_model']} ({isa_class}): batch 1, {results['imgsz']}², {results['threads']} threads"
    )
    return f"Latency per runtime and precision, {isa_class}", _save(plt, fig, out, f"latency-{isa_class}.png")


def ratio_bars(plt, results: dict, settings, out: Path, isa_class: str) -> tuple[str, str]:
    series = {}
    for name, (a, b) in RATIO_COLUMNS.items():
        values = [ratio(results, a, b, s) for s in settings]
        series[name] = [(r["median"], *r["iqr"]) if r else None for r in values]
    fig, ax = plt.subplots(figsize=(11, 5))
    _grouped_bars(plt, ax, [s.label for s in settings], series)
    ax.axhline(GOAL_RATIO, color="k", ls="--", lw=1, label=f"goal {GOAL_RATIO} ({', '.join(GOAL_RATIO_RUNTIMES)})")
    ax.axhline(GOAL_PERM, color="grey", ls=":", lw=1, label=f"perm. goal {GOAL_PERM}")
    ax.axhline(1.0, color="k", lw=0.5)
    ax.set_ylabel("latency ratio (per round; bars: interquartile range)")
    ax.set_title(f"Headline ratios, {results['machine']['cpu_model']} ({isa_class})")
    ax.legend(fontsize=8)
    return f"Ratios against the goals, {isa_class}", _save(plt, fig, out, f"ratios-{isa_class}.png")
