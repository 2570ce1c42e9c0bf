"""IGCV3-D vs MobileNetV2 benchmark suite (issue 10): export, tune, time, profile, report.

  .venv/bin/python benchmarks/run.py            # the full run (make bench), ~15 min on 2 cores
  .venv/bin/python benchmarks/run.py --quick    # every step, minimal rounds: checks the suite works

Writes benchmarks/RESULTS.md, benchmarks/results.json and PNG plots into benchmarks/ (or --out);
bundles, tuned plans and per-layer profiles go to --work (default artifacts/bench).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import exports
import matrix
import profiles
import timing

from igcv_deploy.profiling.environment import load_average

HERE = Path(__file__).resolve().parent
E2E, BENCH_CALIB = ("igcv3", "openvino", "int8"), 16  # E2E: the export whose end-to-end time is a goal


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="one short round, small calibration, no variant study")
    p.add_argument("--rounds", type=int, help="rotated timing rounds (default 5, quick 1)")
    p.add_argument("--seconds", type=float, help="timed seconds per run (default 1.5, quick 0.3)")
    p.add_argument("--out", type=Path, default=HERE, help="where RESULTS.md, results.json and plots go")
    p.add_argument("--work", type=Path, default=Path("artifacts/bench"), help="bundles, plans, profiles")
    p.add_argument(
        "--quiet-budget",
        type=float,
        help="seconds in all that runs may wait for other tasks to stop "
        "(default 180, quick 10): on a shared machine each run starts once nothing else is runnable",
    )
    p.add_argument("--reuse", action="store_true", help="keep bundles already in --work (no export times then)")
    args = p.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 5)
    args.seconds = args.seconds or (0.3 if args.quick else 1.5)
    args.quiet_budget = args.quiet_budget if args.quiet_budget is not None else (10.0 if args.quick else 180.0)
    return args


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def export_subjects(subjects, args, results: dict, plans: dict | None = None) -> dict:
    """{(subject, target, precision): bundle} for every bundle the settings need; failures are recorded."""
    bundles = {}
    for subject in subjects:
        for target, precision in dict.fromkeys((t.target, t.precision) for t in matrix.settings()):
            if subject.fp32_only and precision != "fp32":
                continue
            extra = subject.options + int8_options(subject, target, precision, args.quick)
            if subject.tuned:
                extra += ("--lowering-plan", str(plans[matrix.RUNTIME_OF_TARGET[target]]))
            record = export_one(subject, target, precision, args, extra)
            results["exports"][f"{subject.key}:{target}:{precision}"] = record
            if record["status"] == "ok":
                bundles[(subject.key, target, precision)] = record["bundle"]
                seconds = f", {record['seconds']:.1f} s" if record["seconds"] else ""
                say(f"{record['bundle'].name}: {record['command']}{seconds}")
    return bundles


def export_one(subject, target: str, precision: str, args, extra: tuple[str, ...]) -> dict:
    """Export (or, with --reuse, keep) one bundle: {"status": "ok", "bundle", "seconds", "command"} or why not."""
    folder = args.work / f"{subject.key}_{target}_{precision}"
    if args.reuse and (folder / "manifest.json").is_file():
        return {"status": "ok", "bundle": folder, "seconds": None, "command": "reused"}
    try:
        seconds = exports.export(subject.model, target, precision, folder, args.work / f"{folder.name}.log", extra)
    except RuntimeError as exc:
        return {"status": "failed", "reason": str(exc)}
    command = "benchmarks/exports.py" if subject.model == exports.NOPERM else "igcv-export"
    return {"status": "ok", "bundle": folder, "seconds": seconds, "command": " ".join([command, *extra])}


def int8_options(subject, target: str, precision: str, quick: bool) -> tuple[str, ...]:
    """INT8 calibration options: none (igcv-export's defaults) for the export whose end-to-end time is a goal; for the
    others fewer images and one calibration method (ranges do not change latency); 8 images with --quick."""
    if precision != "int8" or (not quick and (subject.key, target, precision) == E2E):
        return ()
    return ("--calib-size", "8" if quick else str(BENCH_CALIB)) + (
        ("--calib-method", "minmax") if target == "onnx" else ()
    )


def tune_plans(bundles: dict, args, results: dict) -> dict[str, Path]:
    """`igcv-profile tune` on each runtime, from the natively lowered igcv3 ONNX bundle: {runtime: plan file}."""
    from igcv_deploy.profiling.tune import tune

    source = bundles[("igcv3-native", "onnx", "fp32")] / "model.onnx"
    rounds, seconds = (1, 0.05) if args.quick else (3, 0.2)
    results["tuning"], plans = {}, {}
    for runtime in ("onnxruntime", "openvino"):
        results["tuning"][runtime] = tune(source, runtime, "f32", timing.THREADS, rounds, seconds)
        plans[runtime] = args.work / f"plan_{runtime}.json"
        plans[runtime].write_text(json.dumps(results["tuning"][runtime], indent=1) + "\n")
        say(f"tuned plan written to {plans[runtime]}")
    return plans


def jobs_for(configs, artifacts: dict) -> dict:
    jobs = {}
    for subject, setting in configs:
        artifact = artifacts.get((subject.key, setting.target, setting.precision))
        if artifact is not None:
            jobs[matrix.config_key(subject, setting)] = (artifact, setting.runtime, setting.hint)
    return jobs


def main(argv: list[str]) -> int:
    from machine import describe, peaks

    args = parse(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = {
        "quick": args.quick,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "threads": timing.THREADS,
        "quiet_budget_s": args.quiet_budget,
        "machine": describe(),
        "exports": {},
        "missing": {},
    }
    say(f"load average {results['machine']['load_avg']}; measuring peaks")
    results["peaks"] = peaks(timing.THREADS)
    untuned = [s for s in (*matrix.SUBJECTS, *(() if args.quick else matrix.VARIANT_STUDY)) if not s.tuned]
    artifacts = export_subjects(untuned, args, results)
    plans = tune_plans(artifacts, args, results)
    artifacts |= export_subjects([s for s in matrix.SUBJECTS if s.tuned], args, results, plans)
    configs = matrix.configs(args.quick)
    jobs = jobs_for(configs, artifacts)
    gate = timing.QuietGate(args.quiet_budget)
    results["timings"] = timing.rotated_rounds(jobs, args.rounds, args.seconds, gate, say)
    headline = {key: job for key, job in jobs.items() if key.split("@")[0] in {s.key for s in matrix.SUBJECTS}}
    results["layers"] = profiles.layer_profiles(headline, args.work / "profiles", args.seconds / 2, say)
    results["macs_by_role"] = {
        s.key: profiles.macs_by_role(artifacts[(s.key, "onnx", "fp32")] / "model.onnx")
        for s in matrix.SUBJECTS
        if (s.key, "onnx", "fp32") in artifacts
    }
    results["manifests"] = {
        f"{k[0]}:{k[1]}:{k[2]}": profiles.manifest_summary(p) for k, p in artifacts.items() if p.is_dir()
    }
    results["load_end"] = load_average()
    results["duration_s"] = time.perf_counter() - start
    from report import write_results

    path = write_results(results, args.out)
    say(f"wrote {path} in {results['duration_s'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
