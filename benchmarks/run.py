"""IGCV3-D vs MobileNetV2 benchmark suite (docs/performance.md): export, tune, time, pair, profile, report.

  .venv/bin/python benchmarks/run.py            # the full run (make bench), ~75 min from scratch on 2 cores
  .venv/bin/python benchmarks/run.py --smoke    # CI: every configuration once (but ExecuTorch INT8 variants)
  .venv/bin/python benchmarks/run.py --render-only  # RESULTS.md and plots again from the kept results

Results are kept per CPU instruction-set class (igcv_deploy/isa.py): the full run writes
benchmarks/results/<class>.json for the class of the CPU it runs on, leaving the other classes' files, then renders
benchmarks/RESULTS.md (every class side by side, then each in full) and latency-<class>.png, ratios-<class>.png from
all of them (or under --out); bundles, tuned plans and per-layer profiles go to --work (default artifacts/bench).

The smoke proves the suite works end to end, not what it measures: every export (the same subjects, settings and
bundles as the full run, at a small input size, one calibration image, by two worker processes; of the variant study
only the ExecuTorch FP32 bundles, since an ExecuTorch INT8 export takes minutes and the headline subjects already
cover that path), the tuning, one timed run of every configuration, two paired rounds and one per-layer run of every
headline configuration (a few calls each, no waiting for a quiet machine), then the report and the plots, written
under --work (default artifacts/bench-smoke), never into benchmarks/. Either mode exits 1 when any configuration
failed (the report lists them under Missing).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import exports
import matrix
import paired
import profiles
import store
import timing

from igcv_deploy.profiling.environment import load_average
from igcv_deploy.runtimes import get_runtime

HERE = Path(__file__).resolve().parent
E2E = ("igcv3", "openvino", "int8")  # the export whose end-to-end time is a goal (goals.GOAL_EXPORT_S)
TUNE_SOURCE = "igcv3-native:onnx:fp32"  # the natively lowered FP32 ONNX that `igcv-profile tune` cuts blocks from


@dataclass(frozen=True)
class Mode:
    """How much work a run does; the matrix of configurations is the same in every mode but `study_left_out`."""

    name: str
    rounds: int  # rotated timing rounds
    effort: timing.Effort  # each timed igcv-profile run
    layer_effort: timing.Effort  # each per-layer igcv-profile run
    quiet_budget_s: float  # seconds in all that runs may wait for other tasks to stop
    calib_size: int  # INT8 calibration images (the E2E export of a full run: igcv-export's default)
    imgsz: int | None  # input size of every export (None: the model's, 224)
    tune_rounds: int
    tune_seconds: float
    paired_rounds: int  # the paired stage (benchmarks/paired.py): interleaved rounds in one process per runtime
    paired_seconds: float  # timed seconds per configuration per paired round
    peak_repeats: int
    export_workers: int  # 0: one igcv-export process per bundle, in turn; N: N worker processes (exports.Exporter)
    study_left_out: frozenset  # (target, precision) pairs left out of the variant study
    out: Path | None  # where RESULTS.md, results/<class>.json and the plots go (None: under --work)
    work: Path


FULL = Mode(
    "full",
    rounds=5,
    effort=timing.Effort(seconds=1.5),
    layer_effort=timing.Effort(seconds=0.75),
    quiet_budget_s=180.0,
    calib_size=16,
    imgsz=None,
    tune_rounds=3,
    tune_seconds=0.2,
    paired_rounds=30,
    paired_seconds=0.3,
    peak_repeats=30,
    export_workers=0,
    study_left_out=frozenset(),
    out=HERE,
    work=Path("artifacts/bench"),
)
SMOKE = Mode(
    "smoke",
    rounds=1,
    effort=timing.Effort(seconds=0.0, iterations=3, warmup_iters=1, layer_runs=2),
    layer_effort=timing.Effort(seconds=0.0, iterations=3, warmup_iters=1, layer_runs=2),
    quiet_budget_s=0.0,
    calib_size=1,
    imgsz=64,
    tune_rounds=1,
    tune_seconds=0.0,
    paired_rounds=2,
    paired_seconds=0.0,
    peak_repeats=3,
    export_workers=2,
    # an ExecuTorch INT8 export takes 1.5-5 min even at 64 px; the full run keeps these, the smoke their FP32 twins
    study_left_out=frozenset({("executorch", "int8")}),
    out=None,
    work=Path("artifacts/bench-smoke"),
)


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="every configuration once, minimal effort, output in --work")
    p.add_argument("--rounds", type=int, help="rotated timing rounds (default 5, smoke 1)")
    p.add_argument("--seconds", type=float, help="timed seconds per run (default 1.5, smoke 0: 3 calls)")
    p.add_argument(
        "--out",
        type=Path,
        help="where RESULTS.md, results/<class>.json and plots go (default benchmarks/, smoke: WORK)",
    )
    p.add_argument(
        "--render-only", action="store_true", help="measure nothing: RESULTS.md and plots from OUT/results/*.json"
    )
    p.add_argument(
        "--work", type=Path, help="bundles, plans, profiles (default artifacts/bench, smoke: artifacts/bench-smoke)"
    )
    p.add_argument(
        "--quiet-budget",
        type=float,
        help="seconds in all that runs may wait for other tasks to stop "
        "(default 180, smoke 0): on a shared machine each run starts once nothing else is runnable",
    )
    p.add_argument("--reuse", action="store_true", help="keep bundles already in --work (no export times then)")
    args = p.parse_args(argv)
    args.mode = SMOKE if args.smoke else FULL
    args.work = args.work or args.mode.work
    args.out = args.out or args.mode.out or args.work
    if args.smoke and args.out.resolve() == HERE:
        p.error("a smoke run does not write into benchmarks/ (its figures are no measurements): choose another --out")
    if args.render_only and not any(store.folder(args.out).glob("*.json")):
        p.error(f"--render-only: no results in {store.folder(args.out)}")
    args.rounds = args.rounds or args.mode.rounds
    args.effort, args.layer_effort = args.mode.effort, args.mode.layer_effort
    if args.seconds is not None:
        args.effort = replace(args.effort, seconds=args.seconds)
        args.layer_effort = replace(args.layer_effort, seconds=args.seconds / 2)
    args.quiet_budget = args.quiet_budget if args.quiet_budget is not None else args.mode.quiet_budget_s
    return args


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def export_jobs(subjects, args, results: dict, plans: dict | None = None) -> dict:
    """{"subject:target:precision": (subject, target, igcv-export options)} for every bundle the settings need: one per
    target and precision, shared by that bundle's settings. A tuned subject without its plan is recorded as failed.
    The tuning's source comes first, then the INT8 bundles (the longest exports start first)."""
    jobs = {}
    for subject in subjects:
        for target, runtime, precision in dict.fromkeys((t.target, t.runtime, t.precision) for t in matrix.settings()):
            key = f"{subject.key}:{target}:{precision}"
            if not matrix.wanted(subject, target, precision, args.mode.study_left_out):
                continue
            extra = subject.options + size_options(args.mode) + int8_options(subject, target, precision, args.mode)
            if subject.tuned and runtime not in (plans or {}):
                results["exports"][key] = {"status": "failed", "reason": f"no lowering plan tuned on {runtime}"}
                continue
            jobs[key] = (subject, target, extra + (("--lowering-plan", str(plans[runtime])) if subject.tuned else ()))
    return dict(sorted(jobs.items(), key=lambda job: (job[0] != TUNE_SOURCE, not job[0].endswith(":int8"))))


def submit_exports(jobs: dict, args, exporter: exports.Exporter) -> dict:
    """{key: (bundle folder, command, Future of its export time or None when --reuse keeps it)}."""
    pending = {}
    for key, (subject, target, extra) in jobs.items():
        folder = args.work / key.replace(":", "_")
        command = " ".join(["benchmarks/exports.py" if subject.model == exports.NOPERM else "igcv-export", *extra])
        if args.reuse and reusable(folder, extra):
            pending[key] = (folder, "reused", None)
        else:
            log = folder.with_name(f"{folder.name}.log")
            precision = key.rsplit(":", 1)[1]
            pending[key] = (folder, command, exporter.submit(subject.model, target, precision, folder, log, extra))
    return pending


def reusable(folder: Path, extra: tuple[str, ...]) -> bool:
    """A kept bundle serves --reuse if it is complete and, for a tuned subject, built from the plan tuned in this
    run (the tuning runs again, and may choose differently)."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return False
    if "--lowering-plan" not in extra:
        return True
    plan = Path(extra[extra.index("--lowering-plan") + 1])
    lowering = json.loads(manifest.read_text())["folding"]["grouped_conv_lowering"]
    return lowering.get("plan_sha256") == hashlib.sha256(plan.read_bytes()).hexdigest()


def collect_exports(pending: dict, results: dict) -> dict:
    """Wait for the exports in `pending` (in its order) and record them: {(subject, target, precision): bundle}."""
    bundles = {}
    for key, (folder, command, future) in pending.items():
        try:
            seconds = future.result() if future else None
        except RuntimeError as exc:
            results["exports"][key] = {"status": "failed", "reason": str(exc)}
            say(f"export {key} FAILED: {exc}")
            continue
        results["exports"][key] = {"status": "ok", "bundle": folder, "seconds": seconds, "command": command}
        bundles[tuple(key.split(":"))] = folder
        say(f"{folder.name}: {command}" + (f", {seconds:.1f} s" if seconds else ""))
    return bundles


def export_all(args, results: dict) -> dict:
    """Every bundle of the matrix, the tuned ones from plans tuned here: {(subject, target, precision): bundle}.
    With worker processes (the smoke) the tuning runs as soon as its source exists, while the workers go on; with
    one export process at a time (the full run) it waits for them, so no export shares the machine with it."""
    untuned = [s for s in (*matrix.SUBJECTS, *matrix.VARIANT_STUDY) if not s.tuned]
    with exports.Exporter(args.mode.export_workers, timing.THREADS) as exporter:
        pending = submit_exports(export_jobs(untuned, args, results), args, exporter)
        first = [TUNE_SOURCE] if args.mode.export_workers else list(pending)
        bundles = collect_exports({key: pending.pop(key) for key in first if key in pending}, results)
        plans = tune_plans(bundles, args, results)
        tuned = [s for s in matrix.SUBJECTS if s.tuned]
        pending |= submit_exports(export_jobs(tuned, args, results, plans), args, exporter)
        return bundles | collect_exports(pending, results)


def size_options(mode: Mode) -> tuple[str, ...]:
    return ("--imgsz", str(mode.imgsz)) if mode.imgsz else ()


def int8_options(subject, target: str, precision: str, mode: Mode) -> tuple[str, ...]:
    """INT8 calibration options: none (igcv-export's defaults) for the export whose end-to-end time is a goal in a
    full run; for the others (and every smoke export) fewer images and one calibration method (ranges do not change
    latency)."""
    if precision != "int8" or (not mode.export_workers and (subject.key, target, precision) == E2E):
        return ()
    size = mode.calib_size
    if target == "litert":  # full integer: the file's input scale is calibrated too, so it takes a minimum
        from igcv_deploy.exporters.litert import MIN_CALIBRATION

        size = max(size, MIN_CALIBRATION)
    return ("--calib-size", str(size)) + (("--calib-method", "minmax") if target == "onnx" else ())


def tune_plans(bundles: dict, args, results: dict) -> dict[str, Path]:
    """`igcv-profile tune` on each CPU runtime, from the natively lowered igcv3 ONNX bundle: {runtime: plan file}."""
    from igcv_deploy.profiling.tune import tune

    results["tuning"], plans = {}, {}
    source = bundles.get(tuple(TUNE_SOURCE.split(":")))
    for runtime in dict.fromkeys(t.runtime for t in matrix.cpu_targets() if t.from_onnx):
        if source is None:
            results["missing"][f"tuning on {runtime}"] = f"no {TUNE_SOURCE} bundle to tune from"
            continue
        try:
            plan = tune(
                source / "model.onnx",
                runtime,
                "fp32",
                timing.THREADS,
                rounds=args.mode.tune_rounds,
                seconds=args.mode.tune_seconds,
            )
        except Exception as exc:  # recorded: the tuned subject is missing, the rest of the run goes on
            results["missing"][f"tuning on {runtime}"] = f"{type(exc).__name__}: {exc}"
            say(f"tuning on {runtime} FAILED: {exc}")
            continue
        results["tuning"][runtime] = plan
        plans[runtime] = args.work / f"plan_{runtime}.json"
        plans[runtime].write_text(json.dumps(plan, indent=1) + "\n")
        say(f"tuned plan written to {plans[runtime]}")
    return plans


def jobs_for(configs, artifacts: dict, results: dict) -> dict:
    """{config key: (bundle, runtime, hint)} for every configuration whose bundle exists; the others are missing."""
    jobs = {}
    for subject, setting in configs:
        key = matrix.config_key(subject, setting)
        artifact = artifacts.get((subject.key, setting.target, setting.precision))
        if artifact is None:
            results["missing"][key] = f"no bundle (export {subject.key}:{setting.target}:{setting.precision} failed)"
        else:
            jobs[key] = (artifact, setting.runtime, setting.hint)
    return jobs


def paired_stage(headline: dict, mode: Mode, results: dict) -> dict:
    """Each runtime's headline configurations loaded into this process and timed in interleaved rounds
    (benchmarks/paired.py): {"rounds", "seconds", "samples": {runtime: {config key: [p50 ms per round]}}}, the
    measurement the goals' ratios are judged by (goals.ratio)."""
    groups: dict[str, dict] = {}
    for key, job in headline.items():
        groups.setdefault(job[1], {})[key] = job
    samples = {}
    for runtime, group in groups.items():
        say(f"paired: {len(group)} {runtime} configurations, {mode.paired_rounds} rounds of {mode.paired_seconds} s")
        try:
            samples[runtime] = paired.samples(group, mode.paired_rounds, mode.paired_seconds, say)
        except Exception as exc:  # recorded: those ratios come from the process rounds, the run goes on
            results["missing"][f"paired timing on {runtime}"] = f"{type(exc).__name__}: {exc}"
            say(f"paired timing on {runtime} FAILED: {exc}")
    return {"rounds": mode.paired_rounds, "seconds": mode.paired_seconds, "samples": samples}


def main(argv: list[str]) -> int:
    args = parse(argv)
    from results_md import write_report

    if args.render_only:
        say(f"wrote {write_report(args.out)}")
        return 0
    results = measure(args)
    say(f"saved {store.save(results, args.out)}")
    path = write_report(args.out)
    failures = [*results["missing"], *(k for k, v in results["exports"].items() if v["status"] == "failed")]
    say(f"wrote {path} in {results['duration_s'] / 60:.1f} min ({len(results['timings'])} configurations timed)")
    if failures:
        say(f"{len(failures)} failed: {', '.join(failures)}")
        return 1
    return 0


def measure(args) -> dict:
    """The run: export, tune, time, profile; its results (failures recorded in them)."""
    from machine import describe, peaks

    args.work.mkdir(parents=True, exist_ok=True)
    # The default bundles are what a first export on this CPU makes: from an empty tuning store (docs/devices.md).
    os.environ["XDG_CACHE_HOME"] = str(args.work / "empty-tuning-store")
    if not args.smoke:  # the smoke proves the suite runs: it may keep CI's IGCV_NO_TUNE=1
        os.environ.pop("IGCV_NO_TUNE", None)
    start = time.perf_counter()
    results = {
        "smoke": args.smoke,
        "rounds": args.rounds,
        "seconds": args.effort.seconds,
        "iterations": args.effort.iterations,
        "imgsz": args.mode.imgsz or 224,
        "threads": timing.THREADS,
        "quiet_budget_s": args.quiet_budget,
        "machine": describe(),
        "exports": {},
        "missing": {},
    }
    say(f"{args.mode.name} run; load average {results['machine']['load_avg']}; measuring peaks")
    results["peaks"] = peaks(timing.THREADS, args.mode.peak_repeats)
    artifacts = export_all(args, results)
    jobs = jobs_for(matrix.configs(args.mode.study_left_out), artifacts, results)
    gate = timing.QuietGate(args.quiet_budget)
    results["timings"], failed = timing.rotated_rounds(jobs, args.rounds, args.effort, gate, say)
    results["missing"] |= failed
    headline = {key: job for key, job in jobs.items() if matrix.SUBJECT[key.split("@")[0]] in matrix.SUBJECTS}
    results["paired"] = paired_stage(headline, args.mode, results)
    profiled = {key: job for key, job in headline.items() if get_runtime(job[1]).layer_times}
    results["layers"], failed = profiles.layer_profiles(profiled, args.work / "profiles", args.layer_effort, say)
    results["missing"] |= {f"per-layer profile {key}": why for key, why in failed.items()}
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
    results["finished_utc"] = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M}"
    return results


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
