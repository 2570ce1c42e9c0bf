"""Bundles timed side by side in one process: short timings interleaved in rounds, each bundle's latency a ratio
to the first's within every round (median and interquartile range of those ratios).

  .venv/bin/python benchmarks/paired.py BASE OTHER... [--runtime openvino] [--rounds 30] [--seconds 0.3]

run.py times each configuration in a fresh igcv-profile process, seconds apart; on a shared machine the host's
noise then moves whole-network ratios by 5-20% from one run to the next. Here every bundle of a round runs within
about a second, so noise that lasts longer falls on all of them alike: the measurement for a few-percent question
such as "is the default within 3% of a tuned plan" (docs/performance.md). run.py runs the same measurement over
its headline configurations, one group per runtime, and judges its goals by those ratios.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import timing

from igcv_deploy.profiling.artifact import resolve_for_runtime
from igcv_deploy.profiling.timing import Plan
from igcv_deploy.profiling.tune import rotated_round_samples, timing_runner


def bound_call(bundle: str, runtime: str | None, precision: str):
    artifact, runtime = resolve_for_runtime(bundle, runtime)
    runner = timing_runner(artifact.path, runtime, precision, timing.THREADS)
    shape = [size or 1 for size in runner.input_shape()]  # a free batch dimension runs batch 1
    return runner.bind(np.random.default_rng(0).standard_normal(shape).astype(np.float32))


def samples(jobs: dict[str, tuple[Path, str, str | None]], rounds: int, seconds: float, progress=None) -> dict:
    """{key: [p50 ms per round]} for jobs {key: (bundle, runtime, OpenVINO hint or None)}, all loaded in this process
    and timed in turn, round after round."""
    calls = {key: bound_call(str(bundle), runtime, hint or "fp32") for key, (bundle, runtime, hint) in jobs.items()}
    plan = Plan(warmup_iters=5, warmup_s=0.05, iterations=10, duration_s=seconds)
    return rotated_round_samples({"bundles": calls}, rounds, plan, progress)["bundles"]


def ratios_to_first(samples: dict[str, list[float]]) -> dict[str, dict]:
    """{bundle: median p50 ms, and the median and quartiles of its per-round ratio to the first bundle}."""
    base = np.array(next(iter(samples.values())))
    out = {}
    for name, p50 in samples.items():
        ratio = timing.spread(np.array(p50) / base, "paired")
        out[name] = {"p50_ms": float(np.median(p50)), "ratio": ratio["median"], "iqr": ratio["iqr"]}
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bundles", nargs="+", help="bundle folders or model files; ratios are to the first")
    p.add_argument("--runtime", help="default: by the file's suffix")
    p.add_argument("--precision", default="fp32", help="OpenVINO's inference precision hint (fp32, default, ...)")
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--seconds", type=float, default=0.3, help="timed seconds per bundle per round")
    args = p.parse_args(argv)
    jobs = {bundle: (bundle, args.runtime, args.precision) for bundle in args.bundles}  # the hint is OpenVINO's only
    print(f"timing {len(jobs)} bundles, {args.rounds} rounds of {args.seconds} s each", file=sys.stderr, flush=True)
    timed = samples(jobs, args.rounds, args.seconds)
    print(f"| bundle | p50 ms (median of {args.rounds} rounds) | / {args.bundles[0]} (median, IQR) |\n|---|---|---|")
    for name, row in ratios_to_first(timed).items():
        print(f"| {name} | {row['p50_ms']:.2f} | {row['ratio']:.3f}x ({row['iqr'][0]:.3f}-{row['iqr'][1]:.3f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
