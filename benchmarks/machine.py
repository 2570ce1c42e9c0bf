"""The machine the benchmark ran on: CPU, ISA flags, load, versions, and its measured peaks."""

from __future__ import annotations

import time
from pathlib import Path

from igcv_deploy.exporters.pipeline import package_versions
from igcv_deploy.profiling.environment import environment, load_average

# ISA extensions that decide which kernels the runtimes can use (FP32 FMA width, INT8 dot products, BF16).
FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpu_flags() -> dict[str, bool]:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    present = set(next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []))
    return {flag: flag in present for flag in FLAGS}


def describe() -> dict:
    env = environment()
    return {
        "cpu_model": env["cpu_model"],
        "usable_cores": env["usable_cores"],
        "cpu_count": env["cpu_count"],
        "platform": env["platform"],
        "flags": cpu_flags(),
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
