"""CPU instruction-set classes: what decides the fastest export for a CPU, and how to detect the host's.

Stdlib only: the exporters, the benchmark suite and `igcv-profile` read it, and so can a device without torch.
A class is the set of kernels the runtimes can pick (FP32 FMA width, INT8 dot products). Two classes matter
for INT8 weights: x86 CPUs without VNNI/AMX add pairs of u8 x s8 products in saturating int16
(vpmaddubsw), which 8-bit weights overflow, so they get 7-bit weights; VNNI/AMX and ARM dot-product
instructions accumulate in int32 and take full 8-bit weights.
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

HOST = "host"


@dataclass(frozen=True)
class IsaClass:
    name: str  # the --device spelling
    arch: str  # x86 or arm
    label: str
    int8_dot: bool  # INT8 dot products accumulate in int32 (VNNI, AMX, ARM dotprod): no saturation
    example: str  # a CPU of this class

    @property
    def weight_bits(self) -> int:
        return 8 if self.int8_dot else 7

    @property
    def weight_bits_reason(self) -> str:
        if self.int8_dot:
            return f"{self.label}: int8 dot products accumulate in int32, 8-bit weights do not saturate"
        if self.arch == "arm":
            return (
                f"{self.label}: no dot-product instructions; 7-bit weights, the safe choice (whether its int8 "
                "kernels saturate 8-bit weights is not measured)"
            )
        return f"{self.label}: u8 x s8 pairs are summed in saturating int16 (vpmaddubsw); 7-bit weights avoid it"


CLASSES = (
    IsaClass("x86-avx2", "x86", "x86 AVX2", False, "AMD EPYC (Zen 2/3), Intel Haswell-Skylake client"),
    IsaClass("x86-avx512", "x86", "x86 AVX-512 without VNNI", False, "Intel Skylake-SP Xeon"),
    IsaClass(
        "x86-vnni", "x86", "x86 AVX-512 VNNI / AVX-VNNI, no BF16", True, "Intel Cascade/Ice Lake Xeon, Alder Lake"
    ),
    IsaClass(
        "x86-avx512-bf16",
        "x86",
        "x86 AVX-512 VNNI + BF16, no AMX",
        True,
        "AMD Zen 4/5, Intel Cooper Lake; Xeons whose AMX is not exposed (VMs)",
    ),
    IsaClass("x86-amx", "x86", "x86 AMX", True, "Intel Sapphire Rapids Xeon"),
    IsaClass("arm", "arm", "ARM NEON (ARMv8.0)", False, "Cortex-A53/A72 (Raspberry Pi 3/4)"),
    IsaClass("arm-dotprod", "arm", "ARM NEON + dot product (ARMv8.2+)", True, "Cortex-A76, Neoverse N1, Jetson Orin"),
)
CLASS = {c.name: c for c in CLASSES}
ALIASES = {"x86": "x86-avx2"}  # an unspecified x86 CPU: the class every x86-64 CPU we target runs correctly


def classify(flags: set[str], machine: str) -> str:
    """The class of a CPU with these /proc/cpuinfo flags (x86) or Features (aarch64)."""
    if machine.lower() in ("aarch64", "arm64"):
        return "arm-dotprod" if "asimddp" in flags else "arm"
    if "amx_int8" in flags:
        return "x86-amx"
    if (
        "avx512_bf16" in flags and "avx512_vnni" in flags
    ):  # oneDNN's avx512_core_bf16 kernels; OpenVINO defaults to bf16
        return "x86-avx512-bf16"
    if "avx512_vnni" in flags or "avx_vnni" in flags:
        return "x86-vnni"
    if "avx512f" in flags:
        return "x86-avx512"
    return "x86-avx2"


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The first `flags` (x86) or `Features` (ARM) line of /proc/cpuinfo, as a set."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.exists() else ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


@functools.cache  # the CPU does not change under a running process; /proc/cpuinfo is read once
def host_class() -> IsaClass:
    return CLASS[classify(cpu_flags(), platform.machine())]


def host_saturates(weight_bits: int) -> bool:
    """Whether this host's int8 kernels overflow weights this wide (8-bit weights without int8 dot products)."""
    return weight_bits == 8 and not host_class().int8_dot


def resolve_device(device: str | None) -> IsaClass:
    """`--device` (a class name, an alias, or host/None for the CPU running the export) as its class."""
    if device in (None, HOST):
        return host_class()
    name = ALIASES.get(device, device)
    if name not in CLASS:
        raise UsageError(
            f"unknown --device '{device}'", f"choose {HOST} (default), {', '.join(CLASS)} or {', '.join(ALIASES)}"
        )
    return CLASS[name]
