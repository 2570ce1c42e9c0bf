"""igcv-export: one command from a model name to a verified deployment bundle."""

from __future__ import annotations

import argparse
import sys
import warnings

from .errors import run_guarded
from .targets import TARGETS

LISTING_FLAGS = ("list_models", "names_only")
REMOTE_FLAGS = ("on", "ssh_config", "timeout")
EPILOG = (
    "targets:\n"
    + "\n".join(f"  {t.name:<13} {'/'.join(t.precisions):<15} {t.description}" for t in TARGETS)
    + "\n\nsubcommands:\n  igcv-export build-engine BUNDLE   build model.engine from a tensorrt bundle on the device"
)


def export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="igcv-export",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--list-models", action="store_true", help="print the model zoo (name, family, params, MACs, input, weights)"
    )
    parser.add_argument("--names-only", action="store_true", help="with --list-models: one model name per line")
    parser.add_argument(
        "--model",
        help="registered name (see --list-models), FILE.py:CALLABLE, MODULE:CALLABLE, a .pt2 program or a .onnx file",
    )
    parser.add_argument("--target", help="export target (see below); default onnx")
    parser.add_argument("--precision", help="fp32, fp16 or int8 (default: the target's first)")
    parser.add_argument("--weights", help="checkpoint: native state dict, pytorchcv .pth or MXNet .params")
    parser.add_argument("--output", help="bundle folder (default artifacts/<model>_<target>_<precision>)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing bundle folder")
    parser.add_argument("--batch", type=int, help="static batch size (default 1)")
    parser.add_argument("--imgsz", type=int, help="square input size (default: the model's; 224 for your own models)")
    parser.add_argument("--input-size", help="C,H,W input size (instead of --imgsz)")
    parser.add_argument("--num-classes", type=int, help="classes of the head (registered models and your callables)")
    parser.add_argument("--mean", help="per-channel mean, comma-separated, 0-1 scale (default ImageNet's)")
    parser.add_argument("--std", help="per-channel std, comma-separated, 0-1 scale (default ImageNet's)")
    parser.add_argument("--channel-order", help="rgb (default) or bgr: the channel order the model expects")
    parser.add_argument("--dynamic-batch", action="store_true", help="symbolic batch dimension")
    parser.add_argument("--opset", type=int, help="ONNX opset (default 17)")
    parser.add_argument("--exporter", help="torchscript (default) or dynamo")
    parser.add_argument("--simplifier", help="onnxslim (default) or onnxsim: the ONNX simplifier run before folding")
    parser.add_argument("--no-fold", dest="no_fold", action="store_true", help="skip the permutation-folding passes")
    parser.add_argument(
        "--lowering",
        help="grouped-conv lowering of each IGC block: auto (default: the tuning store's plan for this CPU, "
        "measured in seconds on first use; else the measured table), table (the table, never measure), tune (time "
        "the forms on this CPU, about a minute), native, split, dense_projection or dense_expansion",
    )
    parser.add_argument("--lowering-plan", help="JSON plan {block signature: variant} from `igcv-profile tune`")
    parser.add_argument("--tuning", help="tuning-store file from `igcv-profile tune --export` on the device")
    parser.add_argument("--parity-tol", type=float, help="FP32 max relative error allowed (default 1e-4)")
    parser.add_argument("--allow-parity-failure", action="store_true", help="write the bundle even if parity fails")
    parser.add_argument("--calib-data", help="int8: image folder, .npy or .npz (default: built-in photos)")
    parser.add_argument("--calib-size", type=int, help="int8: number of calibration samples (default 64)")
    parser.add_argument("--calib-method", help="int8: minmax, entropy, percentile, mse or auto (default)")
    parser.add_argument(
        "--max-accuracy-drop", type=float, help="int8: keep sensitive layers in float until within X points"
    )
    parser.add_argument(
        "--weight-bits",
        type=int,
        help="int8 Q/DQ targets: 7 or 8 (default: 8 on GPUs and on VNNI, AMX and ARM dot-product CPUs; 7 "
        "elsewhere, where int8 kernels saturate 8-bit weights)",
    )
    parser.add_argument(
        "--device",
        help="CPU targets: the CPU class the defaults are chosen for: host (default: detected), x86-avx2, "
        "x86-avx512, x86-vnni, x86-avx512-bf16, x86-amx, arm or arm-dotprod (docs/devices.md)",
    )
    parser.add_argument("--compute-capability", nargs="+", help="tensorrt-rtx: target GPUs, e.g. 8.6 8.9")
    parser.add_argument("--timing-cache", help="tensorrt: timing cache file to reuse")
    parser.add_argument("--input-layout", help="litert: nchw (default) or nhwc, the layout of the model's input")
    remote = parser.add_argument_group("tune on a device over SSH (docs/devices.md)")
    remote.add_argument(
        "--on",
        metavar="DEVICE",
        help="with --lowering tune: time the lowering on DEVICE (ssh://[user@]host[:port] or an ssh-config alias) "
        "through its `igcv-profile device setup` environment, and export for its CPU class",
    )
    remote.add_argument("--ssh-config", help="ssh config file to use instead of ~/.ssh/config")
    remote.add_argument("--timeout", type=float, help="seconds for the work on the device (default 900)")
    return parser


def print_models(names_only: bool) -> None:
    if names_only:
        from .models import list_models

        print("\n".join(list_models()))
        return
    from rich.console import Console
    from rich.table import Table

    from .models.listing import COLUMNS, model_rows
    from .progress import step

    with step("count parameters and MACs"):
        rows = model_rows()
    table = Table(*COLUMNS, title="igcv-export models")
    for row in rows:
        table.add_row(*(f"{value / 1e6:.2f}M" if key in ("params", "MACs") else value for key, value in row.items()))
    Console(width=None if sys.stdout.isatty() else 120).print(table)


def request_from_args(args: argparse.Namespace):
    from .exporters.context import ExportRequest

    options = {k: v for k, v in vars(args).items() if k not in (*LISTING_FLAGS, *REMOTE_FLAGS)}
    if "no_fold" in options:
        options["fold"] = not options.pop("no_fold")
    if "compute_capability" in options:
        options["compute_capability"] = tuple(options["compute_capability"])
    return ExportRequest(**options), set(vars(args)) - {*LISTING_FLAGS, *REMOTE_FLAGS, "model", "target", "precision"}


def run_export_command(argv: list[str]) -> int:
    parser = export_parser()
    args = parser.parse_args(argv)
    if getattr(args, "list_models", False):
        print_models(names_only=getattr(args, "names_only", False))
        return 0
    if "model" not in args:
        parser.error("--model is required (see --list-models)")
    request, explicit = request_from_args(args)
    from .exporters.pipeline import run_export
    from .summary import print_export_summary

    if "on" in args:
        from .remote.export import export_tuned_on

        ssh_config, timeout = getattr(args, "ssh_config", None), getattr(args, "timeout", 900.0)
        output, manifest = export_tuned_on(request, explicit, args.on, ssh_config, timeout)
    else:
        output, manifest = run_export(request, explicit)
    print_export_summary(output, manifest)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["build-engine"]:  # runs on devices: TensorRT + numpy + onnx, no torch
        from .exporters.tensorrt.build_engine import main as build_engine

        return build_engine(argv[1:])
    warnings.formatwarning = lambda message, category, *_: f"warning: {message}\n"
    return run_guarded(run_export_command, argv, "interrupted; no bundle was written")


if __name__ == "__main__":
    sys.exit(main())
