"""Accuracy of the harness itself, measured side by side on the same model and settings.

  openvino:    our p50 (igcv-profile in its own process) against OpenVINO's benchmark_app, in
               alternating rounds (one configuration per process, order rotated every round);
               and our per-call times against InferRequest.latency (OpenVINO's own timer,
               the one benchmark_app reports) for the very same calls
  onnxruntime: our per-call times against onnxruntime's own model_run durations for the very
               same calls (its profiler records them)
The same-call comparisons cancel machine noise: what remains is the harness's own overhead.

  python -m igcv_deploy.profiling.crosscheck openvino model.xml [--rounds 5 --seconds 10 --iterations 200 --threads 2]
  python -m igcv_deploy.profiling.crosscheck onnxruntime model.onnx [--iterations 200 --threads 2]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import IGCVError
from ..runtimes.openvino import PRECISION_HINTS
from ..runtimes.registry import runtimes_listing

MEDIAN = re.compile(r"Median:\s+([\d.]+)\s*ms")


def benchmark_app() -> str:
    local = Path(sys.executable).with_name("benchmark_app")
    found = str(local) if local.exists() else shutil.which("benchmark_app")
    if not found:
        raise IGCVError("benchmark_app is not installed", "it comes with the openvino wheel")
    return found


def benchmark_app_p50(xml: Path, seconds: float, threads: int | None, precision: str = "fp32") -> float:
    """benchmark_app's median: latency hint, or one stream with fixed threads (it refuses both at once)."""
    mode = ["-hint", "latency"] if threads is None else ["-hint", "none", "-nstreams", "1", "-nthreads", str(threads)]
    hint = PRECISION_HINTS[precision]
    cmd = [
        benchmark_app(),
        "-m",
        str(xml),
        "-d",
        "CPU",
        *mode,
        "-nireq",
        "1",
        "-api",
        "sync",
        *(["-infer_precision", hint] if hint else []),
        "-t",
        str(max(1, round(seconds))),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    match = MEDIAN.search(proc.stdout)
    if not match:
        raise IGCVError(f"benchmark_app printed no median latency: {(proc.stderr or proc.stdout).strip()[-300:]}")
    return float(match.group(1))


def our_p50(xml: Path, seconds: float, threads: int | None, precision: str = "fp32") -> float:
    """igcv-profile's p50 in a fresh process, same settings (latency hint, one stream when threads are fixed)."""
    fixed = [] if threads is None else ["--threads", str(threads), "--streams", "1"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        cmd = [
            sys.executable,
            "-m",
            "igcv_deploy.profiling.cli",
            str(xml),
            "--hint",
            "latency",
            *fixed,
            "--precision",
            precision,
            "--duration",
            str(seconds),
            "--output",
            str(out),
            "--quiet",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
        if proc.returncode:
            raise IGCVError(f"igcv-profile failed: {proc.stderr.strip()}")
        return json.loads(out.read_text())["runs"][0]["latency_ms"]["p50"]


def openvino_side_by_side(xml: Path, rounds: int, seconds: float, threads: int | None) -> dict:
    ours, theirs = [], []
    for index in range(rounds):
        order = (our_p50, benchmark_app_p50) if index % 2 == 0 else (benchmark_app_p50, our_p50)
        for measure in order:
            (ours if measure is our_p50 else theirs).append(measure(xml, seconds, threads))
    ratios = [a / b for a, b in zip(ours, theirs)]
    # the median of paired-round ratios: load that drifts between rounds hits both sides of a pair
    return {
        "ours_p50_ms": ours,
        "benchmark_app_p50_ms": theirs,
        "round_ratios": ratios,
        "ratio": float(np.median(ratios)),
        "ratio_of_medians": float(np.median(ours) / np.median(theirs)),
    }


def _timed_calls(runner, iterations: int, after=None) -> np.ndarray:
    """Our timing loop on the runner's bound call; `after` runs inside each timed call, after inference."""
    from .timing import Plan, measure

    shape = [d or 1 for d in runner.input_shape()]
    infer = runner.bind(np.random.default_rng(0).standard_normal(shape, dtype=np.float32))
    call = (lambda: (infer(), after())) if after else infer
    return measure(call, Plan(warmup_iters=10, warmup_s=0.0, iterations=iterations, duration_s=0.0))[0]


def _same_calls(ours: np.ndarray, theirs, name: str) -> dict:
    p50, their_p50 = float(np.median(ours)), float(np.median(theirs))
    return {"ours_p50_ms": p50, f"{name}_p50_ms": their_p50, "ratio": p50 / their_p50, "iterations": len(ours)}


def onnxruntime_same_calls(onnx: Path, iterations: int, threads: int | None) -> dict:
    """Our timing of each call against the model_run duration onnxruntime records for that call."""
    from ..runtimes.onnxruntime import OnnxRuntimeRunner, read_trace

    with tempfile.TemporaryDirectory() as tmp:
        runner = OnnxRuntimeRunner(onnx, threads, profile_prefix=str(Path(tmp) / "ort"))
        samples = _timed_calls(runner, iterations)
        _, run_ms = read_trace(runner.end_profiling(), len(samples))
    return _same_calls(samples, run_ms, "onnxruntime")


def openvino_same_calls(xml: Path, iterations: int, threads: int | None) -> dict:
    """Our timing of each call against InferRequest.latency for that call (read inside the timed call: ~1 us)."""
    from ..runtimes.openvino import OpenVINORunner

    runner, latencies = OpenVINORunner(xml, threads), []
    samples = _timed_calls(runner, iterations, lambda: latencies.append(runner.request.latency))
    return _same_calls(samples, latencies[-len(samples) :], "openvino")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m igcv_deploy.profiling.crosscheck",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("runtime", choices=runtimes_listing(".onnx"))  # the CPU runtimes, each with a timer of its own
    p.add_argument("model", type=Path)
    p.add_argument("--threads", type=int)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--iterations", type=int, default=200)
    args = p.parse_args(argv)
    if args.runtime == "openvino":
        result = {
            "benchmark_app": openvino_side_by_side(args.model, args.rounds, args.seconds, args.threads),
            "same_calls": openvino_same_calls(args.model, args.iterations, args.threads),
        }
    else:
        result = onnxruntime_same_calls(args.model, args.iterations, args.threads)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
