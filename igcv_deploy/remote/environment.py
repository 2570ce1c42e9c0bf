"""The igcv-deploy environment on a device: `device setup` makes it, `device info` reads it, commands find it.

It lives in the device user's cache folder ($XDG_CACHE_HOME/igcv-deploy or ~/.cache/igcv-deploy): venv/ (this
package as a wheel built from the installed source, the runtimes, no torch), wheels/, bundles/ (by manifest hash).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import IGCVError
from ..runtimes.registry import get_runtime
from .transport import Connection, RemoteError

MIN_PYTHON = (3, 10)
MIN_FREE_MB = 1024
CACHE = '"${XDG_CACHE_HOME:-$HOME/.cache}/igcv-deploy"'
LOCATE = f'd={CACHE}; if [ -x "$d/venv/bin/python" ]; then printf %s "$d"; else echo missing >&2; exit 3; fi'
PROBE = """import json, os, platform, shutil, sys
d = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "igcv-deploy")
os.makedirs(d, exist_ok=True)
print(json.dumps({"python": list(sys.version_info[:3]), "machine": platform.machine(), "cache": d,
                  "free_mb": shutil.disk_usage(d).free >> 20}))"""
SYSTEM_RUNTIMES = {"tensorrt"}  # JetPack installs TensorRT's Python package system-wide; the venv sees it
TUNING_EXTRA = "tune"  # onnx, onnx-ir and onnxscript: what `igcv-profile tune` needs besides a runtime
NEXT_SETUP = "run: igcv-profile device setup --on DEVICE"


def venv_python(cache: str) -> str:
    return f"{cache}/venv/bin/python"


def profile_cli(cache: str, *argv: str) -> list[str]:
    """argv of the device's igcv-profile."""
    return [venv_python(cache), "-m", "igcv_deploy.profiling.cli", *argv]


def locate(conn: Connection, timeout: float | None = None) -> str:
    """The device's igcv-deploy cache folder, or an error saying to run `device setup`."""
    try:
        return conn.run(["sh", "-c", LOCATE], timeout)
    except RemoteError as error:
        if "missing" in error.problem:
            raise RemoteError(conn.device, "no igcv-deploy environment on the device", NEXT_SETUP) from None
        raise


def read_info(conn: Connection, cache: str, timeout: float | None = None) -> dict:
    return json.loads(conn.run(profile_cli(cache, "device", "info", "--json"), timeout))


def source_wheel(folder: Path) -> Path:
    """A wheel of the igcv-deploy this process runs, built from its source tree into `folder`."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        raise IGCVError(
            "igcv-deploy's source tree is not beside the installed package", "run device setup from a source checkout"
        )
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(folder)]
    with tempfile.TemporaryDirectory(prefix="igcv-source-") as source:  # a copy: the build writes beside it
        shutil.copytree(root / "igcv_deploy", Path(source, "igcv_deploy"), ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(root / name, Path(source, name))
        done = subprocess.run([*build, source], capture_output=True, text=True)
    if done.returncode != 0:
        raise IGCVError(f"cannot build the igcv-deploy wheel: {done.stderr.strip().splitlines()[-1:]}")
    return next(folder.glob("igcv_deploy-*.whl"))


def check_probe(conn: Connection, probe: dict) -> None:
    if tuple(probe["python"]) < MIN_PYTHON:
        version = ".".join(map(str, probe["python"]))
        raise RemoteError(
            conn.device,
            f"Python {version} is too old (igcv-deploy needs 3.10 or newer)",
            "install python3.10+ on the device and pass --python",
        )
    if probe["free_mb"] < MIN_FREE_MB:
        raise RemoteError(
            conn.device, f"only {probe['free_mb']} MB free in {probe['cache']}", f"free at least {MIN_FREE_MB} MB there"
        )


def probe_device(conn: Connection, python: str, timeout: float | None) -> dict:
    try:
        return json.loads(conn.run([python, "-c", PROBE], timeout))
    except RemoteError as error:
        if "not found" in error.problem or "No such file" in error.problem:
            raise RemoteError(
                conn.device, f"no {python} on the device", "install Python 3.10+ or pass --python"
            ) from None
        raise


def setup(conn: Connection, runtimes: list[str], python: str, wheelhouse: Path | None, timeout, say) -> dict:
    """Make the device's environment; {"info": device info, "missing": {runtime: reason}, "venv_mb": size}."""
    probe = probe_device(conn, python, timeout)
    check_probe(conn, probe)
    cache = probe["cache"]
    with tempfile.TemporaryDirectory(prefix="igcv-wheels-") as folder:
        say("building the igcv-deploy wheel")
        ours = source_wheel(Path(folder))
        for wheel in sorted(wheelhouse.glob("*.whl")) if wheelhouse else ():
            shutil.copy2(wheel, folder)
        say("copying wheels")
        unpack = 'rm -rf "$0" && mkdir -p "$0" && tar -C "$0" -xf -'
        conn.send_tree(Path(folder), ["sh", "-c", unpack, f"{cache}/wheels"], timeout)
    system = ["--system-site-packages"] if SYSTEM_RUNTIMES & set(runtimes) else []
    conn.run([python, "-m", "venv", "--clear", *system, f"{cache}/venv"], timeout)
    pip = [venv_python(cache), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--find-links"]
    pip += [f"{cache}/wheels", *(["--no-index"] if wheelhouse else [])]
    say("installing igcv-deploy (no torch)")
    conn.run([*pip, f"{cache}/wheels/{ours.name}[{TUNING_EXTRA}]"], timeout)
    missing = {}
    for runtime in runtimes:
        if runtime in SYSTEM_RUNTIMES:
            continue
        say(f"installing {runtime}")
        try:
            conn.run([*pip, get_runtime(runtime).install], timeout)
        except RemoteError as error:
            missing[runtime] = f"does not install on {probe['machine']}: {error.problem.split(': ', 1)[-1]}"
    info = read_info(conn, cache, timeout)
    for runtime in runtimes:
        if not info["runtimes"].get(runtime) and runtime not in missing:
            missing[runtime] = (
                "installed but not importable"
                if runtime not in SYSTEM_RUNTIMES
                else ("not found in the system's Python (install JetPack's python3-libnvinfer)")
            )
    venv_mb = int(conn.run(["du", "-sm", f"{cache}/venv"], timeout).split()[0])
    return {"info": info, "missing": missing, "venv_mb": venv_mb}
