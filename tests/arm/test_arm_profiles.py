"""ARM profile table and fake CPU files: plain unit tests (no qemu, no torch), run in the main suite."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from igcv_deploy.devices import ARM_PROFILES, CI_PROFILES, arm_precision_for, get_profile
from igcv_deploy.errors import UsageError
from igcv_deploy.runtimes.registry import runtime_names

from . import aarch64_runner
from .emulator import ARM_RUNTIMES, check_runtime, cpu_files, write_cpu_files

RUNNER = Path(aarch64_runner.__file__)
DEVICES = Path(__file__).resolve().parents[2] / "igcv_deploy" / "devices.py"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add("." if node.level else (node.module or "").split(".")[0])
    return names


def test_runner_is_standalone():
    """aarch64_runner.py runs under the aarch64 python (numpy/onnxruntime/openvino only), by path."""
    allowed = {
        "argparse",
        "contextlib",
        "json",
        "os",
        "platform",
        "sys",
        "time",
        "traceback",
        "importlib",
        "numpy",
        "onnxruntime",
        "openvino",
        "__future__",
    }
    assert _imports(RUNNER) <= allowed


def test_runner_neighbours_shadow_no_import():
    """Run by path, the runner's folder could come first on sys.path: no neighbour may be named like an import."""
    neighbours = {path.name.split(".")[0] for path in RUNNER.parent.iterdir()}
    assert not neighbours & _imports(RUNNER)


def test_runner_runtimes_are_registry_names():
    assert set(ARM_RUNTIMES) == set(aarch64_runner.RUNTIMES) <= set(runtime_names())
    assert check_runtime("openvino") == "openvino"
    for name in ("ort", "tensorrt"):
        with pytest.raises(UsageError):
            check_runtime(name)


def test_profiles_module_is_stdlib_only():
    assert _imports(DEVICES) <= {"__future__", "pathlib"}


@pytest.mark.parametrize("profile", sorted(ARM_PROFILES))
def test_cpu_files_encode_the_midr(profile, tmp_path):
    spec = get_profile(profile)
    files = cpu_files(profile)
    info = dict(line.split(":", 1) for line in files["proc/cpuinfo"].splitlines() if ":" in line)
    info = {k.strip(): v.strip() for k, v in info.items()}
    midr = spec["midr"]
    assert int(info["CPU implementer"], 16) == midr >> 24 == 0x41
    assert int(info["CPU part"], 16) == (midr >> 4) & 0xFFF
    assert int(info["CPU variant"], 16) == (midr >> 20) & 0xF
    assert int(info["CPU revision"]) == midr & 0xF
    assert ("asimddp" in info["Features"].split()) == spec["dotprod"]
    assert int(files["sys/devices/system/cpu/cpu0/regs/identification/midr_el1"], 16) == midr
    write_cpu_files(tmp_path, profile)
    assert (tmp_path / "proc" / "cpuinfo").read_text() == files["proc/cpuinfo"]


def test_routing_decision():
    for name in CI_PROFILES:
        assert name in ARM_PROFILES
    for name, spec in ARM_PROFILES.items():
        # INT8 only where measured to work: the dotprod cores (docs/arm.md)
        assert spec["int8"] == spec["dotprod"]
        assert arm_precision_for(name) == "fp16"
        assert arm_precision_for(name, "int8") == ("int8" if spec["int8"] else "fp16")
        assert arm_precision_for(name, "fp32") == "fp32"
    with pytest.raises(ValueError, match="unknown ARM profile"):
        get_profile("cortex-a78")
