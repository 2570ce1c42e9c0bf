"""Bundles for the benchmark, made by the project's exporter (igcv-export), one process each.

Run as a script it is igcv-export plus one benchmark-only addition: the `igcv3-noperm` control
model (IGCV3-D with its permutations deleted: same compute, wrong numerics) is registered.
The smoke runs the same igcv-export code inside the benchmark's process instead (`in_process`): one
process start and one import of torch/onnx/openvino/nncf instead of one per bundle.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOPERM = "igcv3-noperm"


def register_control() -> None:
    """Register the `igcv3-noperm` control model (once per process)."""
    from igcv_deploy.models import create_model, get_config, list_models
    from igcv_deploy.models.registry import register_model

    if NOPERM in list_models():
        return

    @register_model(replace(get_config("igcv3"), name=NOPERM, notes="benchmark control: IGCV3-D without permutations"))
    def igcv3_noperm(num_classes: int = 1000, **kw):
        return create_model("igcv3", num_classes=num_classes, permute=False, **kw)


def export(
    model: str,
    target: str,
    precision: str,
    output: Path,
    log: Path,
    extra: tuple[str, ...] = (),
    in_process: bool = False,
) -> float:
    """Export one bundle, its output to `log`; returns the wall time of the whole command (seconds)."""
    args = ["--model", model, "--target", target, "--precision", precision, "--output", str(output), "--force", *extra]
    start = time.perf_counter()
    if in_process:
        command = ["igcv-export (in process)", *args]
        code = _export_here(args, log)
    else:
        if model == NOPERM:
            command = [sys.executable, str(HERE / "exports.py"), *args]
        else:
            command = [str(Path(sys.executable).with_name("igcv-export")), *args]
        with open(log, "w") as handle:
            code = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - start
    if code:
        raise RuntimeError(f"export failed ({' '.join(command)}): see {log}")
    return seconds


def _export_here(args: list[str], log: Path) -> int:
    """igcv-export's main in this process, with file descriptors 1 and 2 (Python's and the libraries' output)
    sent to `log`, as a subprocess's would be; its exit code."""
    register_control()
    from igcv_deploy.cli import main as igcv_export

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with open(log, "w") as handle:
            os.dup2(handle.fileno(), 1)
            os.dup2(handle.fileno(), 2)
            try:
                code = igcv_export(args)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
    if code == 130:  # interrupted: stop the benchmark, as a subprocess's Ctrl-C would
        raise KeyboardInterrupt
    return code


def main(argv: list[str]) -> int:
    register_control()
    from igcv_deploy.cli import main as igcv_export

    return igcv_export(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
