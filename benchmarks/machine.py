"""The machine the benchmark ran on: CPU, ISA flags and class, load, versions, and its measured peaks."""

from __future__ import annotations

import time

from igcv_deploy import isa
from igcv_deploy.exporters.pipeline import package_versions
from igcv_deploy.profiling.environment import environment, load_average

# ISA extensions that decide which kernels the runtimes can use (FP32 FMA width, INT8 dot products, BF16), per
# architecture, as /proc/cpuinfo spells them (`flags` on x86, `Features` on ARM).
FLAGS = {
    "x86": ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8"),
    "arm": ("asimd", "asimddp", "i8mm", "bf16"),
}


def cpu_flags(arch: str) -> dict[str, bool]:
    present = isa.cpu_flags()
    return {flag: flag in present for flag in FLAGS[arch]}


def describe() -> dict:
    env, isa_class = environment(), isa.host_class()
    return {
        "cpu_model": env["cpu_model"],
        "usable_cores": env["usable_cores"],
        "cpu_count": env["cpu_count"],
        "platform": env["platform"],
        "flags": cpu_flags(isa_class.arch),
        "isa_class": isa_class.name,
        "isa_label": isa_class.label,
        "load_avg": load_average(),
        "versions": package_versions(),
    }


def _best_rate(work: float, call, repeats: int) -> float:
    """work / fastest of `repeats` timed calls (after one warm-up call)."""
    call()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return work / best


def peaks(threads: int = 2, repeats: int = 30) -> dict:
    """FP32 matmul GFLOP/s and memory-copy GB/s on `threads` threads (best of `repeats`, torch)."""
    import torch

    torch.set_num_threads(threads)
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    flops = _best_rate(2 * n**3 / 1e9, lambda: torch.mm(a, b), repeats)
    src = torch.empty(64 * 2**20 // 4)
    dst = torch.empty_like(src)
    copy = _best_rate(2 * src.numel() * 4 / 1e9, lambda: dst.copy_(src), repeats)
    return {
        "threads": threads,
        "fp32_matmul_gflops": flops,
        "memory_copy_gbs": copy,
        "method": f"torch.mm {n}x{n} fp32 and a 64 MiB tensor copy (read+write), best of {repeats}",
    }
