"""Bundles for the benchmark, made by the project's exporter (igcv-export), one process each.

Run as a script it is igcv-export plus two benchmark-only additions: the `igcv3-noperm` control
model (IGCV3-D with its permutations deleted: same compute, wrong numerics) is registered, and
`--plan FILE` inserts the grouped-conv lowering pass into the folding registry with the plan
tuned for the export's target.
"""

from __future__ import annotations

import json
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


def install_plan(plan_file: Path, target: str) -> None:
    from igcv_deploy.exporters.onnx import FOLDING_RUNTIME
    from igcv_deploy.graph import pipeline
    from igcv_deploy.graph.passes.grouped_conv_lowering import registry_with

    plans = json.loads(plan_file.read_text())
    pipeline.PASSES = registry_with(pipeline.PASSES, plans[FOLDING_RUNTIME[target]])


def export(model: str, target: str, precision: str, output: Path, log: Path, plan_file: Path | None = None,
           extra: tuple[str, ...] = ()) -> float:  # fmt: skip
    """Export one bundle; returns the wall time of the whole command (seconds)."""
    args = ["--model", model, "--target", target, "--precision", precision, "--output", str(output), "--force", *extra]
    if model == NOPERM or plan_file:
        command = [sys.executable, str(HERE / "exports.py"), *(["--plan", str(plan_file)] if plan_file else []), *args]
    else:
        command = [str(Path(sys.executable).with_name("igcv-export")), *args]
    start = time.perf_counter()
    with open(log, "w") as handle:
        done = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"export failed ({' '.join(command)}): see {log}")
    return seconds


def has_qdq(bundle: Path) -> bool:
    """Whether an ONNX bundle really holds an INT8 (Q/DQ) model."""
    import onnx

    primary = json.loads((bundle / "manifest.json").read_text())["primary_artifact"]
    model = onnx.load(str(bundle / primary), load_external_data=False)
    return any(node.op_type == "QuantizeLinear" for node in model.graph.node)


def main(argv: list[str]) -> int:
    plan_file = None
    if argv[:1] == ["--plan"]:
        plan_file, argv = Path(argv[1]), argv[2:]
    register_control()
    if plan_file:
        install_plan(plan_file, argv[argv.index("--target") + 1])
    from igcv_deploy.cli import main as igcv_export

    return igcv_export(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
