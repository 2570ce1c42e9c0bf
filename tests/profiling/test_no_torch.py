"""Device-side install: the profiler and every runtimes module import, and profile an ONNX model, without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import importlib, json, pkgutil, sys
import igcv_deploy.profiling, igcv_deploy.runtimes, igcv_deploy.profiling.cli
import igcv_deploy.profiling.comparison, igcv_deploy.profiling.layers, igcv_deploy.profiling.crosscheck
for module in pkgutil.iter_modules(igcv_deploy.runtimes.__path__, "igcv_deploy.runtimes."):
    importlib.import_module(module.name)  # torch_eager too: only its runner's constructor imports torch
assert "torch" not in sys.modules, "importing the profiler or the runtimes loaded torch"
from igcv_deploy.profiling.cli import main
code = main([sys.argv[1], "--per-layer", "--layer-runs", "2", "--warmup-iters", "2", "--warmup-time", "0",
             "--iterations", "5", "--duration", "0", "--quiet", "--output", sys.argv[2]])
assert code == 0, code
assert json.load(open(sys.argv[2]))["layers"]["by_role"]["permutation"] > 0
assert "torch" not in sys.modules, "profiling an ONNX bundle loaded torch"
print("no torch")
"""


def test_profile_without_torch(bundle, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(bundle), str(tmp_path / "r.json")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "no torch"
