"""igcv-profile: latency of a bundle or model file on this device, in one JSON schema for every runtime.

  igcv-profile BUNDLE_OR_MODEL_FILE [options]     time it (and --per-layer: where the time goes)
  igcv-profile compare A.json B.json ... [--report DIR]   compare results side by side
  igcv-profile tune BUNDLE_OR_ONNX --runtime R --output plan.json   pick each block's grouped-conv lowering
  igcv-profile verify BUNDLE                     rerun the bundle's reference set, judge it by the export's limits
  igcv-profile device setup|info --on DEVICE     make / show the torch-free environment on a device over SSH

BUNDLE, tune and verify take --on DEVICE (ssh://[user@]host[:port] or an ssh-config alias; repeat for a fleet)
to run on that device: the bundle is copied there once and hash-verified before it runs.

Imports no torch (only --runtime torch does), so it runs on devices with just a runtime installed.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..errors import UsageError, run_guarded
from ..remote.commands import add_remote_options
from ..runtimes.openvino import PRECISION_HINTS, OpenVINOOptions
from ..runtimes.registry import runtime_names, runtimes_listing

OPENVINO_ONLY = ("hint", "streams", "precision")


def profile_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="igcv-profile", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("artifact", help="bundle folder (hash-verified first) or .onnx/.ort/.xml/.engine file")
    p.add_argument(
        "--runtime",
        choices=runtime_names(),
        help="default: by file suffix; torch = PyTorch eager baseline rebuilt from a bundle's manifest",
    )
    p.add_argument("--threads", type=int, help="intra-op / inference threads (default: the runtime's choice)")
    p.add_argument("--thread-sweep", type=int, nargs="+", metavar="N", help="time each thread count")
    p.add_argument("--batch", type=int, help="batch size (default: the model's; other sizes need a dynamic batch)")
    p.add_argument("--batch-sweep", type=int, nargs="+", metavar="N", help="time each batch size")
    p.add_argument("--hint", choices=("latency", "throughput"), help="openvino PERFORMANCE_HINT (default latency)")
    p.add_argument("--streams", type=int, help="openvino NUM_STREAMS")
    p.add_argument(
        "--precision",
        choices=tuple(PRECISION_HINTS),
        help="openvino INFERENCE_PRECISION_HINT (default fp32; 'default' lets the plugin pick)",
    )
    p.add_argument("--warmup-iters", type=int, default=10, help="at least this many warm-up calls (default 10)")
    p.add_argument("--warmup-time", type=float, default=1.0, help="and at least this many seconds (default 1)")
    p.add_argument("--iterations", type=int, default=50, help="at least this many timed calls (default 50)")
    p.add_argument("--duration", type=float, default=3.0, help="and at least this many seconds (default 3)")
    p.add_argument("--per-layer", action="store_true", help="per-layer times by op type and IGCV role")
    p.add_argument("--layer-runs", type=int, default=20, help="inferences averaged for --per-layer (default 20)")
    p.add_argument("--output", help="write the result JSON here")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no table")
    add_remote_options(p, "profile it")
    return p


def compare_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="igcv-profile compare", description="Compare igcv-profile results side by side.")
    p.add_argument("results", nargs="+", help="result JSON files; the first one is the baseline")
    p.add_argument("--report", help="write report.md and PNG plots into this folder")
    return p


def tune_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="igcv-profile tune",
        description="Time every grouped-conv lowering of each IGC "
        "block on this device and write the fastest as a plan for igcv-export --lowering-plan.",
    )
    p.add_argument("artifact", nargs="?", help="FP32 bundle or .onnx exported with --lowering native")
    p.add_argument("--runtime", choices=runtimes_listing(".onnx"), default="onnxruntime")
    p.add_argument("--precision", choices=tuple(PRECISION_HINTS), default="fp32", help="openvino only")
    p.add_argument("--threads", type=int, default=2, help="inference threads (default 2)")
    p.add_argument(
        "--rounds", type=int, default=3, help="rounds over every block and form; each form's median is kept (default 3)"
    )
    p.add_argument("--seconds", type=float, default=0.3, help="timed seconds per variant per round (default 0.3)")
    p.add_argument("--budget", type=float, help="cap on the timed seconds in all (shortens --seconds)")
    p.add_argument("--output", default="lowering_plan.json", help="plan file (default lowering_plan.json)")
    p.add_argument("--export", help="then copy this device's tuning store to FILE (for igcv-export --tuning FILE)")
    add_remote_options(p, "tune it")
    return p


def verify_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="igcv-profile verify",
        description="Run a bundle's reference.npz in its runtime (no torch) and judge max rel err, cosine and top-1 "
        "agreement by the limits the export used. Exit 0 within them, 1 otherwise.",
    )
    p.add_argument("artifact", help="bundle folder (hash-verified first)")
    p.add_argument("--runtime", choices=runtime_names(), help="default: the runtime the export checked parity in")
    p.add_argument("--output", help="write the figures and limits as JSON here")
    add_remote_options(p, "verify it")
    return p


def check_arguments(args: argparse.Namespace, runtime: str) -> None:
    misplaced = [f"--{name}" for name in OPENVINO_ONLY if getattr(args, name) is not None and runtime != "openvino"]
    if misplaced:
        raise UsageError(f"{', '.join(misplaced)} applies to openvino only, not {runtime}", "remove it")
    if args.per_layer and runtime == "torch":
        raise UsageError("--per-layer is not available for the torch baseline", "profile the bundle's runtime instead")
    if args.batch_sweep and args.batch or args.thread_sweep and args.threads:
        raise UsageError("give either a single value or a sweep", "remove --batch/--threads or the sweep")
    counts = [
        v
        for v in (
            args.batch,
            args.threads,
            args.streams,
            args.iterations,
            args.layer_runs,
            *(args.batch_sweep or ()),
            *(args.thread_sweep or ()),
        )
        if v is not None
    ]
    if any(v < 1 for v in counts) or min(args.duration, args.warmup_time, args.warmup_iters) < 0:
        raise UsageError("counts must be positive and times non-negative", "check the numbers given")


def runtime_options(args: argparse.Namespace, runtime: str) -> dict:
    """The runner's keyword options: OpenVINO's as asked, with its defaults filled in; the others take none."""
    if runtime != "openvino":
        return {}
    given = {name: getattr(args, name) for name in OPENVINO_ONLY if getattr(args, name) is not None}
    return asdict(OpenVINOOptions(**given))


def build_request(args: argparse.Namespace):
    from .artifact import resolve_for_runtime
    from .harness import Request
    from .timing import Plan

    artifact, runtime = resolve_for_runtime(args.artifact, args.runtime)
    check_arguments(args, runtime)
    plan = Plan(args.warmup_iters, args.warmup_time, args.iterations, args.duration)
    return Request(
        artifact,
        runtime,
        runtime_options(args, runtime),
        plan,
        tuple(args.batch_sweep or [args.batch]),
        tuple(args.thread_sweep or [args.threads]),
        args.per_layer,
        args.layer_runs,
        progress=sys.stderr.isatty() and not args.quiet,
    )


def run_profile(argv: list[str]) -> int:
    from .comparison import print_summary
    from .harness import profile

    parser = profile_parser()
    args = parser.parse_args(argv)
    if args.on:
        from ..remote.commands import run_on_devices

        return run_on_devices(parser, args, [], tag_device, lambda doc, say: say(latency_line(doc)), ["--quiet"])
    document = profile(build_request(args))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(document, indent=1) + "\n")
    if not args.quiet:
        print_summary([(Path(args.output).stem if args.output else "run", document)])
    return 0


def tag_device(document: dict, device) -> None:
    document["device"] = device.spec


def latency_line(document: dict) -> str:
    return ", ".join(f"p50 {run['latency_ms']['p50']:.3f} ms" for run in document["runs"])


def run_compare(argv: list[str]) -> int:
    from .comparison import load_results, print_summary, write_report

    args = compare_parser().parse_args(argv)
    results = load_results(args.results)
    print_summary(results)
    if args.report:
        print(f"report: {write_report(results, Path(args.report))}")
    return 0


def run_tune(argv: list[str]) -> int:
    from .artifact import resolve
    from .tune import tune

    parser = tune_parser()
    args = parser.parse_args(argv)
    if args.artifact is None and args.export and not args.on:
        return export_store(Path(args.export))
    if args.artifact is None:
        raise UsageError("igcv-profile tune needs a bundle or .onnx to tune", "pass one, or only --export FILE")
    if min(args.threads, args.rounds) < 1 or args.seconds <= 0 or (args.budget is not None and args.budget <= 0):
        raise UsageError("--threads, --rounds, --seconds and --budget must be positive", "check the numbers given")
    if args.on:
        from ..remote.commands import run_on_devices

        return run_on_devices(parser, args, ["tune"], tag_tuned_on, lambda doc, say: say(plan_line(doc)))
    model = resolve(args.artifact).file_for((".onnx",)).path
    if model.suffix != ".onnx":
        raise UsageError(f"{args.artifact} holds no ONNX model to tune", "pass an onnx bundle or .onnx file")
    result = tune(
        model,
        args.runtime,
        args.precision,
        args.threads,
        rounds=args.rounds,
        seconds=args.seconds,
        budget_s=args.budget,
        progress=lambda line: print(line, file=sys.stderr),
    )
    Path(args.output).write_text(json.dumps(result, indent=1) + "\n")
    store_plan(result, f"igcv-profile tune {args.rounds} rounds x {args.seconds} s")
    if args.export:
        export_store(Path(args.export))
    print(f"{plan_line(result)}\nwritten to {args.output}")
    print(f"next: igcv-export --model MODEL --target TARGET --lowering-plan {args.output}")
    return 0


def tag_tuned_on(document: dict, device) -> None:
    document["tuned_on"]["device"] = device.spec


def plan_line(document: dict) -> str:
    return "plan: " + ", ".join(f"{sig}: {variant}" for sig, variant in document["plan"].items())


def run_verify(argv: list[str]) -> int:
    from .verify import check, report_lines, verify

    parser = verify_parser()
    args = parser.parse_args(argv)
    if args.on:
        from ..remote.commands import run_on_devices

        def judged(result: dict, say) -> None:
            for line in report_lines(result):
                say(line)

        return run_on_devices(parser, args, ["verify"], tag_device, judged)
    result = verify(args.artifact, args.runtime)
    print("\n".join(report_lines(result)))
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=1) + "\n")
    check(result)
    print("ok: within the export's limits")
    return 0


def run_device(argv: list[str]) -> int:
    from .device_cli import run_device_command

    return run_device_command(argv)


def store_plan(result: dict, how: str) -> None:
    """Record a plan tuned here in this device's tuning store (igcv_deploy/tuning_store.py)."""
    from .. import tuning_store

    tuning_store.record_host(result, how)
    print(f"stored in {tuning_store.store_path()}", file=sys.stderr)


def export_store(destination: Path) -> int:
    from .. import tuning_store

    count = tuning_store.export_entries(destination)
    print(f"{count} tuning entries written to {destination}\nnext: igcv-export ... --tuning {destination}")
    return 0


SUBCOMMANDS = {"compare": run_compare, "tune": run_tune, "verify": run_verify, "device": run_device}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in SUBCOMMANDS:
        return run_guarded(SUBCOMMANDS[argv[0]], argv[1:])
    return run_guarded(run_profile, argv)


if __name__ == "__main__":
    sys.exit(main())
