"""Benchmark results kept per CPU instruction-set class: OUT/results/<class>.json, one run per class.

A run replaces the file of its own class and leaves the others, so runs on different CPUs accumulate.
"""

from __future__ import annotations

import json
from pathlib import Path

from igcv_deploy.isa import CLASS, CLASSES, classify

FOLDER = "results"


def folder(out: Path) -> Path:
    return out / FOLDER


def isa_class(machine: dict) -> str:
    """The machine record's ISA class; a record written before the class was recorded gets it from its flags."""
    if "isa_class" in machine:
        return machine["isa_class"]
    present = {flag for flag, on in machine["flags"].items() if on}
    arch = next((a for a in ("aarch64", "arm64") if a in machine["platform"]), "x86_64")
    return classify(present, arch)


def save(results: dict, out: Path) -> Path:
    path = folder(out) / f"{isa_class(results['machine'])}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    return path


def load(path: Path) -> dict:
    results = json.loads(path.read_text())
    machine = results["machine"]
    machine["isa_class"] = isa_class(machine)
    machine.setdefault("isa_label", CLASS[machine["isa_class"]].label)
    return results


def load_all(out: Path) -> dict[str, dict]:
    """{class name: results} of every OUT/results/*.json, in the order of igcv_deploy.isa.CLASSES."""
    runs = [load(path) for path in sorted(folder(out).glob("*.json"))]
    order = [c.name for c in CLASSES]
    return {r["machine"]["isa_class"]: r for r in sorted(runs, key=lambda r: order.index(r["machine"]["isa_class"]))}
