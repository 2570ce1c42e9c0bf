"""Issue 27's goals on this CPU, judged without the full bench: the default export from an empty tuning store
against a plan `--lowering tune` measured here and the no-permutation control, per runtime, paired.

  .venv/bin/python benchmarks/cpu_goals.py [--targets onnx openvino] [--rounds 30] [--seconds 0.3] [--work DIR]

Each target gets four IGCV3-D 1.0 FP32 bundles, made by igcv-export with a fresh XDG_CACHE_HOME: `table`
(--lowering table, as before the store), `default` (first export on this CPU: quick tuning), `tuned`
(--lowering tune) and `control` (permutations deleted: benchmarks/exports.py igcv3-noperm). Export wall times
(first and second default export, and table) are printed; then the bundles are timed side by side in one process
(paired.py) and default/tuned and default/control are judged. `make bench-cpu` runs it.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paired

from igcv_deploy.isa import cpu_flags, host_class
from igcv_deploy.profiling.environment import cpu_model

HERE = Path(__file__).resolve().parent
GOAL_TUNED = 1.03  # default from an empty store / tuned here
GOAL_PERM = 1.05  # default / no-permutation control
RUNTIME = {"onnx": "onnxruntime", "openvino": "openvino"}
SHOWN_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_int8", "amx_bf16")


def export(work: Path, name: str, model: str, target: str, cache: Path, *extra: str) -> float:
    """Wall seconds of one igcv-export process (benchmarks/exports.py registers the control model too)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    env.pop("IGCV_NO_TUNE", None)
    command = [sys.executable, str(HERE / "exports.py"), "--model", model, "--target", target]
    command += ["--output", str(work / name), "--force", *extra]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def bundles(work: Path, target: str) -> dict[str, Path]:
    cache = Path(tempfile.mkdtemp(prefix=f"igcv-empty-store-{target}-"))
    seconds = {
        "table": export(work, f"{target}-table", "igcv3", target, cache, "--lowering", "table"),
        "first": export(work, f"{target}-default", "igcv3", target, cache),
        "second": export(work, f"{target}-default2", "igcv3", target, cache),
    }
    export(work, f"{target}-tuned", "igcv3", target, Path(tempfile.mkdtemp()), "--lowering", "tune")
    export(work, f"{target}-control", "igcv3-noperm", target, cache, "--lowering", "table")
    print(
        f"{target} export wall s: table {seconds['table']:.1f}, first default {seconds['first']:.1f} "
        f"(+{seconds['first'] - seconds['table']:.1f}), second {seconds['second']:.1f} "
        f"(+{seconds['second'] - seconds['table']:.1f}); goals +20 s / +1 s"
    )
    return {name: work / f"{target}-{name}" for name in ("default", "tuned", "control", "table")}


def judge(target: str, paths: dict[str, Path], rounds: int, seconds: float) -> None:
    hint = "fp32" if target == "openvino" else None
    jobs = {name: (path, RUNTIME[target], hint) for name, path in paths.items()}
    if target == "openvino":  # the plugin's own precision (bf16 on AVX512_BF16 / AMX CPUs): docs/devices.md
        jobs["default, plugin precision"] = (paths["default"], RUNTIME[target], "default")
    rows = paired.ratios_to_first(paired.samples(jobs, rounds, seconds))
    print(f"\n{target} ({RUNTIME[target]} FP32), {rounds} paired rounds of {seconds} s; ratios are default / X")
    for name, row in rows.items():
        low, high = (1 / q for q in row["iqr"][::-1])  # ratios_to_first gives X / default
        print(
            f"  {name:8s} p50 {row['p50_ms']:.2f} ms   default / {name}: {1 / row['ratio']:.3f}x "
            f"(IQR {low:.3f}-{high:.3f})"
        )
    for name, goal in (("tuned", GOAL_TUNED), ("control", GOAL_PERM)):
        print(f"  goal default / {name} <= {goal}: {verdict(rows[name], goal)}")


def verdict(row: dict, goal: float) -> str:
    """Met or missed only when the whole interquartile range of default / X is on one side of the goal."""
    median, low, high = 1 / row["ratio"], 1 / row["iqr"][1], 1 / row["iqr"][0]
    figure = f"{median:.3f}x, IQR {low:.3f}-{high:.3f}"
    if high <= goal:
        return f"met ({figure})"
    if low > goal:
        return f"NOT met ({figure})"
    return f"not decided: the goal is inside the noise ({figure})"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--targets", nargs="+", default=["onnx", "openvino"], choices=tuple(RUNTIME))
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--seconds", type=float, default=0.3)
    p.add_argument("--work", type=Path, help="bundle folder (default: a temporary one)")
    args = p.parse_args(argv)
    flags = sorted(cpu_flags() & set(SHOWN_FLAGS))
    print(f"CPU: {cpu_model()} ({platform.machine()}, class {host_class().name}; {' '.join(flags)})")
    print("on a shared machine the figures move with its load: read the interquartile ranges of paired.py")
    work = args.work or Path(tempfile.mkdtemp(prefix="igcv-cpu-goals-"))
    for target in args.targets:
        judge(target, bundles(work, target), args.rounds, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
