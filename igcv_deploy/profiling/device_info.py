"""`igcv-profile device info`: what this machine offers a bundle (CPU and ISA class, memory, Python, runtimes, GPU).

Standard library only (the runtimes are looked up, not imported, except to read their version): the host side
of `--on` runs it on the device through SSH and reads the JSON.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import shutil
from importlib import metadata
from pathlib import Path

from ..isa import host_class
from ..runtimes.registry import runtime_names
from .environment import environment

RUNTIME_MODULES = {"tensorrt": ("tensorrt", "tensorrt_rtx")}  # runtime -> modules that provide it


def memory_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


def runtime_versions() -> dict[str, str | None]:
    """{runtime: version, or None when it is not importable here}."""
    found = {}
    for name in runtime_names():
        found[name] = None
        for module in RUNTIME_MODULES.get(name, (name,)):
            if importlib.util.find_spec(module) is not None:
                found[name] = _version(module)
                break
    return found


def _version(module: str) -> str:
    version = getattr(importlib.import_module(module), "__version__", None)
    if version is None:
        with contextlib.suppress(metadata.PackageNotFoundError):
            version = metadata.version(module)
    return str(version or "unknown")


def cache_folder() -> Path:
    """Where `igcv-profile device setup` keeps the device environment and bundles."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "igcv-deploy"


def device_info() -> dict:
    env = environment()
    isa = host_class()
    folder = cache_folder()
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    return {
        "host": env["host"],
        "machine": env["machine"],
        "cpu_model": env["cpu_model"],
        "isa_class": isa.name,
        "isa_label": isa.label,
        "cores": env["usable_cores"],
        "memory_mb": memory_mb(),
        "python": env["python"],
        "runtimes": runtime_versions(),
        "gpus": env["gpus"],
        "jetson": env["jetson"],
        "cache": str(folder),
        "free_mb": shutil.disk_usage(existing).free // (1 << 20),
    }


def info_lines(info: dict) -> list[str]:
    runtimes = ", ".join(f"{k} {v}" for k, v in info["runtimes"].items() if v) or "none"
    missing = ", ".join(k for k, v in info["runtimes"].items() if not v)
    gpus = ", ".join(g.get("name", "?") for g in info["gpus"]) or "none"
    return [
        f"cpu: {info['cpu_model']} ({info['machine']}, {info['isa_class']}: {info['isa_label']}), "
        f"{info['cores']} cores",
        f"memory: {info['memory_mb']} MB, free disk in {info['cache']}: {info['free_mb']} MB",
        f"python: {info['python']}",
        f"runtimes: {runtimes}" + (f" (not installed: {missing})" if missing else ""),
        f"gpu: {gpus}" + (f" ({info['jetson']})" if info["jetson"] else ""),
    ]
