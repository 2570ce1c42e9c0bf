"""Bundles for the benchmark, made by the project's exporter (igcv-export), one process each.

Run as a script it is igcv-export plus one benchmark-only addition: the `igcv3-noperm` control
model (IGCV3-D with its permutations deleted: same compute, wrong numerics) is registered.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOPERM = "igcv3-noperm"


def register_control() -> None:
    from igcv_deploy.models import create_model, get_config
    from igcv_deploy.models.registry import register_model

    @register_model(replace(get_config("igcv3"), name=NOPERM, notes="benchmark control: IGCV3-D without permutations"))
    def igcv3_noperm(num_classes: int = 1000, **kw):
        return create_model("igcv3", num_classes=num_classes, permute=False, **kw)


def export(model: str, target: str, precision: str, output: Path, log: Path, extra: tuple[str, ...] = ()) -> float:
    """Export one bundle; returns the wall time of the whole command (seconds)."""
    args = ["--model", model, "--target", target, "--precision", precision, "--output", str(output), "--force", *extra]
    if model == NOPERM:
        command = [sys.executable, str(HERE / "exports.py"), *args]
    else:
        command = [str(Path(sys.executable).with_name("igcv-export")), *args]
    start = time.perf_counter()
    with open(log, "w") as handle:
        done = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"export failed ({' '.join(command)}): see {log}")
    return seconds


def main(argv: list[str]) -> int:
    register_control()
    from igcv_deploy.cli import main as igcv_export

    return igcv_export(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
