"""Side-by-side comparison of results: a rich table on the terminal, report.md with PNG plots."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from ..errors import IGCVError
from .harness import SCHEMA
from .roles import ROLES
from .stats import UNSTABLE_CV

COLUMNS = (
    "run",
    "runtime",
    "precision",
    "batch",
    "threads",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "mean ms",
    "cv",
    "fps",
    "p50 vs first",
)


def load_results(paths: list[str]) -> list[tuple[str, dict]]:
    results = []
    for path in map(Path, paths):
        try:
            document = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise IGCVError(
                f"cannot read result '{path}': {exc}", "pass JSON files written by igcv-profile --output"
            ) from exc
        if document.get("schema") != SCHEMA:
            raise IGCVError(f"'{path}' is not an {SCHEMA} result", "pass JSON files written by igcv-profile --output")
        results.append((path.stem, document))
    labels = [label for label, _ in results]
    return [
        (f"{Path(p).parent.name}/{label}" if labels.count(label) > 1 else label, doc)
        for p, (label, doc) in zip(paths, results)
    ]


def run_label(label: str, document: dict, run: dict) -> str:
    if len(document["runs"]) == 1:
        return label
    return f"{label} b{run['batch']}" + (f" t{run['threads']}" if run["threads"] else "")


def series(document: dict, run: dict) -> str:
    """What a latency-vs-batch line joins, across files too: same model, input size, runtime, settings, threads."""
    parts = [
        document["artifact"]["model"].get("name"),
        "x".join(map(str, run["input_shape"][2:])),
        document["runtime"],
        document["precision"],
    ]
    parts += [f"{k}={v}" for k, v in document["options"].items() if v is not None]
    return " ".join(map(str, parts)) + (f" t{run['threads']}" if run["threads"] else "")


def rows(results: list[tuple[str, dict]]) -> list[dict]:
    out = []
    for label, document in results:
        for run in document["runs"]:
            out.append(
                {
                    "label": run_label(label, document, run),
                    "series": series(document, run),
                    "document": document,
                    "run": run,
                }
            )
    return out


def cells(row: dict, baseline_p50: float) -> list[str]:
    run, doc, lat = row["run"], row["document"], row["run"]["latency_ms"]
    flag = " (unstable)" if run["unstable"] else ""
    version = doc["runtime_version"].split("-")[0]  # OpenVINO appends its build hash
    return [
        row["label"],
        f"{doc['runtime']} {version}",
        str(doc["precision"]),
        str(run["batch"]),
        str(run["threads"] or "default"),
        f"{lat['p50']:.3f}",
        f"{lat['p90']:.3f}",
        f"{lat['p99']:.3f}",
        f"{lat['mean']:.3f}",
        f"{run['cv']:.3f}{flag}",
        f"{run['throughput_fps']:.1f}",
        f"{lat['p50'] / baseline_p50:.2f}x",
    ]


def role_cells(label: str, layers: dict) -> list[str]:
    total = layers["total_ms"] or 1.0
    return [label, f"{layers['total_ms']:.3f}"] + [
        f"{layers['by_role'][r]:.3f} ({100 * layers['by_role'][r] / total:.0f}%)" for r in ROLES
    ]


def print_summary(results: list[tuple[str, dict]]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    table_rows = rows(results)
    table = Table(title=f"latency (cv > {UNSTABLE_CV} is flagged unstable)")
    for column in COLUMNS:
        table.add_column(column)
    for row in table_rows:
        table.add_row(
            *cells(row, table_rows[0]["run"]["latency_ms"]["p50"]), style="yellow" if row["run"]["unstable"] else None
        )
    console.print(table)
    layered = [(label, doc["layers"]) for label, doc in results if "layers" in doc]
    if layered:
        roles = Table(title="per-layer time by IGCV role, ms per inference")
        for column in ("run", "layers total", *ROLES):
            roles.add_column(column)
        for label, layers in layered:
            roles.add_row(*role_cells(label, layers))
        console.print(roles)


def markdown_table(header, body) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])


def environment_rows(results) -> list[list[str]]:
    out = []
    for label, doc in results:
        env = doc["environment"]
        gpus = "; ".join(f"{g.get('name')} @ {g.get('clocks.sm')}" for g in env.get("gpus", [])) or "-"
        out.append(
            [
                label,
                str(env.get("cpu_model")),
                str(env.get("usable_cores")),
                str(env.get("governor")),
                str(env.get("load_avg_before")),
                str(env.get("load_avg_after")),
                gpus,
            ]
        )
    return out


def write_report(results: list[tuple[str, dict]], folder: Path) -> Path:
    from .plots import write_plots

    folder.mkdir(parents=True, exist_ok=True)
    table_rows = rows(results)
    baseline = table_rows[0]["run"]["latency_ms"]["p50"]
    parts = [
        f"# igcv-profile comparison\n\nGenerated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC from "
        f"{len(results)} result file(s); the first run is the baseline. Runs with a coefficient of variation "
        f"above {UNSTABLE_CV} are marked unstable: repeat them on a quieter machine.\n",
        "## Latency\n\n" + markdown_table(COLUMNS, [cells(r, baseline) for r in table_rows]),
    ]
    layered = [(label, doc["layers"]) for label, doc in results if "layers" in doc]
    if layered:
        parts.append(
            "## Per-layer time by IGCV role (ms per inference)\n\n"
            + markdown_table(("run", "layers total", *ROLES), [role_cells(label, doc) for label, doc in layered])
        )
    parts.append(
        "## Environment\n\n"
        + markdown_table(
            ("run", "cpu", "cores", "governor", "load before", "load after", "gpu"), environment_rows(results)
        )
    )
    parts.append("## Plots\n\n" + write_plots(results, table_rows, folder))
    path = folder / "report.md"
    path.write_text("\n\n".join(parts) + "\n")
    return path
