"""What the numbers were measured on: CPU, cores, load, frequency governor, GPU and clocks.

Standard library only; every probe is best effort and reports None when it cannot read.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

CPUFREQ = Path("/sys/devices/system/cpu/cpu0/cpufreq")
GPU_QUERY = "name,driver_version,clocks.sm,clocks.mem,clocks.max.sm,temperature.gpu,power.draw"


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def cpu_model() -> str | None:
    """'model name' on x86, 'Model'/'Hardware' on ARM boards, else platform.processor()."""
    text = _read(Path("/proc/cpuinfo")) or ""
    for key in ("model name", "Model", "Hardware"):
        for line in text.splitlines():
            if line.split(":")[0].strip() == key:
                return line.split(":", 1)[1].strip()
    return platform.processor() or None


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def usable_cores() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def gpus() -> list[dict]:
    """One entry per NVIDIA GPU (nvidia-smi), with its current and maximum SM clock."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={GPU_QUERY}", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    keys = GPU_QUERY.split(",")
    return [dict(zip(keys, (v.strip() for v in line.split(",")))) for line in out.strip().splitlines() if line]


def environment() -> dict:
    """The static part of the environment; load averages are sampled around each run."""
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable_cores(),
        "governor": _read(CPUFREQ / "scaling_governor"),
        "cpu_mhz": _khz_to_mhz(_read(CPUFREQ / "scaling_cur_freq")),
        "jetson": _read(Path("/etc/nv_tegra_release")),
        "gpus": gpus(),
    }


def _khz_to_mhz(value: str | None) -> float | None:
    return int(value) / 1e3 if value and value.isdigit() else None
