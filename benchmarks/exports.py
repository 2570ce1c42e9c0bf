"""Bundles for the benchmark, made by the project's exporter (igcv-export).

The full run exports each bundle with its own `igcv-export` process, one at a time (the end-to-end export time
is one of the goals). The smoke runs the same igcv-export code in a few worker processes instead (`pool`), each
importing torch/onnx/openvino/nncf once for many bundles, side by side.
Run as a script it is igcv-export plus one benchmark-only addition: the `igcv3-noperm` control
model (IGCV3-D with its permutations deleted: same compute, wrong numerics) is registered.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
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


def arguments(model: str, target: str, precision: str, output: Path, extra: tuple[str, ...]) -> list[str]:
    return ["--model", model, "--target", target, "--precision", precision, "--output", str(output), "--force", *extra]


def export(model: str, target: str, precision: str, output: Path, log: Path, extra: tuple[str, ...] = ()) -> float:
    """Export one bundle with its own igcv-export process, its output to `log`; returns the command's wall time."""
    args = arguments(model, target, precision, output, extra)
    if model == NOPERM:
        command = [sys.executable, str(HERE / "exports.py"), *args]
    else:
        command = [str(Path(sys.executable).with_name("igcv-export")), *args]
    start = time.perf_counter()
    with open(log, "w") as handle:
        code = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - start
    if code:
        raise RuntimeError(f"export failed ({' '.join(command)}): see {log}")
    return seconds


def export_here(model: str, target: str, precision: str, output: Path, log: Path, extra: tuple[str, ...] = ()) -> float:
    """Export one bundle with igcv-export's code in this process, file descriptors 1 and 2 (Python's and the
    libraries' output) sent to `log` as a subprocess's would be; returns its wall time."""
    register_control()
    from igcv_deploy.cli import main as igcv_export

    args = arguments(model, target, precision, output, extra)
    start = time.perf_counter()
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
    seconds = time.perf_counter() - start
    if code == 130:  # interrupted: stop the benchmark, as a subprocess's Ctrl-C would
        raise KeyboardInterrupt
    if code:
        raise RuntimeError(f"export failed (igcv-export {' '.join(args)}, in a worker process): see {log}")
    return seconds


def _worker_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


class Exporter:
    """Runs exports: `workers` = 0, one igcv-export process per bundle, in turn; N, N worker processes side by side,
    each running igcv-export's code for many bundles, sharing `threads` torch threads. Use as a context manager;
    `submit` returns a Future of the export's wall time (RuntimeError if it failed)."""

    def __init__(self, workers: int = 0, threads: int = 2):
        self.workers = workers
        if workers:
            context = multiprocessing.get_context("spawn")  # no forked copy of this process's threads and libraries
            per_worker = (max(1, threads // workers),)
            self.pool: Executor = ProcessPoolExecutor(workers, context, _worker_threads, per_worker)
        else:
            self.pool = ThreadPoolExecutor(1)

    def submit(self, model: str, target: str, precision: str, output: Path, log: Path, extra: tuple[str, ...] = ()):
        return self.pool.submit(export_here if self.workers else export, model, target, precision, output, log, extra)

    def __enter__(self) -> Exporter:
        return self

    def __exit__(self, kind, *_) -> None:
        self.pool.shutdown(wait=kind is None, cancel_futures=kind is not None)


def main(argv: list[str]) -> int:
    register_control()
    from igcv_deploy.cli import main as igcv_export

    return igcv_export(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
