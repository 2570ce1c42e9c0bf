"""The benchmark suite's modules import each other as siblings (benchmarks/run.py is a script): put that folder on
sys.path, and build small synthetic runs in the shape of benchmarks/results/<class>.json."""

from __future__ import annotations

import sys
from pathlib import Path

from igcv_deploy.isa import CLASS

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))


def rounds(*p50_ms: float) -> list[dict]:
    """Timing records of one configuration, one per round."""
    return [{"p50_ms": p50, "quiet": True, "waited_s": 0.0} for p50 in p50_ms]


def machine(isa_class: str, cpu_model: str, flags: dict[str, bool] | None = None) -> dict:
    return {
        "cpu_model": cpu_model,
        "usable_cores": 2,
        "cpu_count": 2,
        "platform": "Linux-6.1-x86_64-with-glibc2.36",
        "flags": flags or {"avx2": True, "fma": True, "avx512f": False},
        "isa_class": isa_class,
        "isa_label": CLASS[isa_class].label,
        "load_avg": [0.5, 0.5, 0.5],
        "versions": {"igcv-deploy": "0.1.0"},
    }


def synthetic_run(isa_class: str, cpu_model: str, timings: dict[str, list[dict]]) -> dict:
    """A run's results as run.py saves them, with these timings {config key: rounds} and nothing else measured."""
    return {
        "smoke": False,
        "rounds": 3,
        "seconds": 1.5,
        "iterations": 20,
        "imgsz": 224,
        "threads": 2,
        "quiet_budget_s": 0.0,
        "machine": machine(isa_class, cpu_model),
        "exports": {},
        "missing": {},
        "peaks": {"threads": 2, "fp32_matmul_gflops": 100.0, "memory_copy_gbs": 20.0, "method": "synthetic"},
        "tuning": {},
        "timings": timings,
        "layers": {},
        "macs_by_role": {},
        "manifests": {},
        "load_end": [0.5, 0.5, 0.5],
        "duration_s": 60.0,
        "finished_utc": "2026-12-01 00:00",
    }
