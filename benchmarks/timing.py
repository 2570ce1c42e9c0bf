"""Timing with the project's harness (igcv-profile): one configuration per process, rotated rounds.

Round r runs every configuration once, starting at a different one each round, so slow drifts of
the machine's load fall on every configuration alike. Each run is a fresh `igcv-profile` process
(warm-up, then a timed loop of at least `Effort.seconds` and `Effort.iterations` calls); its median is that
round's figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

THREADS = 2


@dataclass(frozen=True)
class Effort:
    """How much each `igcv-profile` run measures: a warm-up, then at least `iterations` timed calls and `seconds`."""

    seconds: float
    iterations: int = 20
    warmup_iters: int = 10
    layer_runs: int = 20  # inferences averaged for --per-layer

    @property
    def warmup_s(self) -> float:
        return min(1.0, self.seconds / 2)


def profile_command(
    artifact: Path, runtime: str, hint: str | None, effort: Effort, output: Path, per_layer: bool = False
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "igcv_deploy.profiling.cli",
        str(artifact),
        "--runtime",
        runtime,
        "--threads",
        str(THREADS),
        "--warmup-iters",
        str(effort.warmup_iters),
        "--warmup-time",
        str(effort.warmup_s),
        "--duration",
        str(effort.seconds),
        "--iterations",
        str(effort.iterations),
        "--output",
        str(output),
        "--quiet",
    ]
    if hint:
        command += ["--precision", hint]
    return command + (["--per-layer", "--layer-runs", str(effort.layer_runs)] if per_layer else [])


def profile_once(artifact: Path, runtime: str, hint: str | None, effort: Effort, per_layer: bool = False) -> dict:
    """One igcv-profile process; returns its result document (RuntimeError with its last words if it fails)."""
    with tempfile.TemporaryDirectory(prefix="igcv-bench-") as tmp:
        output = Path(tmp) / "result.json"
        done = subprocess.run(
            profile_command(artifact, runtime, hint, effort, output, per_layer), capture_output=True, text=True
        )
        if done.returncode:
            raise RuntimeError(f"igcv-profile failed on {artifact}: {done.stderr.strip()[-500:]}")
        return json.loads(output.read_text())


def round_record(document: dict) -> dict:
    """What a round keeps of a result document (the samples are summarised, not stored)."""
    run = document["runs"][0]
    return {
        "p50_ms": run["latency_ms"]["p50"],
        "min_ms": run["latency_ms"]["min"],
        "cv": run["cv"],
        "iterations": run["iterations"],
        "load_before": run["load_avg"]["before"],
        "precision": document["precision"],
        "runtime_config": run["runtime_config"],
    }


def others_runnable() -> int:
    """Tasks other than this one that are runnable right now (/proc/loadavg's 4th field counts the reader too)."""
    try:
        return int(Path("/proc/loadavg").read_text().split()[3].split("/")[0]) - 1
    except (OSError, ValueError, IndexError):
        return 0


class QuietGate:
    """Before a run, wait until no other task has been runnable for `settle_s`, within a total budget for the whole
    benchmark (a shared machine may never be quiet); each run records how long it waited and whether it got quiet."""

    def __init__(self, budget_s: float, settle_s: float = 0.3, poll_s: float = 0.05):
        self.left, self.settle, self.poll = budget_s, settle_s, poll_s

    def wait(self) -> dict:
        start = quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < self.settle and time.monotonic() - start < self.left:
            time.sleep(self.poll)
            if others_runnable() > 0:
                quiet_since = time.monotonic()
        waited = time.monotonic() - start
        self.left = max(0.0, self.left - waited)
        return {"waited_s": round(waited, 2), "quiet": time.monotonic() - quiet_since >= self.settle}


def rotated_rounds(
    jobs: dict[str, tuple[Path, str, str | None]], rounds: int, effort: Effort, gate: QuietGate, progress
) -> tuple[dict, dict]:
    """({config key: [round record, ...]}, {config key: why it failed}) for jobs {key: (artifact, runtime, hint)};
    a configuration whose run fails is dropped from the later rounds."""
    keys = list(jobs)
    results: dict[str, list[dict]] = {key: [] for key in keys}
    failed: dict[str, str] = {}
    for r in range(rounds):
        shift = r * max(1, len(keys) // rounds) % max(1, len(keys))
        for key in keys[shift:] + keys[:shift]:
            if key in failed:
                continue
            quiet = gate.wait()
            try:
                document = profile_once(*jobs[key], effort)
            except RuntimeError as exc:
                failed[key] = str(exc)
                progress(f"round {r + 1}/{rounds} {key}: FAILED ({exc})")
                continue
            results[key].append({**round_record(document), **quiet})
            busy = "" if quiet["quiet"] else " (machine busy)"
            progress(f"round {r + 1}/{rounds} {key}: {results[key][-1]['p50_ms']:.2f} ms{busy}")
    return {key: records for key, records in results.items() if key not in failed}, failed


def summary(records: list[dict]) -> dict:
    """Median of the round medians, and their spread (min-max and interquartile range)."""
    return summary_ms([r["p50_ms"] for r in records])


def summary_ms(round_p50_ms: list[float]) -> dict:
    p50 = np.array(round_p50_ms)
    q1, q3 = np.percentile(p50, (25, 75))
    return {
        "median_ms": float(np.median(p50)),
        "min_ms": float(p50.min()),
        "max_ms": float(p50.max()),
        "iqr_ms": float(q3 - q1),
        "rounds": len(p50),
        "round_p50_ms": p50.tolist(),
    }


def ratio(numerator: list[dict], denominator: list[dict]) -> dict:
    """A ratio measured side by side in rotated process rounds: per round, then summarised (`spread`)."""
    return spread(np.array([a["p50_ms"] / b["p50_ms"] for a, b in zip(numerator, denominator)]), "rounds")


def spread(per_round: np.ndarray, method: str) -> dict:
    """Median, min-max and interquartile range of a ratio taken per round, and how its rounds were timed."""
    q1, q3 = np.percentile(per_round, (25, 75))
    return {
        "median": float(np.median(per_round)),
        "min": float(per_round.min()),
        "max": float(per_round.max()),
        "iqr": [float(q1), float(q3)],
        "method": method,
        "per_round": per_round.round(4).tolist(),
    }
